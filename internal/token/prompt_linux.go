package token

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// PromptSecret reads a line from the terminal with echo turned off. It
// fails when the process has no terminal, as under cron or in CI.
func PromptSecret(prompt string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errors.New("no terminal to ask for the PIN; set the PIN environment variable or give --pin-file")
	}
	defer tty.Close()

	fd := int(tty.Fd())
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", fmt.Errorf("read the terminal settings: %w", err)
	}
	quiet := *saved
	quiet.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", fmt.Errorf("turn off the terminal echo: %w", err)
	}
	restore := func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, saved) }
	defer restore()

	// Ctrl-C at the prompt must not leave the terminal without echo.
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	defer close(interrupted)
	defer signal.Stop(interrupted)
	go func() {
		if _, ok := <-interrupted; ok {
			restore()
			fmt.Fprintln(tty)
			os.Exit(130)
		}
	}()

	fmt.Fprint(tty, prompt)
	line, err := bufio.NewReader(tty).ReadString('\n')
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("read the PIN from the terminal: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
