package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// provisioningFixture is a store with one account, one CA and one
// organization, whose ds validation is active when validated is true.
type provisioningFixture struct {
	st     *Store
	caller *Caller
	caID   int64
	orgID  int64
}

func newProvisioningFixture(t *testing.T, validated bool) *provisioningFixture {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t, "provisioning.db")

	caller, err := st.CreateAccount(ctx, NewAccount{
		Name:      "Provisioning Tests",
		Admin:     User{Username: "admin-provisioning", FirstName: "Ada", LastName: "Admin", Email: "ada@example.com"},
		KeyHash:   []byte("key-hash-provisioning"),
		KeyPrefix: "prov",
	})
	if err != nil {
		t.Fatal(err)
	}
	caID, err := st.InsertCA(ctx, testCA("P1", CAIntermediate))
	if err != nil {
		t.Fatal(err)
	}
	org, _, err := st.CreateOrganization(ctx, Organization{
		AccountID: caller.Account.ID, ContainerID: caller.Account.RootContainerID, Name: "Example Inc", Address: "1 Main St",
		City: "Richmond", State: "Virginia", Zip: "23219", Country: "US", NormalizedKey: "example inc|1 main st",
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if validated {
		if err := st.SubmitValidations(ctx, org.ID, []string{"ds"}, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.CompleteValidation(ctx, org.ID, "ds", time.Now().Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	return &provisioningFixture{st: st, caller: caller, caID: caID, orgID: org.ID}
}

// placeOrder stores an order with the provisioning method and status.
func (f *provisioningFixture) placeOrder(t *testing.T, method, status string, renewalOf int64) int64 {
	t.Helper()
	created, err := f.st.CreateOrder(context.Background(), NewOrder{Order: Order{
		AccountID: f.caller.Account.ID, ContainerID: f.caller.Account.RootContainerID, OrganizationID: f.orgID,
		UserID: f.caller.User.ID, Status: status, ProductNameID: "ds_org", ProvisioningMethod: method,
		KeyType: "ecc", KeySize: 256, SignatureHash: "sha256", CAID: f.caID, NotAfter: time.Now().AddDate(1, 0, 0),
		RenewalOfOrderID: renewalOf, Details: []byte("{}"),
	}})
	if err != nil {
		t.Fatalf("create order: %v", err)
	}
	return created.OrderID
}

func pickupCode(selector string, expires time.Time) NewPickupCode {
	return NewPickupCode{
		Selector: selector, Hash: []byte("hash-" + selector), ExpiresAt: expires,
		Notice: Notification{Kind: NoticePickupCode, Payload: map[string]string{"code": selector + "-secret"}},
	}
}

func TestQueueNotificationDedupe(t *testing.T) {
	ctx := context.Background()
	f := newProvisioningFixture(t, true)
	orderID := f.placeOrder(t, "email", OrderPending, 0)

	cases := []struct {
		name     string
		key      string
		expected bool
	}{
		{"first with a key", "renewal:1:30", true},
		{"same key again", "renewal:1:30", false},
		{"another key", "renewal:1:7", true},
		{"no key", "", true},
		{"no key again", "", true},
	}
	for _, tc := range cases {
		queued, err := f.st.QueueNotification(ctx, Notification{Kind: NoticeRenewal, OrderID: orderID, DedupeKey: tc.key})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if queued != tc.expected {
			t.Errorf("%s: queued = %v, expected %v", tc.name, queued, tc.expected)
		}
	}
}

func TestClaimNotificationsLeases(t *testing.T) {
	ctx := context.Background()
	f := newProvisioningFixture(t, true)
	orderID := f.placeOrder(t, "email", OrderPending, 0)
	if _, err := f.st.QueueNotification(ctx, Notification{Kind: NoticeTokenPIN, OrderID: orderID, Payload: map[string]string{"pin": "123456"}}); err != nil {
		t.Fatal(err)
	}

	t0 := time.Now().UTC().Add(time.Minute)
	claimed, err := f.st.ClaimNotifications(ctx, t0, 5*time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 || claimed[0].Attempts != 1 || claimed[0].Payload["pin"] != "123456" {
		t.Fatalf("first claim = %+v, expected the queued notification with attempt 1 and its payload", claimed)
	}
	id := claimed[0].ID

	again, err := f.st.ClaimNotifications(ctx, t0.Add(4*time.Minute), 5*time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("a leased notification was claimed again before the lease ended: %+v", again)
	}

	afterLease, err := f.st.ClaimNotifications(ctx, t0.Add(6*time.Minute), 5*time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(afterLease) != 1 || afterLease[0].Attempts != 2 {
		t.Fatalf("claim after the lease = %+v, expected the notification with attempt 2", afterLease)
	}

	if err := f.st.MarkNotificationSent(ctx, id, "m-1@example.com", t0); err != nil {
		t.Fatal(err)
	}
	sent, err := f.st.Notification(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Status != NotificationSent {
		t.Errorf("status = %s, expected sent", sent.Status)
	}
	if len(sent.Payload) != 0 {
		t.Errorf("payload after sending = %v, expected it emptied", sent.Payload)
	}
	if rest, _ := f.st.ClaimNotifications(ctx, t0.Add(time.Hour), time.Minute, 10); len(rest) != 0 {
		t.Errorf("a sent notification was claimed: %+v", rest)
	}
}

func TestFailNotificationEmptiesPayload(t *testing.T) {
	ctx := context.Background()
	f := newProvisioningFixture(t, true)
	orderID := f.placeOrder(t, "email", OrderPending, 0)
	if _, err := f.st.QueueNotification(ctx, Notification{Kind: NoticePickupCode, OrderID: orderID, Payload: map[string]string{"code": "X"}}); err != nil {
		t.Fatal(err)
	}
	claimed, err := f.st.ClaimNotifications(ctx, time.Now().Add(time.Minute), time.Minute, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %+v", err, claimed)
	}
	if err := f.st.FailNotification(ctx, claimed[0].ID, "relay refused"); err != nil {
		t.Fatal(err)
	}
	n, err := f.st.Notification(ctx, claimed[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != NotificationFailed || n.LastError != "relay refused" {
		t.Errorf("status %s, last error %q; expected failed with the reason", n.Status, n.LastError)
	}
	if len(n.Payload) != 0 {
		t.Errorf("payload of a failed notification = %v, expected it emptied", n.Payload)
	}
}

func TestStartPickupRequiresReadyOrder(t *testing.T) {
	ctx := context.Background()
	expires := time.Now().Add(time.Hour)
	cases := []struct {
		name      string
		method    string
		status    string
		validated bool
		ok        bool
	}{
		{"pending client_app", ProvisioningClientApp, OrderPending, true, true},
		{"not validated", ProvisioningClientApp, OrderPending, false, false},
		{"needs approval", ProvisioningClientApp, OrderNeedsApproval, true, false},
		{"email order", "email", OrderPending, true, false},
		{"ship_token order", ProvisioningShipToken, OrderPending, true, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newProvisioningFixture(t, tc.validated)
			orderID := f.placeOrder(t, tc.method, tc.status, 0)
			err := f.st.StartPickup(ctx, orderID, pickupCode("SEL"+string(rune('A'+i)), expires))
			if tc.ok && err != nil {
				t.Fatalf("StartPickup: %v", err)
			}
			var stateErr *StateError
			if !tc.ok && !errors.As(err, &stateErr) {
				t.Fatalf("StartPickup = %v, expected a *StateError", err)
			}

			o, err := f.st.OrderByID(ctx, orderID)
			if err != nil {
				t.Fatal(err)
			}
			expected := tc.status
			if tc.ok {
				expected = OrderWaitingPickup
			}
			if o.Status != expected {
				t.Errorf("order status = %s, expected %s", o.Status, expected)
			}
		})
	}
}

func TestPickupCodeLocksAfterFailures(t *testing.T) {
	ctx := context.Background()
	f := newProvisioningFixture(t, true)
	orderID := f.placeOrder(t, ProvisioningClientApp, OrderPending, 0)
	if err := f.st.StartPickup(ctx, orderID, pickupCode("LOCKME01", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	code, err := f.st.PickupCodeBySelector(ctx, "LOCKME01")
	if err != nil {
		t.Fatal(err)
	}

	for attempt := 1; attempt <= 3; attempt++ {
		status, err := f.st.RecordPickupFailure(ctx, code.ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		expected := PickupActive
		if attempt == 3 {
			expected = PickupLocked
		}
		if status != expected {
			t.Errorf("after failure %d the code is %s, expected %s", attempt, status, expected)
		}
	}

	var stateErr *StateError
	err = f.st.RedeemPickup(ctx, code.ID, KeyMaterial{PublicKey: []byte("spki"), KeyType: "ecc", KeySize: 256}, time.Now())
	if !errors.As(err, &stateErr) {
		t.Errorf("redeeming a locked code = %v, expected a *StateError", err)
	}
}

func TestRedeemPickupOnce(t *testing.T) {
	ctx := context.Background()
	f := newProvisioningFixture(t, true)
	orderID := f.placeOrder(t, ProvisioningClientApp, OrderPending, 0)
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if err := f.st.StartPickup(ctx, orderID, pickupCode("ONCE0001", expires)); err != nil {
		t.Fatal(err)
	}
	code, err := f.st.PickupCodeBySelector(ctx, "ONCE0001")
	if err != nil {
		t.Fatal(err)
	}
	key := KeyMaterial{PublicKey: []byte("spki"), KeyType: "ecc", KeySize: 256}
	var stateErr *StateError

	if err := f.st.RedeemPickup(ctx, code.ID, key, expires); !errors.As(err, &stateErr) {
		t.Errorf("redeeming at the expiry = %v, expected a *StateError", err)
	}
	if err := f.st.RedeemPickup(ctx, code.ID, key, expires.Add(-time.Second)); err != nil {
		t.Fatalf("redeem before the expiry: %v", err)
	}
	if err := f.st.RedeemPickup(ctx, code.ID, key, expires.Add(-time.Second)); !errors.As(err, &stateErr) {
		t.Errorf("a second redemption = %v, expected a *StateError", err)
	}

	o, err := f.st.OrderByID(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != OrderPending || string(o.PublicKey) != "spki" {
		t.Errorf("order after redemption: status %s, key %q; expected pending with the key", o.Status, o.PublicKey)
	}
	notices, err := f.st.NotificationsForOrder(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || notices[0].Kind != NoticePickupCode || notices[0].OrderID != orderID {
		t.Errorf("notifications = %+v, expected the pickup code e-mail of the order", notices)
	}
}

func TestOrderRenewedOnce(t *testing.T) {
	ctx := context.Background()
	f := newProvisioningFixture(t, true)
	original := f.placeOrder(t, "email", OrderIssued, 0)

	first := f.placeOrder(t, "email", OrderNeedsApproval, original)
	if _, err := f.st.CreateOrder(ctx, NewOrder{Order: Order{
		AccountID: f.caller.Account.ID, ContainerID: f.caller.Account.RootContainerID, OrganizationID: f.orgID,
		UserID: f.caller.User.ID, Status: OrderNeedsApproval, ProductNameID: "ds_org", ProvisioningMethod: "email",
		KeyType: "ecc", KeySize: 256, SignatureHash: "sha256", CAID: f.caID, NotAfter: time.Now().AddDate(1, 0, 0),
		RenewalOfOrderID: original, Details: []byte("{}"),
	}}); err == nil {
		t.Error("a second renewal of the same order was stored")
	}
	if id, err := f.st.RenewalOrder(ctx, original); err != nil || id != first {
		t.Errorf("RenewalOrder = %d, %v; expected %d", id, err, first)
	}

	// A rejected renewal renewed nothing, so the order can be renewed again.
	if _, err := f.st.DB().Exec(`UPDATE orders SET status = ? WHERE id = ?`, OrderRejected, first); err != nil {
		t.Fatal(err)
	}
	second := f.placeOrder(t, "email", OrderNeedsApproval, original)
	if id, err := f.st.RenewalOrder(ctx, original); err != nil || id != second {
		t.Errorf("RenewalOrder after the rejection = %d, %v; expected %d", id, err, second)
	}
}

func TestShipmentStates(t *testing.T) {
	ctx := context.Background()
	f := newProvisioningFixture(t, true)
	orderID := f.placeOrder(t, ProvisioningShipToken, OrderPending, 0)
	key := KeyMaterial{PublicKey: []byte("spki"), KeyType: "ecc", KeySize: 256}
	sh := Shipment{TokenSerial: "0123", TokenLabel: "ship1", KeyLabel: "docsign-order-1", KeyID: []byte{1, 2}}
	var stateErr *StateError

	if err := f.st.ShipToken(ctx, orderID, "UPS", "1Z", nil); !errors.As(err, &stateErr) {
		t.Errorf("shipping before provisioning = %v, expected a *StateError", err)
	}
	if err := f.st.SetTokenKey(ctx, orderID, key, sh); err != nil {
		t.Fatalf("SetTokenKey: %v", err)
	}
	if err := f.st.SetTokenKey(ctx, orderID, key, sh); !errors.As(err, &stateErr) {
		t.Errorf("a second SetTokenKey = %v, expected a *StateError", err)
	}
	if err := f.st.MarkTokenProvisioned(ctx, orderID); err != nil {
		t.Fatalf("MarkTokenProvisioned: %v", err)
	}
	notices := []Notification{{Kind: NoticeTokenShipped}, {Kind: NoticeTokenPIN, Payload: map[string]string{"pin": "4321"}}}
	if err := f.st.ShipToken(ctx, orderID, "UPS", "1Z999", notices); err != nil {
		t.Fatalf("ShipToken: %v", err)
	}
	if err := f.st.ShipToken(ctx, orderID, "UPS", "1Z999", notices); !errors.As(err, &stateErr) {
		t.Errorf("shipping twice = %v, expected a *StateError", err)
	}

	got, err := f.st.Shipment(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != ShipmentShipped || got.Carrier != "UPS" || got.TrackingNumber != "1Z999" || got.ShippedAt.IsZero() {
		t.Errorf("shipment = %+v, expected shipped with UPS 1Z999", got)
	}
	queued, err := f.st.NotificationsForOrder(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 2 || queued[0].Kind != NoticeTokenShipped || queued[1].Kind != NoticeTokenPIN {
		t.Errorf("queued notifications = %+v, expected the shipment and, separately, the PIN", queued)
	}
}
