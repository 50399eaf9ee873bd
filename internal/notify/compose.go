package notify

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Composer renders a queued notification into a message from the current
// state of its order.
type Composer struct {
	Store *store.Store
	// Chain returns the CA certificates [intermediate, root] of an issuing
	// CA, for the attachment of an issued certificate.
	Chain func(caID int64) []*x509.Certificate
	// PublicURL is the base URL of the API that links in messages use.
	PublicURL string
	// From is the sender address.
	From string
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

func (c *Composer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// orderFacts are the order data that every message about an order reads.
type orderFacts struct {
	order        *store.Order
	details      *order.DetailsView
	organization *store.Organization
	requester    *store.User
}

// Compose renders n. The message has no Message-ID or Date yet.
func (c *Composer) Compose(ctx context.Context, n store.Notification) (*Message, error) {
	facts, err := c.facts(ctx, n.OrderID)
	if err != nil {
		return nil, err
	}

	var m *Message
	switch n.Kind {
	case store.NoticeCertificateIssued:
		m, err = c.issued(ctx, n, facts)
	case store.NoticePickupCode:
		m, err = c.pickupCode(n, facts)
	case store.NoticeTokenShipped:
		m, err = c.tokenShipped(ctx, facts)
	case store.NoticeTokenPIN:
		m, err = c.tokenPIN(n, facts)
	case store.NoticeRenewal:
		m, err = c.renewal(ctx, n, facts)
	default:
		return nil, fmt.Errorf("notification %d has unknown kind %q", n.ID, n.Kind)
	}
	if err != nil {
		return nil, err
	}
	m.From = c.From
	if len(m.To) == 0 {
		return nil, fmt.Errorf("%s notification %d of order %d: %w", n.Kind, n.ID, n.OrderID, errNoRecipients)
	}
	return m, nil
}

func (c *Composer) facts(ctx context.Context, orderID int64) (*orderFacts, error) {
	o, err := c.Store.OrderByID(ctx, orderID)
	if err != nil {
		return nil, err
	}
	d, err := order.NotificationDetails(o)
	if err != nil {
		return nil, fmt.Errorf("decode details of order %d: %w", orderID, err)
	}
	org, err := c.Store.OrganizationByID(ctx, o.OrganizationID)
	if err != nil {
		return nil, err
	}
	requester, err := c.Store.UserInAccount(ctx, o.AccountID, o.UserID)
	if err != nil {
		return nil, fmt.Errorf("read requester of order %d: %w", orderID, err)
	}
	return &orderFacts{order: o, details: d, organization: org, requester: requester}, nil
}

// recipients collects distinct addresses, compared without case, in the
// order given.
type recipients struct {
	list []string
	seen map[string]bool
}

func (r *recipients) add(addresses ...string) {
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	for _, a := range addresses {
		a = strings.TrimSpace(a)
		key := strings.ToLower(a)
		if a == "" || r.seen[key] {
			continue
		}
		r.seen[key] = true
		r.list = append(r.list, a)
	}
}

// contactEmail returns the address of an order contact; a contact that
// names an existing user has that user's address.
func (c *Composer) contactEmail(ctx context.Context, f *orderFacts, contact order.ContactView) string {
	if contact.UserID == 0 {
		return contact.Email
	}
	u, err := c.Store.UserInAccount(ctx, f.order.AccountID, contact.UserID)
	if err != nil {
		return ""
	}
	return u.Email
}

// contacts adds the organization contacts of the order, and its technical
// contacts when technical is true. The order's own contacts come first;
// the organization's stored contact is used when the order names none.
func (c *Composer) contacts(ctx context.Context, f *orderFacts, r *recipients, technical bool) {
	named := false
	for _, contact := range f.details.Contacts {
		if contact.Technical && !technical {
			continue
		}
		if !contact.Technical {
			named = true
		}
		r.add(c.contactEmail(ctx, f, contact))
	}
	if !named {
		r.add(f.organization.OrganizationContact.Email)
	}
	if technical && f.organization.TechnicalContact != nil {
		r.add(f.organization.TechnicalContact.Email)
	}
}

func (c *Composer) issued(ctx context.Context, n store.Notification, f *orderFacts) (*Message, error) {
	cert, err := c.Store.Certificate(ctx, f.order.AccountID, n.CertificateID)
	if err != nil {
		return nil, fmt.Errorf("read certificate %d: %w", n.CertificateID, err)
	}
	leaf, err := x509.ParseCertificate(cert.DER)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %d: %w", cert.ID, err)
	}
	chain := c.Chain(cert.CAID)

	var r recipients
	c.contacts(ctx, f, &r, false)
	r.add(f.requester.Email)
	r.add(f.details.AdditionalEmails...)

	var text strings.Builder
	fmt.Fprintf(&text, "The document signing certificate of order %d was issued.\n\n", f.order.ID)
	writeCertificateFacts(&text, f, cert)
	if f.order.ProvisioningMethod != "email" {
		text.WriteString("\nThe private key stays on the token it was generated on. This message\n" +
			"carries only the certificate, which is public.\n")
	}
	fmt.Fprintf(&text, "\nThe certificate and its chain (leaf, intermediate, root) are attached\nas %s. ", attachmentName(f.order.ID))
	fmt.Fprintf(&text, "Download it in other formats with an API key\nof your account, sent in the X-DC-DEVKEY header:\n\n  %s\n",
		c.link("/services/v2/certificate/%d/download/format/pem_all", cert.ID))

	return &Message{
		To:          r.list,
		Subject:     fmt.Sprintf("Certificate issued for order %d (%s)", f.order.ID, f.organization.Name),
		Text:        text.String(),
		Attachments: []Attachment{{Name: attachmentName(f.order.ID), ContentType: "application/x-pem-file", Data: pemChain(leaf, chain)}},
	}, nil
}

func writeCertificateFacts(text *strings.Builder, f *orderFacts, cert *store.Certificate) {
	fmt.Fprintf(text, "  Organization:  %s\n", f.organization.Name)
	fmt.Fprintf(text, "  Serial:        %s\n", cert.SerialNumber)
	fmt.Fprintf(text, "  SHA-1:         %s\n", cert.Thumbprint)
	fmt.Fprintf(text, "  Valid from:    %s\n", cert.ValidFrom.UTC().Format(time.RFC3339))
	fmt.Fprintf(text, "  Valid until:   %s\n", cert.ValidTill.UTC().Format(time.RFC3339))
}

func attachmentName(orderID int64) string { return fmt.Sprintf("order-%d-certificate.pem", orderID) }

func pemChain(leaf *x509.Certificate, chain []*x509.Certificate) []byte {
	var out []byte
	for _, cert := range append([]*x509.Certificate{leaf}, chain...) {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	}
	return out
}

func (c *Composer) link(format string, args ...any) string {
	return strings.TrimRight(c.PublicURL, "/") + fmt.Sprintf(format, args...)
}

func (c *Composer) pickupCode(n store.Notification, f *orderFacts) (*Message, error) {
	code := n.Payload["code"]
	if code == "" {
		return nil, fmt.Errorf("pickup code notification %d has no code; it was sent or given up already", n.ID)
	}
	var text strings.Builder
	fmt.Fprintf(&text, "Order %d for a document signing certificate of %s\nis approved. ", f.order.ID, f.organization.Name)
	text.WriteString("Its key is generated on your own token. Collect the\ncertificate with the docsign client app and this one-time pickup code:\n\n")
	fmt.Fprintf(&text, "  %s\n\n", code)
	fmt.Fprintf(&text, "The code works once and expires at %s.\n", n.Payload["expires_at"])
	fmt.Fprintf(&text, "The key must be %s.\n\n", keyName(f.order.KeyType, f.order.KeySize))
	fmt.Fprintf(&text, "  docsign pickup --server %s \\\n", strings.TrimRight(c.PublicURL, "/"))
	fmt.Fprintf(&text, "      --code %s \\\n", code)
	text.WriteString("      --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\\n      --token-label YOUR-TOKEN\n\n")
	text.WriteString("Use your token's PKCS#11 module and label. The client app asks for the\n" +
		"token's PIN, or reads it from DOCSIGN_PIN or --pin-file. Keep the code\n" +
		"to yourself: whoever holds it can bind a key to this order.\n")

	return &Message{
		To:      []string{f.requester.Email},
		Subject: fmt.Sprintf("Pickup code for order %d (%s)", f.order.ID, f.organization.Name),
		Text:    text.String(),
	}, nil
}

func (c *Composer) tokenShipped(ctx context.Context, f *orderFacts) (*Message, error) {
	shipment, err := c.Store.Shipment(ctx, f.order.ID)
	if err != nil {
		return nil, fmt.Errorf("read shipment of order %d: %w", f.order.ID, err)
	}
	var text strings.Builder
	fmt.Fprintf(&text, "The signing token for order %d (%s) was shipped.\n\n", f.order.ID, f.organization.Name)
	fmt.Fprintf(&text, "  Carrier:          %s\n", shipment.Carrier)
	fmt.Fprintf(&text, "  Tracking number:  %s\n", shipment.TrackingNumber)
	if ship := f.details.ShipInfo; ship != nil {
		fmt.Fprintf(&text, "  Shipping method:  %s\n", ship.Method)
		fmt.Fprintf(&text, "  Ship to:          %s\n", ship.Name)
		fmt.Fprintf(&text, "                    %s\n", ship.Addr1)
		fmt.Fprintf(&text, "                    %s %s, %s\n", ship.Zip, ship.City, ship.Country)
	}
	fmt.Fprintf(&text, "  Token serial:     %s\n\n", shipment.TokenSerial)
	text.WriteString("The token's PIN is sent in a separate message, never with the token.\n")

	return &Message{
		To:      []string{f.requester.Email},
		Subject: fmt.Sprintf("Token for order %d shipped, tracking number %s", f.order.ID, shipment.TrackingNumber),
		Text:    text.String(),
	}, nil
}

func (c *Composer) tokenPIN(n store.Notification, f *orderFacts) (*Message, error) {
	pin := n.Payload["pin"]
	if pin == "" {
		return nil, fmt.Errorf("token PIN notification %d has no PIN; it was sent or given up already", n.ID)
	}
	var text strings.Builder
	fmt.Fprintf(&text, "The user PIN of the signing token shipped for order %d (%s),\n", f.order.ID, f.organization.Name)
	fmt.Fprintf(&text, "token serial %s, is:\n\n  %s\n\n", n.Payload["token_serial"], pin)
	text.WriteString("This message is sent apart from the token, so that neither alone\n" +
		"unlocks the key. Change the PIN when the token arrives, for example\n" +
		"with `pkcs11-tool --change-pin`.\n")

	return &Message{
		To:      []string{f.requester.Email},
		Subject: fmt.Sprintf("PIN of the token for order %d", f.order.ID),
		Text:    text.String(),
	}, nil
}

func (c *Composer) renewal(ctx context.Context, n store.Notification, f *orderFacts) (*Message, error) {
	cert, err := c.Store.Certificate(ctx, f.order.AccountID, n.CertificateID)
	if err != nil {
		return nil, fmt.Errorf("read certificate %d: %w", n.CertificateID, err)
	}

	var r recipients
	c.contacts(ctx, f, &r, true)
	r.add(f.requester.Email)
	r.add(f.details.AdditionalEmails...)

	when := "expires in " + n.Payload["days"] + " days"
	if n.Payload["days"] == "0" {
		when = "expires today"
		if !cert.ValidTill.After(c.now()) {
			when = "has expired"
		}
	}
	var text strings.Builder
	fmt.Fprintf(&text, "The document signing certificate of order %d %s,\nat %s.\n\n", f.order.ID, when,
		cert.ValidTill.UTC().Format(time.RFC3339))
	writeCertificateFacts(&text, f, cert)
	if msg := f.details.CustomRenewalMessage; msg != "" {
		fmt.Fprintf(&text, "\nMessage from your administrator:\n\n%s\n", indent(msg))
	}
	fmt.Fprintf(&text, "\nTo renew it, place a new order with \"renewal_of_order_id\": %d:\n\n  POST %s\n",
		f.order.ID, c.link("/services/v2/order/certificate/ds_org"))
	text.WriteString("\nAn order can be renewed once. These notices stop when the order is\n" +
		"renewed, or marked renewed or not_renewed with\n" +
		"PUT /services/v2/order/certificate/{id}/status.\n")

	return &Message{
		To:      r.list,
		Subject: fmt.Sprintf("Renewal notice: the certificate of order %d %s", f.order.ID, when),
		Text:    text.String(),
	}, nil
}

// keyName names a key as "RSA 3072" or "ECC P-256".
func keyName(keyType string, keySize int) string {
	if keyType == "ecc" {
		return fmt.Sprintf("ECC P-%d", keySize)
	}
	return fmt.Sprintf("RSA %d", keySize)
}

func indent(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}
