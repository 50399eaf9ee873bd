package api

import (
	"net/http"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// maxProcessorComment bounds processor_comment, like the order's comments.
const maxProcessorComment = 2000

func (s *Server) updateRequestStatus(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "request")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tree, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	approve, comment, err := parseRequestStatus(tree)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.orders.DecideRequest(r.Context(), caller, id, approve, comment); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseRequestStatus validates {"status":"approved"|"rejected","processor_comment":"..."}.
func parseRequestStatus(tree any) (approve bool, comment string, err error) {
	var problems errs.List
	root, _ := tree.(map[string]any)

	switch status, ok := root["status"].(string); {
	case root["status"] == nil:
		problems.Required("status", "send status approved or rejected")
	case !ok:
		problems.Invalid("status", "status must be a string; allowed: approved, rejected")
	case strings.EqualFold(status, "approved"):
		approve = true
	case strings.EqualFold(status, "rejected"):
	default:
		problems.Invalid("status", "status %q is not allowed; allowed: approved, rejected", status)
	}

	if raw, present := root["processor_comment"]; present && raw != nil {
		text, ok := raw.(string)
		switch {
		case !ok:
			problems.Invalid("processor_comment", "processor_comment must be a string")
		case len([]rune(text)) > maxProcessorComment:
			problems.Invalid("processor_comment", "processor_comment is longer than %d characters", maxProcessorComment)
		default:
			comment = text
		}
	}
	return approve, comment, problems.Err()
}
