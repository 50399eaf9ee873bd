package main

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"runtime"
	"sync"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// preparedCSR is a CSR generated before the run, so that client key
// generation and CSR signing are not part of the measurement.
type preparedCSR struct {
	PEM string
	// SPKI is the DER SubjectPublicKeyInfo the issued certificate must certify.
	SPKI []byte
}

// generateCSRs creates count CSRs signed by keyPool keys of type alg, used in
// turn. Each CSR is new (its own subject and signature) even where keys
// repeat: a pool keeps RSA key generation, which takes tens of milliseconds
// per key, out of the set-up time, and the server does not reject a key it
// has certified before.
func generateCSRs(count, keyPool int, alg keys.Algorithm) ([]preparedCSR, error) {
	keyPool = max(1, min(keyPool, count))
	signers := make([]crypto.Signer, keyPool)
	spkis := make([][]byte, keyPool)
	err := parallel(keyPool, func(i int) error {
		signer, err := keys.Generate(alg)
		if err != nil {
			return err
		}
		spki, err := x509.MarshalPKIXPublicKey(signer.Public())
		if err != nil {
			return err
		}
		signers[i], spkis[i] = signer, spki
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("generate subscriber keys: %w", err)
	}

	csrs := make([]preparedCSR, count)
	err = parallel(count, func(i int) error {
		k := i % keyPool
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			// The CA ignores the CSR subject, but a unique one keeps every CSR distinct.
			Subject: pkix.Name{CommonName: fmt.Sprintf("docsign-bench %d", i)},
		}, signers[k])
		if err != nil {
			return err
		}
		csrs[i] = preparedCSR{
			PEM:  string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
			SPKI: spkis[k],
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create CSRs: %w", err)
	}
	return csrs, nil
}

// parallel runs fn(0) … fn(n-1) on GOMAXPROCS goroutines and returns the
// first error.
func parallel(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	next := make(chan int)

	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}
