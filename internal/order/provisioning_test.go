package order

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/csr"
	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/issuance"
	"github.com/docsign-ca/docsign-ca/internal/store"
	"github.com/docsign-ca/docsign-ca/internal/storetest"
)

// provisioningService is a real order service over a temporary store and a
// development CA hierarchy. AutoValidate completes every validation, so an
// order with skip_approval is ready as soon as it has key material.
type provisioningService struct {
	*Service
	st     *store.Store
	caller *store.Caller
	clock  time.Time
}

func newProvisioningService(t *testing.T) *provisioningService {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st := storetest.Open(t, "order.db")

	h, err := issuance.CreateDevelopmentHierarchy(dir, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	rootID, err := st.InsertCA(ctx, store.CA{CACertID: "TESTROOT", Role: store.CARoot, CommonName: h.Root.Subject.CommonName,
		CertDER: h.RootDER, KeyURI: h.RootKeyURI, Development: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertCA(ctx, store.CA{CACertID: "TESTISSUING", Role: store.CAIntermediate, ParentID: rootID,
		CommonName: h.Intermediate.Subject.CommonName, CertDER: h.IntermediateDER, KeyURI: h.IntermediateKeyURI, Development: true}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	authority, err := ca.Load(ctx, st, log)
	if err != nil {
		t.Fatal(err)
	}

	caller, err := st.CreateAccount(ctx, store.NewAccount{
		Name:      "Provisioning",
		Admin:     store.User{Username: "admin", FirstName: "Ada", LastName: "Admin", Email: "ada@example.com"},
		KeyHash:   []byte("provisioning-key-hash"),
		KeyPrefix: "prov",
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := NewService(st, authority, log)
	svc.AutoValidate = true
	p := &provisioningService{Service: svc, st: st, caller: caller, clock: time.Now().UTC()}
	svc.now = func() time.Time { return p.clock }
	return p
}

// orderBody is a ds_org body for a new organization with skip_approval.
func orderBody(method, csrPEM string, extra string) string {
	certificate := `"signature_hash": "sha256", "key_size": 256, "csr_key_type": "ecc", "usage_designation": {"primary_usage": "signing"}`
	if csrPEM != "" {
		quoted, _ := json.Marshal(csrPEM)
		certificate += `, "csr": ` + string(quoted)
	}
	return `{
	  "certificate": {` + certificate + `},
	  "cs_provisioning_method": "` + method + `",
	  "organization": {"name": "Example Inc", "address": "1 Main St", "city": "Richmond", "state": "VA", "zip": "23219",
	                   "country": "us", "skip_duplicate_org_check": true},
	  "order_validity": {"years": 1},
	  "payment_method": "balance",
	  "skip_approval": true` + extra + `
	}`
}

func (p *provisioningService) place(t *testing.T, body string) *PlacedOrder {
	t.Helper()
	req, err := ParseDSOrg(decodeTree(t, body), p.now())
	if err != nil {
		t.Fatalf("parse order: %v", err)
	}
	placed, err := p.PlaceDSOrder(context.Background(), p.caller, req, nil)
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	return placed
}

// pickupCodeOf returns the code that the order's newest pickup e-mail carries.
func (p *provisioningService) pickupCodeOf(t *testing.T, orderID int64) string {
	t.Helper()
	notices, err := p.st.NotificationsForOrder(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(notices) - 1; i >= 0; i-- {
		if notices[i].Kind == store.NoticePickupCode {
			return notices[i].Payload["code"]
		}
	}
	t.Fatalf("order %d has no pickup code e-mail: %+v", orderID, notices)
	return ""
}

func eccCSR(t *testing.T, curve elliptic.Curve) *csr.Request {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := csr.Parse(makeCSR(key))
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

func errorCode(err error) string {
	if e := errs.As(err); e != nil && len(e.Problems) > 0 {
		return e.Problems[0].Code
	}
	return fmt.Sprintf("%v", err)
}

func TestPickupCodeNormalization(t *testing.T) {
	code, err := newPickupCode()
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != codeLength+codeLength/codeGroupLength-1 || strings.Count(code, "-") != codeLength/codeGroupLength-1 {
		t.Fatalf("code %q is not %d symbols in groups of %d", code, codeLength, codeGroupLength)
	}
	bare := strings.ReplaceAll(code, "-", "")

	cases := []struct {
		name  string
		input string
		ok    bool
	}{
		{"as e-mailed", code, true},
		{"lower case", strings.ToLower(code), true},
		{"spaces for dashes", strings.ReplaceAll(code, "-", " "), true},
		{"without separators", bare, true},
		{"one symbol short", bare[1:], false},
		{"one symbol more", bare + "A", false},
		{"zero is not in the alphabet", "0" + bare[1:], false},
		{"letter O is not in the alphabet", "O" + bare[1:], false},
		{"non-ASCII", "Ä" + bare[1:], false},
		{"empty", "", false},
	}
	for _, tc := range cases {
		normalized, ok := normalizePickupCode(tc.input)
		if ok != tc.ok {
			t.Errorf("%s: normalizePickupCode(%q) ok = %v, expected %v", tc.name, tc.input, ok, tc.ok)
		}
		if ok && normalized != bare {
			t.Errorf("%s: normalized to %q, expected %q", tc.name, normalized, bare)
		}
	}
}

func TestPickupRedeemsOnce(t *testing.T) {
	ctx := context.Background()
	p := newProvisioningService(t)
	placed := p.place(t, orderBody("client_app", "", ""))

	o, err := p.st.OrderByID(ctx, placed.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != store.OrderWaitingPickup {
		t.Fatalf("order status = %s, expected waiting_pickup once approved and validated", o.Status)
	}
	code := p.pickupCodeOf(t, placed.OrderID)

	info, err := p.PickupInfo(ctx, code)
	if err != nil {
		t.Fatalf("PickupInfo: %v", err)
	}
	if info.OrderID != placed.OrderID || info.KeyType != "ecc" || info.KeySize != 256 || info.OrganizationName != "Example Inc" {
		t.Errorf("PickupInfo = %+v, expected order %d, ecc 256, Example Inc", info, placed.OrderID)
	}

	_, err = p.RedeemPickup(ctx, code, eccCSR(t, elliptic.P384()))
	if errorCode(err) != "invalid_value:csr" {
		t.Errorf("a P-384 key for a P-256 order: %v, expected invalid_value:csr", err)
	}

	res, err := p.RedeemPickup(ctx, code, eccCSR(t, elliptic.P256()))
	if err != nil {
		t.Fatalf("RedeemPickup after the rejected key: %v", err)
	}
	if res.Certificate == nil || len(res.Chain) != 2 {
		t.Fatalf("RedeemPickup = %+v, expected the issued certificate and a chain of 2", res)
	}

	_, err = p.RedeemPickup(ctx, code, eccCSR(t, elliptic.P256()))
	if errorCode(err) != CodePickupCodeUsed || !PickupCodeIsFailure(err) {
		t.Errorf("second redemption: %v, expected %s counted as a failure", err, CodePickupCodeUsed)
	}
	collected, err := p.PickupCertificate(ctx, code)
	if err != nil {
		t.Fatalf("PickupCertificate with the redeemed code: %v", err)
	}
	if string(collected.Certificate) != string(res.Certificate) {
		t.Error("PickupCertificate returned another certificate than the redemption")
	}
}

func TestPickupCodeLocksAfterWrongGuesses(t *testing.T) {
	ctx := context.Background()
	p := newProvisioningService(t)
	p.Provisioning.MaxPickupFailures = 3
	placed := p.place(t, orderBody("client_app", "", ""))
	code := p.pickupCodeOf(t, placed.OrderID)

	// Same selector, wrong secret: each guess counts against this code.
	bare := strings.ReplaceAll(code, "-", "")
	last := bare[len(bare)-1:]
	wrongLast := "A"
	if last == "A" {
		wrongLast = "B"
	}
	wrong := bare[:len(bare)-1] + wrongLast

	for i := 1; i <= 3; i++ {
		_, err := p.PickupInfo(ctx, wrong)
		if errorCode(err) != CodeInvalidPickupCode || !PickupCodeIsFailure(err) {
			t.Fatalf("wrong guess %d: %v, expected %s", i, err, CodeInvalidPickupCode)
		}
	}
	_, err := p.PickupInfo(ctx, code)
	if errorCode(err) != CodePickupCodeLocked {
		t.Errorf("the right code after 3 wrong guesses: %v, expected %s", err, CodePickupCodeLocked)
	}

	fresh, err := p.NewPickupCode(ctx, p.caller, placed.OrderID)
	if err != nil {
		t.Fatalf("NewPickupCode: %v", err)
	}
	if _, err := p.PickupInfo(ctx, fresh.Code); err != nil {
		t.Errorf("the replacement code: %v", err)
	}
	if fresh.Code != p.pickupCodeOf(t, placed.OrderID) {
		t.Error("the replacement code was not e-mailed to the requester")
	}
}

func TestPickupCodeExpires(t *testing.T) {
	ctx := context.Background()
	p := newProvisioningService(t)
	p.Provisioning.PickupCodeTTL = 48 * time.Hour
	placed := p.place(t, orderBody("client_app", "", ""))
	code := p.pickupCodeOf(t, placed.OrderID)

	p.clock = p.clock.Add(47 * time.Hour)
	if _, err := p.PickupInfo(ctx, code); err != nil {
		t.Errorf("one hour before the expiry: %v", err)
	}
	p.clock = p.clock.Add(time.Hour)
	if _, err := p.PickupInfo(ctx, code); errorCode(err) != CodePickupCodeExpired {
		t.Errorf("at the expiry: %v, expected %s", err, CodePickupCodeExpired)
	}

	info, err := p.Order(ctx, p.caller, placed.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if info.Provisioning.Pickup == nil || info.Provisioning.Pickup.Status != PickupExpired {
		t.Errorf("order info pickup = %+v, expected expired", info.Provisioning.Pickup)
	}

	fresh, err := p.NewPickupCode(ctx, p.caller, placed.OrderID)
	if err != nil {
		t.Fatalf("NewPickupCode: %v", err)
	}
	if _, err := p.PickupInfo(ctx, code); errorCode(err) != CodeInvalidPickupCode {
		t.Errorf("the replaced code: %v, expected %s", err, CodeInvalidPickupCode)
	}
	if _, err := p.RedeemPickup(ctx, fresh.Code, eccCSR(t, elliptic.P256())); err != nil {
		t.Errorf("redeem the replacement code: %v", err)
	}
}

func TestNewPickupCodeRequiresWaitingOrder(t *testing.T) {
	ctx := context.Background()
	p := newProvisioningService(t)
	placed := p.place(t, orderBody("email", makeCSR(eccCSRKey(t)), ""))

	_, err := p.NewPickupCode(ctx, p.caller, placed.OrderID)
	if errorCode(err) != "invalid_order_status" {
		t.Errorf("a new code for an issued email order: %v, expected invalid_order_status", err)
	}
	_, err = p.NewPickupCode(ctx, p.caller, placed.OrderID+100)
	if errorCode(err) != "not_found|order" {
		t.Errorf("a new code for an unknown order: %v, expected not_found|order", err)
	}
}

func eccCSRKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestNoticeThreshold(t *testing.T) {
	days := []int{0, 7, 30, 60, 90}
	const day = 24 * time.Hour
	cases := []struct {
		left     time.Duration
		expected int
		ok       bool
	}{
		{100 * day, 0, false},
		{90*day + time.Second, 0, false},
		{90 * day, 90, true},
		{45 * day, 60, true},
		{30 * day, 30, true},
		{8 * day, 30, true},
		{7 * day, 7, true},
		{time.Hour, 7, true},
		{0, 0, true},
		{-time.Hour, 0, true},
	}
	for _, tc := range cases {
		got, ok := noticeThreshold(days, tc.left)
		if ok != tc.ok || got != tc.expected {
			t.Errorf("noticeThreshold(%s) = %d, %v; expected %d, %v", tc.left, got, ok, tc.expected, tc.ok)
		}
	}
}

func TestParseRenewalNoticeDays(t *testing.T) {
	cases := []struct {
		input    string
		expected []int
		ok       bool
	}{
		{"90,60,30,7,0", []int{0, 7, 30, 60, 90}, true},
		{" 7 , 30 ", []int{7, 30}, true},
		{"30,30", []int{30}, true},
		{"", nil, true},
		{"-1", nil, false},
		{"1096", nil, false},
		{"seven", nil, false},
	}
	for _, tc := range cases {
		got, err := ParseRenewalNoticeDays(tc.input)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRenewalNoticeDays(%q) error = %v, expected ok %v", tc.input, err, tc.ok)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.expected) {
			t.Errorf("ParseRenewalNoticeDays(%q) = %v, expected %v", tc.input, got, tc.expected)
		}
	}
}

func TestQueueRenewalNotices(t *testing.T) {
	ctx := context.Background()
	p := newProvisioningService(t)
	days := []int{0, 7, 30, 60, 90}
	notified := p.place(t, orderBody("email", makeCSR(eccCSRKey(t)), `, "custom_renewal_message": "Renew with the new budget code."`))
	silent := p.place(t, orderBody("email", makeCSR(eccCSRKey(t)), `, "disable_renewal_notifications": true`))
	renewed := p.place(t, orderBody("email", makeCSR(eccCSRKey(t)), ""))
	// The renewal itself is silenced, so that only the notified order counts.
	p.place(t, orderBody("email", makeCSR(eccCSRKey(t)),
		fmt.Sprintf(`, "renewal_of_order_id": %d, "disable_renewal_notifications": true`, renewed.OrderID)))

	cert, err := p.st.CertificateForOrder(ctx, notified.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		left     time.Duration
		expected int // notices queued by this step
	}{
		{"a year left", 300 * 24 * time.Hour, 0},
		{"29 days left", 29 * 24 * time.Hour, 1},
		{"29 days left again", 29 * 24 * time.Hour, 0},
		{"6 days left", 6 * 24 * time.Hour, 1},
		{"expired an hour ago", -time.Hour, 1},
		{"expired two days ago", -48 * time.Hour, 0},
	}
	for _, step := range steps {
		p.clock = cert.ValidTill.Add(-step.left)
		queued, err := p.QueueRenewalNotices(ctx, days)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if queued != step.expected {
			t.Errorf("%s: queued %d notices, expected %d", step.name, queued, step.expected)
		}
	}

	for _, id := range []int64{silent.OrderID, renewed.OrderID} {
		notices, err := p.st.NotificationsForOrder(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range notices {
			if n.Kind == store.NoticeRenewal {
				t.Errorf("order %d got a renewal notice although it is silenced or renewed", id)
			}
		}
	}
	notices, err := p.st.NotificationsForOrder(ctx, notified.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	var thresholds []string
	for _, n := range notices {
		if n.Kind == store.NoticeRenewal {
			thresholds = append(thresholds, n.Payload["days"])
		}
	}
	if strings.Join(thresholds, ",") != "30,7,0" {
		t.Errorf("renewal notices of order %d at days %v, expected 30,7,0", notified.OrderID, thresholds)
	}
}

func TestQueueRenewalNoticesAcrossPages(t *testing.T) {
	ctx := context.Background()
	p := newProvisioningService(t)
	saved := renewalPageSize
	renewalPageSize = 2
	t.Cleanup(func() { renewalPageSize = saved })

	var last *store.Certificate
	for range 5 {
		placed := p.place(t, orderBody("email", makeCSR(eccCSRKey(t)), ""))
		cert, err := p.st.CertificateForOrder(ctx, placed.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		last = cert
	}

	p.clock = last.ValidTill.Add(-6 * 24 * time.Hour)
	queued, err := p.QueueRenewalNotices(ctx, []int{7, 30})
	if err != nil {
		t.Fatal(err)
	}
	if queued != 5 {
		t.Errorf("queued %d notices over pages of 2, expected 5", queued)
	}
}

func TestOrderRenewedOnlyOnce(t *testing.T) {
	ctx := context.Background()
	p := newProvisioningService(t)
	original := p.place(t, orderBody("email", makeCSR(eccCSRKey(t)), ""))
	cert, err := p.st.CertificateForOrder(ctx, original.OrderID)
	if err != nil {
		t.Fatal(err)
	}

	// renewed_thumbprint alone links the renewal to the order.
	renewal := p.place(t, orderBody("email", makeCSR(eccCSRKey(t)), fmt.Sprintf(`, "renewed_thumbprint": %q`, cert.Thumbprint)))
	o, err := p.st.OrderByID(ctx, renewal.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.RenewalOfOrderID != original.OrderID {
		t.Errorf("renewal_of_order_id of the renewal = %d, expected %d", o.RenewalOfOrderID, original.OrderID)
	}
	info, err := p.Order(ctx, p.caller, original.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if info.Provisioning.RenewedByOrderID != renewal.OrderID {
		t.Errorf("order info of the original: renewed by %d, expected %d", info.Provisioning.RenewedByOrderID, renewal.OrderID)
	}

	cases := []struct {
		name  string
		extra string
		code  string
	}{
		{"by id", fmt.Sprintf(`, "renewal_of_order_id": %d`, original.OrderID), "invalid_value:renewal_of_order_id"},
		{"by thumbprint", fmt.Sprintf(`, "renewed_thumbprint": %q`, cert.Thumbprint), "invalid_value:renewed_thumbprint"},
	}
	for _, tc := range cases {
		req, err := ParseDSOrg(decodeTree(t, orderBody("email", makeCSR(eccCSRKey(t)), tc.extra)), p.now())
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.PlaceDSOrder(ctx, p.caller, req, nil)
		if errorCode(err) != tc.code {
			t.Errorf("second renewal %s: %v, expected %s", tc.name, err, tc.code)
		}
	}
}
