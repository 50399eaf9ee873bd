package issuance

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
)

// referenceFermatRound is Fermat's method written plainly, with a square
// root for every candidate, to check fermatFactorRound against.
func referenceFermatRound(n *big.Int, rounds int) (int, bool) {
	a := new(big.Int).Sqrt(n)
	for i := range rounds {
		a.Add(a, big.NewInt(1))
		b2 := new(big.Int).Mul(a, a)
		b2.Sub(b2, n)
		root := new(big.Int).Sqrt(b2)
		if new(big.Int).Mul(root, root).Cmp(b2) == 0 {
			return i, true
		}
	}
	return 0, false
}

// randomOdd returns a random odd number of exactly bits bits.
func randomOdd(t *testing.T, bits int) *big.Int {
	t.Helper()
	x, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits-1)))
	if err != nil {
		t.Fatal(err)
	}
	x.SetBit(x, bits-1, 1)
	x.SetBit(x, 0, 1)
	return x
}

// closeProduct returns p·q for a random odd p of 1024 bits and q = p + gap,
// rounded up to odd. Fermat's method needs odd factors, not primes.
func closeProduct(t *testing.T, gap *big.Int) *big.Int {
	t.Helper()
	p := randomOdd(t, 1024)
	q := new(big.Int).Add(p, gap)
	q.SetBit(q, 0, 1)
	return new(big.Int).Mul(p, q)
}

func TestFermatFactorRoundMatchesReference(t *testing.T) {
	// With factors p < q = p + gap, a = (p+q)/2 and ⌈√n⌉ differ by about
	// gap²/(8a). For a 1024-bit p, a lies in [2^1023, 2^1024), so a gap of
	// 2^514·c ends at a candidate between 2c² and 4c²: gaps of 2^514·5,
	// ·6 and ·7 end on both sides of the 100th candidate.
	unit := new(big.Int).Lsh(big.NewInt(1), 514)
	gaps := []struct {
		name string
		gap  *big.Int
	}{
		{"adjacent odd factors", big.NewInt(2)},
		{"gap 2^514", unit},
		{"gap 2^514·5", new(big.Int).Mul(unit, big.NewInt(5))},
		{"gap 2^514·6", new(big.Int).Mul(unit, big.NewInt(6))},
		{"gap 2^514·7", new(big.Int).Mul(unit, big.NewInt(7))},
		{"gap 2^600", new(big.Int).Lsh(big.NewInt(1), 600)},
	}

	lateFinds, misses := 0, 0
	for _, tc := range gaps {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 {
				n := closeProduct(t, tc.gap)

				wantRound, wantFound := referenceFermatRound(n, fermatRounds)
				gotRound, gotFound := fermatFactorRound(n, fermatRounds)

				if gotFound != wantFound || gotRound != wantRound {
					t.Fatalf("n = %x: fermatFactorRound = (%d, %t), reference (%d, %t)", n, gotRound, gotFound, wantRound, wantFound)
				}
				if wantFound && wantRound >= 90 {
					lateFinds++
				}
				if !wantFound {
					misses++
				}
			}
		})
	}

	// The boundary cases must have reached both sides of the last candidate.
	if lateFinds == 0 {
		t.Error("no modulus was factored at candidate 91 or later")
	}
	if misses == 0 {
		t.Error("every modulus was factored, so no case tested the round limit")
	}
}

func TestFermatLintCases(t *testing.T) {
	generated, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256 := subscriberKey(t, "p-256")

	tests := []struct {
		name      string
		cert      *x509.Certificate
		wantFound bool
	}{
		{
			name:      "close factors",
			cert:      &x509.Certificate{PublicKeyAlgorithm: x509.RSA, PublicKey: &rsa.PublicKey{N: closeProduct(t, big.NewInt(1000)), E: 65537}},
			wantFound: true,
		},
		{
			name: "generated RSA-2048 key",
			cert: &x509.Certificate{PublicKeyAlgorithm: x509.RSA, PublicKey: &generated.PublicKey},
		},
		{
			name: "ECDSA key",
			cert: &x509.Certificate{PublicKeyAlgorithm: x509.ECDSA, PublicKey: p256.Public()},
		},
		{
			name: "RSA key without modulus",
			cert: &x509.Certificate{PublicKeyAlgorithm: x509.RSA, PublicKey: &rsa.PublicKey{E: 65537}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			details := checkFermatFactorization(tc.cert, parsedExtensions{})

			if found := details != ""; found != tc.wantFound {
				t.Fatalf("finding %q, expected a finding: %t", details, tc.wantFound)
			}
			if tc.wantFound && !strings.Contains(details, "generate a new key") {
				t.Errorf("details %q do not say what to do", details)
			}
		})
	}
}

func TestFermatLintRejectsRequest(t *testing.T) {
	fixture := sharedFixture(t)
	req := validRequest(t)
	req.PublicKey = &rsa.PublicKey{N: closeProduct(t, big.NewInt(1000)), E: 65537}

	prepared, err := fixture.authority.Prepare(req)

	var lintErr *LintError
	if !errors.As(err, &lintErr) {
		t.Fatalf("Prepare error = %v, expected a *LintError", err)
	}
	if prepared != nil {
		t.Error("Prepare returned a Prepared along with the error")
	}
	if !slices.Contains(lintErr.Names(), "e_rsa_fermat_factorization") {
		t.Errorf("lints %v do not include e_rsa_fermat_factorization", lintErr.Names())
	}
}

func TestFermatLintReplacesZlints(t *testing.T) {
	registry, err := zlintRegistry()
	if err != nil {
		t.Fatal(err)
	}

	if slices.Contains(registry.Names(), "e_rsa_fermat_factorization") {
		t.Error("zlint registry still runs e_rsa_fermat_factorization")
	}
	if !slices.ContainsFunc(profileLints, func(l profileLint) bool { return l.name == "e_rsa_fermat_factorization" }) {
		t.Error("profile lints lack e_rsa_fermat_factorization")
	}
}
