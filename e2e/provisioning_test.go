package e2e

// This file runs the provisioning flows end to end against the real
// server. E-mail goes through an SMTP relay in the test process, with
// STARTTLS and AUTH PLAIN, or to the outbox by default. The client app
// collects a certificate for a key it generates on a SoftHSM2 token, and
// the operator provisions and ships a token. Renewal notices and renewal
// links are checked too.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys/softhsmtest"
	"github.com/docsign-ca/docsign-ca/internal/notify/smtptest"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// requesterEmail is the address of the bootstrap administrator, who places
// the orders of these tests and is the organizations' contact.
const requesterEmail = "admin@localhost.localdomain"

var (
	docsignOnce   sync.Once
	docsignBinary string
	docsignErr    error
)

// buildDocsign builds the client app once, beside the docsign-ca binary.
func buildDocsign(t *testing.T) string {
	t.Helper()
	docsignOnce.Do(func() {
		docsignBinary = filepath.Join(filepath.Dir(binary), "docsign")
		out, err := exec.Command("go", "build", "-o", docsignBinary, "../cmd/docsign").CombinedOutput()
		if err != nil {
			docsignErr = fmt.Errorf("build docsign: %v\n%s", err, out)
		}
	})
	if docsignErr != nil {
		t.Fatal(docsignErr)
	}
	return docsignBinary
}

// mailRelay is an SMTP server in the test process that requires STARTTLS
// and AUTH PLAIN, with the server settings that send through it.
type mailRelay struct {
	*smtptest.Server
	// env holds the relay URL with its password, which is not a flag so
	// that it stays out of the process list.
	env  []string
	args []string
}

func newMailRelay(t *testing.T) *mailRelay {
	t.Helper()
	cert, certPEM, err := smtptest.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "relay-ca.pem")
	writeFile(t, caFile, string(certPEM))
	server, err := smtptest.Start(smtptest.Config{
		TLS:      &tls.Config{Certificates: []tls.Certificate{cert}},
		Username: "docsign",
		Password: "relay-password",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return &mailRelay{
		Server: server,
		env:    []string{"DOCSIGN_SMTP_URL=smtp://docsign:relay-password@" + server.Addr},
		args:   []string{"--smtp-ca-file", caFile, "--mail-interval", "200ms", "--renewal-check-interval", "300ms"},
	}
}

// mailMessage is a received message, decoded.
type mailMessage struct {
	To          []string
	Subject     string
	MessageID   string
	Text        string
	Attachments map[string][]byte
	TLS         bool
	User        string
}

// waitForMail waits for a message whose subject contains subject.
func (r *mailRelay) waitForMail(t *testing.T, subject string) *mailMessage {
	t.Helper()
	m, err := r.WaitFor(60*time.Second, func(m smtptest.Message) bool {
		return strings.Contains(decodeMail(t, m).Subject, subject)
	})
	if err != nil {
		var subjects []string
		for _, m := range r.Messages() {
			subjects = append(subjects, decodeMail(t, m).Subject)
		}
		t.Fatalf("no e-mail with subject %q: %v; subjects received: %q", subject, err, subjects)
	}
	return decodeMail(t, m)
}

// subjects returns the decoded subjects of every received message.
func (r *mailRelay) subjects(t *testing.T) []string {
	var out []string
	for _, m := range r.Messages() {
		out = append(out, decodeMail(t, m).Subject)
	}
	return out
}

func decodeMail(t *testing.T, m smtptest.Message) *mailMessage {
	t.Helper()
	decoded := readMail(t, m.Data)
	decoded.To, decoded.TLS, decoded.User = m.To, m.TLS, m.User
	return decoded
}

// readMail decodes an RFC 5322 message: its subject, its text (plain or
// the first part of multipart/mixed) and its base64 attachments.
func readMail(t *testing.T, data []byte) *mailMessage {
	t.Helper()
	parsed, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	out := &mailMessage{Subject: subject, MessageID: parsed.Header.Get("Message-ID"), Attachments: map[string][]byte{}}

	mediaType, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mediaType != "multipart/mixed" {
		text, err := io.ReadAll(quotedprintable.NewReader(parsed.Body))
		if err != nil {
			t.Fatal(err)
		}
		out.Text = string(text)
		return out
	}

	parts := multipart.NewReader(parsed.Body, params["boundary"])
	for {
		// NextPart decodes quoted-printable parts itself.
		part, err := parts.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if part.FileName() == "" {
			text, _ := io.ReadAll(part)
			out.Text = string(text)
			continue
		}
		body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, part))
		if err != nil {
			t.Fatal(err)
		}
		out.Attachments[part.FileName()] = body
	}
}

// customerTokens is a SoftHSM2 with one initialized token per label.
type customerTokens struct {
	hsm *softhsmtest.HSM
}

func newCustomerTokens(t *testing.T, labelsAndPINs ...string) *customerTokens {
	t.Helper()
	hsm, err := softhsmtest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(labelsAndPINs); i += 2 {
		if err := hsm.InitToken(labelsAndPINs[i], "so-"+labelsAndPINs[i+1], labelsAndPINs[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return &customerTokens{hsm: hsm}
}

// pkcs11Tool runs pkcs11-tool on a token, logged in with pin.
func (c *customerTokens) pkcs11Tool(t *testing.T, label, pin string, args ...string) []byte {
	t.Helper()
	args = append([]string{"--module", softhsmtest.ModulePath, "--token-label", label, "--login", "--pin", pin}, args...)
	cmd := exec.Command("pkcs11-tool", args...)
	cmd.Env = append(os.Environ(), c.hsm.Env())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args[6:], " "), err, out)
	}
	return out
}

// readCertificate returns the DER of a certificate object on a token.
func (c *customerTokens) readCertificate(t *testing.T, label, pin, objectLabel string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cert.der")
	c.pkcs11Tool(t, label, pin, "--read-object", "--type", "cert", "--label", objectLabel, "--output-file", path)
	der, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// signOnToken signs data with the private key labelled keyLabel, inside
// the token: RSA PKCS #1 v1.5 with SHA-256, or ECDSA over the SHA-256
// digest with the signature as r||s (PKCS#11 v2.40 §2.3.1).
func (c *customerTokens) signOnToken(t *testing.T, label, pin, keyLabel string, rsaKey bool, data []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "signature")
	mechanism := "SHA256-RSA-PKCS"
	if !rsaKey {
		// SoftHSM2 signs a digest with CKM_ECDSA, so the test hashes first.
		digest := sha256.Sum256(data)
		data, mechanism = digest[:], "ECDSA"
	}
	writeFile(t, in, string(data))
	c.pkcs11Tool(t, label, pin, "--sign", "--mechanism", mechanism, "--label", keyLabel, "--input-file", in, "--output-file", out)
	signature, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return signature
}

// checkKeyOnToken checks that the certificate certifies the key pair
// labelled keyLabel on the token: a signature made on the token verifies
// with the certificate's public key. It also checks that the certificate
// is stored beside the key and that the private key can never leave the
// token.
func (c *customerTokens) checkKeyOnToken(t *testing.T, label, pin, keyLabel string, leaf *x509.Certificate) {
	t.Helper()
	data := []byte(fmt.Sprintf("document signed on token %s at %s", label, time.Now()))
	digest := sha256.Sum256(data)
	switch pub := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		signature := c.signOnToken(t, label, pin, keyLabel, true, data)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], signature); err != nil {
			t.Errorf("a signature by key %q on token %s does not verify with the certificate's key: %v", keyLabel, label, err)
		}
	case *ecdsa.PublicKey:
		signature := c.signOnToken(t, label, pin, keyLabel, false, data)
		half := len(signature) / 2
		r, s := new(big.Int).SetBytes(signature[:half]), new(big.Int).SetBytes(signature[half:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			t.Errorf("a signature by key %q on token %s does not verify with the certificate's key", keyLabel, label)
		}
	default:
		t.Fatalf("unexpected public key type %T", leaf.PublicKey)
	}

	if cert := c.readCertificate(t, label, pin, keyLabel); !bytes.Equal(cert, leaf.Raw) {
		t.Errorf("token %s does not hold the issued certificate beside key %q", label, keyLabel)
	}

	listing := string(c.pkcs11Tool(t, label, pin, "--list-objects", "--type", "privkey"))
	var found string
	for _, block := range strings.Split(listing, "Private Key Object")[1:] {
		if strings.Contains(block, "label:      "+keyLabel+"\n") {
			found = block
		}
	}
	if found == "" {
		t.Fatalf("token %s has no private key %q:\n%s", label, keyLabel, listing)
	}
	for _, attribute := range []string{"always sensitive", "never extractable", "local"} {
		if !strings.Contains(found, attribute) {
			t.Errorf("private key %q lacks %q:\n%s", keyLabel, attribute, found)
		}
	}
}

// expectKeyNowhereElse fails when a file under dir holds the private key
// of the certificate as PEM: the key must exist only on the token.
// Encrypted PEM keys cannot be the customer's key, which nothing
// encrypts, and are skipped.
func expectKeyNowhereElse(t *testing.T, dir string, leaf *x509.Certificate) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
			signer := parsePrivateKey(block)
			if signer == nil {
				continue
			}
			spki, err := x509.MarshalPKIXPublicKey(signer.Public())
			if err == nil && bytes.Equal(spki, leaf.RawSubjectPublicKeyInfo) {
				t.Errorf("%s holds the private key of the issued certificate", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func parsePrivateKey(block *pem.Block) crypto.Signer {
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil
	}
	signer, ok := key.(crypto.Signer)
	if err != nil || !ok {
		return nil
	}
	return signer
}

// runWithEnv runs a binary with env added and returns its combined output.
func runWithEnv(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func orderInfo(t *testing.T, s *server, orderID int64) map[string]any {
	t.Helper()
	resp := s.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", orderID), s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("order info %d: %d %s", orderID, resp.Status, resp.Body)
	}
	return resp.JSON(t)
}

// downloadLeaf returns the issued certificate of an order from pem_all.
func downloadLeaf(t *testing.T, s *server, info map[string]any) *x509.Certificate {
	t.Helper()
	certID := idOf(t, info["certificate"].(map[string]any)["id"])
	resp := s.do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", certID), s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("download certificate %d: %d %s", certID, resp.Status, resp.Body)
	}
	return parsePEMChain(t, resp.Body)[0]
}

func sameAddresses(got []string, expected ...string) bool {
	a, b := slices.Clone(got), slices.Clone(expected)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestEmailOrderMailsCertificateAndRenewalNotice(t *testing.T) {
	relay := newMailRelay(t)
	s := startServerEnv(t, t.TempDir(), relay.env, relay.args...)
	orgID := createValidatedOrganization(t, s, s.Key, "Mail Flow Inc")

	// Issued first, so that every renewal pass that checks the next order
	// has checked this one too.
	silent := emailOrder(orgID, csrPEM(t, newECKey(t, elliptic.P256())))
	silent["order_validity"] = map[string]any{"days": 5}
	silent["disable_renewal_notifications"] = true
	silent["skip_approval"] = true
	silentID := idOf(t, placeOrder(t, s, s.Key, silent)["id"])
	waitForStatus(t, s, s.Key, silentID, "issued")

	key := newECKey(t, elliptic.P256())
	body := emailOrder(orgID, csrPEM(t, key))
	body["order_validity"] = map[string]any{"days": 5}
	body["additional_emails"] = []any{"jill.valentine@example.com", "leon.kennedy@example.com"}
	body["custom_renewal_message"] = "Renew before the audit in March."
	placed := placeOrder(t, s, s.Key, body)
	orderID := idOf(t, placed["id"])
	approve(t, s, s.Key, idOf(t, placed["requests"].([]any)[0].(map[string]any)["id"]))
	info := waitForStatus(t, s, s.Key, orderID, "issued")
	leaf := downloadLeaf(t, s, info)

	issued := relay.waitForMail(t, fmt.Sprintf("Certificate issued for order %d", orderID))
	if !sameAddresses(issued.To, requesterEmail, "jill.valentine@example.com", "leon.kennedy@example.com") {
		t.Errorf("issuance e-mail went to %v, expected the contact and requester and both additional_emails", issued.To)
	}
	if !issued.TLS || issued.User != "docsign" {
		t.Errorf("issuance e-mail sent with TLS %v as %q, expected STARTTLS and AUTH as docsign", issued.TLS, issued.User)
	}
	certID := idOf(t, info["certificate"].(map[string]any)["id"])
	link := fmt.Sprintf("%s/services/v2/certificate/%d/download/format/pem_all", s.URL, certID)
	if !strings.Contains(issued.Text, link) {
		t.Errorf("issuance e-mail lacks the download link %s:\n%s", link, issued.Text)
	}
	attached := issued.Attachments[fmt.Sprintf("order-%d-certificate.pem", orderID)]
	chain := parsePEMChain(t, attached)
	if len(chain) != 3 || !bytes.Equal(chain[0].Raw, leaf.Raw) {
		t.Fatalf("attachment holds %d certificates, expected the issued leaf, the intermediate and the root", len(chain))
	}
	if spki, err := x509.MarshalPKIXPublicKey(key.Public()); err != nil || !bytes.Equal(spki, chain[0].RawSubjectPublicKeyInfo) {
		t.Errorf("the attached certificate does not certify the CSR's key (%v)", err)
	}

	renewal := relay.waitForMail(t, fmt.Sprintf("Renewal notice: the certificate of order %d expires in 7 days", orderID))
	if !sameAddresses(renewal.To, requesterEmail, "jill.valentine@example.com", "leon.kennedy@example.com") {
		t.Errorf("renewal notice went to %v, expected the contacts and both additional_emails", renewal.To)
	}
	if !strings.Contains(renewal.Text, "Renew before the audit in March.") {
		t.Errorf("renewal notice lacks custom_renewal_message:\n%s", renewal.Text)
	}
	if !strings.Contains(renewal.Text, fmt.Sprintf(`"renewal_of_order_id": %d`, orderID)) {
		t.Errorf("renewal notice does not say how to renew:\n%s", renewal.Text)
	}
	for _, subject := range relay.subjects(t) {
		if strings.Contains(subject, fmt.Sprintf("Renewal notice: the certificate of order %d ", silentID)) {
			t.Errorf("order %d has disable_renewal_notifications but got %q", silentID, subject)
		}
	}
}

func TestClientAppPickupOnToken(t *testing.T) {
	const tokenLabel, tokenPIN = "alice-token", "482916"
	docsign := buildDocsign(t)
	tokens := newCustomerTokens(t, tokenLabel, tokenPIN)
	relay := newMailRelay(t)
	s := startServerEnv(t, t.TempDir(), relay.env, relay.args...)
	orgID := createValidatedOrganization(t, s, s.Key, "Client App GmbH")

	body := edited(t, emailOrder(orgID, ""), del("certificate.csr"), set("cs_provisioning_method", "client_app"),
		set("certificate.csr_key_type", "rsa"), set("certificate.key_size", 3072))
	placed := placeOrder(t, s, s.Key, body)
	orderID := idOf(t, placed["id"])
	approve(t, s, s.Key, idOf(t, placed["requests"].([]any)[0].(map[string]any)["id"]))
	info := waitForStatus(t, s, s.Key, orderID, "waiting_pickup")
	if pickup, _ := info["pickup"].(map[string]any); pickup["status"] != "active" || pickup["code"] != nil {
		t.Errorf("order info pickup = %v, expected an active code that is not shown", info["pickup"])
	}

	codeMail := relay.waitForMail(t, fmt.Sprintf("Pickup code for order %d", orderID))
	if !sameAddresses(codeMail.To, requesterEmail) {
		t.Errorf("pickup code e-mailed to %v, expected the requester only", codeMail.To)
	}
	code := regexp.MustCompile(`[A-Z2-9]{4}(-[A-Z2-9]{4}){5}`).FindString(codeMail.Text)
	if code == "" || !strings.Contains(codeMail.Text, "RSA 3072") || !strings.Contains(codeMail.Text, s.URL) {
		t.Fatalf("pickup e-mail lacks the code, the key or the server URL:\n%s", codeMail.Text)
	}

	wrong := []byte(code)
	wrong[0] = map[bool]byte{true: 'B', false: 'A'}[wrong[0] == 'A']
	expectError(t, s.do("POST", "/services/v2/pickup/info", "", map[string]any{"code": string(wrong)}), http.StatusForbidden, "invalid_pickup_code")

	workDir := t.TempDir()
	out, err := runWithEnv(t, workDir, []string{tokens.hsm.Env(), "DOCSIGN_PIN=" + tokenPIN}, docsign, "pickup",
		"--server", s.URL, "--code", code, "--pkcs11-module", softhsmtest.ModulePath, "--token-label", tokenLabel)
	if err != nil {
		t.Fatalf("docsign pickup: %v\n%s", err, out)
	}
	for _, progress := range []string{"generating the RSA 3072 key pair", "done in", "written to token"} {
		if !strings.Contains(out, progress) {
			t.Errorf("docsign output lacks %q:\n%s", progress, out)
		}
	}
	if strings.Contains(out, tokenPIN) {
		t.Error("docsign printed the PIN")
	}

	info = waitForStatus(t, s, s.Key, orderID, "issued")
	if pickup, _ := info["pickup"].(map[string]any); pickup["status"] != "redeemed" {
		t.Errorf("order info pickup = %v, expected redeemed", info["pickup"])
	}
	leaf := downloadLeaf(t, s, info)
	tokens.checkKeyOnToken(t, tokenLabel, tokenPIN, fmt.Sprintf("docsign-order-%d", orderID), leaf)
	expectKeyNowhereElse(t, workDir, leaf)
	expectKeyNowhereElse(t, s.DataDir, leaf)
	if entries, _ := os.ReadDir(workDir); len(entries) != 0 {
		t.Errorf("docsign wrote files to its working directory: %v", entries)
	}

	issued := relay.waitForMail(t, fmt.Sprintf("Certificate issued for order %d", orderID))
	if !strings.Contains(issued.Text, "stays on the token") {
		t.Errorf("issuance e-mail of a client_app order does not say where the key is:\n%s", issued.Text)
	}

	// The code is used up, and wrong or used codes lock the address out.
	used := s.do("POST", "/services/v2/pickup", "", map[string]any{"code": code, "csr": csrPEM(t, testRSAKey(t))})
	expectError(t, used, http.StatusConflict, "pickup_code_used")
	var locked *response
	for i := 0; i < 20 && locked == nil; i++ {
		r := s.do("POST", "/services/v2/pickup/info", "", map[string]any{"code": string(wrong)})
		if r.Status == http.StatusTooManyRequests {
			locked = r
		}
	}
	if locked == nil {
		t.Fatal("20 wrong codes from one address did not lock it out")
	}
	if locked.Header.Get("Retry-After") == "" {
		t.Error("the lockout answer has no Retry-After header")
	}
}

func TestClientAppPickupWithKeyFile(t *testing.T) {
	docsign := buildDocsign(t)
	s := startServer(t, "--mail-interval", "200ms")
	orgID := createValidatedOrganization(t, s, s.Key, "Key File Development Ltd")

	body := edited(t, emailOrder(orgID, ""), del("certificate.csr"), set("cs_provisioning_method", "client_app"),
		set("certificate.csr_key_type", "ecc"), set("certificate.key_size", 384), set("skip_approval", true))
	orderID := idOf(t, placeOrder(t, s, s.Key, body)["id"])
	waitForStatus(t, s, s.Key, orderID, "waiting_pickup")

	// A new code replaces the e-mailed one; it is shown once.
	resp := s.do("POST", fmt.Sprintf("/services/v2/order/certificate/%d/pickup-code", orderID), s.Key, nil)
	if resp.Status != http.StatusCreated {
		t.Fatalf("new pickup code: %d %s", resp.Status, resp.Body)
	}
	code, _ := resp.JSON(t)["code"].(string)

	workDir := t.TempDir()
	keyFile := filepath.Join(workDir, "dev-key.pem")
	out, err := runWithEnv(t, workDir, []string{"DOCSIGN_CODE=" + code}, docsign, "pickup", "--server", s.URL, "--key-file", keyFile)
	if err != nil {
		t.Fatalf("docsign pickup --key-file: %v\n%s", err, out)
	}
	if !strings.Contains(out, "development only") {
		t.Errorf("docsign does not warn that a key file is for development:\n%s", out)
	}
	info, err := os.Stat(keyFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, mode %v; expected mode 0600", keyFile, err, info)
	}
	certPEM, err := os.ReadFile(filepath.Join(workDir, "dev-key.crt"))
	if err != nil {
		t.Fatal(err)
	}
	leaf := downloadLeaf(t, s, waitForStatus(t, s, s.Key, orderID, "issued"))
	if chain := parsePEMChain(t, certPEM); len(chain) != 3 || !bytes.Equal(chain[0].Raw, leaf.Raw) {
		t.Errorf("dev-key.crt holds %d certificates, expected the issued chain of 3", len(chain))
	}
}

func TestShipTokenProvisioningAndShipment(t *testing.T) {
	const tokenLabel, tokenPIN = "ship-token-1", "739104"
	const tracking = "1Z999AA10123456784"
	tokens := newCustomerTokens(t, tokenLabel, tokenPIN)
	relay := newMailRelay(t)
	s := startServerEnv(t, t.TempDir(), relay.env, relay.args...)
	orgID := createValidatedOrganization(t, s, s.Key, "Shipped Token AG")

	body := edited(t, emailOrder(orgID, ""), del("certificate.csr"), set("cs_provisioning_method", "ship_token"),
		set("certificate.csr_key_type", "ecc"), set("certificate.key_size", 384),
		set("ship_info", map[string]any{"name": "John Doe", "addr1": "360 Taylor Street", "city": "Richmond", "state": "va",
			"zip": "69662", "country": "us", "method": "EXPEDITED"}))
	placed := placeOrder(t, s, s.Key, body)
	orderID := idOf(t, placed["id"])
	approve(t, s, s.Key, idOf(t, placed["requests"].([]any)[0].(map[string]any)["id"]))
	info := waitForStatus(t, s, s.Key, orderID, "pending")
	if shipment, _ := info["shipment"].(map[string]any); shipment["state"] != "awaiting_token" {
		t.Errorf("order info shipment = %v, expected awaiting_token", info["shipment"])
	}
	if ship, _ := info["ship_info"].(map[string]any); ship["method"] != "EXPEDITED" || ship["addr1"] != "360 Taylor Street" {
		t.Errorf("order info ship_info = %v", info["ship_info"])
	}

	listed := s.cli("tokens", "list")
	if !strings.Contains(listed, fmt.Sprint(orderID)) || !strings.Contains(listed, "awaiting_token") || !strings.Contains(listed, "ECC P-384") {
		t.Errorf("tokens list does not show order %d awaiting an ECC P-384 token:\n%s", orderID, listed)
	}

	env := append([]string{tokens.hsm.Env(), "DOCSIGN_TOKEN_PIN=" + tokenPIN}, databaseEnv(t, s.DataDir)...)
	out, err := runWithEnv(t, t.TempDir(), env, binary, "tokens", "provision", "--order", fmt.Sprint(orderID),
		"--pkcs11-module", softhsmtest.ModulePath, "--token-label", tokenLabel, "--data-dir", s.DataDir)
	if err != nil {
		t.Fatalf("tokens provision: %v\n%s", err, out)
	}
	info = waitForStatus(t, s, s.Key, orderID, "issued")
	shipment, _ := info["shipment"].(map[string]any)
	if shipment["state"] != "provisioned" || shipment["token_serial"] == "" {
		t.Errorf("order info shipment = %v, expected provisioned with the token's serial", shipment)
	}
	leaf := downloadLeaf(t, s, info)
	tokens.checkKeyOnToken(t, tokenLabel, tokenPIN, fmt.Sprintf("docsign-order-%d", orderID), leaf)
	expectKeyNowhereElse(t, s.DataDir, leaf)

	out, err = runWithEnv(t, t.TempDir(), env, binary, "tokens", "ship", "--order", fmt.Sprint(orderID),
		"--carrier", "UPS", "--tracking", tracking, "--data-dir", s.DataDir)
	if err != nil {
		t.Fatalf("tokens ship: %v\n%s", err, out)
	}
	shipped := relay.waitForMail(t, fmt.Sprintf("Token for order %d shipped", orderID))
	pinMail := relay.waitForMail(t, fmt.Sprintf("PIN of the token for order %d", orderID))
	for _, m := range []*mailMessage{shipped, pinMail} {
		if !sameAddresses(m.To, requesterEmail) {
			t.Errorf("%q went to %v, expected the requester", m.Subject, m.To)
		}
	}
	if !strings.Contains(shipped.Text, tracking) || !strings.Contains(shipped.Text, "UPS") {
		t.Errorf("shipment e-mail lacks the carrier or tracking number:\n%s", shipped.Text)
	}
	if strings.Contains(shipped.Text, tokenPIN) {
		t.Error("the shipment e-mail carries the token's PIN")
	}
	if !strings.Contains(pinMail.Text, tokenPIN) || strings.Contains(pinMail.Text, tracking) {
		t.Errorf("the PIN e-mail must carry the PIN and not the tracking number:\n%s", pinMail.Text)
	}
	if shipped.MessageID == pinMail.MessageID {
		t.Error("the tracking number and the PIN arrived in the same message")
	}

	info = orderInfo(t, s, orderID)
	if shipment, _ := info["shipment"].(map[string]any); shipment["state"] != "shipped" || shipment["tracking_number"] != tracking {
		t.Errorf("order info shipment = %v, expected shipped with the tracking number", info["shipment"])
	}
	if listed := s.cli("tokens", "list"); strings.Contains(listed, "\n"+fmt.Sprint(orderID)+" ") {
		t.Errorf("tokens list still shows the shipped order %d:\n%s", orderID, listed)
	}
	if _, err := runWithEnv(t, t.TempDir(), env, binary, "tokens", "ship", "--order", fmt.Sprint(orderID),
		"--carrier", "UPS", "--tracking", tracking, "--data-dir", s.DataDir); err == nil {
		t.Error("a token was shipped twice")
	}

	st := openStore(t, s.DataDir)
	defer st.Close()
	notices, err := st.NotificationsForOrder(t.Context(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notices {
		if n.Kind == store.NoticeTokenPIN && (n.Status != store.NotificationSent || len(n.Payload) != 0) {
			t.Errorf("the PIN notification is %s with payload %v; expected sent and emptied", n.Status, n.Payload)
		}
	}
}

func TestMailQueueSurvivesRestart(t *testing.T) {
	dataDir := t.TempDir()
	// Nothing listens on this address, so every send fails.
	down := []string{"DOCSIGN_SMTP_URL=smtp://" + freeAddr(t) + "?starttls=off"}
	s := startServerEnv(t, dataDir, down, "--mail-interval", "200ms", "--mail-retry-min", "500ms")
	orgID := createValidatedOrganization(t, s, s.Key, "Restart Mail Inc")
	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["skip_approval"] = true
	orderID := idOf(t, placeOrder(t, s, s.Key, body)["id"])
	waitForStatus(t, s, s.Key, orderID, "issued")

	waitForNotification(t, dataDir, orderID, func(n store.Notification) bool {
		return n.Kind == store.NoticeCertificateIssued && n.Attempts > 0 && n.LastError != ""
	})
	s.stop()

	relay := newMailRelay(t)
	restarted := startServerEnv(t, dataDir, relay.env, append(relay.args, "--mail-retry-min", "500ms")...)
	relay.waitForMail(t, fmt.Sprintf("Certificate issued for order %d", orderID))
	n := waitForNotification(t, restarted.DataDir, orderID, func(n store.Notification) bool {
		return n.Kind == store.NoticeCertificateIssued && n.Status == store.NotificationSent
	})
	if n.Attempts < 2 {
		t.Errorf("the message was sent after %d attempts, expected a failed attempt before the restart", n.Attempts)
	}
}

// waitForNotification polls the database until a notification of the
// order matches.
func waitForNotification(t *testing.T, dataDir string, orderID int64, match func(store.Notification) bool) store.Notification {
	t.Helper()
	st := openStore(t, dataDir)
	defer st.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		notices, err := st.NotificationsForOrder(t.Context(), orderID)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range notices {
			if match(n) {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching notification of order %d: %+v", orderID, notices)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOutboxIsTheDefault(t *testing.T) {
	s := startServer(t, "--mail-interval", "200ms")
	orgID := createValidatedOrganization(t, s, s.Key, "Outbox Default BV")
	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["skip_approval"] = true
	orderID := idOf(t, placeOrder(t, s, s.Key, body)["id"])
	leaf := downloadLeaf(t, s, waitForStatus(t, s, s.Key, orderID, "issued"))

	outbox := filepath.Join(s.DataDir, "outbox")
	var files []string
	deadline := time.Now().Add(30 * time.Second)
	for len(files) == 0 {
		files, _ = filepath.Glob(filepath.Join(outbox, "*.eml"))
		if time.Now().After(deadline) {
			t.Fatalf("no .eml file in %s", outbox)
		}
		time.Sleep(100 * time.Millisecond)
	}

	info, err := os.Stat(files[0])
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("outbox file %s: %v, mode %v; expected mode 0600", files[0], err, info)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	m := readMail(t, data)
	if m.Subject != fmt.Sprintf("Certificate issued for order %d (Outbox Default BV)", orderID) {
		t.Errorf("outbox message subject %q", m.Subject)
	}
	chain := parsePEMChain(t, m.Attachments[fmt.Sprintf("order-%d-certificate.pem", orderID)])
	if len(chain) != 3 || !bytes.Equal(chain[0].Raw, leaf.Raw) {
		t.Errorf("outbox attachment holds %d certificates, expected the issued chain", len(chain))
	}
	if !strings.Contains(s.logs.String(), files[0]) {
		t.Errorf("the server log does not name %s", files[0])
	}
}

func TestRenewalLinksOrdersOnce(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Renewal Links Inc")
	first := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	first["skip_approval"] = true
	originalID := idOf(t, placeOrder(t, s, s.Key, first)["id"])
	original := waitForStatus(t, s, s.Key, originalID, "issued")
	thumbprint := original["certificate"].(map[string]any)["thumbprint"].(string)

	renewal := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	renewal["renewed_thumbprint"] = thumbprint
	renewalID := idOf(t, placeOrder(t, s, s.Key, renewal)["id"])

	info := orderInfo(t, s, renewalID)
	if info["is_renewal"] != true || idOf(t, info["renewed_order_id"]) != originalID {
		t.Errorf("renewal order info: is_renewal %v, renewed_order_id %v; expected true and %d", info["is_renewal"], info["renewed_order_id"], originalID)
	}
	info = orderInfo(t, s, originalID)
	if info["is_renewed"] != true || idOf(t, info["renewed_by_order_id"]) != renewalID {
		t.Errorf("renewed order info: is_renewed %v, renewed_by_order_id %v; expected true and %d", info["is_renewed"], info["renewed_by_order_id"], renewalID)
	}

	again := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	again["renewal_of_order_id"] = originalID
	expectError(t, s.do("POST", dsOrgPath, s.Key, again), http.StatusBadRequest, "invalid_value:renewal_of_order_id")
}
