package main

import (
	"flag"
	"io"
	"testing"
)

func TestParseFlagsReadsEnvironment(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		listen   string
		validate bool
	}{
		{"defaults", nil, nil, "127.0.0.1:8080", false},
		{"environment", nil, map[string]string{"DOCSIGN_LISTEN": "127.0.0.1:9999", "DOCSIGN_AUTO_VALIDATE": "true"}, "127.0.0.1:9999", true},
		{"command line wins", []string{"--listen", "127.0.0.1:7000"}, map[string]string{"DOCSIGN_LISTEN": "127.0.0.1:9999"}, "127.0.0.1:7000", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			listen := fs.String("listen", "127.0.0.1:8080", "")
			validate := fs.Bool("auto-validate", false, "")
			if err := parseFlags(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			if *listen != tc.listen {
				t.Errorf("listen = %q, expected %q", *listen, tc.listen)
			}
			if *validate != tc.validate {
				t.Errorf("auto-validate = %v, expected %v", *validate, tc.validate)
			}
		})
	}
}

func TestParseFlagsRejectsBadEnvironmentValue(t *testing.T) {
	t.Setenv("DOCSIGN_AUTO_VALIDATE", "maybe")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Bool("auto-validate", false, "")
	if err := parseFlags(fs, nil); err == nil {
		t.Fatal("an invalid DOCSIGN_AUTO_VALIDATE was accepted")
	}
}
