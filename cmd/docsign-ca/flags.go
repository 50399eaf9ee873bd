package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// parseFlags parses args into fs. A flag not given on the command line takes
// its value from the environment variable DOCSIGN_<FLAG>, with the flag name
// upper-cased and dashes turned into underscores (--data-dir reads
// DOCSIGN_DATA_DIR). The command line wins over the environment.
func parseFlags(fs *flag.FlagSet, args []string) error {
	registerDatabaseFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see %s -h", fs.Arg(0), fs.Name())
	}

	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		value, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if setErr := f.Value.Set(value); setErr != nil {
			err = fmt.Errorf("invalid value %q in %s: %w", value, name, setErr)
		}
	})
	return err
}

func envName(flagName string) string {
	return "DOCSIGN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// usageWithEnv prints the flags with the environment variable each one reads.
func usageWithEnv(fs *flag.FlagSet, synopsis string) func() {
	return func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: %s\n\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(out, "  --%s (env %s)\n    \t%s", f.Name, envName(f.Name), f.Usage)
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(out, " (default %q)", f.DefValue)
			}
			fmt.Fprintln(out)
		})
	}
}
