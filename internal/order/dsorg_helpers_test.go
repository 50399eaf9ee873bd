package order

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
)

// testNow is the request time of every test, so that validity and card
// expiry results do not depend on the day the tests run.
var testNow = time.Date(2026, time.March, 15, 10, 30, 0, 0, time.UTC)

// testRSACSR returns a PEM CSR with a real RSA-2048 key, generated once per
// test binary because RSA key generation is slow.
var testRSACSR = sync.OnceValue(func() string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("generating the RSA-2048 test key failed: " + err.Error())
	}
	return makeCSR(key)
})

// testECCCSR returns a PEM CSR with a real P-256 key.
var testECCCSR = sync.OnceValue(func() string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("generating the P-256 test key failed: " + err.Error())
	}
	return makeCSR(key)
})

// testWeakCSR returns a PEM CSR with an RSA-1024 key, which csr.Parse rejects.
var testWeakCSR = sync.OnceValue(func() string {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic("generating the RSA-1024 test key failed: " + err.Error())
	}
	return makeCSR(key)
})

func makeCSR(key any) string {
	template := &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "Example Signing Team", Organization: []string{"Example Org Inc"}},
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, template, key)
	if err != nil {
		panic("creating the test CSR failed: " + err.Error())
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// validBodyJSON is a full ds_org body that uses every field. The CSR is
// inserted by validBody.
const validBodyJSON = `{
  "certificate": {
    "csr": CSR,
    "key_size": 2048,
    "csr_key_type": "rsa",
    "signature_hash": "sha256",
    "server_platform": {"id": -1},
    "ca_cert_id": "5A1B2C3D",
    "usage_designation": {
      "primary_usage": "signing",
      "additional_usages": ["adobe_authentic_documents_trust", "ms_document_signing", "document_signing"]
    }
  },
  "cs_provisioning_method": "email",
  "organization": {
    "name": "Example Org Inc",
    "assumed_name": "Example",
    "address": "360 Taylor Street",
    "address2": "Floor 74",
    "city": "Richmond",
    "state": "VA",
    "zip": "69662",
    "country": "us",
    "telephone": "+1 555 0100",
    "skip_duplicate_org_check": false,
    "contacts": [
      {"contact_type": "organization_contact", "user_id": 1532529, "type": "existing_contact"},
      {"contact_type": "technical_contact", "first_name": "Ann", "last_name": "Lee",
       "email": "ann.lee@example.com", "job_title": "Analyst", "telephone": "+1 555 0101"}
    ]
  },
  "organization_contact": {"first_name": "Bo", "last_name": "Chen", "email": "bo@example.com",
                           "job_title": "Director", "telephone": "+1 555 0102"},
  "technical_contact": {"id": "4532226"},
  "container": {"id": 5},
  "renewal_of_order_id": 0,
  "renewed_thumbprint": "",
  "custom_renewal_message": "Renew me",
  "comments": "Please approve.\nThanks.",
  "promo_code": "",
  "additional_emails": ["jill.valentine@example.com", "leon.kennedy@example.com"],
  "user_id_assignments": [11, "12"],
  "csa_agreed_to": true,
  "skip_approval": false,
  "disable_renewal_notifications": true,
  "order_validity": {"years": 1},
  "payment_method": "card",
  "credit_card": {
    "number": "4111 1111 1111 1111",
    "expiration_month": "09",
    "expiration_year": "2028",
    "cvv": "123",
    "cardholder_name": "Ann Lee",
    "save_credit_card": null,
    "set_as_default": 0
  },
  "billing_address": {
    "address": "360 Taylor Street",
    "city": "Richmond",
    "state": "VA",
    "zip": "69662",
    "country": "US"
  }
}`

// decodeTree decodes JSON as jsonbody.Decode does: objects, arrays, strings,
// json.Number, booleans and nil.
func decodeTree(t testing.TB, text string) any {
	t.Helper()
	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.UseNumber()

	var tree any
	if err := decoder.Decode(&tree); err != nil {
		t.Fatalf("test body is not valid JSON: %v", err)
	}
	return tree
}

// validBody returns a fresh tree of validBodyJSON with the RSA-2048 CSR.
func validBody(t testing.TB) map[string]any {
	t.Helper()
	quoted, err := json.Marshal(testRSACSR())
	if err != nil {
		t.Fatal(err)
	}
	return decodeTree(t, strings.Replace(validBodyJSON, "CSR", string(quoted), 1)).(map[string]any)
}

// mutation changes a test body before parsing.
type mutation func(t testing.TB, body map[string]any)

// set returns a mutation that stores value at path, such as
// "organization.contacts[0].email".
func set(path string, value any) mutation {
	return func(t testing.TB, body map[string]any) {
		t.Helper()
		parent, last := walkToParent(t, body, path)
		storeAt(t, parent, last, value, path)
	}
}

// remove returns a mutation that deletes the object member at path.
func remove(path string) mutation {
	return func(t testing.TB, body map[string]any) {
		t.Helper()
		parent, last := walkToParent(t, body, path)
		object, ok := parent.(map[string]any)
		if !ok {
			t.Fatalf("cannot remove %s: its parent is not an object", path)
		}
		delete(object, last)
	}
}

// pathSteps splits "a.b[1].c" into "a", "b", "[1]", "c".
func pathSteps(path string) []string {
	var steps []string
	for _, part := range strings.Split(path, ".") {
		name, rest, hasIndex := strings.Cut(part, "[")
		steps = append(steps, name)
		for hasIndex {
			var index string
			index, rest, _ = strings.Cut(rest, "]")
			steps = append(steps, "["+index+"]")
			_, rest, hasIndex = strings.Cut(rest, "[")
		}
	}
	return steps
}

func walkToParent(t testing.TB, body map[string]any, path string) (any, string) {
	t.Helper()
	steps := pathSteps(path)
	var current any = body
	for _, step := range steps[:len(steps)-1] {
		current = stepInto(t, current, step, path)
	}
	return current, steps[len(steps)-1]
}

func stepInto(t testing.TB, current any, step, path string) any {
	t.Helper()
	if strings.HasPrefix(step, "[") {
		index, _ := strconv.Atoi(strings.Trim(step, "[]"))
		array, ok := current.([]any)
		if !ok || index >= len(array) {
			t.Fatalf("test path %s does not exist at %s", path, step)
		}
		return array[index]
	}

	object, ok := current.(map[string]any)
	if !ok {
		t.Fatalf("test path %s does not exist at %s", path, step)
	}
	next, ok := object[step]
	if !ok {
		next = map[string]any{}
		object[step] = next
	}
	return next
}

func storeAt(t testing.TB, parent any, step string, value any, path string) {
	t.Helper()
	if strings.HasPrefix(step, "[") {
		index, _ := strconv.Atoi(strings.Trim(step, "[]"))
		array, ok := parent.([]any)
		if !ok || index >= len(array) {
			t.Fatalf("test path %s does not exist", path)
		}
		array[index] = value
		return
	}

	object, ok := parent.(map[string]any)
	if !ok {
		t.Fatalf("test path %s does not exist", path)
	}
	object[step] = value
}

// num returns a JSON number as the decoder produces it.
func num(n int64) json.Number {
	return json.Number(strconv.FormatInt(n, 10))
}

// jsonArray decodes a JSON array literal for a mutation value.
func jsonArray(t testing.TB, text string) []any {
	t.Helper()
	return decodeTree(t, text).([]any)
}

// repeated returns an array of n copies of value.
func repeated(n int, value func(i int) any) []any {
	array := make([]any, n)
	for i := range array {
		array[i] = value(i)
	}
	return array
}

// problemCodes returns the sorted codes of a ParseDSOrg or ParseOrganization
// error, failing the test when err is not a BadRequest *errs.Error.
func problemCodes(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}

	e := errs.As(err)
	if e == nil {
		t.Fatalf("error %v is not an *errs.Error", err)
	}
	if e.Kind != errs.BadRequest {
		t.Fatalf("error kind = %v, want BadRequest", e.Kind)
	}

	codes := make([]string, 0, len(e.Problems))
	for _, problem := range e.Problems {
		codes = append(codes, problem.Code)
	}
	slices.Sort(codes)
	return codes
}

// problemText joins the messages of an error for substring checks.
func problemText(err error) string {
	e := errs.As(err)
	if e == nil {
		return ""
	}

	var text bytes.Buffer
	for _, problem := range e.Problems {
		text.WriteString(problem.Code + ": " + problem.Message + "\n")
	}
	return text.String()
}
