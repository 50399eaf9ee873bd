package order

import (
	"fmt"
	"github.com/docsign-ca/docsign-ca/internal/jsonbody"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Values of contact_type.
const (
	contactTypeOrganization = "organization_contact"
	contactTypeTechnical    = "technical_contact"
	contactTypeVerified     = "verified_contact"
)

var contactTypes = []string{contactTypeOrganization, contactTypeTechnical, contactTypeVerified}

// OrganizationInput contains the details of an organization to create, from
// the body of POST /services/v2/organization or from the organization object
// of an order that carries no organization id.
type OrganizationInput struct {
	Name string
	// AssumedName is the "doing business as" name, empty when not given.
	AssumedName string
	Address     string
	Address2    string
	City        string
	State       string
	Zip         string
	// Country is an upper-case ISO 3166-1 alpha-2 code.
	Country   string
	Telephone string
	// OrganizationContact is the organization_contact object of
	// POST /services/v2/organization. Orders list contacts in
	// OrganizationRef.Contacts instead, so it is nil there.
	OrganizationContact *Contact
	// SkipDuplicateOrgCheck requests a new organization even when
	// NormalizedKey matches an existing one.
	SkipDuplicateOrgCheck bool
}

// Contact is a contact of an organization or an order: either an existing
// contact or user named by ID or UserID, or a new contact with all details.
// For an existing contact the details are optional, and the workflow uses the
// given ones to update it.
type Contact struct {
	// Type is organization_contact, technical_contact or verified_contact.
	Type string
	// ID is an existing contact's id, 0 when not given.
	ID int64
	// UserID is an existing user's id, 0 when not given.
	UserID    int64
	FirstName string
	LastName  string
	// Email is a bare address with a lower-case domain.
	Email     string
	JobTitle  string
	Telephone string
}

// Existing reports whether the contact names an existing contact or user.
func (c Contact) Existing() bool {
	return c.ID != 0 || c.UserID != 0
}

// ParseOrganization validates the decoded JSON body of
// POST /services/v2/organization and returns it typed and normalized. No rule
// of an organization depends on time today, so now is unused. It is part of
// the signature so that callers pass the request time as they do to
// ParseDSOrg. The error is an *errs.Error of kind BadRequest that lists every
// problem found.
func ParseOrganization(tree any, now time.Time) (*OrganizationInput, error) {
	reader := &fieldReader{}
	root, ok := reader.rootObject(tree)
	if !ok {
		return nil, reader.problems.Err()
	}

	input := reader.readOrganizationDetails(root, "")
	input.OrganizationContact = reader.readRootContact(root, contactTypeOrganization)

	if err := reader.problems.Err(); err != nil {
		return nil, err
	}
	return input, nil
}

// readOrganizationDetails reads the fields of a new organization from object.
// alternative is added to the message of each missing required field, as in
// requiredTextOr.
func (r *fieldReader) readOrganizationDetails(object jsonObject, alternative string) *OrganizationInput {
	input := &OrganizationInput{}
	input.Name, _ = r.requiredTextOr(object, "name", maxNameLength, alternative)
	input.AssumedName, _ = r.optionalText(object, "assumed_name", maxNameLength, singleLine)
	r.checkCombinedNameLength(object, input)

	input.Address, _ = r.requiredTextOr(object, "address", maxNameLength, alternative)
	input.Address2, _ = r.optionalText(object, "address2", maxNameLength, singleLine)
	input.City, _ = r.requiredTextOr(object, "city", maxNameLength, alternative)
	input.State, _ = r.requiredTextOr(object, "state", maxNameLength, alternative)
	input.Zip, _ = r.requiredTextOr(object, "zip", maxZipLength, alternative)
	input.Country, _ = r.requiredCountryOr(object, "country", alternative)
	input.Telephone, _ = r.optionalText(object, "telephone", maxTelephoneLength, singleLine)
	input.SkipDuplicateOrgCheck, _ = r.optionalBool(object, "skip_duplicate_org_check")
	return input
}

// checkCombinedNameLength applies CertCentral's limit of 61 code points for
// name and assumed_name together, when both are given.
func (r *fieldReader) checkCombinedNameLength(object jsonObject, input *OrganizationInput) {
	if input.Name == "" || input.AssumedName == "" {
		return
	}

	combined := utf8.RuneCountInString(input.Name) + utf8.RuneCountInString(input.AssumedName)
	if combined > maxCombinedNameLength {
		path := object.childPath("assumed_name")
		r.problems.Invalid(path, "name and assumed_name are %d characters long together, more than the limit of %d: shorten one of them",
			combined, maxCombinedNameLength)
	}
}

// readOrganizationRef reads the organization object of an order: an existing
// organization's id, or the details of a new organization, and its contacts.
func (r *fieldReader) readOrganizationRef(root jsonObject) OrganizationRef {
	var ref OrganizationRef
	object, ok := r.requiredObject(root, "organization")
	if !ok {
		return ref
	}

	id, idGiven := r.readOrganizationID(object)
	if idGiven {
		// The other detail fields are ignored, as CertCentral ignores them.
		ref.ID = id
	} else {
		// Without an id the client may have meant an existing organization,
		// so each missing detail also names organization.id.
		alternative := fmt.Sprintf(" for a new organization. Send %s of an existing organization,"+
			" or name, address, city, state, zip and country for a new one", object.childPath("id"))
		ref.New = r.readOrganizationDetails(object, alternative)
	}

	ref.Contacts = r.readContacts(object)
	return ref
}

// readOrganizationID returns organization.id and whether the client meant to
// name an existing organization. Some clients send zero values, so 0, "" and
// null mean no id. An invalid id counts as given, so that its problem is not
// followed by one problem for each missing detail.
func (r *fieldReader) readOrganizationID(object jsonObject) (int64, bool) {
	value, present := object.lookup("id")
	if !present || value == "" {
		return 0, false
	}

	id, ok := r.idField(value, object.childPath("id"))
	if !ok {
		return 0, true
	}
	return id, id != 0
}

// readContacts reads organization.contacts. At most one organization_contact
// and one technical_contact are allowed, and any number of verified_contact
// entries up to maxContacts in all.
func (r *fieldReader) readContacts(organization jsonObject) []Contact {
	elements, ok := r.optionalArray(organization, "contacts", maxContacts)
	if !ok {
		return nil
	}

	var contacts []Contact
	firstIndexByType := make(map[string]int)
	for i, element := range elements {
		object, ok := r.objectValue(element, jsonbody.Index(organization.childPath("contacts"), i))
		if !ok {
			continue
		}

		contact := r.readContact(object, "")
		if contact.Type == contactTypeOrganization || contact.Type == contactTypeTechnical {
			if first, seen := firstIndexByType[contact.Type]; seen {
				path := object.childPath("contact_type")
				r.problems.Invalid(path, "%s is a second %s, but only one is allowed: contacts[%d] is already one",
					path, contact.Type, first)
				continue
			}
			firstIndexByType[contact.Type] = i
		}
		contacts = append(contacts, contact)
	}
	return contacts
}

// readRootContact reads a root-level organization_contact or technical_contact
// object, whose contact_type is implied by its key.
func (r *fieldReader) readRootContact(root jsonObject, contactType string) *Contact {
	object, ok := r.optionalObject(root, contactType)
	if !ok {
		return nil
	}

	contact := r.readContact(object, contactType)
	return &contact
}

// readContact reads one contact. impliedType is the contact type that the
// object's key implies, or empty when contact_type is required. A contact is
// existing when id or user_id is a non-zero id. A new contact needs
// first_name, last_name, email, job_title and telephone.
func (r *fieldReader) readContact(object jsonObject, impliedType string) Contact {
	contact := Contact{Type: r.readContactType(object, impliedType)}

	id, idOK := r.optionalID(object, "id")
	userID, userIDOK := r.optionalID(object, "user_id")
	contact.ID, contact.UserID = id, userID

	// An invalid id counts as existing, so that its problem is not followed
	// by one problem for each missing detail.
	_, idPresent := object.lookup("id")
	_, userIDPresent := object.lookup("user_id")
	existing := contact.Existing() || (idPresent && !idOK) || (userIDPresent && !userIDOK)

	contact.FirstName = r.contactText(object, "first_name", maxNameLength, !existing)
	contact.LastName = r.contactText(object, "last_name", maxNameLength, !existing)
	contact.JobTitle = r.contactText(object, "job_title", maxNameLength, !existing)
	contact.Telephone = r.contactText(object, "telephone", maxTelephoneLength, !existing)

	email := r.contactText(object, "email", maxEmailLength, !existing)
	if email != "" {
		contact.Email, _ = r.emailValue(email, object.childPath("email"))
	}
	return contact
}

func (r *fieldReader) readContactType(object jsonObject, impliedType string) string {
	if impliedType == "" {
		contactType, _ := r.requiredEnum(object, "contact_type", contactTypes)
		return contactType
	}

	given, ok := r.optionalEnum(object, "contact_type", contactTypes, impliedType)
	if ok && given != impliedType {
		path := object.childPath("contact_type")
		r.problems.Invalid(path, "%s %s contradicts the %s object it is in: send %s or omit contact_type",
			path, given, impliedType, impliedType)
	}
	return impliedType
}

func (r *fieldReader) contactText(object jsonObject, key string, maxLength int, required bool) string {
	if required {
		text, _ := r.requiredText(object, key, maxLength)
		return text
	}

	text, _ := r.optionalText(object, key, maxLength, singleLine)
	return text
}

// emailValue checks that text is a bare addr-spec (RFC 5322 §3.4.1) such as
// name@example.com, without a display name, angle brackets or comments, and
// with a domain name that contains a dot. It returns the address with its
// domain in lower case.
func (r *fieldReader) emailValue(text, path string) (string, bool) {
	address, err := mail.ParseAddress(text)
	if err != nil {
		r.problems.Invalid(path, "%s %s is not a valid e-mail address: use the form name@example.com", path, echo(text))
		return "", false
	}

	if address.Name != "" || address.Address != text || strings.ContainsAny(text, "<>") {
		r.problems.Invalid(path, "%s %s is not a bare e-mail address: send only the address, such as name@example.com, without a display name or angle brackets",
			path, echo(text))
		return "", false
	}

	at := strings.LastIndexByte(address.Address, '@')
	local, domain := address.Address[:at], address.Address[at+1:]
	if !isDomainName(domain) {
		r.problems.Invalid(path, "%s %s has no fully qualified domain: use a domain with a dot, such as example.com", path, echo(text))
		return "", false
	}
	return local + "@" + strings.ToLower(domain), true
}

// isDomainName reports whether domain is a dotted domain name with no empty
// labels. Domain literals such as [192.0.2.1] are rejected.
func isDomainName(domain string) bool {
	if !strings.Contains(domain, ".") || strings.ContainsAny(domain, "[]") {
		return false
	}

	for _, label := range strings.Split(domain, ".") {
		if label == "" {
			return false
		}
	}
	return true
}

// NormalizedKey returns a key for detecting duplicate organizations. It joins
// name, address, city, zip and country after case folding, after removing
// punctuation and repeated spaces, and after unifying the spellings of common
// legal forms, so that "Acme, Inc." and "ACME Incorporated" at the same
// address yield the same key.
//
// TODO: apply Unicode NFKC normalization, so that composed and decomposed
// forms of the same letter (é as one or two code points) also match.
func (o *OrganizationInput) NormalizedKey() string {
	parts := []string{
		normalizeKeyPart(o.Name, true),
		normalizeKeyPart(o.Address, false),
		normalizeKeyPart(o.City, false),
		normalizeKeyPart(o.Zip, false),
		normalizeKeyPart(o.Country, false),
	}
	return strings.Join(parts, "|")
}

// legalFormPhrases map multi-word legal forms to their abbreviation.
var legalFormPhrases = []struct {
	words []string
	form  string
}{
	{[]string{"limited", "liability", "company"}, "llc"},
	{[]string{"limited", "liability", "partnership"}, "llp"},
	{[]string{"public", "limited", "company"}, "plc"},
}

// legalFormWords map single-word spellings of legal forms to one token. Dots
// are removed before the lookup, so "L.L.C." arrives here as "llc" and
// "Inc." as "inc".
var legalFormWords = map[string]string{
	"incorporated": "inc",
	"limited":      "ltd",
	"corporation":  "corp",
	"company":      "co",
}

// normalizeKeyPart lower-cases text, drops dots and apostrophes, turns "&"
// into "and" and other punctuation and symbols into spaces, and collapses
// white space. With unifyLegalForms it also replaces legal forms by one token.
func normalizeKeyPart(text string, unifyLegalForms bool) string {
	var cleaned strings.Builder
	for _, c := range strings.ToLower(text) {
		switch {
		case c == '.' || c == '\'' || c == '\u2019':
			// Dropped so that abbreviations such as "L.L.C." stay one word.
		case c == '&':
			cleaned.WriteString(" and ")
		case unicode.IsPunct(c) || unicode.IsSymbol(c) || unicode.IsSpace(c) || unicode.IsControl(c):
			cleaned.WriteByte(' ')
		default:
			cleaned.WriteRune(c)
		}
	}

	words := strings.Fields(cleaned.String())
	if unifyLegalForms {
		words = unifyLegalFormWords(words)
	}
	return strings.Join(words, " ")
}

func unifyLegalFormWords(words []string) []string {
	unified := make([]string, 0, len(words))
	for i := 0; i < len(words); i++ {
		if form, length, ok := matchLegalFormPhrase(words[i:]); ok {
			unified = append(unified, form)
			i += length - 1
			continue
		}

		if form, ok := legalFormWords[words[i]]; ok {
			unified = append(unified, form)
			continue
		}
		unified = append(unified, words[i])
	}
	return unified
}

func matchLegalFormPhrase(words []string) (string, int, bool) {
	for _, phrase := range legalFormPhrases {
		if len(words) >= len(phrase.words) && slices.Equal(words[:len(phrase.words)], phrase.words) {
			return phrase.form, len(phrase.words), true
		}
	}
	return "", 0, false
}
