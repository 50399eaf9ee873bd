package api

import (
	"crypto/x509"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

func (s *Server) certificateRoutes() {
	s.handle("GET /services/v2/certificate/{id}/download/format/{format}", s.downloadCertificate)
	s.handle("GET /services/v2/certificate/download/order/{id}/format/{format}", s.downloadOrderCertificate)
	s.handle("GET /services/v2/certificate/{id}/chain", s.certificateChain)
}

func (s *Server) downloadCertificate(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "certificate")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.orders.Certificate(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.sendCertificate(w, r, c)
}

func (s *Server) downloadOrderCertificate(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "order")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.orders.CertificateOfOrder(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.sendCertificate(w, r, c)
}

func (s *Server) sendCertificate(w http.ResponseWriter, r *http.Request, c *order.IssuedCertificate) {
	dl, err := order.Encode(c, r.PathValue("format"), acceptsZip(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", dl.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(dl.Body)))
	if dl.FileName != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": dl.FileName}))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(dl.Body)
}

// acceptsZip reports whether the client asked for a zip archive.
func acceptsZip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mediaType == "application/zip" {
			return true
		}
	}
	return false
}

type chainView struct {
	Intermediates []chainEntry `json:"intermediates"`
}

// certificateChain returns the issuer chain of a certificate,
// intermediate first and root last, without the certificate itself.
func (s *Server) certificateChain(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "certificate")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.orders.Certificate(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	view := chainView{Intermediates: []chainEntry{}}
	for _, cert := range c.Chain {
		view.Intermediates = append(view.Intermediates, chainEntry{SubjectCommonName: cert.Subject.CommonName, PEM: pemString(cert.Raw)})
	}
	writeJSON(w, http.StatusOK, view)
}

func commonNameOf(der []byte) string {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return ""
	}
	return cert.Subject.CommonName
}
