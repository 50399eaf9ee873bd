package order

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func parseValid(t *testing.T, body any) *DSOrgRequest {
	t.Helper()
	request, err := ParseDSOrg(body, testNow)
	if err != nil {
		t.Fatalf("ParseDSOrg failed on a valid body:\n%s", problemText(err))
	}
	return request
}

func TestParseDSOrgFullBody(t *testing.T) {
	request := parseValid(t, validBody(t))

	checks := []struct {
		field     string
		got, want any
	}{
		{"CSR is set", request.CSR != nil, true},
		{"KeyType", request.KeyType, "rsa"},
		{"KeySize", request.KeySize, 2048},
		{"SignatureHash", request.SignatureHash, "sha256"},
		{"PrimaryUsage", request.PrimaryUsage, "signing"},
		{"Usages", fmt.Sprint(request.Usages), "[adobe_authentic_documents_trust ms_document_signing document_signing]"},
		{"ServerPlatformID", request.ServerPlatformID, -1},
		{"CACertID", request.CACertID, "5A1B2C3D"},
		{"ProvisioningMethod", request.ProvisioningMethod, "email"},
		{"ShipInfo", request.ShipInfo == nil, true},
		{"Organization.ID", request.Organization.ID, int64(0)},
		{"Organization.New.Name", request.Organization.New.Name, "Example Org Inc"},
		{"Organization.New.AssumedName", request.Organization.New.AssumedName, "Example"},
		{"Organization.New.Country", request.Organization.New.Country, "US"},
		{"Organization.New.Telephone", request.Organization.New.Telephone, "+1 555 0100"},
		{"Organization.Contacts count", len(request.Organization.Contacts), 2},
		{"Contacts[0].UserID", request.Organization.Contacts[0].UserID, int64(1532529)},
		{"Contacts[0].Existing", request.Organization.Contacts[0].Existing(), true},
		{"Contacts[1].Type", request.Organization.Contacts[1].Type, "technical_contact"},
		{"Contacts[1].Email", request.Organization.Contacts[1].Email, "ann.lee@example.com"},
		{"Contacts[1].Existing", request.Organization.Contacts[1].Existing(), false},
		{"OrganizationContact.Type", request.OrganizationContact.Type, "organization_contact"},
		{"OrganizationContact.FirstName", request.OrganizationContact.FirstName, "Bo"},
		{"TechnicalContact.ID", request.TechnicalContact.ID, int64(4532226)},
		{"TechnicalContact.Type", request.TechnicalContact.Type, "technical_contact"},
		{"ContainerID", request.ContainerID, int64(5)},
		{"RenewalOfOrderID", request.RenewalOfOrderID, int64(0)},
		{"RenewedThumbprint", request.RenewedThumbprint, ""},
		{"CustomRenewalMessage", request.CustomRenewalMessage, "Renew me"},
		{"Comments keeps line break", request.Comments, "Please approve.\nThanks."},
		{"AdditionalEmails", fmt.Sprint(request.AdditionalEmails), "[jill.valentine@example.com leon.kennedy@example.com]"},
		{"UserIDAssignments", fmt.Sprint(request.UserIDAssignments), "[11 12]"},
		{"SkipApproval", request.SkipApproval, false},
		{"DisableRenewalNotifications", request.DisableRenewalNotifications, true},
		{"Validity.Years", request.Validity.Years, 1},
		{"Validity.EndDate", request.Validity.EndDate, time.Date(2027, time.March, 15, 23, 59, 59, 0, time.UTC)},
		{"PaymentMethod", request.PaymentMethod, "card"},
		{"Card.Brand", request.Card.Brand, "visa"},
		{"Card.LastFour", request.Card.LastFour, "1111"},
		{"Card.ExpirationMonth", request.Card.ExpirationMonth, 9},
		{"Card.ExpirationYear", request.Card.ExpirationYear, 2028},
		{"Card.SaveCard", request.Card.SaveCard == nil, true},
		{"Card.SetAsDefault", request.Card.SetAsDefault, false},
		{"BillingAddress.Country", request.BillingAddress.Country, "US"},
		{"BillingAddress.State", request.BillingAddress.State, "VA"},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.field, check.got, check.want)
		}
	}
}

// minimalBodyJSON contains only the required fields of a client_app order
// for an existing organization, paid from the balance.
const minimalBodyJSON = `{
  "certificate": {"usage_designation": {"primary_usage": "signing"}},
  "cs_provisioning_method": "client_app",
  "organization": {"id": 2022869},
  "order_validity": {"days": 30},
  "payment_method": "balance"
}`

func TestParseDSOrgDefaults(t *testing.T) {
	request := parseValid(t, decodeTree(t, minimalBodyJSON))

	checks := []struct {
		field     string
		got, want any
	}{
		{"CSR", request.CSR == nil, true},
		{"KeyType", request.KeyType, "rsa"},
		{"KeySize", request.KeySize, 2048},
		{"SignatureHash", request.SignatureHash, "sha256"},
		{"Usages", fmt.Sprint(request.Usages), "[document_signing]"},
		{"ServerPlatformID", request.ServerPlatformID, -1},
		{"Organization.ID", request.Organization.ID, int64(2022869)},
		{"Organization.New", request.Organization.New == nil, true},
		{"Organization.Contacts", len(request.Organization.Contacts), 0},
		{"Validity.Days", request.Validity.Days, 30},
		{"Validity.EndDate", request.Validity.EndDate, time.Date(2026, time.April, 14, 23, 59, 59, 0, time.UTC)},
		{"Card", request.Card == nil, true},
		{"BillingAddress", request.BillingAddress == nil, true},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.field, check.got, check.want)
		}
	}
}

func TestParseDSOrgNormalizesValues(t *testing.T) {
	cases := []struct {
		name      string
		mutations []mutation
		field     func(*DSOrgRequest) any
		want      any
	}{
		{"signature hash lower case", one(set("certificate.signature_hash", "SHA384")),
			func(r *DSOrgRequest) any { return r.SignatureHash }, "sha384"},
		{"method lower case", with(shipTokenOrder, one(set("cs_provisioning_method", "Ship_Token"))),
			func(r *DSOrgRequest) any { return r.ProvisioningMethod }, "ship_token"},
		{"ship method upper case", with(shipTokenOrder, one(set("ship_info.method", "expedited"))),
			func(r *DSOrgRequest) any { return r.ShipInfo.Method }, "EXPEDITED"},
		{"ship country upper case", shipTokenOrder,
			func(r *DSOrgRequest) any { return r.ShipInfo.Country }, "US"},
		{"ship addr2 absent", shipTokenOrder,
			func(r *DSOrgRequest) any { return r.ShipInfo.Addr2 }, ""},
		{"payment method lower case", one(set("payment_method", "CARD")),
			func(r *DSOrgRequest) any { return r.PaymentMethod }, "card"},
		{"usages lower case and distinct", one(set("certificate.usage_designation.additional_usages", []any{"MS_Document_Signing", "ms_document_signing"})),
			func(r *DSOrgRequest) any { return fmt.Sprint(r.Usages) }, "[ms_document_signing]"},
		{"empty usages mean default", one(set("certificate.usage_designation.additional_usages", []any{})),
			func(r *DSOrgRequest) any { return fmt.Sprint(r.Usages) }, "[document_signing]"},
		{"thumbprint upper case", one(set("renewed_thumbprint", strings.Repeat("ab", 20))),
			func(r *DSOrgRequest) any { return r.RenewedThumbprint }, strings.Repeat("AB", 20)},
		{"email domain lower case", one(set("additional_emails", []any{"Jill@Example.COM"})),
			func(r *DSOrgRequest) any { return fmt.Sprint(r.AdditionalEmails) }, "[Jill@example.com]"},
		{"repeated emails collapse", one(set("additional_emails", []any{"a@example.com", "a@EXAMPLE.com"})),
			func(r *DSOrgRequest) any { return fmt.Sprint(r.AdditionalEmails) }, "[a@example.com]"},
		{"repeated assignments collapse", one(set("user_id_assignments", []any{num(3), "3", num(4)})),
			func(r *DSOrgRequest) any { return fmt.Sprint(r.UserIDAssignments) }, "[3 4]"},
		{"text trimmed", one(set("organization.city", "  Richmond  ")),
			func(r *DSOrgRequest) any { return r.Organization.New.City }, "Richmond"},
		{"server platform id kept", one(set("certificate.server_platform.id", "45")),
			func(r *DSOrgRequest) any { return r.ServerPlatformID }, 45},
		{"renewal id as string", one(set("renewal_of_order_id", "987")),
			func(r *DSOrgRequest) any { return r.RenewalOfOrderID }, int64(987)},
		{"save card preference", one(set("credit_card.save_credit_card", true)),
			func(r *DSOrgRequest) any { return *r.Card.SaveCard }, true},
		{"set as default from string", one(set("credit_card.set_as_default", "1")),
			func(r *DSOrgRequest) any { return r.Card.SetAsDefault }, true},
		{"skip approval", one(set("skip_approval", true)),
			func(r *DSOrgRequest) any { return r.SkipApproval }, true},
		{"skip duplicate check", one(set("organization.skip_duplicate_org_check", true)),
			func(r *DSOrgRequest) any { return r.Organization.New.SkipDuplicateOrgCheck }, true},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := validBody(t)
			for _, m := range tc.mutations {
				m(t, body)
			}

			request := parseValid(t, body)
			if got := tc.field(request); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseDSOrgKeyParameters(t *testing.T) {
	cases := []struct {
		name     string
		csr      string
		keyType  any
		keySize  any
		wantType string
		wantSize int
	}{
		{"no csr and no key fields", "", nil, nil, "rsa", 2048},
		{"no csr with ecc type", "", "ecc", nil, "ecc", 256},
		{"no csr with curve name", "", nil, "P-384", "ecc", 384},
		{"no csr with ecc number", "", "ECC", num(384), "ecc", 384},
		{"no csr with rsa size", "", "rsa", "4096", "rsa", 4096},
		{"no csr with rsa size only", "", nil, num(3072), "rsa", 3072},
		{"rsa csr without key fields", testRSACSR(), nil, nil, "rsa", 2048},
		{"ecc csr without key fields", testECCCSR(), nil, nil, "ecc", 256},
		{"ecc csr with matching fields", testECCCSR(), "ecc", num(256), "ecc", 256},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := decodeTree(t, minimalBodyJSON).(map[string]any)
			certificate := body["certificate"].(map[string]any)
			if tc.csr != "" {
				body["cs_provisioning_method"] = "email"
				certificate["csr"] = tc.csr
			}
			certificate["csr_key_type"] = tc.keyType
			certificate["key_size"] = tc.keySize

			request := parseValid(t, body)
			if request.KeyType != tc.wantType {
				t.Errorf("KeyType = %q, want %q", request.KeyType, tc.wantType)
			}
			if request.KeySize != tc.wantSize {
				t.Errorf("KeySize = %d, want %d", request.KeySize, tc.wantSize)
			}
		})
	}
}

// pageExamples are the three request bodies of the CertCentral reference page
// for ds_org, with their JSON errors fixed. The trailing commas are removed
// and rsa is quoted. The third example's CSR is not valid as printed, so a
// real one replaces it.
var pageExamples = []struct {
	name string
	body string
}{
	{"ship token", `{
    "certificate": {"signature_hash": "sha256",
        "usage_designation": {"primary_usage": "signing",
            "additional_usages": ["adobe_authentic_documents_trust", "ms_document_signing", "document_signing"]}},
    "cs_provisioning_method": "ship_token",
    "ship_info": {"name": "John Doe", "addr1": "360 Taylor Street", "addr2": "Floor 74", "city": "Richmond",
      "state": "va", "zip": "69662", "country": "us", "method": "EXPEDITED"},
    "organization": {"id": "2022869", "contacts": [
        {"id": 4532226, "first_name": "John", "last_name": "Doe", "email": "john.doe@digicert.com",
         "job_title": "Analyst", "telephone": "+1 1234567890", "contact_type": "organization_contact",
         "user_id": 1532529, "type": "existing_contact"},
        {"first_name": "Doe", "last_name": "John", "email": "doe.john@digicert.com", "job_title": "Analyst",
         "telephone": "+1 1234547860", "contact_type": "technical_contact", "user_id": 1562224, "type": "existing_contact"}]},
    "custom_renewal_message": "Renew me",
    "additional_emails": ["jill.valentine@example.com", "leon.kennedy@example.com"],
    "order_validity": {"years": 1},
    "payment_method": "balance"}`},
	{"client app", `{
    "certificate": {"signature_hash": "sha256",
        "usage_designation": {"primary_usage": "signing",
            "additional_usages": ["adobe_authentic_documents_trust", "ms_document_signing", "document_signing"]}},
    "cs_provisioning_method": "client_app",
    "organization": {"id": "2022869", "contacts": [
        {"id": 4532226, "contact_type": "organization_contact", "user_id": 1532529, "type": "existing_contact"},
        {"contact_type": "technical_contact", "user_id": 1562224, "type": "existing_contact"}]},
    "custom_renewal_message": "Renew me",
    "additional_emails": ["jill.valentine@example.com", "leon.kennedy@example.com"],
    "order_validity": {"years": 1},
    "payment_method": "balance"}`},
	{"email", `{
    "certificate": {"csr": CSR, "key_size": 2048, "csr_key_type": "rsa", "signature_hash": "sha256",
        "usage_designation": {"primary_usage": "signing",
            "additional_usages": ["adobe_authentic_documents_trust", "ms_document_signing", "document_signing"]}},
    "cs_provisioning_method": "email",
    "organization": {"id": "2022869", "contacts": [
        {"id": 4532226, "contact_type": "organization_contact", "user_id": 1532529, "type": "existing_contact"}]},
    "custom_renewal_message": "Renew me",
    "additional_emails": ["jill.valentine@example.com", "leon.kennedy@example.com"],
    "order_validity": {"years": 1},
    "payment_method": "balance"}`},
}

func TestParseDSOrgPageExamples(t *testing.T) {
	quotedCSR, err := json.Marshal(testRSACSR())
	if err != nil {
		t.Fatal(err)
	}

	for _, example := range pageExamples {
		t.Run(example.name, func(t *testing.T) {
			body := strings.Replace(example.body, "CSR", string(quotedCSR), 1)
			request := parseValid(t, decodeTree(t, body))
			if request.Organization.ID != 2022869 {
				t.Errorf("Organization.ID = %d, want 2022869", request.Organization.ID)
			}
			if len(request.Usages) != 3 {
				t.Errorf("Usages = %v, want all three", request.Usages)
			}
		})
	}
}

func TestParseDSOrgReportsEveryProblem(t *testing.T) {
	body := validBody(t)
	for _, m := range []mutation{
		set("certificate.signature_hash", "md5"),
		set("organization.country", "UK"),
		set("order_validity.years", num(5)),
		remove("credit_card.cvv"),
	} {
		m(t, body)
	}

	_, err := ParseDSOrg(body, testNow)
	want := []string{
		"invalid_value:certificate.signature_hash", "invalid_value:order_validity.years",
		"invalid_value:organization.country", "required_param:credit_card.cvv",
	}
	if got := problemCodes(t, err); !slices.Equal(got, want) {
		t.Fatalf("codes = %q, want %q", got, want)
	}
}

func TestParseDSOrgMessages(t *testing.T) {
	cases := []struct {
		name     string
		mutation mutation
		contains string
	}{
		{"UK names GB", set("organization.country", "uk"), "use GB for the United Kingdom"},
		{"key size lists allowed", set("certificate.key_size", "p-354"), "256 (p-256) or 384 (p-384)"},
		{"usage misprint hints", set("certificate.usage_designation.additional_usages", []any{"adobe_authentic_documents_trustsigning"}), "spelled adobe_authentic_documents_trust"},
		{"unoffered payment says so", set("payment_method", "wire_transfer"), "not offered"},
		{"limit is stated", set("comments", strings.Repeat("c", 2001)), "limit of 2000"},
		{"expected type is named", set("certificate.signature_hash", true), "must be a string, not a boolean"},
		{"enum lists allowed", set("certificate.signature_hash", "md5"), "sha256, sha384, sha512"},
		{"long value is shortened", set("certificate.signature_hash", strings.Repeat("x", 500)), `xxx"...`},
		{"empty organization names id", set("organization", map[string]any{}),
			"organization.zip is required for a new organization. Send organization.id of an existing organization, or name, address, city, state, zip and country for a new one"},
		{"empty organization name names id", set("organization.name", " "),
			"organization.name is required and must not be empty for a new organization. Send organization.id"},
		{"organization country missing names id", remove("organization.country"),
			"organization.country is required for a new organization. Send organization.id"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := validBody(t)
			tc.mutation(t, body)

			_, err := ParseDSOrg(body, testNow)
			if text := problemText(err); !strings.Contains(text, tc.contains) {
				t.Fatalf("messages do not contain %q:\n%s", tc.contains, text)
			}
		})
	}
}
