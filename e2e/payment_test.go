package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const balancePath = "/services/v2/finance/balance"

// paymentTables are the tables a paid order writes to, beyond rowCounts.
var paymentTables = []string{"ledger_entries", "order_payments", "payment_profiles", "audit_log"}

// storedRows counts every table that placing an order writes to.
func (s *server) storedRows() map[string]int {
	s.t.Helper()
	counts := s.rowCounts()
	for _, table := range paymentTables {
		counts[table] = s.countRows(table)
	}
	return counts
}

// rootContainer returns the id of the bootstrap account's container.
func (s *server) rootContainer(t *testing.T) int64 {
	t.Helper()
	resp := s.do("GET", "/services/v2/account", s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET account: %d %s", resp.Status, resp.Body)
	}
	return int64(resp.JSON(t)["container"].(map[string]any)["id"].(float64))
}

// balance returns the balance endpoint's fields.
func (s *server) balance(t *testing.T) map[string]any {
	t.Helper()
	resp := s.do("GET", balancePath, s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET balance: %d %s", resp.Status, resp.Body)
	}
	return resp.JSON(t)
}

func expectBalance(t *testing.T, s *server, want string) {
	t.Helper()
	if got := s.balance(t)["balance"]; got != want {
		t.Errorf("balance = %v, want %s", got, want)
	}
}

// placePaidOrder places body and returns the order id and its request id.
func placePaidOrder(t *testing.T, s *server, body map[string]any) (orderID, requestID int64) {
	t.Helper()
	resp := s.do("POST", dsOrgPath, s.Key, body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	v := resp.JSON(t)
	orderID = int64(v["id"].(float64))
	if requests, ok := v["requests"].([]any); ok && len(requests) > 0 {
		requestID = int64(requests[0].(map[string]any)["id"].(float64))
	}
	return orderID, requestID
}

func expectRejected(t *testing.T, s *server, body map[string]any, code string) string {
	t.Helper()
	before := s.storedRows()
	resp := s.do("POST", dsOrgPath, s.Key, body)
	if resp.Status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
	}
	if codes := resp.ErrorCodes(t); !slices.Equal(codes, []string{code}) {
		t.Fatalf("codes = %q, want %q: %s", codes, code, resp.Body)
	}
	expectNothingStored(t, before, s.storedRows())
	return errorMessages(t, resp)
}

func TestBalancePaymentLedger(t *testing.T) {
	s := startServer(t, "--negative-balance-limit", "0.00", "--price-ds-org", "100.00")
	orgID := createValidatedOrganization(t, s, s.Key, "Ledger Inc")
	container := s.rootContainer(t)
	order := func() map[string]any { return emailOrder(orgID, csrPEM(t, testRSAKey(t))) }

	fresh := s.balance(t)
	for field, want := range map[string]any{"balance": "0.00", "negative_balance_limit": "0.00", "total_available_funds": "0.00", "currency": "USD"} {
		if fresh[field] != want {
			t.Errorf("fresh balance %s = %v, want %v", field, fresh[field], want)
		}
	}
	if _, present := fresh["unlimited_negative_balance"]; present {
		t.Errorf("unlimited_negative_balance is present with a limit: %v", fresh)
	}

	message := expectRejected(t, s, order(), "insufficient_funds")
	for _, fact := range []string{"0.00", "100.00", fmt.Sprint(container)} {
		if !strings.Contains(message, fact) {
			t.Errorf("insufficient_funds message lacks %s: %s", fact, message)
		}
	}

	out := s.cli("finance", "deposit", "--container", fmt.Sprint(container), "--amount", "250.00", "--note", "wire 42")
	if !strings.Contains(out, "250.00") {
		t.Errorf("deposit output: %s", out)
	}
	expectBalance(t, s, "250.00")

	_, requestID := placePaidOrder(t, s, order())
	expectBalance(t, s, "150.00")
	if resp := s.do("PUT", fmt.Sprintf("/services/v2/request/%d/status", requestID), s.Key,
		map[string]any{"status": "rejected", "processor_comment": "not needed"}); resp.Status != http.StatusNoContent {
		t.Fatalf("reject: %d %s", resp.Status, resp.Body)
	}
	expectBalance(t, s, "250.00")

	orderID, _ := placePaidOrder(t, s, order())
	expectBalance(t, s, "150.00")
	cancelPath := fmt.Sprintf("/services/v2/order/certificate/%d/status", orderID)
	if resp := s.do("PUT", cancelPath, s.Key, map[string]any{"status": "canceled", "note": "not needed"}); resp.Status != http.StatusNoContent {
		t.Fatalf("cancel: %d %s", resp.Status, resp.Body)
	}
	if resp := s.do("PUT", cancelPath, s.Key, map[string]any{"status": "canceled", "note": "again"}); resp.Status != http.StatusBadRequest {
		t.Errorf("second cancel: %d %s", resp.Status, resp.Body)
	}
	expectBalance(t, s, "250.00")

	expires := time.Now().UTC().AddDate(0, 6, 0).Format("2006-01-02")
	s.cli("promo", "add", "--code", "SPRING10", "--percent", "10", "--expires", expires)
	withPromo := order()
	withPromo["promo_code"] = "spring10"
	placePaidOrder(t, s, withPromo)
	expectBalance(t, s, "160.00")

	unknown := order()
	unknown["promo_code"] = "WINTER"
	expectRejected(t, s, unknown, "invalid_value:promo_code")

	types := map[string]int{}
	for _, row := range auditLines(t, s) {
		types[row["type"].(string)]++
	}
	for typ, want := range map[string]int{"finance.deposit": 1, "promo_code.saved": 1, "order.paid": 3, "payment.refunded": 2} {
		if types[typ] != want {
			t.Errorf("audit log has %d %s rows, want %d", types[typ], typ, want)
		}
	}
}

func TestPromoCodeExpires(t *testing.T) {
	s := startServer(t, "--price-ds-org", "100.00")
	orgID := createValidatedOrganization(t, s, s.Key, "Promo Expiry Inc")
	today := time.Now().UTC().Format("2006-01-02")
	s.cli("promo", "add", "--code", "TODAY50", "--percent", "50", "--expires", today)

	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["promo_code"] = "TODAY50"
	placePaidOrder(t, s, body)
	expectBalance(t, s, "-50.00")

	// Moving the expiry into the past needs the store, because the command
	// rejects a past day.
	st := openStore(t, s.DataDir)
	if _, err := st.DB().Exec(`UPDATE promo_codes SET expires_at = ? WHERE code = 'TODAY50'`,
		time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	st.Close()

	message := expectRejected(t, s, body, "invalid_value:promo_code")
	if !strings.Contains(message, "expired") {
		t.Errorf("message does not say the code expired: %s", message)
	}
}

func TestConcurrentOrdersAgainstOneBalance(t *testing.T) {
	s := startServer(t, "--negative-balance-limit", "0.00", "--price-ds-org", "100.00")
	orgID := createValidatedOrganization(t, s, s.Key, "Concurrent Balance Inc")
	s.cli("finance", "deposit", "--container", fmt.Sprint(s.rootContainer(t)), "--amount", "100.00")
	before := s.storedRows()

	const clients = 8
	bodies := make([][]byte, clients)
	for i := range bodies {
		raw, err := json.Marshal(emailOrder(orgID, csrPEM(t, testRSAKey(t))))
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = raw
	}

	statuses := make([]int, clients)
	codes := make([]string, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], codes[i] = postOrder(s, bodies[i])
		}()
	}
	wg.Wait()

	created := 0
	for i := range clients {
		switch {
		case statuses[i] == http.StatusCreated:
			created++
		case statuses[i] == http.StatusBadRequest && codes[i] == "insufficient_funds":
		default:
			t.Errorf("client %d: status %d, code %q", i, statuses[i], codes[i])
		}
	}
	if created != 1 {
		t.Errorf("%d orders were created, want exactly 1", created)
	}

	after := s.storedRows()
	for table, wantAdded := range map[string]int{"orders": 1, "requests": 1, "certificates": 1, "ledger_entries": 1, "order_payments": 1} {
		if added := after[table] - before[table]; added != wantAdded {
			t.Errorf("%s gained %d rows, want %d", table, added, wantAdded)
		}
	}
	expectBalance(t, s, "0.00")
}

// postOrder sends an order from a goroutine, where t.Fatal may not run,
// and returns the status and the first error code.
func postOrder(s *server, body []byte) (int, string) {
	req, err := http.NewRequest("POST", s.URL+dsOrgPath, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("X-DC-DEVKEY", s.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()

	var envelope struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&envelope)
	if len(envelope.Errors) > 0 {
		return resp.StatusCode, envelope.Errors[0].Code
	}
	return resp.StatusCode, ""
}

const (
	// paymentCardNumber approves with the test processor.
	paymentCardNumber = "4242 4242 4242 4242"
	paymentCVV        = "6173"
)

func cardOrder(t *testing.T, orgID int64, number string) map[string]any {
	t.Helper()
	card := creditCard(time.Now().UTC())
	card["number"] = number
	card["cvv"] = paymentCVV
	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["payment_method"] = "card"
	body["credit_card"] = card
	body["billing_address"] = billingAddress()
	return body
}

func TestCardAndProfilePayments(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Card Payments Inc")

	declines := []struct {
		number string
		code   string
	}{
		{"4000 0000 0000 0002", "card_declined"},
		{"4000 0000 0000 9995", "card_declined|insufficient_funds"},
		{"4532 0151 1283 0366", "card_declined"},
	}
	for _, tc := range declines {
		message := expectRejected(t, s, cardOrder(t, orgID, tc.number), tc.code)
		if strings.Contains(message, strings.ReplaceAll(tc.number, " ", "")) || strings.Contains(message, paymentCVV) {
			t.Errorf("decline message shows the card number or CVV: %s", message)
		}
	}

	profileOrder := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	profileOrder["payment_method"] = "profile"
	expectRejected(t, s, profileOrder, "invalid_value:payment_method")

	saving := cardOrder(t, orgID, paymentCardNumber)
	saving["credit_card"].(map[string]any)["save_credit_card"] = true
	cardOrderID, _ := placePaidOrder(t, s, saving)

	resp := s.do("GET", "/services/v2/finance/payment-profile", s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET payment-profile: %d %s", resp.Status, resp.Body)
	}
	profiles := resp.JSON(t)["payment_profiles"].([]any)
	if len(profiles) != 1 {
		t.Fatalf("payment profiles = %s, want one", resp.Body)
	}
	profile := profiles[0].(map[string]any)
	if profile["last_four"] != "4242" || profile["card_type"] != "visa" {
		t.Errorf("profile = %v, want a visa ending in 4242", profile)
	}

	profileOrder["payment_profile"] = map[string]any{"id": profile["id"]}
	placePaidOrder(t, s, profileOrder)

	if resp := s.do("PUT", fmt.Sprintf("/services/v2/order/certificate/%d/status", cardOrderID), s.Key,
		map[string]any{"status": "canceled", "note": "not needed"}); resp.Status != http.StatusNoContent {
		t.Fatalf("cancel: %d %s", resp.Status, resp.Body)
	}
	// The cancel request or the server's sweep, whichever records the
	// refund first, logs it; the sweep may do so after the response.
	waitForLog(t, s, "card refunded")
	expectBalance(t, s, "0.00")

	// A clean stop checkpoints the WAL into the database file; any WAL
	// left behind is scanned too. The outbox is the notifications table.
	s.stop()
	sources := map[string][]byte{"server log": []byte(s.logs.String())}
	for name, content := range dataDirFiles(t, s.DataDir) {
		sources[name] = content
	}
	addDatabaseDump(t, s.DataDir, sources)
	if !bytes.Contains(sources["docsign.db"], []byte(`"card_last_four":"4242"`)) {
		t.Fatal("the database lacks the card order's last four digits; the order did not run as planned")
	}
	patterns := []string{
		"4242424242424242", paymentCardNumber, "4242-4242-4242-4242", "4000000000000002", "4000000000009995",
		`"` + paymentCVV + `"`, "cvv=" + paymentCVV, `cvv":` + paymentCVV,
	}
	for source, content := range sources {
		for _, pattern := range patterns {
			if bytes.Contains(content, []byte(pattern)) {
				t.Errorf("%s contains %q", source, pattern)
			}
		}
	}
}

// waitForLog waits up to 30 seconds for text to appear in the server log.
func waitForLog(t *testing.T, s *server, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.logs.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the server log does not contain %q:\n%s", text, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
