package api

import (
	"net/http"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

func (s *Server) orderChangeRoutes() {
	s.handle("PUT /services/v2/order/certificate/{id}/status", s.updateOrderStatus)
	s.handle("POST /services/v2/order/certificate/{id}/csr", s.replaceCSR)
	s.handle("POST /services/v2/order/certificate/{id}/reissue", s.reissueOrder)
	s.handle("POST /services/v2/order/certificate/{id}/duplicate", s.duplicateOrder)
}

// optionalString reads an optional string member of a JSON object.
func optionalString(obj map[string]any, key string, maxLength int, problems *errs.List) string {
	raw, ok := obj[key]
	if !ok || raw == nil {
		return ""
	}
	text, ok := raw.(string)
	if !ok {
		problems.Invalid(key, "%s must be a string", key)
		return ""
	}
	if len([]rune(text)) > maxLength {
		problems.Invalid(key, "%s is longer than %d characters", key, maxLength)
		return ""
	}
	return text
}

func optionalBool(obj map[string]any, key string, problems *errs.List) bool {
	raw, ok := obj[key]
	if !ok || raw == nil {
		return false
	}
	b, ok := raw.(bool)
	if !ok {
		problems.Invalid(key, "%s must be true or false", key)
	}
	return b
}

// updateOrderStatus applies {"status":"canceled","note":"..."} and the
// renewal marks "renewed" and "not_renewed". A cancel needs a note.
func (s *Server) updateOrderStatus(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "order")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tree, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	var problems errs.List
	root, _ := tree.(map[string]any)
	status := optionalString(root, "status", 32, &problems)
	note := optionalString(root, "note", maxProcessorComment, &problems)
	if status == "" && problems.Len() == 0 {
		problems.Required("status", "send status canceled, renewed or not_renewed")
	}
	if strings.EqualFold(status, "canceled") && strings.TrimSpace(note) == "" {
		problems.Required("note", "a cancel needs a note that says why the order is canceled")
	}
	if err := problems.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}

	if err := s.orders.UpdateOrderStatus(r.Context(), caller, id, status, note); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) replaceCSR(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "order")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tree, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	root, _ := tree.(map[string]any)
	parsed, err := order.ParseCSRField(root["csr"], "csr")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.orders.ReplaceCSR(r.Context(), caller, id, parsed); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseReissue validates {"certificate":{"csr","signature_hash"},"comments","skip_approval"}.
func parseReissue(tree any) (*order.ReissueRequest, error) {
	var problems errs.List
	root, _ := tree.(map[string]any)
	certificate, ok := root["certificate"].(map[string]any)
	if !ok {
		problems.Required("certificate.csr", "send the new CSR in certificate.csr")
		return nil, problems.Err()
	}

	req := &order.ReissueRequest{
		Comments:     optionalString(root, "comments", maxProcessorComment, &problems),
		SkipApproval: optionalBool(root, "skip_approval", &problems),
	}
	switch hash := strings.ToLower(optionalString(certificate, "signature_hash", 16, &problems)); hash {
	case "", "sha256", "sha384", "sha512":
		req.SignatureHash = hash
	default:
		problems.Invalid("certificate.signature_hash", "signature_hash %q is not allowed; allowed: sha256, sha384, sha512", hash)
	}
	parsed, err := order.ParseCSRField(certificate["csr"], "certificate.csr")
	if e := errs.As(err); e != nil {
		for _, p := range e.Problems {
			problems.Add(p.Code, "%s", p.Message)
		}
	}
	req.CSR = parsed
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return req, nil
}

// readReissue reads the order id and the body shared by reissue and
// duplicate. It writes the error response itself and then returns ok false.
func (s *Server) readReissue(w http.ResponseWriter, r *http.Request) (int64, *order.ReissueRequest, bool) {
	id, err := pathID(r, "order")
	if err != nil {
		s.writeError(w, r, err)
		return 0, nil, false
	}
	tree, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return 0, nil, false
	}
	req, err := parseReissue(tree)
	if err != nil {
		s.writeError(w, r, err)
		return 0, nil, false
	}
	return id, req, true
}

func (s *Server) reissueOrder(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, req, ok := s.readReissue(w, r)
	if !ok {
		return
	}
	out, err := s.orders.Reissue(r.Context(), caller, id, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewReissued(out))
}

// duplicateOrder reads the reissue body but uses only certificate.csr: a
// duplicate keeps the order's hash and needs no approval.
func (s *Server) duplicateOrder(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, req, ok := s.readReissue(w, r)
	if !ok {
		return
	}
	out, err := s.orders.Duplicate(r.Context(), caller, id, req.CSR)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewReissued(out))
}

// viewReissued renders a reissue or duplicate like an order: the request
// while one waits, and certificate_id with the chain once issued.
func viewReissued(out *order.Reissued) placedOrderView {
	return viewPlacedOrder(&order.PlacedOrder{
		OrderID:       out.OrderID,
		RequestID:     out.RequestID,
		RequestStatus: store.RequestPending,
		CertificateID: out.CertificateID,
		Certificate:   out.Certificate,
		Chain:         out.Chain,
	})
}
