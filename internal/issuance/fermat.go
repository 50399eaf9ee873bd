package issuance

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"math/big"
)

// fermatRounds is how many candidates Fermat's method tries, as zlint
// v3.7.3's e_rsa_fermat_factorization does (its Rounds default).
const fermatRounds = 100

// Moduli of the square filter. A perfect square is a quadratic residue
// modulo each of them, and only about 0.8 % of integers pass all four, so
// the filter skips the square root for most candidates.
var squareFilterModuli = [...]uint64{64, 63, 65, 11}

// squareFilterProduct is the product of squareFilterModuli.
const squareFilterProduct = 64 * 63 * 65 * 11

// squareResidues[i][r] is true when r is a square modulo squareFilterModuli[i].
var squareResidues = func() [len(squareFilterModuli)][]bool {
	var residues [len(squareFilterModuli)][]bool
	for i, m := range squareFilterModuli {
		residues[i] = make([]bool, m)
		for x := range m {
			residues[i][x*x%m] = true
		}
	}
	return residues
}()

// checkFermatFactorization is the lint e_rsa_fermat_factorization. It
// replaces zlint's lint of that name and tries the same candidates: an RSA
// modulus n = pq whose primes are so close that n = a² - b² for one of the
// first fermatRounds values of a from ⌈√n⌉ upwards can be factored at once,
// so its primes were not chosen independently. zlint's lint takes a big
// integer square root for every candidate, which cost about 0.5 ms of CPU per
// certificate with an RSA-2048 subscriber key. This one updates a² - n by
// addition and takes the square root only of a candidate that passes the
// square filter. The details name no factor, because the factors are the
// private key.
func checkFermatFactorization(cert *x509.Certificate, _ parsedExtensions) string {
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || cert.PublicKeyAlgorithm != x509.RSA || key.N == nil || key.N.Sign() <= 0 {
		return ""
	}

	round, found := fermatFactorRound(key.N, fermatRounds)
	if !found {
		return ""
	}
	return fmt.Sprintf("the %d-bit RSA modulus factors by Fermat's method at candidate %d of %d, "+
		"so its two primes are too close together; generate a new key", key.N.BitLen(), round+1, fermatRounds)
}

// fermatFactorRound returns the index of the first a among
// ⌊√n⌋+1, ⌊√n⌋+2, ... (rounds values) for which a² - n is a perfect square.
// The starting point is zlint's, which skips b = 0 for a square n.
func fermatFactorRound(n *big.Int, rounds int) (int, bool) {
	a := new(big.Int).Sqrt(n)
	a.Add(a, big.NewInt(1))

	// b2 = a² - n, and step = 2a + 1 = (a+1)² - a², the next increment.
	b2 := new(big.Int).Mul(a, a)
	b2.Sub(b2, n)
	step := new(big.Int).Lsh(a, 1)
	step.Add(step, big.NewInt(1))

	filterMod := new(big.Int).SetUint64(squareFilterProduct)
	residue := new(big.Int).Mod(b2, filterMod).Uint64()
	stepResidue := new(big.Int).Mod(step, filterMod).Uint64()

	root := new(big.Int)
	square := new(big.Int)
	two := big.NewInt(2)
	for i := range rounds {
		if passesSquareFilter(residue) {
			root.Sqrt(b2)
			if square.Mul(root, root).Cmp(b2) == 0 {
				return i, true
			}
		}

		b2.Add(b2, step)
		step.Add(step, two)
		residue = (residue + stepResidue) % squareFilterProduct
		stepResidue = (stepResidue + 2) % squareFilterProduct
	}
	return 0, false
}

// passesSquareFilter reports whether a number with this residue modulo
// squareFilterProduct can be a perfect square.
func passesSquareFilter(residue uint64) bool {
	for i, m := range squareFilterModuli {
		if !squareResidues[i][residue%m] {
			return false
		}
	}
	return true
}
