package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// checkTarget parses the server URL and, unless allowRemote is set, rejects
// any host that is not a loopback IP address or "localhost". The check runs
// before any connection is opened, so a rejected URL receives no traffic.
func checkTarget(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid --url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid --url %q: the scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("invalid --url %q: the host is missing; use a URL such as http://127.0.0.1:8080", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("invalid --url %q: remove the query and fragment", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")

	if allowRemote || isLoopbackHost(u.Hostname()) {
		return u, nil
	}
	return nil, fmt.Errorf("--url host %q is not a loopback address, so no request was sent; "+
		"benchmark a server on 127.0.0.1 or [::1], or add --allow-remote for a server you run elsewhere", u.Hostname())
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dialContext opens the client's connections. Tests replace it to prove
// that a rejected target is never dialed.
var dialContext = func(allowRemote bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowRemote {
		// A second guard at connect time: "localhost" could resolve to
		// another address through /etc/hosts.
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("connection to %s refused by docsign-bench: not a loopback address; add --allow-remote", address)
			}
			return nil
		}
	}
	return dialer.DialContext
}

// newHTTPClient returns a client for clients concurrent workers. It ignores
// the HTTP_PROXY and HTTPS_PROXY variables, so that requests go to the
// target itself and not through a proxy on another host.
func newHTTPClient(clients int, allowRemote bool) *http.Client {
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         dialContext(allowRemote),
		MaxIdleConns:        clients * 2,
		MaxIdleConnsPerHost: clients * 2,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: transport, Timeout: 2 * time.Minute}
}
