package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// MaxOCSPRequestBytes bounds an OCSP request. A request for one certificate
// with a nonce takes about 120 bytes.
const MaxOCSPRequestBytes = 4 << 10

// maxNonceLength bounds the nonce docsign-ca echoes. RFC 8954 §2.1 limited
// nonces to 32 octets; RFC 9654 obsoleted it to allow longer ones, so
// docsign-ca accepts up to 128 octets.
const maxNonceLength = 128

var (
	oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}

	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// certIDHashAlgorithms are the hash algorithms an OCSP CertID may use:
// SHA-1, which RFC 5019 §2.1.1 clients use, and the SHA-2 family.
var certIDHashAlgorithms = []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

// certIDHash is a CA's issuerNameHash and issuerKeyHash (RFC 6960 §4.1.1)
// for one hash algorithm.
type certIDHash struct {
	name, key []byte
}

func newCertIDHashes(cert *x509.Certificate) (map[crypto.Hash]certIDHash, error) {
	hashes := make(map[crypto.Hash]certIDHash, len(certIDHashAlgorithms))
	for _, hash := range certIDHashAlgorithms {
		key, err := publicKeyHash(cert.RawSubjectPublicKeyInfo, hash)
		if err != nil {
			return nil, err
		}
		h := hash.New()
		h.Write(cert.RawSubject)
		hashes[hash] = certIDHash{name: h.Sum(nil), key: key}
	}
	return hashes, nil
}

// OCSPResponse is an encoded OCSP response with the status it reports.
type OCSPResponse struct {
	DER []byte
	// Status is "good", "revoked" or "unknown" for a successful response,
	// and otherwise the OCSPResponseStatus: "malformedRequest",
	// "unauthorized" or "internalError".
	Status string
	// ThisUpdate is set for a successful response.
	ThisUpdate time.Time
}

// ocspRequest is a parsed OCSP request for one certificate.
type ocspRequest struct {
	hash      crypto.Hash
	nameHash  []byte
	keyHash   []byte
	serial    *big.Int
	rawCertID []byte          // the CertID as sent, which the response repeats
	nonce     *pkix.Extension // the nonce extension as sent, or nil
}

// rawOCSPRequest is OCSPRequest (RFC 6960 §4.1.1) with the parts that
// golang.org/x/crypto/ocsp does not return: the raw CertIDs and the request
// extensions.
type rawOCSPRequest struct {
	TBSRequest struct {
		Version       int           `asn1:"explicit,tag:0,default:0,optional"`
		RequestorName asn1.RawValue `asn1:"explicit,tag:1,optional"`
		RequestList   []struct {
			CertID     asn1.RawValue
			Extensions []pkix.Extension `asn1:"explicit,tag:0,optional"`
		}
		Extensions []pkix.Extension `asn1:"explicit,tag:2,optional"`
	}
	OptionalSignature asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

// parseOCSPRequest parses a DER OCSP request. golang.org/x/crypto/ocsp
// checks the structure, rejects signed requests and unknown hash
// algorithms, and reads the CertID. A second pass reads what it leaves out.
func parseOCSPRequest(der []byte) (*ocspRequest, error) {
	if len(der) == 0 {
		return nil, errors.New("the request is empty")
	}
	if len(der) > MaxOCSPRequestBytes {
		return nil, fmt.Errorf("the request has %d bytes, more than the maximum of %d", len(der), MaxOCSPRequestBytes)
	}

	parsed, err := ocsp.ParseRequest(der)
	if err != nil {
		return nil, err
	}
	var raw rawOCSPRequest
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		return nil, err
	}

	// The lightweight profile (RFC 5019 §2.1) puts one certificate in a request.
	if n := len(raw.TBSRequest.RequestList); n != 1 {
		return nil, fmt.Errorf("the request asks for %d certificates; send one request per certificate", n)
	}

	req := &ocspRequest{
		hash:      parsed.HashAlgorithm,
		nameHash:  parsed.IssuerNameHash,
		keyHash:   parsed.IssuerKeyHash,
		serial:    parsed.SerialNumber,
		rawCertID: raw.TBSRequest.RequestList[0].CertID.FullBytes,
	}
	// RFC 6960 §4.1.1 makes issuerNameHash and issuerKeyHash digests made
	// with hashAlgorithm, so each has the algorithm's output size.
	// golang.org/x/crypto/ocsp does not check this.
	if size := req.hash.Size(); len(req.nameHash) != size || len(req.keyHash) != size {
		return nil, fmt.Errorf("the CertID's issuer hashes have %d and %d bytes, but %s hashes have %d",
			len(req.nameHash), len(req.keyHash), req.hash, size)
	}
	for i, ext := range raw.TBSRequest.Extensions {
		if !ext.Id.Equal(oidOCSPNonce) {
			continue
		}
		if err := checkNonce(ext.Value); err != nil {
			return nil, err
		}
		req.nonce = &raw.TBSRequest.Extensions[i]
	}
	return req, nil
}

// checkNonce checks the length of a nonce extension's value. RFC 8954 §2.1
// defines the value as an OCTET STRING and requires malformedRequest for an
// empty nonce. Older clients send the bare bytes, which are measured when
// the value is not one DER OCTET STRING.
func checkNonce(value []byte) error {
	nonce := value
	var inner []byte
	if rest, err := asn1.Unmarshal(value, &inner); err == nil && len(rest) == 0 {
		nonce = inner
	}
	if len(nonce) == 0 || len(nonce) > maxNonceLength {
		return fmt.Errorf("the nonce has %d octets; send 1 to %d", len(nonce), maxNonceLength)
	}
	return nil
}

// matches reports whether the request's CertID names this CA.
func (issuer *issuerState) matches(req *ocspRequest) bool {
	hashes, ok := issuer.certIDHashes[req.hash]
	return ok && bytes.Equal(hashes.name, req.nameHash) && bytes.Equal(hashes.key, req.keyHash)
}

// Respond returns the OCSP response to a DER OCSP request, always one to
// send with HTTP status 200. It is malformedRequest for a request that
// cannot be parsed (RFC 6960 §2.3), unauthorized for a certificate of a CA
// that this server does not run, and internalError when the database or
// the signer fails. Otherwise it is signed by the CA's responder.
func (s *Service) Respond(ctx context.Context, der []byte) *OCSPResponse {
	req, err := parseOCSPRequest(der)
	if err != nil {
		s.log.Info("malformed OCSP request", "error", err)
		return &OCSPResponse{DER: ocsp.MalformedRequestErrorResponse, Status: "malformedRequest"}
	}

	var issuer *issuerState
	for _, candidate := range s.issuers {
		if candidate.matches(req) {
			issuer = candidate
			break
		}
	}
	if issuer == nil {
		s.log.Info("OCSP request for a CA this server does not serve", "serial", serialHex(req.serial), "hash", req.hash.String())
		return &OCSPResponse{DER: ocsp.UnauthorizedErrorResponse, Status: "unauthorized"}
	}

	resp, err := s.respond(ctx, issuer, req)
	if err != nil {
		s.log.Error("OCSP response failed", "ca_cert_id", issuer.CACertID, "serial", serialHex(req.serial), "error", err)
		return &OCSPResponse{DER: ocsp.InternalErrorErrorResponse, Status: "internalError"}
	}
	return resp
}

// certStatus is the certificate status that a response reports.
type certStatus struct {
	status    string // "good", "revoked" or "unknown"
	revokedAt time.Time
	reason    int
}

// cachedResponse is a signed response without a nonce, reused while the
// certificate's status and the responder stay the same.
type cachedResponse struct {
	status      certStatus
	responderID int64
	thisUpdate  time.Time
	der         []byte
}

// respond reads the certificate's status and returns a signed response. A
// response without a nonce is reused until the status changes, the
// responder changes, or half of its validity has passed.
func (s *Service) respond(ctx context.Context, issuer *issuerState, req *ocspRequest) (*OCSPResponse, error) {
	status, err := s.lookUpStatus(ctx, issuer, req.serial)
	if err != nil {
		return nil, err
	}
	r := issuer.currentResponder()
	if r == nil {
		return nil, errors.New("the CA has no responder certificate; the service was not started")
	}

	now := s.now()
	key := string(req.rawCertID)
	if req.nonce == nil {
		if cached := issuer.cachedResponse(key); cached != nil && cached.status == status && cached.responderID == r.id &&
			now.Before(cached.thisUpdate.Add(s.cfg.OCSPValidity/2)) {
			return &OCSPResponse{DER: cached.der, Status: status.status, ThisUpdate: cached.thisUpdate}, nil
		}
	}

	thisUpdate := now.UTC().Truncate(time.Second)
	der, err := s.signResponse(r, req, status, thisUpdate)
	if err != nil {
		return nil, err
	}
	if req.nonce == nil {
		issuer.cacheResponse(key, &cachedResponse{status: status, responderID: r.id, thisUpdate: thisUpdate, der: der})
	}
	return &OCSPResponse{DER: der, Status: status.status, ThisUpdate: thisUpdate}, nil
}

// lookUpStatus reads a certificate's status from the database. A serial
// number the CA never issued, or whose certificate is not issued yet, is
// "unknown" (RFC 6960 §2.2).
func (s *Service) lookUpStatus(ctx context.Context, issuer *issuerState, serial *big.Int) (certStatus, error) {
	cert, err := s.store.CertificateStatusBySerial(ctx, issuer.CAID, serialHex(serial))
	if errors.Is(err, store.ErrNotFound) {
		return certStatus{status: "unknown"}, nil
	}
	if err != nil {
		return certStatus{}, err
	}
	if cert.Status == store.CertificateRevoked {
		return certStatus{status: "revoked", revokedAt: cert.RevokedAt, reason: cert.Reason}, nil
	}
	return certStatus{status: "good"}, nil
}

func (issuer *issuerState) cachedResponse(key string) *cachedResponse {
	issuer.responderMu.Lock()
	defer issuer.responderMu.Unlock()
	return issuer.responses[key]
}

// maxCachedResponses bounds the response cache of one CA. When it is full
// the cache starts over, which costs one signature per certificate.
const maxCachedResponses = 100_000

func (issuer *issuerState) cacheResponse(key string, r *cachedResponse) {
	issuer.responderMu.Lock()
	defer issuer.responderMu.Unlock()
	if len(issuer.responses) >= maxCachedResponses {
		issuer.responses = map[string]*cachedResponse{}
	}
	issuer.responses[key] = r
}
