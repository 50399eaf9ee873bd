package revocation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"
)

// The response is encoded here rather than with ocsp.CreateResponse
// because golang.org/x/crypto/ocsp (v0.58.0) writes extensions only into
// singleExtensions, while RFC 6960 §4.4.1 puts the echoed nonce into
// responseExtensions, where OpenSSL and NSS look for it.

// ocspResponseASN1 is OCSPResponse (RFC 6960 §4.2.1).
type ocspResponseASN1 struct {
	Status   asn1.Enumerated
	Response ocspResponseBytes `asn1:"explicit,tag:0,optional"`
}

type ocspResponseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

// basicOCSPResponse is BasicOCSPResponse (RFC 6960 §4.2.1).
type basicOCSPResponse struct {
	TBSResponseData    asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

// responseData is ResponseData with the default version v1 left out, as
// DER requires.
type responseData struct {
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []singleResponse
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type singleResponse struct {
	CertID     asn1.RawValue
	CertStatus asn1.RawValue
	ThisUpdate time.Time `asn1:"generalized"`
	NextUpdate time.Time `asn1:"generalized,explicit,tag:0"`
}

type revokedInfo struct {
	RevocationTime time.Time `asn1:"generalized"`
	// Reason is left out when it is 0 (unspecified), as RFC 5280 §5.3.1
	// recommends for CRL entries.
	Reason asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

// Context-specific tags of RFC 6960 §4.2.1.
const (
	tagGood    = 0
	tagRevoked = 1
	tagUnknown = 2
	tagByKey   = 2
)

// signResponse encodes and signs a successful response that repeats the
// request's CertID and nonce. The responder certificate travels in the
// response, so that a relying party can check the delegation to it
// (RFC 6960 §4.2.2.2).
func (s *Service) signResponse(r *responder, req *ocspRequest, status certStatus, thisUpdate time.Time) ([]byte, error) {
	certStatus, err := encodeCertStatus(status)
	if err != nil {
		return nil, err
	}
	responderID, err := asn1.Marshal(r.keyHash)
	if err != nil {
		return nil, err
	}

	data := responseData{
		ResponderID: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagByKey, IsCompound: true, Bytes: responderID},
		ProducedAt:  s.now().UTC().Truncate(time.Second),
		Responses: []singleResponse{{
			CertID:     asn1.RawValue{FullBytes: req.rawCertID},
			CertStatus: certStatus,
			ThisUpdate: thisUpdate,
			NextUpdate: thisUpdate.Add(s.cfg.OCSPValidity),
		}},
	}
	if req.nonce != nil {
		data.Extensions = []pkix.Extension{{Id: oidOCSPNonce, Value: req.nonce.Value}}
	}
	tbs, err := asn1.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode OCSP ResponseData: %w", err)
	}

	algorithm, hash, err := responderSignatureAlgorithm(r.signer.Public())
	if err != nil {
		return nil, err
	}
	digest := hash.New()
	digest.Write(tbs)
	signature, err := r.signer.Sign(rand.Reader, digest.Sum(nil), hash)
	if err != nil {
		return nil, fmt.Errorf("sign OCSP response: %w", err)
	}

	basic, err := asn1.Marshal(basicOCSPResponse{
		TBSResponseData:    asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: algorithm,
		Signature:          asn1.BitString{Bytes: signature, BitLength: 8 * len(signature)},
		Certificates:       []asn1.RawValue{{FullBytes: r.cert.Raw}},
	})
	if err != nil {
		return nil, fmt.Errorf("encode BasicOCSPResponse: %w", err)
	}
	return asn1.Marshal(ocspResponseASN1{
		Status:   0, // successful
		Response: ocspResponseBytes{ResponseType: oidOCSPBasic, Response: basic},
	})
}

// encodeCertStatus encodes CertStatus, a CHOICE of implicitly tagged
// alternatives: good [0] NULL, revoked [1] RevokedInfo, unknown [2] NULL.
func encodeCertStatus(status certStatus) (asn1.RawValue, error) {
	switch status.status {
	case "good":
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagGood}, nil
	case "unknown":
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagUnknown}, nil
	case "revoked":
	default:
		return asn1.RawValue{}, fmt.Errorf("unknown certificate status %q", status.status)
	}

	info, err := asn1.Marshal(revokedInfo{RevocationTime: status.revokedAt.UTC(), Reason: asn1.Enumerated(status.reason)})
	if err != nil {
		return asn1.RawValue{}, err
	}
	// The implicit tag replaces the SEQUENCE tag, so only the contents stay.
	var sequence asn1.RawValue
	if _, err := asn1.Unmarshal(info, &sequence); err != nil {
		return asn1.RawValue{}, err
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagRevoked, IsCompound: true, Bytes: sequence.Bytes}, nil
}

// responderSignatureAlgorithm returns the signature algorithm for a
// responder key: ECDSA P-256 with SHA-256, which createResponder makes, or
// RSA with SHA-256.
func responderSignatureAlgorithm(public crypto.PublicKey) (pkix.AlgorithmIdentifier, crypto.Hash, error) {
	switch key := public.(type) {
	case *ecdsa.PublicKey:
		if key.Curve != elliptic.P256() {
			return pkix.AlgorithmIdentifier{}, 0, fmt.Errorf("OCSP responder key on curve %s is not supported; use P-256", key.Curve.Params().Name)
		}
		// RFC 5758 §3.2: the parameters of ecdsa-with-SHA256 are absent.
		return pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}, crypto.SHA256, nil
	case *rsa.PublicKey:
		// RFC 4055 §5: the parameters of sha256WithRSAEncryption are NULL.
		return pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue}, crypto.SHA256, nil
	}
	return pkix.AlgorithmIdentifier{}, 0, fmt.Errorf("OCSP responder key type %T is not supported", public)
}
