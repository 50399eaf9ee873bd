package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// keyFlags are the flags of keys create, checked before the database opens.
type keyFlags struct {
	userID      int64
	name        string
	restriction int
	expiresAt   time.Time
}

// parseKeyFlags reads and checks the flags of keys create. help is true
// for -h, which is no error.
func parseKeyFlags(args []string, now time.Time) (flags keyFlags, dataDir string, help bool, err error) {
	fs := flag.NewFlagSet("docsign-ca keys create", flag.ContinueOnError)
	dir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	userID := fs.Int64("user", 0, "id of the user who owns the key (required)")
	name := fs.String("name", "", "name shown in GET /services/v2/key")
	restriction := fs.Int("restriction", order.KeyRestrictionNone,
		"CertCentral restriction id: 0 none, 100 orders, 101 orders, domains and organizations, 102 view only, 103 user management")
	expires := fs.String("expires", "", "RFC 3339 time after which the key no longer authenticates (default: never)")
	help, err = parseOperatorFlags(fs, args,
		"docsign-ca keys create --user ID [--name N] [--restriction 0|100|101|102|103] [--expires RFC3339]")
	if help || err != nil {
		return keyFlags{}, "", help, err
	}

	if *userID <= 0 {
		return keyFlags{}, "", false, errors.New("missing --user; give the id of the user who owns the key")
	}
	if !order.ValidKeyRestriction(*restriction) {
		return keyFlags{}, "", false, fmt.Errorf("invalid --restriction %d; allowed: 0, 100, 101, 102, 103", *restriction)
	}
	flags = keyFlags{userID: *userID, name: *name, restriction: *restriction}
	if *expires != "" {
		t, err := time.Parse(time.RFC3339, *expires)
		if err != nil {
			return keyFlags{}, "", false, fmt.Errorf("invalid --expires %q; send an RFC 3339 time such as 2030-01-02T15:04:05Z", *expires)
		}
		if !t.After(now) {
			return keyFlags{}, "", false, fmt.Errorf("--expires %s is not in the future; send a later time or omit it", t.UTC().Format(time.RFC3339))
		}
		flags.expiresAt = t.UTC()
	}
	return flags, *dir, false, nil
}

// createKey creates an API key for any active user, for example the first
// key of a user added without one. It prints the key once to stdout. The
// store keeps only its SHA-256 hash and writes the api_key.created audit
// row with the operator as its source.
func createKey(args []string) error {
	flags, dataDir, help, err := parseKeyFlags(args, time.Now())
	if help || err != nil {
		return err
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	user, err := st.ActiveUserByID(ctx, flags.userID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("user %d not found or deleted; list users with GET /services/v2/user", flags.userID)
	}
	if err != nil {
		return err
	}

	key, hash, prefix, err := order.NewAPIKeySecret()
	if err != nil {
		return err
	}
	stored, err := st.CreateAPIKey(ctx, store.NewAPIKey{
		AccountID: user.AccountID, UserID: user.ID, Name: flags.name,
		Hash: hash, Prefix: prefix, Restriction: flags.restriction, ExpiresAt: flags.expiresAt,
	})
	if err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "created API key %d (prefix %s, restriction %d) for user %d (%s) of account %d; the key follows and is shown only once\n",
		stored.ID, stored.Prefix, stored.Restriction, user.ID, user.Username, user.AccountID)
	fmt.Println(key)
	return nil
}
