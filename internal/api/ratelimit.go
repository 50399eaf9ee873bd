package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimit allows Requests calls per API key in any rolling window of length Per.
type RateLimit struct {
	Requests int
	Per      time.Duration
}

// DefaultRateLimits are CertCentral's published limits: 100 requests per 5
// seconds and 1000 requests per 3 minutes, rolling, per API key.
const DefaultRateLimits = "100/5s,1000/3m"

// ParseRateLimits parses a list such as "100/5s,1000/3m". "off" or an empty
// string disables rate limiting.
func ParseRateLimits(text string) ([]RateLimit, error) {
	text = strings.TrimSpace(text)
	if text == "" || text == "off" {
		return nil, nil
	}
	var out []RateLimit
	for _, part := range strings.Split(text, ",") {
		count, window, ok := strings.Cut(strings.TrimSpace(part), "/")
		n, err := strconv.Atoi(count)
		if !ok || err != nil || n <= 0 {
			return nil, fmt.Errorf("invalid rate limit %q: expected REQUESTS/DURATION such as 100/5s", part)
		}
		d, err := time.ParseDuration(window)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("invalid rate limit %q: %q is not a positive duration", part, window)
		}
		out = append(out, RateLimit{Requests: n, Per: d})
	}
	return out, nil
}

// rateLimiter keeps, per API key, the times of its recent requests: as many
// as the largest limit allows. Limits are kept in memory, per replica.
type rateLimiter struct {
	limits  []RateLimit
	longest time.Duration
	max     int
	mu      sync.Mutex
	keys    map[string][]time.Time
	swept   time.Time
}

func newRateLimiter(limits []RateLimit) *rateLimiter {
	l := &rateLimiter{limits: limits, keys: map[string][]time.Time{}}
	for _, lim := range limits {
		l.longest = max(l.longest, lim.Per)
		l.max = max(l.max, lim.Requests)
	}
	return l
}

// allow records a request of the key and reports whether it is within every
// limit. A refused request is not recorded, and Retry-After is set to the
// seconds until the oldest request that blocks it leaves its window.
func (l *rateLimiter) allow(keyHash []byte, w http.ResponseWriter) bool {
	if len(l.limits) == 0 {
		return true
	}
	now := time.Now()
	key := string(keyHash)

	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)

	times := l.keys[key]
	var wait time.Duration
	for _, lim := range l.limits {
		if n := countSince(times, now.Add(-lim.Per)); n >= lim.Requests {
			// The request at index len-Requests must leave the window first.
			oldest := times[len(times)-lim.Requests]
			wait = max(wait, oldest.Add(lim.Per).Sub(now))
		}
	}
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return false
	}

	times = append(times, now)
	if len(times) > l.max {
		times = times[len(times)-l.max:]
	}
	l.keys[key] = times
	return true
}

// countSince counts the times after since; times is in ascending order.
func countSince(times []time.Time, since time.Time) int {
	n := 0
	for i := len(times) - 1; i >= 0 && times[i].After(since); i-- {
		n++
	}
	return n
}

// sweep drops keys idle for longer than the longest window, at most once a minute.
func (l *rateLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for key, times := range l.keys {
		if len(times) == 0 || now.Sub(times[len(times)-1]) > l.longest {
			delete(l.keys, key)
		}
	}
}
