package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/issuance"
	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// baselineResult is the in-process reference: the same kind of certificate
// signed by a throwaway issuer with the server's key type, on GOMAXPROCS
// goroutines, with no HTTP and no database.
type baselineResult struct {
	IssuerKeyType string  `json:"issuer_key_type"`
	Cores         int     `json:"cores"`
	SecondsPerRun float64 `json:"seconds_per_loop"`
	// SignPerSecond counts issuance.Authority.Sign calls: the issuer
	// signature over a prepared TBSCertificate and its verification, the
	// same step the server runs for every certificate.
	SignPerSecond float64 `json:"sign_per_second"`
	// SignCPUMillis is the process CPU time per Sign call.
	SignCPUMillis float64 `json:"sign_cpu_ms"`
	// IssuePerSecond counts Prepare (template, lint certificate, zlint and
	// the profile lints) followed by Sign.
	IssuePerSecond float64 `json:"issue_per_second"`
	IssueCPUMillis float64 `json:"issue_cpu_ms"`
}

// issuerKeyType names the key of an issuer certificate as keys.Algorithm does.
func issuerKeyType(cert *x509.Certificate) (keys.Algorithm, error) {
	switch key := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return keys.Algorithm(fmt.Sprintf("rsa-%d", key.N.BitLen())), nil
	case *ecdsa.PublicKey:
		return keys.Algorithm(fmt.Sprintf("ecdsa-p%d", key.Curve.Params().BitSize)), nil
	}
	return "", fmt.Errorf("issuer key type %T is not supported", cert.PublicKey)
}

// signatureHashes maps the values of --signature-hash to their hash.
var signatureHashes = map[string]crypto.Hash{
	"sha256": crypto.SHA256,
	"sha384": crypto.SHA384,
	"sha512": crypto.SHA512,
}

// measureBaseline builds a throwaway issuer of type alg and runs the two
// loops for loopDuration each. subscriber is the public key certified, and
// hash the signature hash of the orders.
func measureBaseline(alg keys.Algorithm, subscriber crypto.PublicKey, hash crypto.Hash, loopDuration time.Duration) (*baselineResult, error) {
	authority, err := throwawayAuthority(alg)
	if err != nil {
		return nil, err
	}
	request := baselineRequest(subscriber, hash)

	prepared, err := authority.Prepare(request)
	if err != nil {
		return nil, fmt.Errorf("prepare the baseline certificate: %w", err)
	}
	signs, signCPU, err := loop(loopDuration, func() error {
		_, err := authority.Sign(prepared)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("baseline signature: %w", err)
	}

	issues, issueCPU, err := loop(loopDuration, func() error {
		request := request
		serial, err := issuance.NewSerial()
		if err != nil {
			return err
		}
		request.Serial = serial
		p, err := authority.Prepare(request)
		if err != nil {
			return err
		}
		_, err = authority.Sign(p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("baseline issuance: %w", err)
	}

	seconds := loopDuration.Seconds()
	return &baselineResult{
		IssuerKeyType:  string(alg),
		Cores:          runtime.GOMAXPROCS(0),
		SecondsPerRun:  seconds,
		SignPerSecond:  float64(signs) / seconds,
		SignCPUMillis:  millisPer(signCPU, signs),
		IssuePerSecond: float64(issues) / seconds,
		IssueCPUMillis: millisPer(issueCPU, issues),
	}, nil
}

func millisPer(d time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(n)
}

// throwawayAuthority creates an in-memory root and an issuing intermediate
// whose key has type alg, the same profile as a ceremony creates.
func throwawayAuthority(alg keys.Algorithm) (*issuance.Authority, error) {
	rootKey, err := keys.Generate(keys.ECDSAP384)
	if err != nil {
		return nil, err
	}
	issuerKey, err := keys.Generate(alg)
	if err != nil {
		return nil, fmt.Errorf("baseline issuer key: %w", err)
	}

	now := time.Now().UTC().Truncate(time.Second)
	_, root, _, err := ca.CreateCACertificate(ca.CACertificateRequest{
		Subject:    pkix.Name{CommonName: "docsign-bench Baseline Root", Organization: []string{"docsign-bench"}},
		PublicKey:  rootKey.Public(),
		NotBefore:  now.Add(-time.Hour),
		NotAfter:   now.AddDate(10, 0, 0),
		MaxPathLen: 1,
	}, nil, rootKey)
	if err != nil {
		return nil, fmt.Errorf("baseline root: %w", err)
	}
	_, intermediate, _, err := ca.CreateCACertificate(ca.CACertificateRequest{
		Subject:    pkix.Name{CommonName: "docsign-bench Baseline Issuing CA", Organization: []string{"docsign-bench"}},
		PublicKey:  issuerKey.Public(),
		NotBefore:  now.Add(-time.Hour),
		NotAfter:   now.AddDate(5, 0, 0),
		MaxPathLen: 0,
	}, root, rootKey)
	if err != nil {
		return nil, fmt.Errorf("baseline intermediate: %w", err)
	}

	return issuance.NewAuthority(&issuance.Issuer{
		Cert:   intermediate,
		Signer: issuerKey,
		Chain:  []*x509.Certificate{intermediate, root},
	})
}

// baselineRequest mirrors what the server builds for a benchmark order: the
// organization's subject, the three document signing usages, one year.
func baselineRequest(subscriber crypto.PublicKey, hash crypto.Hash) issuance.Request {
	now := time.Now().UTC().Truncate(time.Second)
	return issuance.Request{
		Serial:        mustSerial(),
		PublicKey:     subscriber,
		CommonName:    benchOrganization,
		Organization:  benchOrganization,
		Locality:      "Richmond",
		Province:      "Virginia",
		Country:       "US",
		Usages:        issuance.Usages(),
		NotBefore:     now,
		NotAfter:      now.AddDate(1, 0, 0),
		SignatureHash: hash,
	}
}

func mustSerial() *big.Int {
	serial, err := issuance.NewSerial()
	if err != nil {
		panic(err)
	}
	return serial
}

// loop runs op on GOMAXPROCS goroutines for d and returns the number of
// calls and the process CPU time they used.
func loop(d time.Duration, op func() error) (int64, time.Duration, error) {
	var count atomic.Int64
	var once sync.Once
	var firstErr error
	deadline := time.Now().Add(d)

	cpuBefore := processCPU()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := op(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	return count.Load(), processCPU() - cpuBefore, firstErr
}

// processCPU returns the user and system CPU time of this process.
func processCPU() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
