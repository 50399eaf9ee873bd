package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// TestIdempotencyKeyOfDeadServer stands for a server that died while it
// held an Idempotency-Key: the database is set back to what such a server
// leaves, a reservation without a response, older than its lease. When the
// order was placed before the death, the retry returns that order. When it
// was not, the retry places it.
func TestIdempotencyKeyOfDeadServer(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Retried Orders Ltd")

	// forgetResponse turns a finished key back into the reservation of a
	// server that died, optionally one that died before its order was stored.
	forgetResponse := func(key string, orderStored bool) {
		st, err := openDataDirStore(s.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		old := time.Now().UTC().Add(-store.IdempotencyReservationLease - 5*time.Second).Format(time.RFC3339)
		query := `UPDATE idempotency_keys SET status = 0, content_type = '', body = ?, created_at = ? WHERE key = ?`
		if !orderStored {
			query = `UPDATE idempotency_keys SET status = 0, content_type = '', body = ?, created_at = ?, order_id = NULL WHERE key = ?`
		}
		if _, err := st.DB().Exec(query, []byte{}, old, key); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		name        string
		orderStored bool
		wantOrders  int // orders the retry adds
		wantReplay  bool
	}{
		{"order placed before the death", true, 0, true},
		{"death before the order", false, 1, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "dead-server-" + string(rune('a'+i))
			body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
			first := postOrderWithKey(t, s, key, body)
			if first.Status != http.StatusCreated {
				t.Fatalf("first request: %d %s", first.Status, first.Body)
			}
			var placed struct {
				ID       int64 `json:"id"`
				Requests []struct {
					ID     int64  `json:"id"`
					Status string `json:"status"`
				} `json:"requests"`
			}
			if err := json.Unmarshal(first.Body, &placed); err != nil {
				t.Fatal(err)
			}
			forgetResponse(key, tc.orderStored)
			before := s.countRows("orders")

			retry := postOrderWithKey(t, s, key, body)
			if retry.Status != http.StatusCreated {
				t.Fatalf("retry: %d %s", retry.Status, retry.Body)
			}
			if got := s.countRows("orders") - before; got != tc.wantOrders {
				t.Errorf("the retry added %d orders, expected %d", got, tc.wantOrders)
			}
			if got := retry.Header.Get("Idempotent-Replayed") == "true"; got != tc.wantReplay {
				t.Errorf("Idempotent-Replayed = %q, expected a replay: %v", retry.Header.Get("Idempotent-Replayed"), tc.wantReplay)
			}
			if tc.wantReplay && !bytes.Equal(bytes.TrimSpace(retry.Body), bytes.TrimSpace(first.Body)) {
				t.Errorf("retry body = %s, expected the first answer %s", retry.Body, first.Body)
			}

			// A third request replays the retry's response.
			third := postOrderWithKey(t, s, key, body)
			if third.Status != http.StatusCreated || !bytes.Equal(third.Body, retry.Body) {
				t.Errorf("third request: %d %s, expected the retry's answer %s", third.Status, third.Body, retry.Body)
			}
		})
	}
}

// postOrderWithKey posts a ds_org order with an Idempotency-Key.
func postOrderWithKey(t *testing.T, s *server, key string, body any) *response {
	t.Helper()
	raw, err := jsonBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", s.URL+"/services/v2/order/certificate/ds_org", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-DC-DEVKEY", s.Key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
}
