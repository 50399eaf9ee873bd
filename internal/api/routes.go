package api

import (
	"net/http"
	"slices"
	"sync"
)

// routeMux is an http.ServeMux that remembers the patterns registered on it,
// so that tests can check every route against docs/openapi.yaml.
type routeMux struct {
	*http.ServeMux
	mu       sync.Mutex
	patterns []string
}

func (m *routeMux) Handle(pattern string, handler http.Handler) {
	m.record(pattern)
	m.ServeMux.Handle(pattern, handler)
}

func (m *routeMux) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	m.record(pattern)
	m.ServeMux.HandleFunc(pattern, handler)
}

func (m *routeMux) record(pattern string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.patterns = append(m.patterns, pattern)
}

// Routes returns the registered patterns ("METHOD /path"), sorted.
func (s *Server) Routes() []string {
	s.mux.mu.Lock()
	defer s.mux.mu.Unlock()
	out := slices.Clone(s.mux.patterns)
	slices.Sort(out)
	return out
}
