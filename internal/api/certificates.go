package api

import (
	"crypto/x509"
	"net/http"
	"strconv"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

func (s *Server) downloadCertificate(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "certificate")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dl, err := s.orders.DownloadCertificate(r.Context(), caller, id, r.PathValue("format"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", dl.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(dl.Body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(dl.Body)
}

func commonNameOf(der []byte) string {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return ""
	}
	return cert.Subject.CommonName
}
