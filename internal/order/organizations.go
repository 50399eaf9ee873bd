package order

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// ValidationTypes lists the organization validation types docsign-ca
// performs. CertCentral knows more (ov, ev, cs, ev_cs, smime); this CA only
// validates organizations for document signing.
var ValidationTypes = []string{"ds"}

// CreateOrganization stores a new organization in the caller's container.
// Unless skip_duplicate_org_check is set, an organization of the caller's
// scope with the same normalized name and address is a 400 that names the
// existing one. An organization the caller may not see is no duplicate.
func (s *Service) CreateOrganization(ctx context.Context, caller *store.Caller, in *OrganizationInput) (*store.Organization, error) {
	sc, err := s.scope(ctx, caller)
	if err != nil {
		return nil, err
	}
	row := s.organizationRow(caller, caller.User.ContainerID, in, nil)
	if !in.SkipDuplicateOrgCheck {
		existing, err := s.store.FindOrganizationByKey(ctx, caller.Account.ID, row.NormalizedKey, sc)
		if err == nil {
			return nil, errs.New(errs.BadRequest, "duplicate_organization",
				"organization %d already has this name and address; use its id, or set skip_duplicate_org_check to true to create another", existing.ID)
		}
		if err != store.ErrNotFound {
			return nil, internal(err, "look up duplicate organization")
		}
	}

	org, _, err := s.store.CreateOrganizationInScope(ctx, *row, in.SkipDuplicateOrgCheck, sc)
	if err != nil {
		return nil, internal(err, "store organization")
	}
	s.log.Info("organization created", "organization_id", org.ID, "account_id", caller.Account.ID)
	return org, nil
}

// Organization returns an organization of the caller's scope with its validations.
func (s *Service) Organization(ctx context.Context, caller *store.Caller, id int64) (*store.Organization, []store.Validation, error) {
	org, err := s.visibleOrganization(ctx, caller, id)
	if err != nil {
		return nil, nil, err
	}
	validations, err := s.store.Validations(ctx, id)
	if err != nil {
		return nil, nil, internal(err, "read validations")
	}
	return org, validations, nil
}

// ValidationRequest is the body of POST /organization/{id}/validation.
type ValidationRequest struct {
	Types         []string
	VerifiedUsers json.RawMessage
}

// ParseValidationRequest validates {"validations":[{"type":"ds","verified_users":[...]}]}.
func ParseValidationRequest(tree any) (*ValidationRequest, error) {
	var problems errs.List
	root, _ := tree.(map[string]any)
	raw, ok := root["validations"]
	if !ok || raw == nil {
		problems.Required("validations", `send {"validations":[{"type":"ds"}]}`)
		return nil, problems.Err()
	}
	list, ok := raw.([]any)
	if !ok {
		problems.Invalid("validations", "validations must be an array of objects such as {\"type\":\"ds\"}")
		return nil, problems.Err()
	}
	if len(list) == 0 {
		problems.Required("validations[0].type", "send at least one validation, such as {\"type\":\"ds\"}")
	}

	out := &ValidationRequest{}
	var users []any
	for i, item := range list {
		path := fmt.Sprintf("validations[%d]", i)
		obj, ok := item.(map[string]any)
		if !ok {
			problems.Invalid(path, "each validation must be an object such as {\"type\":\"ds\"}")
			continue
		}
		typ, ok := obj["type"].(string)
		switch {
		case obj["type"] == nil:
			problems.Required(path+".type", "send the validation type; allowed: %s", strings.Join(ValidationTypes, ", "))
		case !ok:
			problems.Invalid(path+".type", "type must be a string; allowed: %s", strings.Join(ValidationTypes, ", "))
		case !strings.EqualFold(typ, "ds"):
			problems.Invalid(path+".type", "validation type %q is not performed by docsign-ca; allowed: %s", typ, strings.Join(ValidationTypes, ", "))
		default:
			out.Types = append(out.Types, "ds")
		}
		if vu, ok := obj["verified_users"].([]any); ok {
			users = append(users, vu...)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if len(users) > 0 {
		out.VerifiedUsers, _ = json.Marshal(users)
	}
	return out, nil
}

// SubmitValidation records validation requests for an organization of the
// caller's scope; with AutoValidate they complete at once.
func (s *Service) SubmitValidation(ctx context.Context, caller *store.Caller, orgID int64, req *ValidationRequest) error {
	if _, err := s.visibleOrganization(ctx, caller, orgID); err != nil {
		return err
	}
	if err := s.store.SubmitValidations(ctx, orgID, req.Types, req.VerifiedUsers); err != nil {
		return internal(err, "submit validation")
	}
	s.log.Info("organization validation submitted", "organization_id", orgID, "types", req.Types)
	if !s.AutoValidate {
		return nil
	}
	for _, typ := range req.Types {
		if err := s.CompleteValidation(ctx, orgID, typ); err != nil {
			return err
		}
	}
	s.IssueReady(ctx)
	return nil
}
