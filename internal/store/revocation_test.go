package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// revocationFixture is a store with one account, one issuing CA and one
// organization. The certificates it issues are stand-in bytes, since the
// store does not parse them.
type revocationFixture struct {
	st     *Store
	ctx    context.Context
	caller *Caller
	caID   int64
	orgID  int64
	serial int
}

func newRevocationFixture(t *testing.T) *revocationFixture {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t, "revocation.db")

	caller, err := st.CreateAccount(ctx, NewAccount{
		Name:  "Revocation Tenant",
		Admin: User{Username: "revocation-admin", FirstName: "Rita", LastName: "Admin", Email: "rita@example.com"},
		// The store keeps whatever hash it is given; a real key is never needed here.
		KeyHash: []byte("hash-of-revocation-key"), KeyPrefix: "revocati",
	})
	if err != nil {
		t.Fatal(err)
	}
	caID, err := st.InsertCA(ctx, CA{CACertID: "REVOKECA", Role: CAIntermediate, CommonName: "Revocation CA",
		CertDER: []byte("der-REVOKECA"), KeyURI: "pkcs11:token=t;object=revoke"})
	if err != nil {
		t.Fatal(err)
	}
	org, _, err := st.CreateOrganization(ctx, Organization{
		AccountID: caller.Account.ID, ContainerID: caller.Account.RootContainerID, Name: "Revocation Org",
		Address: "1 Main St", City: "Richmond", State: "Virginia", Zip: "23219", Country: "US", NormalizedKey: "revocation org",
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	return &revocationFixture{st: st, ctx: ctx, caller: caller, caID: caID, orgID: org.ID}
}

// placeOrder stores a pending order of the fixture's account.
func (f *revocationFixture) placeOrder(t *testing.T) *CreatedOrder {
	t.Helper()
	created, err := f.st.CreateOrder(f.ctx, NewOrder{Order: Order{
		AccountID: f.caller.Account.ID, ContainerID: f.caller.Account.RootContainerID, OrganizationID: f.orgID,
		UserID: f.caller.User.ID, Status: OrderPending, ProductNameID: "ds_org", ProvisioningMethod: "email",
		PublicKey: []byte("spki"), KeyType: "rsa", KeySize: 2048, SignatureHash: "sha256", CAID: f.caID,
		NotAfter: time.Now().AddDate(1, 0, 0), Details: json.RawMessage(`{}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// issue stores an issued certificate for a new order and returns the order.
func (f *revocationFixture) issue(t *testing.T) *CreatedOrder {
	t.Helper()
	created := f.placeOrder(t)
	f.serial++
	serial := fmt.Sprintf("7F%030X", f.serial)
	intentID, err := f.st.CreateIntent(f.ctx, Intent{CertificateID: created.CertificateID, OrderID: created.OrderID,
		SerialNumber: serial, CAID: f.caID, TBS: []byte("tbs")})
	if err != nil {
		t.Fatal(err)
	}
	err = f.st.CompleteIssuance(f.ctx, IssuedCertificate{IntentID: intentID, CertificateID: created.CertificateID,
		OrderID: created.OrderID, AccountID: f.caller.Account.ID, CAID: f.caID, SerialNumber: serial,
		Thumbprint: "THUMB" + serial, DER: []byte("der"), ValidFrom: time.Now(), ValidTill: time.Now().AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func (f *revocationFixture) certificateStatus(t *testing.T, id int64) string {
	t.Helper()
	c, err := f.st.Certificate(f.ctx, f.caller.Account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Status
}

func (f *revocationFixture) orderStatus(t *testing.T, id int64) string {
	t.Helper()
	o, err := f.st.Order(f.ctx, f.caller.Account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return o.Status
}

func TestRevokeRequestOneApprovalWins(t *testing.T) {
	f := newRevocationFixture(t)
	order := f.issue(t)
	request, err := f.st.CreateRevokeRequest(f.ctx, Revocation{AccountID: f.caller.Account.ID, CertificateID: order.CertificateID,
		UserID: f.caller.User.ID, Reason: 1, Comments: "key lost"})
	if err != nil {
		t.Fatal(err)
	}
	if request.Status != RequestSubmitted || request.Type != RequestRevoke {
		t.Fatalf("new revoke request is %s %s, expected a submitted revoke request", request.Status, request.Type)
	}

	const deciders = 8
	results := make(chan error, deciders)
	var wg sync.WaitGroup
	for range deciders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.st.DecideRequest(f.ctx, f.caller.Account.ID, request.ID, f.caller.User.ID, true, "")
			results <- err
		}()
	}
	wg.Wait()
	close(results)

	won, conflicts := 0, 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case errors.Is(err, ErrConflict):
			conflicts++
		default:
			t.Errorf("DecideRequest: %v", err)
		}
	}
	if won != 1 || conflicts != deciders-1 {
		t.Errorf("%d approvals succeeded and %d conflicted, expected 1 and %d", won, conflicts, deciders-1)
	}

	revoked, err := f.st.RevokedCertificates(f.ctx, f.caID)
	if err != nil {
		t.Fatal(err)
	}
	if len(revoked) != 1 || revoked[0].ID != order.CertificateID || revoked[0].Reason != 1 {
		t.Errorf("revoked certificates are %+v, expected certificate %d with reason 1", revoked, order.CertificateID)
	}
	if status := f.orderStatus(t, order.OrderID); status != OrderRevoked {
		t.Errorf("order status is %s, expected revoked", status)
	}
}

func TestRevokeRequestRejectionChangesNothing(t *testing.T) {
	f := newRevocationFixture(t)
	order := f.issue(t)
	request, err := f.st.CreateRevokeRequest(f.ctx, Revocation{AccountID: f.caller.Account.ID, OrderID: order.OrderID, UserID: f.caller.User.ID})
	if err != nil {
		t.Fatal(err)
	}

	decided, err := f.st.DecideRequest(f.ctx, f.caller.Account.ID, request.ID, f.caller.User.ID, false, "not lost after all")
	if err != nil {
		t.Fatal(err)
	}
	if decided.Status != RequestRejected {
		t.Errorf("request status is %s, expected rejected", decided.Status)
	}
	if status := f.certificateStatus(t, order.CertificateID); status != CertificateIssued {
		t.Errorf("certificate status is %s, expected issued", status)
	}
	if status := f.orderStatus(t, order.OrderID); status != OrderIssued {
		t.Errorf("order status is %s, expected issued", status)
	}
}

func TestRevokeChecks(t *testing.T) {
	f := newRevocationFixture(t)
	admin := f.caller.User.ID
	account := f.caller.Account.ID

	revoked := f.issue(t)
	if _, err := f.st.RevokeNow(f.ctx, Revocation{AccountID: account, CertificateID: revoked.CertificateID, UserID: admin}); err != nil {
		t.Fatal(err)
	}
	waiting := f.issue(t)
	if _, err := f.st.CreateRevokeRequest(f.ctx, Revocation{AccountID: account, OrderID: waiting.OrderID, UserID: admin}); err != nil {
		t.Fatal(err)
	}
	pending := f.placeOrder(t)
	good := f.issue(t)

	cases := []struct {
		name     string
		target   Revocation
		expected error
	}{
		{"certificate already revoked", Revocation{AccountID: account, CertificateID: revoked.CertificateID}, ErrAlreadyRevoked},
		{"order already revoked", Revocation{AccountID: account, OrderID: revoked.OrderID}, ErrAlreadyRevoked},
		{"order-wide request waiting, one certificate", Revocation{AccountID: account, CertificateID: waiting.CertificateID}, ErrRevokePending},
		{"order-wide request waiting, whole order", Revocation{AccountID: account, OrderID: waiting.OrderID}, ErrRevokePending},
		{"certificate not issued", Revocation{AccountID: account, CertificateID: pending.CertificateID}, ErrNotIssued},
		{"order not issued", Revocation{AccountID: account, OrderID: pending.OrderID}, ErrNotIssued},
		{"another account's certificate", Revocation{AccountID: account + 1, CertificateID: good.CertificateID}, ErrNotFound},
		{"another account's order", Revocation{AccountID: account + 1, OrderID: good.OrderID}, ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.target.UserID = admin
			_, err := f.st.RevokeNow(f.ctx, c.target)
			if !errors.Is(err, c.expected) {
				t.Errorf("RevokeNow: %v, expected %v", err, c.expected)
			}
			_, err = f.st.CreateRevokeRequest(f.ctx, c.target)
			if !errors.Is(err, c.expected) {
				t.Errorf("CreateRevokeRequest: %v, expected %v", err, c.expected)
			}
		})
	}

	if status := f.certificateStatus(t, good.CertificateID); status != CertificateIssued {
		t.Errorf("certificate of the other account's attempts is %s, expected issued", status)
	}
}

func TestSaveCRLKeepsLargestNumber(t *testing.T) {
	f := newRevocationFixture(t)
	now := time.Now().UTC()
	cases := []struct {
		number int64
		saved  bool
	}{
		{2, true},
		{2, false},
		{1, false},
		{3, true},
	}
	for _, c := range cases {
		saved, err := f.st.SaveCRL(f.ctx, CRLRecord{CAID: f.caID, Number: c.number, ThisUpdate: now, NextUpdate: now.Add(time.Hour),
			DER: []byte(fmt.Sprintf("crl-%d", c.number))})
		if err != nil {
			t.Fatal(err)
		}
		if saved != c.saved {
			t.Errorf("SaveCRL(number %d) = %v, expected %v", c.number, saved, c.saved)
		}
	}

	stored, err := f.st.CRL(f.ctx, f.caID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Number != 3 || string(stored.DER) != "crl-3" {
		t.Errorf("stored CRL is number %d %q, expected number 3", stored.Number, stored.DER)
	}
}
