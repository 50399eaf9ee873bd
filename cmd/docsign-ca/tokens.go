package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
	"github.com/docsign-ca/docsign-ca/internal/token"
)

// envTokenPIN holds the user PIN of the customer token that tokens
// provision and tokens ship handle. It differs from DOCSIGN_PKCS11_PIN,
// the PIN of the CA's own tokens.
const envTokenPIN = "DOCSIGN_TOKEN_PIN"

type tokenLine struct {
	OrderID      int64  `json:"order"`
	Status       string `json:"status"`
	Organization string `json:"organization"`
	Validated    bool   `json:"validated"`
	Key          string `json:"key"`
	Method       string `json:"ship_method"`
	ShipTo       string `json:"ship_to"`
	Token        string `json:"token_state"`
	TokenSerial  string `json:"token_serial,omitempty"`
}

func listTokens(args []string) error {
	fs := flag.NewFlagSet("docsign-ca tokens list", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca tokens list [--json]"); help || err != nil {
		return err
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	orders, err := st.TokenOrders(ctx)
	if err != nil {
		return err
	}
	lines := make([]tokenLine, 0, len(orders))
	for _, t := range orders {
		lines = append(lines, newTokenLine(t))
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER\tSTATUS\tORGANIZATION\tVALIDATED\tKEY\tMETHOD\tSHIP TO\tTOKEN")
	for _, l := range lines {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%s\t%s\t%s\t%s\n", l.OrderID, l.Status, l.Organization, l.Validated, l.Key, l.Method, l.ShipTo, l.Token)
	}
	return tw.Flush()
}

func newTokenLine(t store.TokenOrder) tokenLine {
	l := tokenLine{
		OrderID: t.Order.ID, Status: t.Order.Status, Organization: t.OrganizationName, Validated: t.Validated,
		Key: token.Algorithm{KeyType: t.Order.KeyType, KeySize: t.Order.KeySize}.String(), Token: "awaiting_token",
	}
	if d, err := order.NotificationDetails(&t.Order); err == nil && d.ShipInfo != nil {
		l.Method = d.ShipInfo.Method
		l.ShipTo = fmt.Sprintf("%s, %s, %s", d.ShipInfo.Name, d.ShipInfo.City, d.ShipInfo.Country)
	}
	if t.Shipment != nil {
		l.Token, l.TokenSerial = t.Shipment.State, t.Shipment.TokenSerial
	}
	return l
}

type provisionConfig struct {
	dataDir    string
	orderID    int64
	module     string
	tokenLabel string
	pinFile    string
	keyLabel   string
	wait       time.Duration
}

// provisionToken generates an order's key on a token, lets the running
// server issue the certificate, and writes the certificate to the token.
// The command holds no CA key: it stores the public key on the order, and
// the server's issuance sweep signs the certificate as for any order.
func provisionToken(args []string) error {
	var cfg provisionConfig
	fs := flag.NewFlagSet("docsign-ca tokens provision", flag.ContinueOnError)
	fs.StringVar(&cfg.dataDir, "data-dir", "./docsign-data", "data directory of the server")
	fs.Int64Var(&cfg.orderID, "order", 0, "id of the ship_token order (required)")
	fs.StringVar(&cfg.module, "pkcs11-module", "", "path of the token's PKCS#11 module, such as /usr/lib/softhsm/libsofthsm2.so (required)")
	fs.StringVar(&cfg.tokenLabel, "token-label", "", "label of the token to provision (required)")
	fs.StringVar(&cfg.pinFile, "pin-file", "", "file whose first line is the token's user PIN; or set "+envTokenPIN+", or answer the prompt")
	fs.StringVar(&cfg.keyLabel, "key-label", "", "label of the key and certificate on the token (default: docsign-order-N)")
	fs.DurationVar(&cfg.wait, "wait", 2*time.Minute, "how long to wait for the running server to issue the certificate")
	synopsis := "docsign-ca tokens provision --order N --pkcs11-module PATH --token-label LABEL [flags]"
	if help, err := parseOperatorFlags(fs, args, synopsis); help || err != nil {
		return err
	}
	switch {
	case cfg.orderID <= 0:
		return errors.New("missing --order; give the id of a ship_token order from `docsign-ca tokens list`")
	case cfg.module == "" || cfg.tokenLabel == "":
		return errors.New("missing --pkcs11-module or --token-label; name the token that is shipped to the customer")
	}
	if cfg.keyLabel == "" {
		cfg.keyLabel = fmt.Sprintf("docsign-order-%d", cfg.orderID)
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, cfg.dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	return runProvision(ctx, st, cfg)
}

func runProvision(ctx context.Context, st *store.Store, cfg provisionConfig) error {
	o, shipment, err := provisionableOrder(ctx, st, cfg.orderID)
	if err != nil {
		return err
	}
	pin, err := token.ReadPIN(cfg.pinFile, envTokenPIN, fmt.Sprintf("PIN of token %q: ", cfg.tokenLabel))
	if err != nil {
		return err
	}
	tok, err := token.Open(cfg.module, cfg.tokenLabel, pin)
	if err != nil {
		return err
	}
	defer tok.Close()

	key, err := tokenKey(ctx, st, tok, o, shipment, cfg.keyLabel)
	if err != nil {
		return err
	}
	leaf, chain, err := waitForCertificate(ctx, st, o.ID, cfg.wait)
	if err != nil {
		return err
	}
	if err := checkCertifiedKey(leaf, key); err != nil {
		return err
	}
	if err := tok.WriteCertificates(key, leaf, chain); err != nil {
		return err
	}
	if err := st.MarkTokenProvisioned(ctx, o.ID); err != nil {
		return err
	}
	fmt.Printf("order %d: token %q (serial %s) holds key %q and its certificate (serial %X, valid until %s); ship it with `docsign-ca tokens ship --order %d --carrier C --tracking T`\n",
		o.ID, tok.Label, tok.Serial, key.Label, leaf.SerialNumber, leaf.NotAfter.UTC().Format(time.RFC3339), o.ID)
	return nil
}

// provisionableOrder returns a ship_token order that waits for its token,
// with its shipment when an earlier run generated the key already.
func provisionableOrder(ctx context.Context, st *store.Store, orderID int64) (*store.Order, *store.Shipment, error) {
	o, err := st.OrderByID(ctx, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("order %d not found", orderID)
	}
	if err != nil {
		return nil, nil, err
	}
	if o.ProvisioningMethod != store.ProvisioningShipToken {
		return nil, nil, fmt.Errorf("order %d has cs_provisioning_method %s; only ship_token orders get a token from the operator", o.ID, o.ProvisioningMethod)
	}

	shipment, err := st.Shipment(ctx, o.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		shipment = nil
	case err != nil:
		return nil, nil, err
	case shipment.State != store.ShipmentKeyGenerated:
		return nil, nil, fmt.Errorf("order %d: token %s (serial %s) is already %s", o.ID, shipment.TokenLabel, shipment.TokenSerial, shipment.State)
	}
	if shipment == nil && o.Status != store.OrderPending {
		return nil, nil, fmt.Errorf("order %d is %s; a token is provisioned for an approved order, which is pending", o.ID, o.Status)
	}
	return o, shipment, nil
}

// tokenKey generates the order's key on the token, or finds the key an
// interrupted run generated on the same token.
func tokenKey(ctx context.Context, st *store.Store, tok *token.Token, o *store.Order, shipment *store.Shipment, label string) (*token.Key, error) {
	if shipment != nil {
		if shipment.TokenSerial != tok.Serial {
			return nil, fmt.Errorf("order %d's key was generated on token serial %s, not on this token (serial %s); insert that token",
				o.ID, shipment.TokenSerial, tok.Serial)
		}
		fmt.Fprintf(os.Stderr, "order %d: resuming with key %q generated at %s\n", o.ID, shipment.KeyLabel, shipment.KeyGeneratedAt.Format(time.RFC3339))
		return tok.FindKey(shipment.KeyID, shipment.KeyLabel)
	}

	alg := token.Algorithm{KeyType: o.KeyType, KeySize: o.KeySize}
	fmt.Fprintf(os.Stderr, "order %d: generating the %s key pair %q on token %q (serial %s) ...\n", o.ID, alg, label, tok.Label, tok.Serial)
	start := time.Now()
	key, err := tok.GenerateKey(alg, label)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "order %d: key generated in %s\n", o.ID, time.Since(start).Round(100*time.Millisecond))

	spki, err := x509.MarshalPKIXPublicKey(key.Signer.Public())
	if err != nil {
		return nil, err
	}
	err = st.SetTokenKey(ctx, o.ID, store.KeyMaterial{PublicKey: spki, KeyType: o.KeyType, KeySize: o.KeySize},
		store.Shipment{TokenSerial: tok.Serial, TokenLabel: tok.Label, KeyLabel: key.Label, KeyID: key.ID})
	if err != nil {
		return nil, fmt.Errorf("store the public key of order %d: %w; the key %q stays on the token unused", o.ID, err, key.Label)
	}
	return key, nil
}

// waitForCertificate polls the database until the server has issued the
// order's certificate, and returns it with its CA certificates.
func waitForCertificate(ctx context.Context, st *store.Store, orderID int64, wait time.Duration) (*x509.Certificate, []*x509.Certificate, error) {
	fmt.Fprintf(os.Stderr, "order %d: waiting for the server to issue the certificate ...\n", orderID)
	start := time.Now()
	deadline := start.Add(wait)
	lastReport := start
	for {
		cert, err := st.CertificateForOrder(ctx, orderID)
		if err != nil {
			return nil, nil, err
		}
		if cert.Status == store.CertificateIssued {
			fmt.Fprintf(os.Stderr, "order %d: certificate issued after %s\n", orderID, time.Since(start).Round(100*time.Millisecond))
			return parseIssued(ctx, st, cert)
		}
		o, err := st.OrderByID(ctx, orderID)
		if err != nil {
			return nil, nil, err
		}
		if o.IssueError != "" {
			return nil, nil, fmt.Errorf("issuance of order %d failed: %s; the key stays on the token, so fix the cause and run the same command again", orderID, o.IssueError)
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("order %d is not issued after %s; check that `docsign-ca serve` runs on this data directory and that the organization is validated, "+
				"then run the same command again to write the certificate", orderID, wait)
		}
		if time.Since(lastReport) >= 10*time.Second {
			fmt.Fprintf(os.Stderr, "order %d: still waiting (%s)\n", orderID, time.Since(start).Round(time.Second))
			lastReport = time.Now()
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func parseIssued(ctx context.Context, st *store.Store, cert *store.Certificate) (*x509.Certificate, []*x509.Certificate, error) {
	leaf, err := x509.ParseCertificate(cert.DER)
	if err != nil {
		return nil, nil, fmt.Errorf("parse certificate %d: %w", cert.ID, err)
	}
	ders, err := st.IssuerChain(ctx, cert.CAID)
	if err != nil {
		return nil, nil, err
	}
	var chain []*x509.Certificate
	for _, der := range ders {
		ca, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
		}
		chain = append(chain, ca)
	}
	return leaf, chain, nil
}

func checkCertifiedKey(leaf *x509.Certificate, key *token.Key) error {
	spki, err := x509.MarshalPKIXPublicKey(key.Signer.Public())
	if err != nil {
		return err
	}
	if !bytes.Equal(spki, leaf.RawSubjectPublicKeyInfo) {
		return fmt.Errorf("certificate serial %X certifies another key than %q on the token; do not ship this token", leaf.SerialNumber, key.Label)
	}
	return nil
}

// shipToken records a provisioned token's shipment and queues two e-mails
// to the requester: the tracking number, and the token's PIN apart from it.
func shipToken(args []string) error {
	fs := flag.NewFlagSet("docsign-ca tokens ship", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	orderID := fs.Int64("order", 0, "id of the ship_token order (required)")
	carrier := fs.String("carrier", "", "carrier that transports the token, such as UPS (required)")
	tracking := fs.String("tracking", "", "the carrier's tracking number (required)")
	pinFile := fs.String("pin-file", "", "file whose first line is the token's user PIN, which the requester receives in a separate e-mail; or set "+envTokenPIN)
	synopsis := "docsign-ca tokens ship --order N --carrier NAME --tracking NUMBER [--pin-file FILE]"
	if help, err := parseOperatorFlags(fs, args, synopsis); help || err != nil {
		return err
	}
	if *orderID <= 0 {
		return errors.New("missing --order; give the id of a provisioned ship_token order")
	}
	for name, value := range map[string]string{"--carrier": *carrier, "--tracking": *tracking} {
		if err := checkShipmentText(name, value); err != nil {
			return err
		}
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	shipment, err := st.Shipment(ctx, *orderID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("order %d has no provisioned token; run `docsign-ca tokens provision --order %d` first", *orderID, *orderID)
	}
	if err != nil {
		return err
	}
	pin, err := token.ReadPIN(*pinFile, envTokenPIN, fmt.Sprintf("user PIN of token %q to send to the requester: ", shipment.TokenLabel))
	if err != nil {
		return err
	}

	notices := []store.Notification{
		{Kind: store.NoticeTokenShipped},
		{Kind: store.NoticeTokenPIN, Payload: map[string]string{"pin": pin, "token_serial": shipment.TokenSerial}},
	}
	if err := st.ShipToken(ctx, *orderID, strings.TrimSpace(*carrier), strings.TrimSpace(*tracking), notices); err != nil {
		return fmt.Errorf("record the shipment of order %d: %w", *orderID, err)
	}
	fmt.Printf("order %d: token serial %s shipped with %s, tracking number %s; the requester is e-mailed the tracking number, and the PIN in a separate message\n",
		*orderID, shipment.TokenSerial, strings.TrimSpace(*carrier), strings.TrimSpace(*tracking))
	return nil
}

// checkShipmentText accepts one line of printable text of at most 64 characters.
func checkShipmentText(flagName, value string) error {
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return fmt.Errorf("missing %s", flagName)
	case len([]rune(value)) > 64:
		return fmt.Errorf("%s is longer than 64 characters", flagName)
	case strings.IndexFunc(value, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("%s %q contains a control character; give one line of text", flagName, value)
	}
	return nil
}
