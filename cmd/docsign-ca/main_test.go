package main

import "testing"

func TestRunUnknownCommand(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"flag before command", []string{"--data-dir", "x", "certificates", "list"},
			`unknown command "--data-dir x": flags go after the command, as in docsign-ca certificates list --data-dir DIR`},
		{"misspelled command", []string{"certificate", "list"}, `unknown command "certificate list"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.args)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("run(%q) error %v; want %q", tt.args, err, tt.wantErr)
			}
		})
	}
}
