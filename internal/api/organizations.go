package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

type organizationView struct {
	ID                  int64            `json:"id"`
	Status              string           `json:"status"`
	Name                string           `json:"name"`
	AssumedName         string           `json:"assumed_name"`
	DisplayName         string           `json:"display_name"`
	IsActive            bool             `json:"is_active"`
	Address             string           `json:"address"`
	Address2            string           `json:"address2"`
	Zip                 string           `json:"zip"`
	City                string           `json:"city"`
	State               string           `json:"state"`
	Country             string           `json:"country"`
	Telephone           string           `json:"telephone"`
	Container           containerRef     `json:"container"`
	OrganizationContact store.Contact    `json:"organization_contact"`
	TechnicalContact    *store.Contact   `json:"technical_contact,omitempty"`
	Validations         []validationView `json:"validations"`
}

type containerRef struct {
	ID int64 `json:"id"`
}

type validationView struct {
	Type           string `json:"type"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	DateCreated    string `json:"date_created"`
	ValidatedUntil string `json:"validated_until,omitempty"`
	Status         string `json:"status"`
	VerifiedUsers  any    `json:"verified_users"`
}

func displayName(o *store.Organization) string {
	if o.AssumedName == "" {
		return o.Name
	}
	return o.Name + " (" + o.AssumedName + ")"
}

func viewOrganization(o *store.Organization, validations []store.Validation) organizationView {
	status := "active"
	if !o.IsActive {
		status = "inactive"
	}
	return organizationView{
		ID:                  o.ID,
		Status:              status,
		Name:                o.Name,
		AssumedName:         o.AssumedName,
		DisplayName:         displayName(o),
		IsActive:            o.IsActive,
		Address:             o.Address,
		Address2:            o.Address2,
		Zip:                 o.Zip,
		City:                o.City,
		State:               o.State,
		Country:             strings.ToLower(o.Country),
		Telephone:           o.Telephone,
		Container:           containerRef{ID: o.ContainerID},
		OrganizationContact: o.OrganizationContact,
		TechnicalContact:    o.TechnicalContact,
		Validations:         viewValidations(validations),
	}
}

func viewValidations(validations []store.Validation) []validationView {
	out := make([]validationView, 0, len(validations))
	for _, v := range validations {
		view := validationView{
			Type:          v.Type,
			Name:          strings.ToUpper(v.Type),
			Description:   "Document Signing Organization Validation",
			DateCreated:   v.DateCreated.Format(time.RFC3339),
			Status:        v.Status,
			VerifiedUsers: v.VerifiedUsers,
		}
		if !v.ValidatedUntil.IsZero() {
			view.ValidatedUntil = v.ValidatedUntil.Format(time.RFC3339)
		}
		out = append(out, view)
	}
	return out
}

func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	tree, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := order.ParseOrganization(tree, s.orders.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	org, err := s.orders.CreateOrganization(r.Context(), caller, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": org.ID})
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "organization")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	org, validations, err := s.orders.Organization(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOrganization(org, validations))
}

func (s *Server) submitValidation(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "organization")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tree, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := order.ParseValidationRequest(tree)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.orders.SubmitValidation(r.Context(), caller, id, req); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getValidation(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "organization")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	_, validations, err := s.orders.Organization(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"validations": viewValidations(validations)})
}
