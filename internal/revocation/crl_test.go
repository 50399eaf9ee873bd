package revocation

import (
	"bytes"
	"encoding/asn1"
	"testing"
	"time"
)

var oidReasonCode = asn1.ObjectIdentifier{2, 5, 29, 21}

func TestCRLNumberGrows(t *testing.T) {
	f := newFixture(t, Config{CRLDelay: 5 * time.Minute})
	cert := f.issue()

	first := f.crl()
	if first.Number.Int64() != 1 {
		t.Fatalf("first CRL number is %s, expected 1", first.Number)
	}
	if len(first.RevokedCertificateEntries) != 0 {
		t.Fatalf("first CRL lists %d entries, expected none", len(first.RevokedCertificateEntries))
	}

	f.revoke(cert, KeyCompromise)
	withinDelay := f.crl()
	if withinDelay.Number.Int64() != 1 {
		t.Errorf("CRL number within the CRL delay is %s, expected the unchanged 1", withinDelay.Number)
	}

	f.clock.Advance(5*time.Minute + time.Second)
	afterDelay := f.crl()
	if afterDelay.Number.Int64() != 2 {
		t.Errorf("CRL number after the CRL delay is %s, expected 2", afterDelay.Number)
	}
	if len(afterDelay.RevokedCertificateEntries) != 1 || afterDelay.RevokedCertificateEntries[0].SerialNumber.Cmp(cert.cert.SerialNumber) != 0 {
		t.Errorf("CRL after the CRL delay lists %d entries, expected serial %X", len(afterDelay.RevokedCertificateEntries), cert.cert.SerialNumber)
	}

	f.clock.Advance(DefaultCRLValidity/2 + time.Second)
	halfway := f.crl()
	if halfway.Number.Int64() != 3 {
		t.Errorf("CRL number after half the validity is %s, expected 3", halfway.Number)
	}

	restarted := f.newService()
	f.clock.Advance(DefaultCRLValidity/2 + time.Second)
	crl, err := restarted.CRL(f.ctx, issuingCACertID)
	if err != nil {
		t.Fatal(err)
	}
	if crl.Number != 4 {
		t.Errorf("CRL number after a restart is %d, expected 4", crl.Number)
	}
}

func TestCRLDelayZeroListsAtOnce(t *testing.T) {
	f := newFixture(t, Config{CRLDelay: 0})
	cert := f.issue()
	f.crl()

	f.revoke(cert, Superseded)
	list := f.crl()
	if len(list.RevokedCertificateEntries) != 1 {
		t.Fatalf("CRL lists %d entries right after a revocation with no delay, expected 1", len(list.RevokedCertificateEntries))
	}
}

func TestCRLReasonCodes(t *testing.T) {
	f := newFixture(t, Config{CRLDelay: 0})
	cases := []struct {
		reason Reason
		// extension is whether the entry carries the reasonCode extension.
		// RFC 5280 §5.3.1 recommends leaving it out for unspecified.
		extension bool
	}{
		{Unspecified, false},
		{KeyCompromise, true},
		{CACompromise, true},
		{AffiliationChanged, true},
		{Superseded, true},
		{CessationOfOperation, true},
		{PrivilegeWithdrawn, true},
	}
	serials := make([]string, len(cases))
	for i, c := range cases {
		cert := f.issue()
		f.revoke(cert, c.reason)
		serials[i] = serialHex(cert.cert.SerialNumber)
	}

	list := f.crl()
	entries := map[string]int{}
	for i, entry := range list.RevokedCertificateEntries {
		entries[serialHex(entry.SerialNumber)] = i
	}
	for i, c := range cases {
		t.Run(c.reason.String(), func(t *testing.T) {
			index, ok := entries[serials[i]]
			if !ok {
				t.Fatalf("CRL does not list serial %s", serials[i])
			}
			entry := list.RevokedCertificateEntries[index]
			if entry.ReasonCode != int(c.reason) {
				t.Errorf("reason code is %d, expected %d", entry.ReasonCode, c.reason)
			}
			present := false
			for _, ext := range entry.Extensions {
				if ext.Id.Equal(oidReasonCode) {
					present = true
				}
			}
			if present != c.extension {
				t.Errorf("reasonCode extension present = %v, expected %v", present, c.extension)
			}
		})
	}
}

func TestCRLSignedByIssuingCA(t *testing.T) {
	f := newFixture(t, Config{})
	list := f.crl()

	if err := list.CheckSignatureFrom(f.issuer.Cert); err != nil {
		t.Errorf("CRL signature does not verify under the issuing CA: %v", err)
	}
	if !bytes.Equal(list.AuthorityKeyId, f.issuer.Cert.SubjectKeyId) {
		t.Errorf("CRL authorityKeyIdentifier is %X, expected the issuer's subjectKeyIdentifier %X", list.AuthorityKeyId, f.issuer.Cert.SubjectKeyId)
	}
	if got := list.NextUpdate.Sub(list.ThisUpdate); got != DefaultCRLValidity {
		t.Errorf("nextUpdate - thisUpdate is %s, expected %s", got, DefaultCRLValidity)
	}
}

func TestCRLUnknownCA(t *testing.T) {
	f := newFixture(t, Config{})
	if _, err := f.svc.CRL(f.ctx, "NOSUCHCA"); err == nil {
		t.Fatal("CRL of an unknown ca_cert_id returned no error")
	}
}
