package revocation

import (
	"strings"
	"testing"
)

func TestParseReason(t *testing.T) {
	cases := []struct {
		name     string
		expected Reason
	}{
		{"", Unspecified},
		{"unspecified", Unspecified},
		{"key_compromise", KeyCompromise},
		{"keyCompromise", KeyCompromise},
		{"KEY_COMPROMISE", KeyCompromise},
		{"ca_compromise", CACompromise},
		{"cACompromise", CACompromise},
		{"affiliation_changed", AffiliationChanged},
		{"affiliationChanged", AffiliationChanged},
		{"superseded", Superseded},
		{"Superseded", Superseded},
		{"cessation_of_operation", CessationOfOperation},
		{"cessationOfOperation", CessationOfOperation},
		{"privilege_withdrawn", PrivilegeWithdrawn},
		{"privilegeWithdrawn", PrivilegeWithdrawn},
		{" superseded ", Superseded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseReason(c.name)
			if err != nil {
				t.Fatalf("ParseReason(%q): %v", c.name, err)
			}
			if got != c.expected {
				t.Errorf("ParseReason(%q) = %s, expected %s", c.name, got, c.expected)
			}
		})
	}
}

func TestParseReasonRejects(t *testing.T) {
	cases := []struct {
		name    string
		message string
	}{
		{"certificate_hold", "does not suspend"},
		{"certificateHold", "does not suspend"},
		{"remove_from_crl", "removeFromCRL"},
		{"aACompromise", "attribute certificates"},
		{"stolen", "allowed: unspecified, key_compromise"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseReason(c.name)
			if err == nil {
				t.Fatalf("ParseReason(%q) returned no error", c.name)
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Errorf("error %q does not contain %q", err, c.message)
			}
			if !strings.Contains(err.Error(), c.name) {
				t.Errorf("error %q does not name the value %q", err, c.name)
			}
		})
	}
}

func TestCheckPublicURL(t *testing.T) {
	cases := []struct {
		raw      string
		expected string // "" when the URL is rejected
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://pki.example.com/", "http://pki.example.com"},
		{"https://pki.example.com/docsign", "https://pki.example.com/docsign"},
		{"ftp://pki.example.com", ""},
		{"pki.example.com", ""},
		{"http://", ""},
		{"http://user:secret@pki.example.com", ""},
		{"http://pki.example.com/?a=b", ""},
		{"http://pki.example.com/#top", ""},
	}
	for _, c := range cases {
		t.Run(c.raw, func(t *testing.T) {
			got, err := CheckPublicURL(c.raw)
			if c.expected == "" {
				if err == nil {
					t.Errorf("CheckPublicURL(%q) = %q, expected an error", c.raw, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckPublicURL(%q): %v", c.raw, err)
			}
			if got != c.expected {
				t.Errorf("CheckPublicURL(%q) = %q, expected %q", c.raw, got, c.expected)
			}
		})
	}
}

func TestStatusURLs(t *testing.T) {
	urls := StatusURLs("http://127.0.0.1:8080", "0A1B2C3D4E5F6071")
	expected := URLs{
		CRL:    "http://127.0.0.1:8080/crl/0A1B2C3D4E5F6071.crl",
		OCSP:   "http://127.0.0.1:8080/ocsp",
		Issuer: "http://127.0.0.1:8080/ca/0A1B2C3D4E5F6071.cer",
	}
	if urls != expected {
		t.Errorf("StatusURLs = %+v, expected %+v", urls, expected)
	}
}
