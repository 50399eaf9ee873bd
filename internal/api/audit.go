package api

import (
	"context"
	"net/http"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// auditDenied records that an authenticated caller was denied an action
// for lack of a role. A missing or unknown API key is only logged: those
// requests come from anyone, and writing a row for each would let anyone
// grow the database.
func (s *Server) auditDenied(r *http.Request, problem wireError) {
	event := store.AuditEvent{
		Type: store.AuditPermissionDenied,
		Data: map[string]any{"method": r.Method, "path": r.URL.Path, "code": problem.Code, "message": problem.Message},
	}
	if caller, ok := r.Context().Value(callerKey{}).(*store.Caller); ok {
		event.AccountID, event.UserID = caller.Account.ID, caller.User.ID
		event.Data["role"] = caller.User.Role
	}

	// The row is written even when the client has gone away.
	ctx := context.WithoutCancel(r.Context())
	if err := s.store.RecordAudit(ctx, event); err != nil {
		s.log.Error("record denied request in the audit log", "request_id", requestID(ctx), "error", err)
	}
}
