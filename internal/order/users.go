package order

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// APIKeyPrefixLength is how many leading characters of a key are stored in
// clear, so that a user can tell their keys apart in GET key.
const APIKeyPrefixLength = 8

// NewAPIKeySecret returns a random API key (24 bytes, 192 bits, from the
// CSPRNG in lower-case hex), its SHA-256 hash and its prefix.
func NewAPIKeySecret() (key string, hash []byte, prefix string, err error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", nil, "", fmt.Errorf("generate API key: %w", err)
	}
	key = hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	return key, sum[:], key[:APIKeyPrefixLength], nil
}

// subtree returns the ids of the caller's container and every container
// below it. Users, containers and API keys are scoped to it; see scope for
// orders, requests and organizations.
func (s *Service) subtree(ctx context.Context, caller *store.Caller) ([]int64, error) {
	ids, err := s.store.ContainerSubtree(ctx, caller.Account.ID, caller.User.ContainerID)
	if err != nil {
		return nil, internal(err, "read container subtree")
	}
	return ids, nil
}

// visibleContainer returns a container in the caller's subtree. A container
// outside it is reported as not found, like one of another account.
func (s *Service) visibleContainer(ctx context.Context, caller *store.Caller, id int64) (*store.Container, error) {
	ids, err := s.subtree(ctx, caller)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ids, id) {
		return nil, errs.NotFoundf("container", "container %d not found", id)
	}
	c, err := s.store.Container(ctx, caller.Account.ID, id)
	if err != nil {
		return nil, notFound(err, "container", id)
	}
	return c, nil
}

// visibleUser returns a user whose container is in the caller's subtree.
func (s *Service) visibleUser(ctx context.Context, caller *store.Caller, id int64) (*store.User, error) {
	u, err := s.store.ActiveUserInAccount(ctx, caller.Account.ID, id)
	if err != nil {
		return nil, notFound(err, "user", id)
	}
	if _, err := s.visibleContainer(ctx, caller, u.ContainerID); err != nil {
		return nil, errs.NotFoundf("user", "user %d not found", id)
	}
	return u, nil
}

// UserInput is the body of POST user and PUT user/{id}.
type UserInput struct {
	Username    string
	FirstName   string
	LastName    string
	Email       string
	JobTitle    string
	Telephone   string
	ContainerID int64
	Role        string
}

// check validates the input's fields. POST user needs a username; PUT
// user/{id} ignores it.
func (in *UserInput) check(needUsername bool) error {
	var problems errs.List
	if needUsername && strings.TrimSpace(in.Username) == "" {
		problems.Required("username", "username is missing; send a unique login name")
	}
	if strings.TrimSpace(in.FirstName) == "" {
		problems.Required("first_name", "first_name is missing")
	}
	if strings.TrimSpace(in.LastName) == "" {
		problems.Required("last_name", "last_name is missing")
	}
	if _, err := mail.ParseAddress(in.Email); err != nil {
		problems.Invalid("email", "email %q is not a valid e-mail address", in.Email)
	}
	if in.ContainerID == 0 {
		problems.Required("container.id", "container.id is missing; list containers with GET /services/v2/container")
	}
	if !slices.Contains(Roles, in.Role) {
		problems.Invalid("access_role", "access role %q is not one of %s", in.Role, strings.Join(Roles, ", "))
	}
	return problems.Err()
}

// checkAssignable rejects role escalation: only an administrator may make
// another administrator, and a user is placed only in the caller's subtree.
func (s *Service) checkAssignable(ctx context.Context, caller *store.Caller, in *UserInput) error {
	if in.Role == store.RoleAdministrator && caller.User.Role != store.RoleAdministrator {
		return errs.New(errs.Forbidden, "access_denied|missing_permission",
			"only an administrator may give a user the administrator role; user %d has role %s", caller.User.ID, caller.User.Role)
	}
	if _, err := s.visibleContainer(ctx, caller, in.ContainerID); err != nil {
		return errs.New(errs.BadRequest, "invalid_value:container.id",
			"container %d is not in your containers; list them with GET /services/v2/container", in.ContainerID)
	}
	return nil
}

// CreateUser adds a user in a container of the caller's subtree.
func (s *Service) CreateUser(ctx context.Context, caller *store.Caller, in UserInput) (*store.User, error) {
	if err := in.check(true); err != nil {
		return nil, err
	}
	if err := s.checkAssignable(ctx, caller, &in); err != nil {
		return nil, err
	}

	u, err := s.store.CreateUser(ctx, caller.Account.ID, store.User{
		ContainerID: in.ContainerID, Username: in.Username, FirstName: in.FirstName, LastName: in.LastName,
		Email: in.Email, JobTitle: in.JobTitle, Telephone: in.Telephone, Role: in.Role,
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, errs.New(errs.Conflict, "duplicate_username", "username %q is taken; choose another", in.Username)
	}
	if err != nil {
		return nil, internal(err, "create user")
	}
	return u, nil
}

// UpdateUser replaces a user's details. The user and the new container
// must both be in the caller's subtree.
func (s *Service) UpdateUser(ctx context.Context, caller *store.Caller, id int64, in UserInput) error {
	current, err := s.visibleUser(ctx, caller, id)
	if err != nil {
		return err
	}
	if err := in.check(false); err != nil {
		return err
	}
	if current.Role == store.RoleAdministrator && caller.User.Role != store.RoleAdministrator {
		return errs.New(errs.Forbidden, "access_denied|missing_permission",
			"only an administrator may change administrator %d", id)
	}
	if err := s.checkAssignable(ctx, caller, &in); err != nil {
		return err
	}

	err = s.store.UpdateUser(ctx, caller.Account.ID, store.User{
		ID: id, ContainerID: in.ContainerID, FirstName: in.FirstName, LastName: in.LastName,
		Email: in.Email, JobTitle: in.JobTitle, Telephone: in.Telephone, Role: in.Role,
	})
	if err != nil {
		return notFound(err, "user", id)
	}
	return nil
}

// DeleteUser deletes a user of the caller's subtree and revokes its keys.
// A caller cannot delete itself.
func (s *Service) DeleteUser(ctx context.Context, caller *store.Caller, id int64) error {
	if id == caller.User.ID {
		return errs.New(errs.BadRequest, "invalid_value:user_id",
			"user %d is the caller; another administrator or manager must delete it", id)
	}
	target, err := s.visibleUser(ctx, caller, id)
	if err != nil {
		return err
	}
	if target.Role == store.RoleAdministrator && caller.User.Role != store.RoleAdministrator {
		return errs.New(errs.Forbidden, "access_denied|missing_permission",
			"only an administrator may delete administrator %d", id)
	}
	if err := s.store.DeleteUser(ctx, caller.Account.ID, caller.User.ID, id); err != nil {
		return notFound(err, "user", id)
	}
	return nil
}

// CreateContainer adds a container below a container of the caller's
// subtree.
func (s *Service) CreateContainer(ctx context.Context, caller *store.Caller, parentID int64, name string) (*store.Container, error) {
	if strings.TrimSpace(name) == "" {
		return nil, errs.New(errs.BadRequest, "required_param:name", "name is missing; send the container's name")
	}
	if parentID == 0 {
		parentID = caller.User.ContainerID
	}
	if _, err := s.visibleContainer(ctx, caller, parentID); err != nil {
		return nil, errs.New(errs.BadRequest, "invalid_value:parent_id",
			"container %d is not in your containers; list them with GET /services/v2/container", parentID)
	}

	c, err := s.store.CreateContainer(ctx, caller.Account.ID, parentID, name)
	if err != nil {
		return nil, internal(err, "create container")
	}
	return c, nil
}

// ContainerChildren returns the containers directly below a container of
// the caller's subtree.
func (s *Service) ContainerChildren(ctx context.Context, caller *store.Caller, id int64) ([]store.Container, error) {
	if _, err := s.visibleContainer(ctx, caller, id); err != nil {
		return nil, err
	}
	list, err := s.store.ContainerChildren(ctx, caller.Account.ID, id)
	if err != nil {
		return nil, internal(err, "list child containers")
	}
	return list, nil
}

// APIKeyInput is the body of POST key.
type APIKeyInput struct {
	Name string
	// Restriction is nil when the body omits it: the new key then takes the
	// restriction of the key that created it.
	Restriction *int
	// ExpiresAt is zero for a key that does not expire.
	ExpiresAt time.Time
}

// CreatedAPIKey is a new key. Key is shown once and never stored.
type CreatedAPIKey struct {
	store.APIKey
	Key string
}

// CreateAPIKey creates an API key for the caller. A restricted key may
// create only keys with its own restriction, so a key never mints a wider
// one.
func (s *Service) CreateAPIKey(ctx context.Context, caller *store.Caller, in APIKeyInput) (*CreatedAPIKey, error) {
	restriction := caller.KeyRestriction
	if in.Restriction != nil {
		restriction = *in.Restriction
	}
	if !ValidKeyRestriction(restriction) {
		return nil, errs.New(errs.BadRequest, "invalid_value:restriction",
			"restriction %d is not one of 0 (none), 100 (orders), 101 (orders, domains and organizations), 102 (view only), 103 (user management)", restriction)
	}
	if caller.KeyRestriction != KeyRestrictionNone && restriction != caller.KeyRestriction {
		return nil, errs.New(errs.Forbidden, "access_denied|missing_permission",
			"a key restricted to %s may create only keys with restriction %d", KeyRestrictionName(caller.KeyRestriction), caller.KeyRestriction)
	}
	if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(s.now()) {
		return nil, errs.New(errs.BadRequest, "invalid_value:expires_at",
			"expires_at %s is not in the future; send a later time or omit it", in.ExpiresAt.Format(time.RFC3339))
	}

	key, hash, prefix, err := NewAPIKeySecret()
	if err != nil {
		return nil, internal(err, "generate api key")
	}
	stored, err := s.store.CreateAPIKey(ctx, store.NewAPIKey{
		AccountID: caller.Account.ID, UserID: caller.User.ID, Name: in.Name,
		Hash: hash, Prefix: prefix, Restriction: restriction, ExpiresAt: in.ExpiresAt,
	})
	if err != nil {
		return nil, internal(err, "create api key")
	}
	return &CreatedAPIKey{APIKey: *stored, Key: key}, nil
}

// APIKeys lists the caller's own API keys.
func (s *Service) APIKeys(ctx context.Context, caller *store.Caller) ([]store.APIKey, error) {
	keys, err := s.store.APIKeysOf(ctx, caller.Account.ID, caller.User.ID)
	if err != nil {
		return nil, internal(err, "list api keys")
	}
	return keys, nil
}

// RevokeAPIKey revokes one of the caller's own API keys. A key of another
// user is reported as not found.
func (s *Service) RevokeAPIKey(ctx context.Context, caller *store.Caller, id int64) error {
	if err := s.store.RevokeAPIKey(ctx, caller.Account.ID, caller.User.ID, caller.User.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("api_key", "api key %d not found among your active keys; list them with GET /services/v2/key", id)
		}
		return internal(err, "revoke api key")
	}
	return nil
}
