package console

import (
	"sync"
	"time"
)

// Sign-in limits: failed attempts allowed per username and per client IP
// address within loginWindow. A username takes fewer failures than an
// address, because one address may serve several people behind a NAT.
const (
	loginWindow          = 15 * time.Minute
	maxFailuresPerUser   = 5
	maxFailuresPerClient = 20
	// maxTrackedKeys bounds the limiter's memory. When it is full, windows
	// that ended are dropped first, and then the oldest window.
	maxTrackedKeys = 10000
)

// loginLimiter counts failed sign-in attempts per key over fixed windows.
type loginLimiter struct {
	mu      sync.Mutex
	limit   int
	windows map[string]*failureWindow
	now     func() time.Time
}

type failureWindow struct {
	start    time.Time
	failures int
}

func newLoginLimiter(limit int, now func() time.Time) *loginLimiter {
	return &loginLimiter{limit: limit, windows: map[string]*failureWindow{}, now: now}
}

// blocked reports whether key reached the limit, and when its window ends.
func (l *loginLimiter) blocked(key string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()

	w := l.current(key)
	if w == nil {
		return false, time.Time{}
	}
	return w.failures >= l.limit, w.start.Add(loginWindow)
}

// fail counts one failed attempt of key.
func (l *loginLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()

	w := l.current(key)
	if w == nil {
		l.makeRoom()
		w = &failureWindow{start: l.now()}
		l.windows[key] = w
	}
	w.failures++
}

// reset clears the failures of key after a successful sign-in.
func (l *loginLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.windows, key)
}

// current returns the window of key, or nil when it has none or it ended.
func (l *loginLimiter) current(key string) *failureWindow {
	w, ok := l.windows[key]
	if !ok {
		return nil
	}
	if !l.now().Before(w.start.Add(loginWindow)) {
		delete(l.windows, key)
		return nil
	}
	return w
}

func (l *loginLimiter) makeRoom() {
	if len(l.windows) < maxTrackedKeys {
		return
	}
	cutoff := l.now().Add(-loginWindow)
	var oldestKey string
	var oldest time.Time
	for key, w := range l.windows {
		if w.start.Before(cutoff) {
			delete(l.windows, key)
			continue
		}
		if oldestKey == "" || w.start.Before(oldest) {
			oldestKey, oldest = key, w.start
		}
	}
	if len(l.windows) >= maxTrackedKeys {
		delete(l.windows, oldestKey)
	}
}
