package console

import "testing"

// TestUnknownUserHashCostsAsMuchAsARealOne checks that the hash an unknown
// username is verified against parses, carries HashPassword's parameters,
// and matches no password.
func TestUnknownUserHashParameters(t *testing.T) {
	real, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	wantParams, _, _, ok := parseArgonHash(real)
	if !ok {
		t.Fatal("HashPassword's output does not parse")
	}
	gotParams, _, _, ok := parseArgonHash(unknownUserHash)
	if !ok {
		t.Fatalf("unknownUserHash %q does not parse", unknownUserHash)
	}
	if gotParams != wantParams {
		t.Errorf("unknownUserHash parameters %+v, expected HashPassword's %+v", gotParams, wantParams)
	}
	for _, password := range []string{"", "correct horse battery staple", "unused-password-for-unknown-usernames"} {
		if VerifyPassword(unknownUserHash, password) {
			t.Errorf("unknownUserHash matches %q", password)
		}
	}
}
