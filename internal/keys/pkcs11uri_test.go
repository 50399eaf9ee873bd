package keys

import (
	"bytes"
	"strings"
	"testing"
)

func TestParsePKCS11URI(t *testing.T) {
	tests := []struct {
		name string
		uri  string
		want PKCS11URI
	}{
		{name: "token and object", uri: "pkcs11:token=docsign;object=issuing-1",
			want: PKCS11URI{Token: "docsign", Object: "issuing-1"}},
		{name: "type private", uri: "pkcs11:token=docsign;object=issuing-1;type=private",
			want: PKCS11URI{Token: "docsign", Object: "issuing-1"}},
		{name: "percent-encoded values", uri: "pkcs11:token=Docsign%20Issuing;object=key%3B1",
			want: PKCS11URI{Token: "Docsign Issuing", Object: "key;1"}},
		{name: "binary id", uri: "pkcs11:token=t;object=o;id=%01%FF%20",
			want: PKCS11URI{Token: "t", Object: "o", ID: []byte{0x01, 0xff, 0x20}}},
		{name: "upper-case scheme", uri: "PKCS11:token=t;object=o",
			want: PKCS11URI{Token: "t", Object: "o"}},
		{name: "attribute order", uri: "pkcs11:object=o;type=private;token=t",
			want: PKCS11URI{Token: "t", Object: "o"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePKCS11URI(tc.uri)
			if err != nil {
				t.Fatalf("ParsePKCS11URI(%q): %v", tc.uri, err)
			}
			if got.Token != tc.want.Token || got.Object != tc.want.Object || !bytes.Equal(got.ID, tc.want.ID) {
				t.Errorf("ParsePKCS11URI(%q) = %+v, want %+v", tc.uri, got, tc.want)
			}
		})
	}
}

func TestParsePKCS11URIRejects(t *testing.T) {
	tests := []struct {
		name     string
		uri      string
		wantText string
	}{
		{name: "other scheme", uri: "file:/key.pem", wantText: "must start with pkcs11:"},
		{name: "missing token", uri: "pkcs11:object=o", wantText: "token and object are required"},
		{name: "missing object", uri: "pkcs11:token=t", wantText: "token and object are required"},
		{name: "PIN in query", uri: "pkcs11:token=t;object=o?pin-value=1234", wantText: "--pkcs11-pin-file"},
		{name: "module in query", uri: "pkcs11:token=t;object=o?module-path=/lib/x.so", wantText: "--pkcs11-module"},
		{name: "public key type", uri: "pkcs11:token=t;object=o;type=public", wantText: "type=public"},
		{name: "unsupported attribute", uri: "pkcs11:token=t;object=o;slot-id=1", wantText: `"slot-id"`},
		{name: "repeated attribute", uri: "pkcs11:token=t;object=o;object=p", wantText: "appears twice"},
		{name: "bad escape", uri: "pkcs11:token=t%ZZ;object=o", wantText: `"token"`},
		{name: "empty id", uri: "pkcs11:token=t;object=o;id=", wantText: "id is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePKCS11URI(tc.uri)
			if err == nil {
				t.Fatalf("ParsePKCS11URI(%q) succeeded, want an error", tc.uri)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
		})
	}
}

func TestPKCS11URIStringRoundTrip(t *testing.T) {
	original := PKCS11URI{Token: "Docsign Root;2026", Object: "root/ecdsa~p384", ID: []byte{0x00, 0x7f, 0xff}}

	formatted := original.String()
	if want := "pkcs11:token=Docsign%20Root%3B2026;object=root%2Fecdsa~p384;id=%00%7F%FF;type=private"; formatted != want {
		t.Errorf("String() = %q, want %q", formatted, want)
	}

	parsed, err := ParsePKCS11URI(formatted)
	if err != nil {
		t.Fatalf("ParsePKCS11URI(%q): %v", formatted, err)
	}
	if parsed.Token != original.Token || parsed.Object != original.Object || !bytes.Equal(parsed.ID, original.ID) {
		t.Errorf("round trip gave %+v, want %+v", parsed, original)
	}
}
