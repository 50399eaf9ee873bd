package api

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOpenAPIDescribesEveryRoute fails when the server registers a route
// that docs/openapi.yaml does not describe, or the file describes one the
// server does not have.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}

	documented := map[string]bool{}
	for path, operations := range doc.Paths {
		for method := range operations {
			switch method {
			case "get", "put", "post", "delete", "patch", "head":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}

	s := New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	registered := map[string]bool{}
	for _, pattern := range s.Routes() {
		// OpenAPI has no multi-segment wildcard: {request...} is written {request}.
		pattern = strings.ReplaceAll(pattern, "...}", "}")
		registered[pattern] = true
		if !documented[pattern] {
			t.Errorf("route %q is not in docs/openapi.yaml", pattern)
		}
	}
	for op := range documented {
		if !registered[op] {
			t.Errorf("docs/openapi.yaml describes %q, which the server does not register", op)
		}
	}
}
