package revocation

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspRequestFor returns a DER OCSP request for cert with a CertID hashed
// with hash.
func ocspRequestFor(t *testing.T, cert, issuer *x509.Certificate, hash crypto.Hash) []byte {
	t.Helper()
	der, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// testRequest is enough of OCSPRequest to add request extensions and
// CertIDs to a request that ocsp.CreateRequest made.
type testRequest struct {
	TBSRequest struct {
		RequestList []asn1.RawValue
		Extensions  []pkix.Extension `asn1:"explicit,tag:2,optional"`
	}
}

func rewriteRequest(t *testing.T, der []byte, change func(*testRequest)) []byte {
	t.Helper()
	var req testRequest
	if _, err := asn1.Unmarshal(der, &req); err != nil {
		t.Fatal(err)
	}
	change(&req)
	out, err := asn1.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func withNonce(value []byte) func(*testRequest) {
	return func(req *testRequest) {
		req.TBSRequest.Extensions = append(req.TBSRequest.Extensions, pkix.Extension{Id: oidOCSPNonce, Value: value})
	}
}

// octetString returns the DER OCTET STRING of b, the nonce form RFC 8954 defines.
func octetString(t *testing.T, b []byte) []byte {
	t.Helper()
	der, err := asn1.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// responseExtensions decodes the responseExtensions of a successful OCSP
// response, which golang.org/x/crypto/ocsp does not return.
func responseExtensions(t *testing.T, der []byte) []pkix.Extension {
	t.Helper()
	var outer struct {
		Status asn1.Enumerated
		Bytes  struct {
			Type     asn1.ObjectIdentifier
			Response []byte
		} `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		t.Fatal(err)
	}
	var basic struct {
		TBS struct {
			Version     int `asn1:"optional,explicit,default:0,tag:0"`
			ResponderID asn1.RawValue
			ProducedAt  time.Time `asn1:"generalized"`
			Responses   []asn1.RawValue
			Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
		}
	}
	if _, err := asn1.Unmarshal(outer.Bytes.Response, &basic); err != nil {
		t.Fatal(err)
	}
	return basic.TBS.Extensions
}

func TestOCSPStatus(t *testing.T) {
	f := newFixture(t, Config{})
	good := f.issue()
	keyCompromised := f.issue()
	unspecified := f.issue()
	f.revoke(keyCompromised, KeyCompromise)
	f.revoke(unspecified, Unspecified)
	neverStored := f.signLeaf()

	cases := []struct {
		name   string
		cert   *x509.Certificate
		status int
		reason int
	}{
		{"good", good.cert, ocsp.Good, 0},
		{"revoked for key compromise", keyCompromised.cert, ocsp.Revoked, ocsp.KeyCompromise},
		{"revoked for no reason given", unspecified.cert, ocsp.Revoked, ocsp.Unspecified},
		{"unknown serial", neverStored, ocsp.Unknown, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := f.svc.Respond(f.ctx, ocspRequestFor(t, c.cert, f.issuer.Cert, crypto.SHA1))

			// ParseResponseForCert checks that the issuing CA signed the
			// responder certificate and that the responder signed the response.
			parsed, err := ocsp.ParseResponseForCert(resp.DER, c.cert, f.issuer.Cert)
			if err != nil {
				t.Fatalf("parse response: %v", err)
			}
			if parsed.Status != c.status {
				t.Errorf("status is %d, expected %d", parsed.Status, c.status)
			}
			if parsed.Status == ocsp.Revoked && parsed.RevocationReason != c.reason {
				t.Errorf("revocation reason is %d, expected %d", parsed.RevocationReason, c.reason)
			}
			if parsed.Status == ocsp.Revoked && time.Since(parsed.RevokedAt) > time.Minute {
				t.Errorf("revocation time is %s, expected within the last minute", parsed.RevokedAt)
			}
			if got := parsed.NextUpdate.Sub(parsed.ThisUpdate); got != DefaultOCSPValidity {
				t.Errorf("nextUpdate - thisUpdate is %s, expected %s", got, DefaultOCSPValidity)
			}
		})
	}
}

func TestOCSPCertIDHashAlgorithms(t *testing.T) {
	f := newFixture(t, Config{})
	cert := f.issue()

	for _, hash := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		t.Run(hash.String(), func(t *testing.T) {
			resp := f.svc.Respond(f.ctx, ocspRequestFor(t, cert.cert, f.issuer.Cert, hash))
			parsed, err := ocsp.ParseResponseForCert(resp.DER, cert.cert, f.issuer.Cert)
			if err != nil {
				t.Fatalf("parse response: %v", err)
			}
			if parsed.Status != ocsp.Good {
				t.Errorf("status is %d, expected good", parsed.Status)
			}
			if parsed.IssuerHash != hash {
				t.Errorf("response CertID uses %s, expected the request's %s", parsed.IssuerHash, hash)
			}
		})
	}
}

func TestOCSPNonceEcho(t *testing.T) {
	f := newFixture(t, Config{})
	cert := f.issue()
	plain := ocspRequestFor(t, cert.cert, f.issuer.Cert, crypto.SHA256)

	random := make([]byte, 32)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		value []byte
	}{
		{"32-octet OCTET STRING", octetString(t, random)},
		{"16-octet OCTET STRING", octetString(t, random[:16])},
		{"1-octet OCTET STRING", octetString(t, random[:1])},
		{"bare octets", random[:20]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := f.svc.Respond(f.ctx, rewriteRequest(t, plain, withNonce(c.value)))
			if _, err := ocsp.ParseResponseForCert(resp.DER, cert.cert, f.issuer.Cert); err != nil {
				t.Fatalf("parse response: %v", err)
			}

			extensions := responseExtensions(t, resp.DER)
			if len(extensions) != 1 || !extensions[0].Id.Equal(oidOCSPNonce) {
				t.Fatalf("responseExtensions are %v, expected one nonce", extensions)
			}
			if !bytes.Equal(extensions[0].Value, c.value) {
				t.Errorf("echoed nonce is %X, expected %X", extensions[0].Value, c.value)
			}
		})
	}

	t.Run("no nonce", func(t *testing.T) {
		resp := f.svc.Respond(f.ctx, plain)
		if extensions := responseExtensions(t, resp.DER); len(extensions) != 0 {
			t.Errorf("responseExtensions are %v, expected none", extensions)
		}
	})
}

func TestOCSPMalformedRequest(t *testing.T) {
	f := newFixture(t, Config{})
	cert := f.issue()
	plain := ocspRequestFor(t, cert.cert, f.issuer.Cert, crypto.SHA1)

	cases := []struct {
		name    string
		request []byte
	}{
		{"empty body", nil},
		{"not DER", []byte("this is not an OCSP request")},
		{"truncated", plain[:len(plain)-3]},
		{"trailing data", append(append([]byte{}, plain...), 0x00)},
		{"too large", bytes.Repeat([]byte{0x30}, MaxOCSPRequestBytes+1)},
		{"two certificates", rewriteRequest(t, plain, func(r *testRequest) {
			r.TBSRequest.RequestList = append(r.TBSRequest.RequestList, r.TBSRequest.RequestList[0])
		})},
		{"no certificate", rewriteRequest(t, plain, func(r *testRequest) { r.TBSRequest.RequestList = nil })},
		{"empty nonce", rewriteRequest(t, plain, withNonce(octetString(t, nil)))},
		{"nonce over 128 octets", rewriteRequest(t, plain, withNonce(octetString(t, make([]byte, 129))))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := f.svc.Respond(f.ctx, c.request)
			if resp.Status != "malformedRequest" {
				t.Errorf("status is %q, expected malformedRequest", resp.Status)
			}

			// RFC 6960 §2.3: an error response is an unsigned OCSPResponse
			// with only the status.
			_, err := ocsp.ParseResponse(resp.DER, nil)
			var responseErr ocsp.ResponseError
			if !errors.As(err, &responseErr) || responseErr.Status != ocsp.Malformed {
				t.Errorf("response parses as %v, expected the malformed status", err)
			}
		})
	}
}

func TestOCSPUnknownIssuerUnauthorized(t *testing.T) {
	f := newFixture(t, Config{})
	other := newFixtureWithHierarchy(t, Config{}, 1)
	foreign := other.issue()

	resp := f.svc.Respond(f.ctx, ocspRequestFor(t, foreign.cert, other.issuer.Cert, crypto.SHA1))
	_, err := ocsp.ParseResponse(resp.DER, nil)
	var responseErr ocsp.ResponseError
	if !errors.As(err, &responseErr) || responseErr.Status != ocsp.Unauthorized {
		t.Errorf("response to a request for another CA parses as %v, expected the unauthorized status", err)
	}
}

func TestOCSPRevocationShowsAtOnce(t *testing.T) {
	f := newFixture(t, Config{CRLDelay: time.Hour})
	cert := f.issue()
	request := ocspRequestFor(t, cert.cert, f.issuer.Cert, crypto.SHA1)

	before := f.svc.Respond(f.ctx, request)
	again := f.svc.Respond(f.ctx, request)
	if !bytes.Equal(before.DER, again.DER) {
		t.Errorf("a second response for an unchanged certificate was signed again, expected the cached one")
	}

	f.revoke(cert, Superseded)
	after := f.svc.Respond(f.ctx, request)
	parsed, err := ocsp.ParseResponseForCert(after.DER, cert.cert, f.issuer.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Status != ocsp.Revoked {
		t.Errorf("status right after the revocation is %d, expected revoked", parsed.Status)
	}
	if parsed.RevocationReason != ocsp.Superseded {
		t.Errorf("revocation reason is %d, expected superseded", parsed.RevocationReason)
	}
}

func TestOCSPCachedResponseRenewed(t *testing.T) {
	f := newFixture(t, Config{})
	cert := f.issue()
	request := ocspRequestFor(t, cert.cert, f.issuer.Cert, crypto.SHA1)

	first := f.svc.Respond(f.ctx, request)
	f.clock.Advance(DefaultOCSPValidity/2 + time.Second)
	second := f.svc.Respond(f.ctx, request)
	if !second.ThisUpdate.After(first.ThisUpdate) {
		t.Errorf("thisUpdate after half the validity is %s, expected later than %s", second.ThisUpdate, first.ThisUpdate)
	}
}

func TestResponderCertificateProfile(t *testing.T) {
	f := newFixture(t, Config{})
	r := f.svc.issuers[0].currentResponder()
	cert := r.cert

	checks := []struct {
		name string
		ok   bool
	}{
		{"signed by the issuing CA", cert.CheckSignatureFrom(f.issuer.Cert) == nil},
		{"extKeyUsage is id-kp-OCSPSigning only", len(cert.ExtKeyUsage) == 1 && cert.ExtKeyUsage[0] == x509.ExtKeyUsageOCSPSigning && len(cert.UnknownExtKeyUsage) == 0},
		{"keyUsage is digitalSignature only", cert.KeyUsage == x509.KeyUsageDigitalSignature},
		{"not a CA", cert.BasicConstraintsValid && !cert.IsCA},
		{"authorityKeyIdentifier is the issuer's key id", bytes.Equal(cert.AuthorityKeyId, f.issuer.Cert.SubjectKeyId)},
		{"has a subjectKeyIdentifier", len(cert.SubjectKeyId) == 20},
		{"validity at most 7 days ahead", !cert.NotAfter.After(time.Now().Add(DefaultResponderValidity + time.Minute))},
		{"validity inside the issuing CA's", !cert.NotBefore.Before(f.issuer.Cert.NotBefore) && !cert.NotAfter.After(f.issuer.Cert.NotAfter)},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("responder certificate: expected %s", c.name)
		}
	}

	noCheck := false
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oidOCSPNoCheck) {
			noCheck = !ext.Critical && bytes.Equal(ext.Value, []byte{0x05, 0x00})
		}
	}
	if !noCheck {
		t.Errorf("responder certificate lacks a non-critical id-pkix-ocsp-nocheck extension with a NULL value")
	}

	record, err := f.store.LatestOCSPResponder(f.ctx, f.issuer.CAID)
	if err != nil {
		t.Fatal(err)
	}
	path := record.KeyURI[len("file:"):]
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("responder key file mode is %o, expected 600", mode)
	}
}

func TestResponderRotation(t *testing.T) {
	f := newFixture(t, Config{})
	cert := f.issue()
	request := ocspRequestFor(t, cert.cert, f.issuer.Cert, crypto.SHA1)
	old := f.svc.issuers[0].currentResponder()

	f.clock.Advance(DefaultResponderValidity/2 - time.Hour)
	f.svc.refreshAll(f.ctx)
	if current := f.svc.issuers[0].currentResponder(); current.id != old.id {
		t.Fatalf("responder replaced before half its validity passed")
	}

	f.clock.Advance(2 * time.Hour)
	f.svc.refreshAll(f.ctx)
	current := f.svc.issuers[0].currentResponder()
	if current.id == old.id {
		t.Fatalf("responder not replaced after half its validity passed")
	}

	resp := f.svc.Respond(f.ctx, request)
	parsed, err := ocsp.ParseResponseForCert(resp.DER, cert.cert, f.issuer.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Certificate == nil || parsed.Certificate.SerialNumber.Cmp(current.cert.SerialNumber) != 0 {
		t.Errorf("response is not signed by the new responder certificate")
	}

	restarted := f.newService()
	if got := restarted.issuers[0].currentResponder(); got.id != current.id {
		t.Errorf("a restarted service uses responder %d, expected the stored newest %d", got.id, current.id)
	}
}
