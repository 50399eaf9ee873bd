// Command docsign is the client app of docsign-ca: it generates a document
// signing key on the customer's own token, and collects the certificate
// of a client_app order with the order's one-time pickup code.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

const usage = `docsign: the client app of docsign-ca.

usage:
  docsign pickup --server URL --code CODE --pkcs11-module PATH --token-label LABEL [flags]
      generate the key on a PKCS#11 token, collect the certificate of a
      client_app order and store it on the token beside the key
  docsign pickup --server URL --code CODE --key-file PATH [flags]
      the same with a software key in a file, for development only

The token's PIN comes from --pin-file, from DOCSIGN_PIN, or from a prompt.
Run a command with -h for its flags. Every flag also reads DOCSIGN_<FLAG>,
so --code reads DOCSIGN_CODE.
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "docsign:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "pickup":
		return pickup(args[1:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// parseFlags parses args into fs. A flag not given on the command line
// takes its value from DOCSIGN_<FLAG>, with dashes turned into
// underscores; the command line wins.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see %s -h", fs.Arg(0), fs.Name())
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if onCommandLine[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		if value, ok := os.LookupEnv(name); ok {
			if setErr := f.Value.Set(value); setErr != nil {
				err = fmt.Errorf("invalid value %q in %s: %w", value, name, setErr)
			}
		}
	})
	return err
}

func envName(flagName string) string {
	return "DOCSIGN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func usageWithEnv(fs *flag.FlagSet, synopsis string) func() {
	return func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: %s\n\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(out, "  --%s (env %s)\n    \t%s", f.Name, envName(f.Name), f.Usage)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" {
				fmt.Fprintf(out, " (default %q)", f.DefValue)
			}
			fmt.Fprintln(out)
		})
	}
}
