package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/docsign-ca/docsign-ca/internal/console"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

type addUserConfig struct {
	dataDir      string
	accountID    int64
	username     string
	email        string
	firstName    string
	lastName     string
	role         string
	containerID  int64
	passwordFile string
	totp         bool
}

// addUser creates a user who signs in to the web console, with a password
// and optionally TOTP, and prints the user id and the otpauth:// URI.
func addUser(args []string) error {
	var cfg addUserConfig
	fs := flag.NewFlagSet("docsign-ca users add", flag.ContinueOnError)
	fs.StringVar(&cfg.dataDir, "data-dir", "./docsign-data", "data directory of the server")
	fs.Int64Var(&cfg.accountID, "account", 1, "id of the account the user joins; the first start creates account 1")
	fs.StringVar(&cfg.username, "username", "", "username to sign in with (required)")
	fs.StringVar(&cfg.email, "email", "", "the user's e-mail address (required)")
	fs.StringVar(&cfg.firstName, "first-name", "", "the user's first name (required)")
	fs.StringVar(&cfg.lastName, "last-name", "", "the user's last name (required)")
	fs.StringVar(&cfg.role, "role", "", "access role: "+strings.Join(order.Roles, ", ")+" (required)")
	fs.Int64Var(&cfg.containerID, "container", 0, "id of the user's container (default: the account's top container)")
	fs.StringVar(&cfg.passwordFile, "password-file", "", "file whose first line is the password; without it the password is read from standard input, without echo on a terminal")
	fs.BoolVar(&cfg.totp, "totp", false, "require a TOTP code at sign-in; prints the otpauth:// URI for an authenticator app once")
	synopsis := "docsign-ca users add --username U --email E --first-name F --last-name L --role ROLE [--container ID] [--password-file FILE] [--totp]"
	if help, err := parseOperatorFlags(fs, args, synopsis); help || err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}

	password, err := readNewPassword(cfg.passwordFile)
	if err != nil {
		return err
	}
	if err := console.CheckPassword(password); err != nil {
		return err
	}
	return createConsoleUser(context.Background(), cfg, password)
}

func (c *addUserConfig) check() error {
	for name, value := range map[string]string{"--username": c.username, "--email": c.email, "--first-name": c.firstName, "--last-name": c.lastName} {
		if strings.TrimSpace(value) == "" {
			return fmt.Errorf("missing %s", name)
		}
	}
	if !slices.Contains(order.Roles, c.role) {
		return fmt.Errorf("invalid --role %q; allowed: %s", c.role, strings.Join(order.Roles, ", "))
	}
	if !strings.Contains(c.email, "@") {
		return fmt.Errorf("invalid --email %q; give an address such as ada@example.com", c.email)
	}
	return nil
}

func createConsoleUser(ctx context.Context, cfg addUserConfig, password string) error {
	hash, err := console.HashPassword(password)
	if err != nil {
		return err
	}
	var key *console.TOTPKey
	if cfg.totp {
		if key, err = console.NewTOTPKey(cfg.username); err != nil {
			return err
		}
	}

	st, err := openExistingDataDir(ctx, cfg.dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	container := cfg.containerID
	if container == 0 {
		if container, err = rootContainer(ctx, st, cfg.accountID); err != nil {
			return err
		}
	}
	cred := store.ConsoleCredential{PasswordHash: hash}
	if key != nil {
		cred.TOTPSecret = key.Secret
	}
	u, err := st.CreateConsoleUser(ctx, cfg.accountID, store.User{
		ContainerID: container, Username: strings.TrimSpace(cfg.username), FirstName: strings.TrimSpace(cfg.firstName),
		LastName: strings.TrimSpace(cfg.lastName), Email: strings.TrimSpace(cfg.email), Role: cfg.role,
	}, cred)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("username %q is taken; choose another --username", cfg.username)
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("container %d is not a container of account %d; check --container and --account", container, cfg.accountID)
	}
	if err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "created user %q (%s) in account %d; sign in at /console/login\n", u.Username, u.Role, cfg.accountID)
	fmt.Println(u.ID)
	if key != nil {
		fmt.Fprintln(os.Stderr, "add this URI to an authenticator app now; it is shown only once:")
		fmt.Println(key.URI)
	}
	return nil
}

// rootContainer returns the top container of an account.
func rootContainer(ctx context.Context, st *store.Store, accountID int64) (int64, error) {
	var id int64
	err := st.DB().QueryRowContext(ctx,
		`SELECT COALESCE(MIN(id), 0) FROM containers WHERE account_id = ? AND parent_id IS NULL`, accountID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("read the top container of account %d: %w", accountID, err)
	}
	if id == 0 {
		return 0, fmt.Errorf("account %d not found; check --account, or create it with `docsign-ca accounts create`", accountID)
	}
	return id, nil
}

// readNewPassword reads the password from the file's first line, or from
// standard input: on a terminal twice with echo off, otherwise one line.
func readNewPassword(file string) (string, error) {
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read --password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(raw), "\n")
		return strings.TrimRight(line, "\r"), nil
	}

	fd := int(os.Stdin.Fd())
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}

	first, err := promptNoEcho(fd, "password: ")
	if err != nil {
		return "", err
	}
	second, err := promptNoEcho(fd, "password again: ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the two passwords differ; run the command again")
	}
	return first, nil
}

// promptNoEcho reads one line from the terminal on fd with echo turned off.
func promptNoEcho(fd int, prompt string) (string, error) {
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", fmt.Errorf("read the terminal settings: %w", err)
	}
	quiet := *saved
	quiet.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", fmt.Errorf("turn off the terminal echo: %w", err)
	}
	defer func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, saved) }()

	fmt.Fprint(os.Stderr, prompt)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", fmt.Errorf("read the password from the terminal: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
