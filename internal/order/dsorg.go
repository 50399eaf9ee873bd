package order

import (
	"github.com/docsign-ca/docsign-ca/internal/jsonbody"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/csr"
)

// Limits on the fields of POST /services/v2/order/certificate/ds_org and
// POST /services/v2/organization. A value over its limit is invalid_value,
// and the message states the limit. Text lengths count code points.
//
//   - Organization and address fields (name, assumed_name, address, address2,
//     city, state, ship_info name and addr lines) and contact names and job
//     titles: 64, CertCentral's limit for organization fields.
//   - Organization name plus assumed_name, when assumed_name is given: 61,
//     CertCentral's combined limit.
//   - zip: 40. telephone: 32.
//   - E-mail addresses: 254, the longest address that fits the 256-octet
//     forward-path of RFC 5321 §4.5.3.1.3 once the angle brackets are added.
//   - comments and custom_renewal_message: 2000. promo_code and ca_cert_id: 64.
//   - additional_emails and user_id_assignments: 100 entries.
//     organization.contacts: 10 entries.
//   - certificate.usage_designation.additional_usages: 3 distinct values,
//     which is every allowed value.
//   - certificate.csr: 64 KiB, enough for a PEM CSR with an RSA-4096 key and
//     many attributes.
const (
	maxNameLength          = 64
	maxCombinedNameLength  = 61
	maxZipLength           = 40
	maxTelephoneLength     = 32
	maxEmailLength         = 254
	maxFreeTextLength      = 2000
	maxCodeLength          = 64
	maxAdditionalEmails    = 100
	maxUserIDAssignments   = 100
	maxContacts            = 10
	maxDistinctUsages      = 3
	maxCSRBytes            = 64 << 10
	thumbprintHexLength    = 40
	defaultServerPlatform  = -1
	defaultProvisioning    = provisioningEmail
	defaultSignatureHash   = "sha256"
	defaultAdditionalUsage = "document_signing"
)

// Values of cs_provisioning_method.
const (
	provisioningEmail     = "email"
	provisioningShipToken = "ship_token"
	provisioningClientApp = "client_app"
)

var provisioningMethods = []string{provisioningEmail, provisioningShipToken, provisioningClientApp}

// DSOrgRequest is a validated, normalized body of
// POST /services/v2/order/certificate/ds_org. Enumerated values are lower case
// (ShipInfo.Method upper case), and countries are upper-case ISO 3166-1
// alpha-2 codes. The ids in it are not yet checked against the caller's
// account: the order workflow does that.
type DSOrgRequest struct {
	// CSR is the parsed certificate.csr. It is nil for the ship_token and
	// client_app methods, where the key is generated on a token.
	CSR *csr.Request
	// KeyType is "rsa" or "ecc": the CSR's key type, or the requested type
	// of the key to generate.
	KeyType string
	// KeySize is the key size in bits: 2048, 3072 or 4096 for rsa, 256 or
	// 384 for ecc (curves P-256 and P-384).
	KeySize int
	// SignatureHash is sha256, sha384 or sha512.
	SignatureHash string
	// PrimaryUsage is certificate.usage_designation.primary_usage: "signing".
	PrimaryUsage string
	// Usages are the distinct additional usages in the order first sent,
	// ["document_signing"] when none were sent.
	Usages []string
	// ServerPlatformID is certificate.server_platform.id, -1 (other) by default.
	ServerPlatformID int
	// CACertID selects the issuing intermediate. Empty means the default one.
	CACertID string
	// ProvisioningMethod is email, ship_token or client_app.
	ProvisioningMethod string
	// ShipInfo is the token's shipping address, set only for ship_token.
	ShipInfo *ShipInfo

	Organization OrganizationRef
	// OrganizationContact and TechnicalContact are the root-level objects that
	// replace the organization's contacts for this order only.
	OrganizationContact *Contact
	TechnicalContact    *Contact

	// ContainerID is container.id, 0 when the order goes to the caller's container.
	ContainerID int64
	// RenewalOfOrderID is the renewed order's id, 0 when this is no renewal.
	RenewalOfOrderID int64
	// RenewedThumbprint is the SHA-1 thumbprint of the renewed certificate
	// as 40 upper-case hex digits, or empty.
	RenewedThumbprint    string
	CustomRenewalMessage string
	// AdditionalEmails are distinct bare addresses with lower-case domains.
	AdditionalEmails []string
	// UserIDAssignments are the distinct ids of users who may manage the order.
	UserIDAssignments           []int64
	Comments                    string
	PromoCode                   string
	SkipApproval                bool
	DisableRenewalNotifications bool
	Validity                    Validity

	// PaymentMethod is balance, card or profile.
	PaymentMethod string
	// Card and BillingAddress are set only when PaymentMethod is card.
	Card           *Card
	BillingAddress *BillingAddress
	// PaymentProfileID is payment_profile.id for the profile method, 0
	// for the account's default profile.
	PaymentProfileID int64
}

// ShipInfo is the shipping address of a hardware token (ship_token method).
type ShipInfo struct {
	Name    string
	Addr1   string
	Addr2   string
	City    string
	State   string
	Zip     string
	Country string
	// Method is STANDARD or EXPEDITED.
	Method string
}

// OrganizationRef is the order's organization: an existing one by ID, or the
// details of a new one.
type OrganizationRef struct {
	// ID is the existing organization's id, 0 when New is set.
	ID int64
	// New contains the details of an organization to create, nil when ID is set.
	New *OrganizationInput
	// Contacts are organization.contacts, at most one organization_contact
	// and one technical_contact.
	Contacts []Contact
}

// ParseDSOrg validates the decoded JSON body of
// POST /services/v2/order/certificate/ds_org and returns it typed and
// normalized. now is the time of the request: order validity and card expiry
// are checked against it. The error is an *errs.Error of kind BadRequest that
// lists every problem found. With an error, the returned request contains
// the fields that did parse, or is nil when the body is not an object. That
// lets the workflow add its own problems, such as an unknown organization id,
// to the same response.
func ParseDSOrg(tree any, now time.Time) (*DSOrgRequest, error) {
	reader := &fieldReader{}
	root, ok := reader.rootObject(tree)
	if !ok {
		return nil, reader.problems.Err()
	}

	request := &DSOrgRequest{}
	request.ProvisioningMethod, ok = reader.optionalEnum(root, "cs_provisioning_method", provisioningMethods, defaultProvisioning)
	methodKnown := ok

	reader.readCertificate(root, request, methodKnown)
	reader.readShipInfo(root, request, methodKnown)

	request.Organization = reader.readOrganizationRef(root)
	request.OrganizationContact = reader.readRootContact(root, contactTypeOrganization)
	request.TechnicalContact = reader.readRootContact(root, contactTypeTechnical)

	reader.readOrderOptions(root, request)
	request.Validity = reader.readValidity(root, now)
	reader.readPayment(root, request, now)

	return request, reader.problems.Err()
}

// rootObject checks that the body is a JSON object. Its problem has the code
// invalid_value:body because the body itself has no JSON path.
func (r *fieldReader) rootObject(tree any) (jsonObject, bool) {
	fields, ok := tree.(map[string]any)
	if !ok {
		r.problems.Invalid("body", "the request body must be a JSON object, not %s", typeName(tree))
		return jsonObject{}, false
	}
	return jsonObject{fields: fields}, true
}

// readShipInfo reads ship_info, which only the ship_token method accepts.
// When cs_provisioning_method itself is invalid, a given ship_info is still
// checked so that the client learns of its problems in the same response.
func (r *fieldReader) readShipInfo(root jsonObject, request *DSOrgRequest, methodKnown bool) {
	const key = "ship_info"
	_, present := root.lookup(key)

	switch {
	case methodKnown && request.ProvisioningMethod == provisioningShipToken:
		object, ok := r.requiredObject(root, key)
		if ok {
			request.ShipInfo = r.readShipAddress(object)
		}
	case methodKnown && present:
		r.problems.Invalid(key, "ship_info is accepted only with cs_provisioning_method ship_token, not %s: remove ship_info or change the method",
			request.ProvisioningMethod)
	case present:
		object, ok := r.optionalObject(root, key)
		if ok {
			r.readShipAddress(object)
		}
	}
}

var shippingMethods = []string{"STANDARD", "EXPEDITED"}

// readShipAddress reads the fields of ship_info. addr2 is optional although
// the CertCentral reference marks it required, because it is only the
// continuation of the street address.
func (r *fieldReader) readShipAddress(object jsonObject) *ShipInfo {
	info := &ShipInfo{}
	info.Name, _ = r.requiredText(object, "name", maxNameLength)
	info.Addr1, _ = r.requiredText(object, "addr1", maxNameLength)
	info.Addr2, _ = r.optionalText(object, "addr2", maxNameLength, singleLine)
	info.City, _ = r.requiredText(object, "city", maxNameLength)
	info.State, _ = r.requiredText(object, "state", maxNameLength)
	info.Zip, _ = r.requiredText(object, "zip", maxZipLength)
	info.Country, _ = r.requiredCountry(object, "country")
	info.Method, _ = r.requiredEnum(object, "method", shippingMethods)
	return info
}

// readOrderOptions reads the optional root-level fields of an order that no
// other step needs.
func (r *fieldReader) readOrderOptions(root jsonObject, request *DSOrgRequest) {
	if container, ok := r.optionalObject(root, "container"); ok {
		request.ContainerID = r.readContainerID(container)
	}

	request.RenewalOfOrderID, _ = r.optionalID(root, "renewal_of_order_id")
	request.RenewedThumbprint = r.readThumbprint(root)
	request.CustomRenewalMessage, _ = r.optionalText(root, "custom_renewal_message", maxFreeTextLength, multiLine)
	request.Comments, _ = r.optionalText(root, "comments", maxFreeTextLength, multiLine)
	request.PromoCode, _ = r.optionalText(root, "promo_code", maxCodeLength, singleLine)
	request.AdditionalEmails = r.readAdditionalEmails(root)
	request.UserIDAssignments = r.readUserIDAssignments(root)

	// The subscriber agreement must be accepted. CertCentral defaults
	// csa_agreed_to to true, so only an explicit false is rejected.
	if agreed, given := r.optionalBool(root, "csa_agreed_to"); given && !agreed {
		r.problems.Invalid("csa_agreed_to", "csa_agreed_to is false, but the Certificate Subscriber Agreement must be accepted to order: send true or omit the field")
	}

	request.SkipApproval, _ = r.optionalBool(root, "skip_approval")
	request.DisableRenewalNotifications, _ = r.optionalBool(root, "disable_renewal_notifications")
}

func (r *fieldReader) readContainerID(container jsonObject) int64 {
	path := container.childPath("id")
	value, present := container.lookup("id")
	if !present {
		r.problems.Required(path, "%s is required when container is given", path)
		return 0
	}

	id, _ := r.positiveIDField(value, path)
	return id
}

// readThumbprint reads renewed_thumbprint, the SHA-1 thumbprint of the
// certificate being renewed: 40 hex digits, returned in upper case.
func (r *fieldReader) readThumbprint(root jsonObject) string {
	const key = "renewed_thumbprint"
	thumbprint, ok := r.optionalText(root, key, maxCodeLength, singleLine)
	if !ok {
		return ""
	}

	if len(thumbprint) != thumbprintHexLength || !isHex(thumbprint) {
		r.problems.Invalid(key, "renewed_thumbprint %s is not a SHA-1 thumbprint: send the 40 hex digits of the renewed certificate's SHA-1 hash", echo(thumbprint))
		return ""
	}
	return strings.ToUpper(thumbprint)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// readAdditionalEmails reads additional_emails, dropping repeated addresses.
func (r *fieldReader) readAdditionalEmails(root jsonObject) []string {
	const key = "additional_emails"
	elements, ok := r.optionalArray(root, key, maxAdditionalEmails)
	if !ok {
		return nil
	}

	var emails []string
	seen := make(map[string]bool)
	for i, element := range elements {
		path := jsonbody.Index(key, i)
		text, ok := r.textValue(element, path, maxEmailLength, singleLine)
		if !ok {
			if s, isString := element.(string); isString && strings.TrimSpace(s) == "" {
				r.problems.Invalid(path, "%s is empty: send an e-mail address or remove the entry", path)
			}
			continue
		}

		address, ok := r.emailValue(text, path)
		if ok && !seen[address] {
			seen[address] = true
			emails = append(emails, address)
		}
	}
	return emails
}

// readUserIDAssignments reads user_id_assignments, dropping repeated ids.
func (r *fieldReader) readUserIDAssignments(root jsonObject) []int64 {
	const key = "user_id_assignments"
	elements, ok := r.optionalArray(root, key, maxUserIDAssignments)
	if !ok {
		return nil
	}

	var ids []int64
	seen := make(map[int64]bool)
	for i, element := range elements {
		id, ok := r.positiveIDField(element, jsonbody.Index(key, i))
		if ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}
