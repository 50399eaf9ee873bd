package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	cases := []struct {
		addr    string
		wantErr string
	}{
		{"127.0.0.1:6060", ""},
		{"[::1]:6060", ""},
		{"localhost:6060", ""},
		{"0.0.0.0:6060", "not a loopback address"},
		{"192.0.2.1:6060", "not a loopback address"},
		{":6060", "not a loopback address"},
		{"127.0.0.1", "invalid address"},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			err := checkLoopback(tc.addr)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("checkLoopback(%q) = %v, expected success", tc.addr, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("checkLoopback(%q) = %v, expected an error containing %q", tc.addr, err, tc.wantErr)
			}
		})
	}
}

func TestStartProfilingOffByDefault(t *testing.T) {
	stop, err := startProfiling("", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("startProfiling(\"\") = %v, expected no error", err)
	}
	stop()
}

func TestStartProfilingRejectsWildcard(t *testing.T) {
	_, err := startProfiling("0.0.0.0:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "--pprof-listen") {
		t.Errorf("startProfiling(0.0.0.0:0) = %v, expected a --pprof-listen error", err)
	}
}
