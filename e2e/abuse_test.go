package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// This file sends hostile requests to a server on loopback and checks that
// each gets its documented response while the server's memory stays bounded.
// No case asserts a duration: the slow client case asserts that the server
// closed the connection, and its deadline only keeps a broken server from
// hanging the suite.

// maxServerMemory is a generous bound on the server's peak resident memory
// (VmHWM) after every case below. It is loose on purpose, because it only
// has to catch a server that buffers a whole 20 MB body or similar.
const maxServerMemory = 200 << 20

// repeatingReader returns the same byte forever.
type repeatingReader byte

func (r repeatingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestAbusiveRequests(t *testing.T) {
	// Only the header timeout is short: the other timeouts are long, so
	// that the slow client case can be closed by nothing else.
	s := startServer(t, "--read-header-timeout", "2s", "--read-timeout", "5m", "--write-timeout", "5m")
	orgID := createValidatedOrganization(t, s, s.Key, "Abuse Test Inc")
	valid, err := jsonBytes(emailOrder(orgID, csrPEM(t, testRSAKey(t))))
	if err != nil {
		t.Fatal(err)
	}
	inner := string(valid[1 : len(valid)-1])

	t.Run("20 MB body", func(t *testing.T) { expectBodyRejected(t, s, 20<<20) })
	t.Run("slow headers", func(t *testing.T) { expectSlowHeadersClosed(t, s) })
	t.Run("header over 64 KiB", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/services/v2/order/certificate/1", nil)
		req.Header.Set("X-DC-DEVKEY", s.Key)
		req.Header.Set("X-Padding", strings.Repeat("a", 100<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// net/http responds before any handler runs, in plain text.
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
	})

	emails := make([]any, 10000)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%d@example.com", i)
	}
	withEmails := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	withEmails["additional_emails"] = emails

	const depth = 100000
	cases := []exchange{
		{name: "10 000 additional_emails", body: withEmails, codes: []string{"invalid_value:additional_emails"}},
		{name: "deeply nested arrays", body: `{"comments":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `,` + inner + `}`,
			codes: []string{"bad_request_format"}},
		{name: "deeply nested objects", body: strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth),
			codes: []string{"bad_request_format"}},
		{name: "unclosed nesting", body: strings.Repeat("[", 500000), codes: []string{"bad_request_format"}},
		{name: "invalid UTF-8", body: `{"comments":"` + strings.Repeat("\xff\xfe", 1000) + `",` + inner + `}`,
			codes: []string{"bad_request_format"}},
		{name: "duplicate keys", body: `{"comments":"a","comments":"b",` + inner + `}`, codes: []string{"bad_request_format"}},
		{name: "many duplicate keys", body: "{" + strings.Repeat(`"x":1,`, 50000) + inner + "}", codes: []string{"bad_request_format"}},
	}
	runExchanges(t, s, cases)

	// The server is still serving after all of it.
	if resp := s.do("GET", fmt.Sprintf("/services/v2/organization/%d", orgID), s.Key, nil); resp.Status != http.StatusOK {
		t.Errorf("GET organization after the abuse: %d %s", resp.Status, resp.Body)
	}
	if hwm := peakMemory(t, s.cmd.Process.Pid); hwm > maxServerMemory {
		t.Errorf("server peak memory (VmHWM) is %d MiB, over the bound of %d MiB", hwm>>20, maxServerMemory>>20)
	} else {
		t.Logf("server peak memory (VmHWM): %d MiB", hwm>>20)
	}
}

// expectBodyRejected streams a body of size bytes and expects 413
// request_entity_too_large before the server read all of it.
func expectBodyRejected(t *testing.T, s *server, size int64) {
	t.Helper()
	prefix := `{"comments":"`
	body := &countingReader{r: io.MultiReader(strings.NewReader(prefix), io.LimitReader(repeatingReader('a'), size))}
	req, err := http.NewRequest(http.MethodPost, s.URL+dsOrgPath, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(prefix)) + size
	req.Header.Set("X-DC-DEVKEY", s.Key)
	req.Header.Set("Content-Type", "application/json")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the server dropped the connection instead of answering 413: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}

	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", r.Status, raw)
	}
	expectCodes(t, r, "request_entity_too_large")
	if sent := body.n.Load(); sent >= req.ContentLength {
		t.Errorf("the client sent all %d bytes; the server should stop reading after 1 MiB", sent)
	}
}

// expectSlowHeadersClosed sends request headers one byte a second and
// expects the server to close the connection without a response.
func expectSlowHeadersClosed(t *testing.T, s *server) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	const slowBytes = 120
	var sent atomic.Int64
	go func() {
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: docsign.test\r\nX-Slow: "); err != nil {
			return
		}
		for range slowBytes {
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
			sent.Add(1)
			time.Sleep(time.Second)
		}
	}()

	// The deadline keeps a server without a header timeout from hanging
	// the suite; it is far longer than the 2s the server was given.
	_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	answer, err := bufio.NewReader(conn).ReadString('\n')
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("the server kept a connection open for 90s while its headers arrived a byte a second (%d bytes sent)", sent.Load())
	}
	if strings.HasPrefix(answer, "HTTP/1.1 2") {
		t.Fatalf("the server answered an incomplete request: %q", answer)
	}
	if sent.Load() >= slowBytes {
		t.Fatalf("the client finished sending before the server closed the connection")
	}
}

// peakMemory returns a process's peak resident set size (VmHWM) in bytes.
func peakMemory(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("cannot read the server's memory use: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 3 && fields[0] == "VmHWM:" && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM line in /proc/%d/status", pid)
	return 0
}
