package issuance

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

func TestIssuedCertificateProfile(t *testing.T) {
	fixture := sharedFixture(t)
	req := validRequest(t)
	req.CRLURL = "http://crl.example.test/issuing-1.crl"
	req.OCSPURL = "http://ocsp.example.test/"
	req.IssuerURL = "http://ca.example.test/issuing-1.cer"
	cert := issue(t, fixture.authority, req)
	issuer := fixture.hierarchy.Intermediate

	extensions := map[string]pkix.Extension{}
	for _, ext := range cert.Extensions {
		extensions[ext.Id.String()] = ext
	}

	tests := []struct {
		name  string
		check func() error
	}{
		{"version 3", func() error {
			return expectEqual("version", cert.Version, 3)
		}},
		{"serial from request", func() error {
			return expectEqual("serial", cert.SerialNumber.String(), req.Serial.String())
		}},
		{"subject attributes", func() error {
			want := "CN=Example Corp - Legal Department,O=Example Corp,L=Berlin,ST=Berlin,C=DE"
			return expectEqual("subject", cert.Subject.String(), want)
		}},
		{"subject attribute order", func() error {
			var rdns pkix.RDNSequence
			if _, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil {
				return err
			}
			var types []string
			for _, rdn := range rdns {
				for _, attribute := range rdn {
					types = append(types, attribute.Type.String())
				}
			}
			// C, ST, L, O, CN
			return expectEqual("attribute types", strings.Join(types, " "), "2.5.4.6 2.5.4.8 2.5.4.7 2.5.4.10 2.5.4.3")
		}},
		{"issuer is the intermediate", func() error {
			if !bytes.Equal(cert.RawIssuer, issuer.RawSubject) {
				return fmt.Errorf("issuer %q, want %q", cert.Issuer, issuer.Subject)
			}
			return nil
		}},
		{"no subjectAltName", func() error {
			if _, ok := extensions["2.5.29.17"]; ok {
				return errors.New("subjectAltName extension present")
			}
			if len(cert.DNSNames)+len(cert.EmailAddresses)+len(cert.IPAddresses)+len(cert.URIs) != 0 {
				return errors.New("certificate has alternative names")
			}
			return nil
		}},
		{"keyUsage bits", func() error {
			return expectEqual("keyUsage", cert.KeyUsage, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment)
		}},
		{"keyUsage critical", func() error {
			return expectEqual("keyUsage critical", extensions["2.5.29.15"].Critical, true)
		}},
		{"extKeyUsage in request order plus emailProtection", func() error {
			var oids []asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(extensions["2.5.29.37"].Value, &oids); err != nil {
				return err
			}
			want := "1.2.840.113583.1.1.5, 1.3.6.1.4.1.311.10.3.12, 1.3.6.1.5.5.7.3.36, 1.3.6.1.5.5.7.3.4"
			return expectEqual("extKeyUsage", joinOIDs(oids), want)
		}},
		{"extKeyUsage not critical", func() error {
			return expectEqual("extKeyUsage critical", extensions["2.5.29.37"].Critical, false)
		}},
		{"extKeyUsage as crypto/x509 reads it", func() error {
			if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}) {
				return fmt.Errorf("ExtKeyUsage = %v, want only emailProtection", cert.ExtKeyUsage)
			}
			return expectEqual("unknown purposes", len(cert.UnknownExtKeyUsage), 3)
		}},
		{"basicConstraints critical cA FALSE", func() error {
			if !cert.BasicConstraintsValid || cert.IsCA {
				return fmt.Errorf("BasicConstraintsValid=%v IsCA=%v, want true and false", cert.BasicConstraintsValid, cert.IsCA)
			}
			return expectEqual("basicConstraints critical", extensions["2.5.29.19"].Critical, true)
		}},
		{"subjectKeyIdentifier method 1", func() error {
			var spki struct {
				Algorithm pkix.AlgorithmIdentifier
				PublicKey asn1.BitString
			}
			if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
				return err
			}
			want := sha1.Sum(spki.PublicKey.Bytes)
			return expectEqual("subjectKeyIdentifier", fmt.Sprintf("%x", cert.SubjectKeyId), fmt.Sprintf("%x", want))
		}},
		{"authorityKeyIdentifier is issuer SKI", func() error {
			return expectEqual("authorityKeyIdentifier", fmt.Sprintf("%x", cert.AuthorityKeyId), fmt.Sprintf("%x", issuer.SubjectKeyId))
		}},
		{"signature algorithm", func() error {
			return expectEqual("signature algorithm", cert.SignatureAlgorithm, x509.SHA256WithRSA)
		}},
		{"public key byte-identical", func() error {
			want, err := x509.MarshalPKIXPublicKey(req.PublicKey)
			if err != nil {
				return err
			}
			if !bytes.Equal(cert.RawSubjectPublicKeyInfo, want) {
				return errors.New("SubjectPublicKeyInfo differs from the request's public key")
			}
			return nil
		}},
		{"validity from request", func() error {
			if !cert.NotBefore.Equal(req.NotBefore) || !cert.NotAfter.Equal(req.NotAfter) {
				return fmt.Errorf("validity %s to %s, want %s to %s", cert.NotBefore, cert.NotAfter, req.NotBefore, req.NotAfter)
			}
			return nil
		}},
		{"CRL distribution point", func() error {
			return expectEqual("CRLDistributionPoints", strings.Join(cert.CRLDistributionPoints, " "), req.CRLURL)
		}},
		{"AIA OCSP", func() error {
			return expectEqual("OCSPServer", strings.Join(cert.OCSPServer, " "), req.OCSPURL)
		}},
		{"AIA caIssuers", func() error {
			return expectEqual("IssuingCertificateURL", strings.Join(cert.IssuingCertificateURL, " "), req.IssuerURL)
		}},
		{"no certificate policies", func() error {
			return expectEqual("policies", len(cert.Policies), 0)
		}},
		{"signature verifies under issuer", func() error {
			return cert.CheckSignatureFrom(issuer)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSubjectOmitsEmptyLocalityProvince(t *testing.T) {
	fixture := sharedFixture(t)
	req := validRequest(t)
	req.Locality = ""
	req.Province = ""

	cert := issue(t, fixture.authority, req)

	if got, want := cert.Subject.String(), "CN=Example Corp - Legal Department,O=Example Corp,C=DE"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
}

func TestOptionalURLsOmitted(t *testing.T) {
	fixture := sharedFixture(t)

	cert := issue(t, fixture.authority, validRequest(t))

	if len(cert.CRLDistributionPoints) != 0 {
		t.Errorf("CRLDistributionPoints = %v, want none", cert.CRLDistributionPoints)
	}
	if len(cert.OCSPServer)+len(cert.IssuingCertificateURL) != 0 {
		t.Errorf("AIA entries present without URLs in the request")
	}
}

func TestSignatureAlgorithmFromHashAndIssuerKey(t *testing.T) {
	tests := []struct {
		name      string
		authority func(t *testing.T) *Authority
		hash      crypto.Hash
		want      x509.SignatureAlgorithm
	}{
		{"RSA SHA-256", func(t *testing.T) *Authority { return sharedFixture(t).authority }, crypto.SHA256, x509.SHA256WithRSA},
		{"RSA SHA-384", func(t *testing.T) *Authority { return sharedFixture(t).authority }, crypto.SHA384, x509.SHA384WithRSA},
		{"RSA SHA-512", func(t *testing.T) *Authority { return sharedFixture(t).authority }, crypto.SHA512, x509.SHA512WithRSA},
		{"ECDSA P-256 SHA-256", func(t *testing.T) *Authority { return ecdsaAuthority(t, keys.ECDSAP256) }, crypto.SHA256, x509.ECDSAWithSHA256},
		{"ECDSA P-384 SHA-384", func(t *testing.T) *Authority { return ecdsaAuthority(t, keys.ECDSAP384) }, crypto.SHA384, x509.ECDSAWithSHA384},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := validRequest(t)
			req.SignatureHash = tc.hash

			cert := issue(t, tc.authority(t), req)

			if cert.SignatureAlgorithm != tc.want {
				t.Errorf("signature algorithm = %s, want %s", cert.SignatureAlgorithm, tc.want)
			}
		})
	}
}

// TestZlintCleanIssuedCertificates issues certificates for every usage
// combination, subscriber key type and hash, and lints each issued
// certificate again with zlint's full registry except the Apple CT notice.
func TestZlintCleanIssuedCertificates(t *testing.T) {
	usageSets := [][]string{
		{UsageDocumentSigning},
		{UsageMSDocumentSigning},
		{UsageAdobeAuthenticDocumentsTrust},
		{UsageDocumentSigning, UsageMSDocumentSigning},
		{UsageMSDocumentSigning, UsageAdobeAuthenticDocumentsTrust},
		{UsageAdobeAuthenticDocumentsTrust, UsageDocumentSigning},
		{UsageAdobeAuthenticDocumentsTrust, UsageMSDocumentSigning, UsageDocumentSigning},
		{UsageDocumentSigning, UsageMSDocumentSigning, UsageAdobeAuthenticDocumentsTrust},
	}
	subscriberKeyTypes := []string{"rsa-2048", "rsa-3072", "rsa-4096", "p-256", "p-384"}

	type issuerCase struct {
		name      string
		authority func(t *testing.T) *Authority
		hashes    []crypto.Hash
	}
	issuers := []issuerCase{
		{"RSA-3072 issuer", func(t *testing.T) *Authority { return sharedFixture(t).authority },
			[]crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}},
		// Mozilla's root store policy (zlint e_mp_ecdsa_signature_encoding_correct)
		// ties the hash to the issuer's curve.
		{"P-256 issuer", func(t *testing.T) *Authority { return ecdsaAuthority(t, keys.ECDSAP256) }, []crypto.Hash{crypto.SHA256}},
		{"P-384 issuer", func(t *testing.T) *Authority { return ecdsaAuthority(t, keys.ECDSAP384) }, []crypto.Hash{crypto.SHA384}},
	}

	fullRegistry, err := lint.GlobalRegistry().Filter(lint.FilterOptions{ExcludeNames: []string{"n_ct_sct_policy_count_unsatisfied"}})
	if err != nil {
		t.Fatal(err)
	}

	for _, issuerCase := range issuers {
		for _, hash := range issuerCase.hashes {
			for _, keyType := range subscriberKeyTypes {
				for _, usages := range usageSets {
					name := fmt.Sprintf("%s/%s/%s/%s", issuerCase.name, hash, keyType, strings.Join(usages, "+"))
					t.Run(name, func(t *testing.T) {
						req := validRequest(t)
						req.PublicKey = subscriberKey(t, keyType).Public()
						req.Usages = usages
						req.SignatureHash = hash

						cert := issue(t, issuerCase.authority(t), req)

						assertZlintClean(t, cert.Raw, fullRegistry)
					})
				}
			}
		}
	}
}

func assertZlintClean(t *testing.T, der []byte, registry lint.Registry) {
	t.Helper()

	findings, err := runZlint(der, registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, finding := range findings {
		t.Errorf("zlint %s %s: %s", finding.Status, finding.Lint, finding.Details)
	}
}

// TestLintRejectsProfileBreaks forces a template that breaks one profile rule
// through the test hook and checks that Prepare reports the named lint and
// that the issuer key signs nothing.
func TestLintRejectsProfileBreaks(t *testing.T) {
	fixture := sharedFixture(t)
	authority := fixture.authority

	setEKU := func(critical bool, oids ...asn1.ObjectIdentifier) func(*x509.Certificate) {
		return func(template *x509.Certificate) {
			value, err := asn1.Marshal(oids)
			if err != nil {
				panic(err)
			}
			template.UnknownExtKeyUsage = nil
			template.ExtraExtensions = append(template.ExtraExtensions,
				pkix.Extension{Id: oidExtensionExtKeyUsage, Critical: critical, Value: value})
		}
	}
	addEKU := func(oid asn1.ObjectIdentifier) func(*x509.Certificate) {
		return func(template *x509.Certificate) {
			template.UnknownExtKeyUsage = append(template.UnknownExtKeyUsage, oid)
		}
	}

	tests := []struct {
		name     string
		hook     func(*x509.Certificate)
		mutate   func(*Request)
		wantLint string
	}{
		{
			name:     "keyEncipherment added",
			hook:     func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageKeyEncipherment },
			wantLint: "e_ds_key_usage_not_ds_nr",
		},
		{
			name:     "nonRepudiation missing",
			hook:     func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature },
			wantLint: "e_ds_key_usage_not_ds_nr",
		},
		{
			name: "keyUsage not critical",
			hook: func(c *x509.Certificate) {
				// digitalSignature and nonRepudiation: BIT STRING 0x06 0xc0 with 6 unused bits.
				c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{
					Id: oidExtensionKeyUsage, Critical: false, Value: []byte{0x03, 0x02, 0x06, 0xc0}})
			},
			wantLint: "e_ds_key_usage_not_critical",
		},
		{
			name:     "extKeyUsage missing",
			hook:     func(c *x509.Certificate) { c.UnknownExtKeyUsage = nil },
			wantLint: "e_ds_eku_missing",
		},
		{
			name:     "extKeyUsage critical",
			hook:     setEKU(true, OIDDocumentSigning, OIDMSDocumentSigning, OIDAdobeAuthenticDocumentsTrust, OIDEmailProtection),
			wantLint: "e_ds_eku_critical",
		},
		{
			name:     "no document signing purpose",
			hook:     setEKU(false, OIDEmailProtection),
			wantLint: "e_ds_eku_document_signing_missing",
		},
		{
			name:     "emailProtection missing",
			hook:     setEKU(false, OIDAdobeAuthenticDocumentsTrust, OIDMSDocumentSigning, OIDDocumentSigning),
			wantLint: "e_ds_eku_email_protection_missing",
		},
		{
			name:     "extKeyUsage out of request order",
			hook:     setEKU(false, OIDDocumentSigning, OIDMSDocumentSigning, OIDAdobeAuthenticDocumentsTrust, OIDEmailProtection),
			wantLint: "e_ds_eku_not_as_requested",
		},
		{
			name:     "anyExtendedKeyUsage",
			hook:     addEKU(oidAnyExtendedKeyUsage),
			wantLint: "e_ds_eku_prohibited_purpose",
		},
		{
			name:     "serverAuth",
			hook:     addEKU(oidServerAuth),
			wantLint: "e_ds_eku_prohibited_purpose",
		},
		{
			name:     "clientAuth",
			hook:     addEKU(oidClientAuth),
			wantLint: "e_ds_eku_prohibited_purpose",
		},
		{
			name:     "codeSigning",
			hook:     addEKU(oidCodeSigning),
			wantLint: "e_ds_eku_prohibited_purpose",
		},
		{
			name:     "DNS name SAN",
			hook:     func(c *x509.Certificate) { c.DNSNames = []string{"signing.example.com"} },
			wantLint: "e_ds_san_present",
		},
		{
			name:     "email SAN",
			hook:     func(c *x509.Certificate) { c.EmailAddresses = []string{"legal@example.com"} },
			wantLint: "e_ds_san_present",
		},
		{
			name: "cA TRUE",
			hook: func(c *x509.Certificate) {
				c.IsCA = true
				c.KeyUsage |= x509.KeyUsageCertSign
			},
			wantLint: "e_ds_basic_constraints_not_end_entity",
		},
		{
			name:     "basicConstraints missing",
			hook:     func(c *x509.Certificate) { c.BasicConstraintsValid = false },
			wantLint: "e_ds_basic_constraints_not_end_entity",
		},
		{
			name:     "organization missing",
			hook:     func(c *x509.Certificate) { c.Subject.Organization = nil },
			wantLint: "e_ds_subject_attribute_missing",
		},
		{
			name:     "country missing",
			hook:     func(c *x509.Certificate) { c.Subject.Country = nil },
			wantLint: "e_ds_subject_attribute_missing",
		},
		{
			name:     "validity over 1096 days",
			mutate:   func(r *Request) { r.NotAfter = r.NotBefore.Add(maxValidity) },
			wantLint: "e_ds_validity_too_long",
		},
		{
			name:     "RSA key under 2048 bits",
			mutate:   func(r *Request) { r.PublicKey = subscriberKey(t, "rsa-1024").Public() },
			wantLint: "e_ds_public_key_not_allowed",
		},
		{
			name:     "P-521 key",
			mutate:   func(r *Request) { r.PublicKey = subscriberKey(t, "p-521").Public() },
			wantLint: "e_ds_public_key_not_allowed",
		},
		{
			name:     "Ed25519 key",
			mutate:   func(r *Request) { r.PublicKey = subscriberKey(t, "ed25519").Public() },
			wantLint: "e_ds_public_key_not_allowed",
		},
		{
			// Only zlint checks this: it proves zlint runs on the template.
			name:     "trailing white space in subject",
			hook:     func(c *x509.Certificate) { c.Subject.Locality = []string{"Berlin "} },
			wantLint: "w_subject_dn_trailing_whitespace",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := validRequest(t)
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			authority.templateHook = tc.hook
			defer func() { authority.templateHook = nil }()
			callsBefore := fixture.signer.calls.Load()

			prepared, err := authority.Prepare(req)

			var lintErr *LintError
			if !errors.As(err, &lintErr) {
				t.Fatalf("Prepare error = %v, want a *LintError", err)
			}
			if prepared != nil {
				t.Error("Prepare returned a Prepared along with the error")
			}
			if !slices.Contains(lintErr.Names(), tc.wantLint) {
				t.Errorf("lints %v do not include %s", lintErr.Names(), tc.wantLint)
			}
			if !strings.Contains(lintErr.Error(), tc.wantLint) {
				t.Errorf("error %q does not name %s", lintErr, tc.wantLint)
			}
			if calls := fixture.signer.calls.Load() - callsBefore; calls != 0 {
				t.Errorf("issuer key signed %d times for a rejected certificate", calls)
			}
		})
	}
}

func TestLintRejectsECDSAHashCurveMismatch(t *testing.T) {
	authority := ecdsaAuthority(t, keys.ECDSAP384)
	req := validRequest(t)
	req.SignatureHash = crypto.SHA256

	_, err := authority.Prepare(req)

	var lintErr *LintError
	if !errors.As(err, &lintErr) {
		t.Fatalf("Prepare error = %v, want a *LintError", err)
	}
	if !slices.Contains(lintErr.Names(), "e_mp_ecdsa_signature_encoding_correct") {
		t.Errorf("lints %v do not include e_mp_ecdsa_signature_encoding_correct", lintErr.Names())
	}
}

func TestPrepareRejectsInvalidRequest(t *testing.T) {
	fixture := sharedFixture(t)
	issuerNotAfter := fixture.hierarchy.Intermediate.NotAfter

	tests := []struct {
		name     string
		mutate   func(*Request)
		wantText string
	}{
		{"serial missing", func(r *Request) { r.Serial = nil }, "Serial is missing"},
		{"serial zero", func(r *Request) { r.Serial = big.NewInt(0) }, "not positive"},
		{"serial negative", func(r *Request) { r.Serial = big.NewInt(-5) }, "not positive"},
		{"serial over 20 octets", func(r *Request) { r.Serial = new(big.Int).Lsh(big.NewInt(1), 159) }, "20 octets"},
		{"public key missing", func(r *Request) { r.PublicKey = nil }, "PublicKey is missing"},
		{"common name missing", func(r *Request) { r.CommonName = "" }, "CommonName is missing"},
		{"common name too long", func(r *Request) { r.CommonName = strings.Repeat("a", 65) }, "CommonName has 65 characters"},
		{"organization missing", func(r *Request) { r.Organization = "" }, "Organization is missing"},
		{"locality too long", func(r *Request) { r.Locality = strings.Repeat("ä", 129) }, "Locality has 129 characters"},
		{"province with newline", func(r *Request) { r.Province = "Ber\nlin" }, "control character"},
		{"organization padded", func(r *Request) { r.Organization = " Example Corp" }, "white space"},
		{"country lower case", func(r *Request) { r.Country = "de" }, `Country "de"`},
		{"country three letters", func(r *Request) { r.Country = "DEU" }, `Country "DEU"`},
		{"usages empty", func(r *Request) { r.Usages = nil }, "Usages is empty"},
		{"usage unknown", func(r *Request) { r.Usages = []string{"code_signing"} }, `usage "code_signing" is not supported`},
		{"usage twice", func(r *Request) { r.Usages = []string{UsageDocumentSigning, UsageDocumentSigning} }, "listed twice"},
		{"not before missing", func(r *Request) { r.NotBefore = time.Time{} }, "both required"},
		{"not before equals not after", func(r *Request) { r.NotAfter = r.NotBefore }, "is not before NotAfter"},
		{"not after before not before", func(r *Request) { r.NotAfter = r.NotBefore.Add(-time.Hour) }, "is not before NotAfter"},
		{"not after beyond issuer", func(r *Request) {
			r.NotBefore = issuerNotAfter.AddDate(-1, 0, 0)
			r.NotAfter = issuerNotAfter.Add(time.Second)
		}, "after the issuer's NotAfter"},
		{"not before before issuer", func(r *Request) { r.NotBefore = testNow.Add(-time.Hour) }, "before the issuer's NotBefore"},
		{"hash SHA-1", func(r *Request) { r.SignatureHash = crypto.SHA1 }, "SignatureHash SHA-1 is not supported"},
		{"CRL URL not http", func(r *Request) { r.CRLURL = "ldap://ldap.example.test/cn=crl" }, `CRLURL "ldap://`},
		{"OCSP URL relative", func(r *Request) { r.OCSPURL = "/ocsp" }, `OCSPURL "/ocsp"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := validRequest(t)
			tc.mutate(&req)
			callsBefore := fixture.signer.calls.Load()

			_, err := fixture.authority.Prepare(req)

			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Prepare error = %v, want ErrInvalidRequest", err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if calls := fixture.signer.calls.Load() - callsBefore; calls != 0 {
				t.Errorf("issuer key signed %d times for an invalid request", calls)
			}
		})
	}
}

func TestPrepareListsEveryProblem(t *testing.T) {
	fixture := sharedFixture(t)
	req := validRequest(t)
	req.CommonName = ""
	req.Country = "de"

	_, err := fixture.authority.Prepare(req)

	if err == nil {
		t.Fatal("Prepare succeeded")
	}
	for _, want := range []string{"CommonName is missing", `Country "de"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestSignMatchesLintedTBS(t *testing.T) {
	tests := []struct {
		name      string
		authority func(t *testing.T) *Authority
		hash      crypto.Hash
	}{
		{"RSA issuer", func(t *testing.T) *Authority { return sharedFixture(t).authority }, crypto.SHA256},
		{"ECDSA issuer", func(t *testing.T) *Authority { return ecdsaAuthority(t, keys.ECDSAP384) }, crypto.SHA384},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			authority := tc.authority(t)
			req := validRequest(t)
			req.SignatureHash = tc.hash
			prepared, err := authority.Prepare(req)
			if err != nil {
				t.Fatal(err)
			}

			der, err := authority.Sign(prepared)
			if err != nil {
				t.Fatal(err)
			}

			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			lintCert, err := x509.ParseCertificate(prepared.LintCertificate())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(cert.RawTBSCertificate, prepared.TBS()) {
				t.Error("issued TBSCertificate differs from Prepared.TBS")
			}
			if !bytes.Equal(lintCert.RawTBSCertificate, prepared.TBS()) {
				t.Error("lint certificate's TBSCertificate differs from Prepared.TBS")
			}
			if err := cert.CheckSignatureFrom(authority.issuer.Cert); err != nil {
				t.Errorf("issued certificate does not verify under the issuer: %v", err)
			}
			if err := lintCert.CheckSignatureFrom(authority.issuer.Cert); err == nil {
				t.Error("lint certificate verifies under the real issuer; it must carry the throwaway signature")
			}
		})
	}
}

func TestPreparedAccessorsReturnCopies(t *testing.T) {
	fixture := sharedFixture(t)
	prepared, err := fixture.authority.Prepare(validRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	original := prepared.TBS()

	prepared.TBS()[10] ^= 0xff
	prepared.LintCertificate()[10] ^= 0xff

	if !bytes.Equal(prepared.TBS(), original) {
		t.Error("changing the slice from TBS changed the Prepared")
	}
	if _, err := fixture.authority.Sign(prepared); err != nil {
		t.Errorf("Sign after changing returned slices: %v", err)
	}
}

func TestSignRejectsForeignPrepared(t *testing.T) {
	prepared, err := ecdsaAuthority(t, keys.ECDSAP256).Prepare(validRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	fixture := sharedFixture(t)
	callsBefore := fixture.signer.calls.Load()

	_, err = fixture.authority.Sign(prepared)

	if err == nil {
		t.Fatal("Sign accepted a Prepared from another authority")
	}
	if calls := fixture.signer.calls.Load() - callsBefore; calls != 0 {
		t.Errorf("issuer key signed %d times", calls)
	}
	if _, err := fixture.authority.Sign(nil); err == nil {
		t.Error("Sign(nil) succeeded")
	}
}

func TestSignTBSResignsStoredTBS(t *testing.T) {
	fixture := sharedFixture(t)
	prepared, err := fixture.authority.Prepare(validRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	first, err := fixture.authority.Sign(prepared)
	if err != nil {
		t.Fatal(err)
	}

	second, err := fixture.authority.SignTBS(prepared.TBS())
	if err != nil {
		t.Fatalf("SignTBS: %v", err)
	}

	// RSASSA-PKCS1-v1_5 is deterministic, so the same TBS gives the same certificate.
	if !bytes.Equal(first, second) {
		t.Error("SignTBS output differs from Sign output for the same TBS")
	}
}

func TestSignTBSRejectsBadInput(t *testing.T) {
	fixture := sharedFixture(t)
	authority := fixture.authority

	otherIssuerPrepared, err := ecdsaAuthority(t, keys.ECDSAP256).Prepare(validRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	goodPrepared, err := authority.Prepare(validRequest(t))
	if err != nil {
		t.Fatal(err)
	}

	// A TBSCertificate for this issuer that breaks the profile: built under the
	// mirror directly, as a tampered database row would hold it.
	badTemplate, err := newTemplate(ptr(validRequest(t)), x509.SHA256WithRSA)
	if err != nil {
		t.Fatal(err)
	}
	badTemplate.KeyUsage |= x509.KeyUsageKeyEncipherment
	badDER, err := x509.CreateCertificate(rand.Reader, badTemplate, authority.mirror, subscriberKey(t, "p-256").Public(), authority.mirrorSigner)
	if err != nil {
		t.Fatal(err)
	}
	badCert, err := x509.ParseCertificate(badDER)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		tbs      []byte
		wantText string
	}{
		{"empty", nil, "not one DER TBSCertificate"},
		{"garbage", []byte("not DER"), "not one DER TBSCertificate"},
		{"trailing data", append(goodPrepared.TBS(), 0x00), "not one DER TBSCertificate"},
		{"other issuer", otherIssuerPrepared.TBS(), "names issuer"},
		{"breaks profile", badCert.RawTBSCertificate, "e_ds_key_usage_not_ds_nr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			callsBefore := fixture.signer.calls.Load()

			_, err := authority.SignTBS(tc.tbs)

			if err == nil {
				t.Fatal("SignTBS succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if calls := fixture.signer.calls.Load() - callsBefore; calls != 0 {
				t.Errorf("issuer key signed %d times", calls)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestSignTBSRejectsWrongAlgorithm(t *testing.T) {
	fixture := sharedFixture(t)
	authority := fixture.authority

	// A TBS naming this issuer but an ECDSA signature algorithm, which the
	// RSA issuer key cannot produce.
	prepared, err := authority.Prepare(validRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	rsaAlgorithm, err := asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue})
	if err != nil {
		t.Fatal(err)
	}
	ecdsaAlgorithm, err := asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}})
	if err != nil {
		t.Fatal(err)
	}
	tbs := bytes.Replace(prepared.TBS(), rsaAlgorithm, ecdsaAlgorithm, 1)
	if bytes.Equal(tbs, prepared.TBS()) {
		t.Fatal("test setup: signature algorithm not found in TBS")
	}
	tbs = reencodeSequenceLength(t, tbs)
	callsBefore := fixture.signer.calls.Load()

	_, err = authority.SignTBS(tbs)

	if err == nil || !strings.Contains(err.Error(), "does not sign with") {
		t.Fatalf("SignTBS error = %v, want a signature algorithm error", err)
	}
	if calls := fixture.signer.calls.Load() - callsBefore; calls != 0 {
		t.Errorf("issuer key signed %d times", calls)
	}
}

// reencodeSequenceLength fixes the outer SEQUENCE length of a DER value whose
// content changed size.
func reencodeSequenceLength(t *testing.T, der []byte) []byte {
	t.Helper()

	// The old length no longer matches the content, so skip the header by
	// hand. A TBS is over 255 bytes, so its header is 30 82 followed by two
	// length bytes.
	if der[0] != 0x30 || der[1] != 0x82 {
		t.Fatalf("unexpected TBS header % x", der[:2])
	}
	raw := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: der[4:]}
	out, err := asn1.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCABFLintsDoNotApply(t *testing.T) {
	fixture := sharedFixture(t)
	cert := issue(t, fixture.authority, validRequest(t))
	zcert, err := zx509.ParseCertificate(cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	registry, err := zlintRegistry()
	if err != nil {
		t.Fatal(err)
	}

	results := zlint.LintCertificateEx(zcert, registry)

	scoped := map[lint.LintSource]bool{
		lint.CABFBaselineRequirements:      true,
		lint.CABFSMIMEBaselineRequirements: true,
		lint.CABFCSBaselineRequirements:    true,
	}
	checked := 0
	for name, result := range results.Results {
		if !scoped[result.LintMetadata.Source] {
			continue
		}
		checked++
		if result.Status != lint.NA {
			t.Errorf("%s (%s) returned %s, want NA: the certificate must stay outside CA/Browser Forum scope",
				name, result.LintMetadata.Source, result.Status)
		}
	}
	if checked == 0 {
		t.Error("no CA/Browser Forum lints ran; the registry lost them")
	}
}

func TestZlintRegistrySources(t *testing.T) {
	registry, err := zlintRegistry()
	if err != nil {
		t.Fatal(err)
	}
	sources := registry.Sources()

	for _, excluded := range []lint.LintSource{lint.AppleRootStorePolicy, lint.ChromeRootStorePolicy, lint.CABFEVGuidelines} {
		if slices.Contains(sources, excluded) {
			t.Errorf("registry contains excluded source %s", excluded)
		}
	}
	for _, required := range []lint.LintSource{lint.RFC5280, lint.MozillaRootStorePolicy, lint.Community, lint.CABFBaselineRequirements} {
		if !slices.Contains(sources, required) {
			t.Errorf("registry lacks source %s", required)
		}
	}
}

func TestLintErrorListsNames(t *testing.T) {
	err := &LintError{Findings: []Finding{
		{Lint: "e_ds_san_present", Status: "error", Details: "the certificate has a subjectAltName extension"},
		{Lint: "w_subject_dn_trailing_whitespace", Status: "warn"},
	}}

	message := err.Error()

	for _, name := range []string{"e_ds_san_present", "w_subject_dn_trailing_whitespace"} {
		if !strings.Contains(message, name) {
			t.Errorf("message %q does not contain %s", message, name)
		}
	}
}

func TestNewSerial(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		serial, err := NewSerial()
		if err != nil {
			t.Fatal(err)
		}

		if serial.Sign() <= 0 {
			t.Fatalf("serial %s is not positive", serial)
		}
		if serial.BitLen() > 127 {
			t.Fatalf("serial has %d bits, want at most 127", serial.BitLen())
		}
		der, err := asn1.Marshal(serial)
		if err != nil {
			t.Fatal(err)
		}
		// Tag, length and at most 16 content octets.
		if len(der) > 18 {
			t.Fatalf("serial DER is %d bytes, want at most 18", len(der))
		}
		if seen[serial.String()] {
			t.Fatalf("serial %s repeated", serial)
		}
		seen[serial.String()] = true
	}
}

func TestNewSerialUsesHighBits(t *testing.T) {
	// With 127 random bits, the chance that 200 serials all stay below 2^100
	// is 2^-5400; a generator with fewer random bits fails this.
	limit := new(big.Int).Lsh(big.NewInt(1), 100)
	for range 200 {
		serial, err := NewSerial()
		if err != nil {
			t.Fatal(err)
		}
		if serial.Cmp(limit) >= 0 {
			return
		}
	}
	t.Error("200 serials were all below 2^100")
}

func expectEqual[T comparable](what string, got, want T) error {
	if got != want {
		return fmt.Errorf("%s = %v, want %v", what, got, want)
	}
	return nil
}

func TestValidityLimitBoundary(t *testing.T) {
	fixture := sharedFixture(t)

	tests := []struct {
		name     string
		notAfter time.Time
		wantLint bool
	}{
		// RFC 5280 §4.1.2.5 counts both ends, so NotAfter one second before
		// the 1096-day mark gives exactly 1096 days.
		{"exactly 1096 days", testNow.Add(maxValidity - time.Second), false},
		{"1096 days and one second", testNow.Add(maxValidity), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := validRequest(t)
			req.NotAfter = tc.notAfter

			_, err := fixture.authority.Prepare(req)

			var lintErr *LintError
			gotLint := errors.As(err, &lintErr) && slices.Contains(lintErr.Names(), "e_ds_validity_too_long")
			if gotLint != tc.wantLint {
				t.Errorf("Prepare error = %v, want e_ds_validity_too_long: %v", err, tc.wantLint)
			}
			if !tc.wantLint && err != nil {
				t.Errorf("Prepare: %v", err)
			}
		})
	}
}

func TestNewAuthorityRejectsBadIssuer(t *testing.T) {
	fixture := sharedFixture(t)
	root := fixture.hierarchy.Root
	intermediate := fixture.hierarchy.Intermediate
	subscriber := subscriberKey(t, "p-256")

	// createCA returns a CA certificate under the development root for signer,
	// after change adjusts the template.
	createCA := func(signer crypto.Signer, change func(*x509.Certificate)) *x509.Certificate {
		template, err := caTemplate("docsign-ca Test CA", signer.Public(), root.NotBefore, root.NotBefore.AddDate(1, 0, 0), 0)
		if err != nil {
			t.Fatal(err)
		}
		change(template)
		_, cert, err := createCACertificate(template, root, signer.Public(), fixture.rootSigner)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	leaf := issue(t, fixture.authority, validRequest(t))
	withoutCRLSign := createCA(subscriber, func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageCertSign })
	ed25519Key := subscriberKey(t, "ed25519")
	ed25519CA := createCA(ed25519Key, func(*x509.Certificate) {})

	tests := []struct {
		name     string
		issuer   *Issuer
		wantText string
	}{
		{"nil issuer", nil, "both required"},
		{"no signer", &Issuer{Cert: intermediate}, "both required"},
		{"not a CA", &Issuer{Cert: leaf, Signer: subscriber}, "not a CA certificate"},
		{"cRLSign missing", &Issuer{Cert: withoutCRLSign, Signer: subscriber}, "lacks keyCertSign or cRLSign"},
		{"key mismatch", &Issuer{Cert: intermediate, Signer: subscriber}, "does not match the certificate"},
		{"Ed25519 issuer key", &Issuer{Cert: ed25519CA, Signer: ed25519Key}, "not supported"},
		{"chain starts elsewhere", &Issuer{Cert: intermediate, Signer: fixture.signer.Signer,
			Chain: []*x509.Certificate{root}}, "Chain[0]"},
		{"chain not linked", &Issuer{Cert: intermediate, Signer: fixture.signer.Signer,
			Chain: []*x509.Certificate{intermediate, intermediate}}, "is not signed by"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			authority, err := NewAuthority(tc.issuer)

			if err == nil {
				t.Fatal("NewAuthority succeeded, want an error")
			}
			if authority != nil {
				t.Error("NewAuthority returned an Authority along with the error")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
		})
	}
}

func TestMirrorCopiesIssuer(t *testing.T) {
	fixture := sharedFixture(t)
	issuer := fixture.hierarchy.Intermediate
	mirror := fixture.authority.mirror

	if !bytes.Equal(mirror.RawSubject, issuer.RawSubject) {
		t.Error("mirror subject differs from the issuer's")
	}
	if !bytes.Equal(mirror.SubjectKeyId, issuer.SubjectKeyId) {
		t.Error("mirror subjectKeyIdentifier differs from the issuer's")
	}
	if len(mirror.Extensions) != len(issuer.Extensions) {
		t.Fatalf("mirror has %d extensions, issuer %d", len(mirror.Extensions), len(issuer.Extensions))
	}
	for i := range issuer.Extensions {
		got, want := mirror.Extensions[i], issuer.Extensions[i]
		if !got.Id.Equal(want.Id) || got.Critical != want.Critical || !bytes.Equal(got.Value, want.Value) {
			t.Errorf("mirror extension %d (%s) differs from the issuer's", i, want.Id)
		}
	}
	if mirror.PublicKeyAlgorithm != issuer.PublicKeyAlgorithm {
		t.Errorf("mirror key algorithm %s, issuer %s", mirror.PublicKeyAlgorithm, issuer.PublicKeyAlgorithm)
	}
	if bytes.Equal(mirror.RawSubjectPublicKeyInfo, issuer.RawSubjectPublicKeyInfo) {
		t.Error("mirror uses the issuer's real key")
	}
}

func TestConcurrentIssuance(t *testing.T) {
	fixture := sharedFixture(t)
	const workers = 8
	requests := make([]Request, workers)
	for i := range requests {
		requests[i] = validRequest(t)
	}

	errs := make(chan error, workers)
	for _, req := range requests {
		go func() {
			prepared, err := fixture.authority.Prepare(req)
			if err == nil {
				_, err = fixture.authority.Sign(prepared)
			}
			errs <- err
		}()
	}

	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
