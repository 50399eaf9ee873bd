package api

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// intermediateView is one entry of GET /certificate/intermediates, in
// CertCentral's field names, plus ca_cert_id (the value an order's
// certificate.ca_cert_id takes, equal to id) and pem.
type intermediateView struct {
	ID                string `json:"id"`
	CACertID          string `json:"ca_cert_id"`
	SubjectCommonName string `json:"subject_common_name"`
	SubjectOrgName    string `json:"subject_org_name"`
	ValidFrom         string `json:"valid_from"`
	ValidTo           string `json:"valid_to"`
	SerialNumber      string `json:"serial_number"`
	Thumbprint        string `json:"thumbprint"`
	SignatureHash     string `json:"signature_hash"`
	IsPrivate         bool   `json:"is_private"`
	PEM               string `json:"pem"`
}

// intermediateTimeLayout is the date format CertCentral uses for the
// intermediates' valid_from and valid_to.
const intermediateTimeLayout = "2006-01-02 15:04:05"

// listIntermediates serves GET /services/v2/certificate/intermediates:
// the issuing CAs that orders may name in certificate.ca_cert_id: the active
// intermediates that the server loaded at start, oldest first, so the first
// entry is the default. Retired intermediates are left out. is_private is
// true, because docsign-ca's CAs belong to the organization that runs it.
func (s *Server) listIntermediates(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	loaded := map[string]bool{}
	for _, product := range s.orders.Products() {
		for _, option := range product.CACerts {
			loaded[strings.ToUpper(option.ID)] = true
		}
	}

	cas, err := s.store.CAs(r.Context())
	if err != nil {
		s.writeError(w, r, errs.Wrap(err, "list CAs"))
		return
	}

	views := []intermediateView{}
	for _, ca := range cas {
		if ca.Role != store.CAIntermediate || ca.Status != store.CAActive || !loaded[strings.ToUpper(ca.CACertID)] {
			continue
		}
		cert, err := x509.ParseCertificate(ca.CertDER)
		if err != nil {
			s.writeError(w, r, errs.Wrap(err, "parse certificate of CA %s", ca.CACertID))
			return
		}
		views = append(views, newIntermediateView(ca.CACertID, cert))
	}
	writeJSON(w, http.StatusOK, map[string]any{"intermediates": views})
}

func newIntermediateView(caCertID string, cert *x509.Certificate) intermediateView {
	thumbprint := sha1.Sum(cert.Raw)
	org := ""
	if len(cert.Subject.Organization) > 0 {
		org = cert.Subject.Organization[0]
	}
	return intermediateView{
		ID:                caCertID,
		CACertID:          caCertID,
		SubjectCommonName: cert.Subject.CommonName,
		SubjectOrgName:    org,
		ValidFrom:         cert.NotBefore.UTC().Format(intermediateTimeLayout),
		ValidTo:           cert.NotAfter.UTC().Format(intermediateTimeLayout),
		SerialNumber:      strings.ToUpper(cert.SerialNumber.Text(16)),
		Thumbprint:        strings.ToUpper(hex.EncodeToString(thumbprint[:])),
		SignatureHash:     signatureHashName(cert.SignatureAlgorithm),
		IsPrivate:         true,
		PEM:               pemString(cert.Raw),
	}
}

// signatureHashName returns the hash of a signature algorithm in
// CertCentral's spelling (sha256, sha384, sha512).
func signatureHashName(algorithm x509.SignatureAlgorithm) string {
	switch algorithm {
	case x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256:
		return "sha256"
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		return "sha384"
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		return "sha512"
	}
	return strings.ToLower(algorithm.String())
}
