package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

func (s *Server) accountRoutes() {
	s.handle("POST /services/v2/user", s.createUser)
	s.handle("PUT /services/v2/user/{id}", s.updateUser)
	s.handle("DELETE /services/v2/user/{id}", s.deleteUser)

	s.handle("POST /services/v2/container", s.createContainer)
	s.handle("GET /services/v2/container/{id}/children", s.listContainerChildren)

	s.handle("POST /services/v2/key", s.createAPIKey)
	s.handle("GET /services/v2/key", s.listAPIKeys)
	s.handle("DELETE /services/v2/key/{id}", s.revokeAPIKey)
}

// decodeInto reads the body with readBody's checks (size, syntax, duplicate
// names) and then decodes it into v, rejecting unknown fields.
func decodeInto(r *http.Request, v any) error {
	tree, err := readBody(r)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return errs.Wrap(err, "re-encode request body")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errs.New(errs.BadRequest, "bad_request_format", "request body does not match the documented shape: %v", err)
	}
	return nil
}

// userBody is the body of POST user and PUT user/{id} in CertCentral's
// shape. access_roles names one role by CertCentral id (1 Administrator,
// 4 Manager, 5 Standard User) or by docsign-ca's role name.
type userBody struct {
	Username    string       `json:"username"`
	FirstName   string       `json:"first_name"`
	LastName    string       `json:"last_name"`
	Email       string       `json:"email"`
	JobTitle    string       `json:"job_title"`
	Telephone   string       `json:"telephone"`
	Container   containerRef `json:"container"`
	AccessRoles []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"access_roles"`
}

// roleOf returns the role that access_roles names, or "" when it names
// none or more than one.
func (b *userBody) roleOf() string {
	if len(b.AccessRoles) != 1 {
		return ""
	}
	ar := b.AccessRoles[0]
	switch ar.ID {
	case 1:
		return store.RoleAdministrator
	case 4:
		return store.RoleManager
	case 5:
		return store.RoleStandardUser
	}
	return strings.ToLower(ar.Name)
}

func (b *userBody) input() order.UserInput {
	return order.UserInput{
		Username: b.Username, FirstName: b.FirstName, LastName: b.LastName, Email: b.Email,
		JobTitle: b.JobTitle, Telephone: b.Telephone, ContainerID: b.Container.ID, Role: b.roleOf(),
	}
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	var body userBody
	if err := decodeInto(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.orders.CreateUser(r.Context(), caller, body.input())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": u.ID})
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body userBody
	if err := decodeInto(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.orders.UpdateUser(r.Context(), caller, id, body.input()); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.orders.DeleteUser(r.Context(), caller, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// containerBody is the body of POST container. parent_id defaults to the
// caller's own container.
type containerBody struct {
	Name        string `json:"name"`
	ParentID    int64  `json:"parent_id"`
	Description string `json:"description"`
}

func (s *Server) createContainer(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	var body containerBody
	if err := decodeInto(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.orders.CreateContainer(r.Context(), caller, body.ParentID, body.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": c.ID})
}

func (s *Server) listContainerChildren(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "container")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	children, err := s.orders.ContainerChildren(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]userContainerRef, 0, len(children))
	for _, c := range children {
		views = append(views, userContainerRef{ID: c.ID, Name: c.Name, ParentID: c.ParentID, IsActive: true})
	}
	writeJSON(w, http.StatusOK, map[string]any{"containers": views})
}

// apiKeyBody is the body of POST key, a docsign-ca shape. expires_at is an
// RFC 3339 time, and an empty one means the key does not expire. A missing
// restriction takes the calling key's restriction.
type apiKeyBody struct {
	Name        string `json:"name"`
	Restriction *int   `json:"restriction"`
	ExpiresAt   string `json:"expires_at"`
}

// apiKeyView describes a stored key. It never carries the key itself.
type apiKeyView struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Prefix      string `json:"prefix"`
	Restriction int    `json:"restriction"`
	DateCreated string `json:"date_created"`
	ExpiresAt   string `json:"expires_at,omitempty"`
	RevokedAt   string `json:"revoked_at,omitempty"`
}

func viewAPIKey(k store.APIKey) apiKeyView {
	v := apiKeyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Restriction: k.Restriction, DateCreated: formatDateTime(k.CreatedAt)}
	if !k.ExpiresAt.IsZero() {
		v.ExpiresAt = k.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if !k.RevokedAt.IsZero() {
		v.RevokedAt = k.RevokedAt.UTC().Format(time.RFC3339)
	}
	return v
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	var body apiKeyBody
	if err := decodeInto(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := order.APIKeyInput{Name: body.Name, Restriction: body.Restriction}
	if body.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, body.ExpiresAt)
		if err != nil {
			s.writeError(w, r, errs.New(errs.BadRequest, "invalid_value:expires_at",
				"expires_at %q is not an RFC 3339 time such as 2030-01-02T15:04:05Z", body.ExpiresAt))
			return
		}
		in.ExpiresAt = t
	}

	created, err := s.orders.CreateAPIKey(r.Context(), caller, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The key appears in this response only; the store keeps its hash.
	writeJSON(w, http.StatusCreated, struct {
		apiKeyView
		Key string `json:"api_key"`
	}{viewAPIKey(created.APIKey), created.Key})
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	keys, err := s.orders.APIKeys(r.Context(), caller)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]apiKeyView, 0, len(keys))
	for _, k := range keys {
		views = append(views, viewAPIKey(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": views})
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "api_key")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.orders.RevokeAPIKey(r.Context(), caller, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
