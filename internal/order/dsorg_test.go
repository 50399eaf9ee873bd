package order

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func shipInfo() map[string]any {
	return map[string]any{
		"name": "John Doe", "addr1": "360 Taylor Street", "city": "Richmond",
		"state": "va", "zip": "69662", "country": "us", "method": "EXPEDITED",
	}
}

// shipTokenOrder turns the valid body into a valid ship_token order.
var shipTokenOrder = []mutation{
	set("cs_provisioning_method", "ship_token"),
	remove("certificate.csr"),
	remove("certificate.key_size"),
	remove("certificate.csr_key_type"),
	func(t testing.TB, body map[string]any) { body["ship_info"] = shipInfo() },
}

// existingOrganization replaces the new organization's details with an id.
var existingOrganization = []mutation{
	func(t testing.TB, body map[string]any) {
		organization := body["organization"].(map[string]any)
		body["organization"] = map[string]any{"id": "2022869", "contacts": organization["contacts"]}
	},
}

func with(groups ...[]mutation) []mutation {
	return slices.Concat(groups...)
}

func one(m mutation) []mutation {
	return []mutation{m}
}

type ruleCase struct {
	name      string
	mutations []mutation
	// want are the expected problem codes, sorted. Empty means the body is valid.
	want []string
}

// TestParseDSOrgRules checks one rule per case: each case changes the valid
// body and expects exactly the listed problem codes.
func TestParseDSOrgRules(t *testing.T) {
	cases := []ruleCase{
		// Types and general input policies.
		{"body not an object", nil, []string{"invalid_value:body"}},
		{"string field given number", one(set("certificate.signature_hash", num(256))), []string{"invalid_value:certificate.signature_hash"}},
		{"object field given string", one(set("certificate", "x")), []string{"invalid_value:certificate"}},
		{"array field given object", one(set("additional_emails", map[string]any{})), []string{"invalid_value:additional_emails"}},
		{"bool field given string", one(set("skip_approval", "true")), []string{"invalid_value:skip_approval"}},
		{"null optional is omitted", one(set("comments", nil)), nil},
		{"unknown field ignored", one(set("favorite_color", "blue")), nil},
		{"id as digit string", one(set("container.id", "42")), nil},
		{"id with letters", one(set("container.id", "42a")), []string{"invalid_value:container.id"}},
		{"id as fraction", one(set("container.id", json.Number("4.5"))), []string{"invalid_value:container.id"}},
		{"id negative", one(set("renewal_of_order_id", num(-4))), []string{"invalid_value:renewal_of_order_id"}},
		{"id as boolean", one(set("container.id", true)), []string{"invalid_value:container.id"}},
		{"enum in upper case", one(set("certificate.signature_hash", "SHA512")), nil},
		{"control character in text", one(set("organization.city", "Rich\x00mond")), []string{"invalid_value:organization.city"}},

		// certificate and usages.
		{"certificate missing", one(remove("certificate")), []string{"required_param:certificate"}},
		{"usage designation missing", one(remove("certificate.usage_designation")), []string{"required_param:certificate.usage_designation"}},
		{"primary usage missing", one(remove("certificate.usage_designation.primary_usage")), []string{"required_param:certificate.usage_designation.primary_usage"}},
		{"primary usage not signing", one(set("certificate.usage_designation.primary_usage", "encryption")), []string{"invalid_value:certificate.usage_designation.primary_usage"}},
		{"additional usage misprint", one(set("certificate.usage_designation.additional_usages", []any{"adobe_authentic_documents_trustsigning"})), []string{"invalid_value:certificate.usage_designation.additional_usages[0]"}},
		{"additional usage unknown at index", one(set("certificate.usage_designation.additional_usages", []any{"document_signing", "code_signing"})), []string{"invalid_value:certificate.usage_designation.additional_usages[1]"}},
		{"additional usage not string", one(set("certificate.usage_designation.additional_usages", []any{num(1)})), []string{"invalid_value:certificate.usage_designation.additional_usages[0]"}},
		{"additional usages duplicates collapse", one(set("certificate.usage_designation.additional_usages", []any{"document_signing", "DOCUMENT_SIGNING", "document_signing", "ms_document_signing"})), nil},
		{"additional usages over limit", one(set("certificate.usage_designation.additional_usages", []any{"document_signing", "ms_document_signing", "adobe_authentic_documents_trust", "x"})), []string{"invalid_value:certificate.usage_designation.additional_usages"}},
		{"server platform without id", one(set("certificate.server_platform", map[string]any{})), []string{"required_param:certificate.server_platform.id"}},
		{"server platform id not integer", one(set("certificate.server_platform.id", "apache")), []string{"invalid_value:certificate.server_platform.id"}},
		{"server platform id zero", one(set("certificate.server_platform.id", num(0))), []string{"invalid_value:certificate.server_platform.id"}},
		{"server platform id positive", one(set("certificate.server_platform.id", num(45))), nil},
		{"server platform id as string", one(set("certificate.server_platform.id", "45")), nil},
		{"server platform other as string", one(set("certificate.server_platform.id", "-1")), []string{"invalid_value:certificate.server_platform.id"}},
		{"ca cert id not string", one(set("certificate.ca_cert_id", num(7))), []string{"invalid_value:certificate.ca_cert_id"}},
		{"signature hash unknown", one(set("certificate.signature_hash", "md5")), []string{"invalid_value:certificate.signature_hash"}},

		// cs_provisioning_method and CSR.
		{"method omitted means email", one(remove("cs_provisioning_method")), nil},
		{"method unknown", one(set("cs_provisioning_method", "fax")), []string{"invalid_value:cs_provisioning_method"}},
		{"csr missing with email", one(remove("certificate.csr")), []string{"required_param:certificate.csr"}},
		{"csr empty with email", one(set("certificate.csr", "  ")), []string{"required_param:certificate.csr"}},
		{"csr with client app", one(set("cs_provisioning_method", "client_app")), []string{"invalid_value:certificate.csr"}},
		{"csr with ship token", with(shipTokenOrder, one(set("certificate.csr", testRSACSR()))), []string{"invalid_value:certificate.csr"}},
		{"csr unparseable", one(set("certificate.csr", "-----BEGIN CERTIFICATE REQUEST-----MIIB-----END CERTIFICATE REQUEST-----")), []string{"csr_invalid_cannot_parse"}},
		{"csr key refused", with(one(set("certificate.csr", testWeakCSR())), one(remove("certificate.key_size"))), []string{"invalid_value:certificate.csr"}},
		{"csr over limit", one(set("certificate.csr", strings.Repeat("A", maxCSRBytes+1))), []string{"invalid_value:certificate.csr"}},
		{"csr not string", one(set("certificate.csr", num(1))), []string{"invalid_value:certificate.csr"}},

		// key_size and csr_key_type.
		{"key size misprinted curve", one(set("certificate.key_size", "p-354")), []string{"invalid_value:certificate.key_size"}},
		{"key size unknown", one(set("certificate.key_size", num(1024))), []string{"invalid_value:certificate.key_size"}},
		{"key size as digit string", one(set("certificate.key_size", "2048")), nil},
		{"key size contradicts csr", one(set("certificate.key_size", num(4096))), []string{"invalid_value:certificate.key_size"}},
		{"key type contradicts csr", with(one(set("certificate.csr_key_type", "ecc")), one(remove("certificate.key_size"))), []string{"invalid_value:certificate.csr_key_type"}},
		{"key type unknown", one(set("certificate.csr_key_type", "dsa")), []string{"invalid_value:certificate.csr_key_type"}},
		{"key size contradicts key type", with(shipTokenOrder, one(set("certificate.csr_key_type", "ecc")), one(set("certificate.key_size", num(2048)))), []string{"invalid_value:certificate.key_size"}},
		{"rsa curve contradicts key type", with(shipTokenOrder, one(set("certificate.csr_key_type", "rsa")), one(set("certificate.key_size", "P-256"))), []string{"invalid_value:certificate.key_size"}},
		{"ecc csr with curve size", with(one(set("certificate.csr", testECCCSR())), one(set("certificate.csr_key_type", "ECC")), one(set("certificate.key_size", "p-256"))), nil},

		// ship_info.
		{"ship token valid", shipTokenOrder, nil},
		{"ship info missing with ship token", with(shipTokenOrder, one(remove("ship_info"))), []string{"required_param:ship_info"}},
		{"ship info with email", one(func(t testing.TB, body map[string]any) { body["ship_info"] = shipInfo() }), []string{"invalid_value:ship_info"}},
		{"ship info null with email", one(set("ship_info", nil)), nil},
		{"ship info name missing", with(shipTokenOrder, one(remove("ship_info.name"))), []string{"required_param:ship_info.name"}},
		{"ship info addr2 empty", with(shipTokenOrder, one(set("ship_info.addr2", ""))), nil},
		{"ship info method unknown", with(shipTokenOrder, one(set("ship_info.method", "overnight"))), []string{"invalid_value:ship_info.method"}},
		{"ship info country UK", with(shipTokenOrder, one(set("ship_info.country", "uk"))), []string{"invalid_value:ship_info.country"}},

		// organization.
		{"organization missing", one(remove("organization")), []string{"required_param:organization"}},
		{"organization existing by id", existingOrganization, nil},
		{"organization id with empty details", with(existingOrganization, one(set("organization.name", ""))), nil},
		{"organization id invalid", with(existingOrganization, one(set("organization.id", "org-1"))), []string{"invalid_value:organization.id"}},
		{"organization id zero needs details", with(existingOrganization, one(set("organization.id", num(0)))), []string{
			"required_param:organization.address", "required_param:organization.city", "required_param:organization.country",
			"required_param:organization.name", "required_param:organization.state", "required_param:organization.zip",
		}},
		{"organization id empty string needs details", with(existingOrganization, one(set("organization.id", ""))), []string{
			"required_param:organization.address", "required_param:organization.city", "required_param:organization.country",
			"required_param:organization.name", "required_param:organization.state", "required_param:organization.zip",
		}},
		{"organization name missing", one(remove("organization.name")), []string{"required_param:organization.name"}},
		{"organization name over limit", with(one(set("organization.name", strings.Repeat("n", 65))), one(remove("organization.assumed_name"))), []string{"invalid_value:organization.name"}},
		{"organization names together over limit", with(one(set("organization.name", strings.Repeat("n", 40))), one(set("organization.assumed_name", strings.Repeat("a", 22)))), []string{"invalid_value:organization.assumed_name"}},
		{"organization names together at limit", with(one(set("organization.name", strings.Repeat("n", 40))), one(set("organization.assumed_name", strings.Repeat("a", 21)))), nil},
		{"organization zip over limit", one(set("organization.zip", strings.Repeat("9", 41))), []string{"invalid_value:organization.zip"}},
		{"organization telephone over limit", one(set("organization.telephone", strings.Repeat("5", 33))), []string{"invalid_value:organization.telephone"}},
		{"organization country UK", one(set("organization.country", "UK")), []string{"invalid_value:organization.country"}},
		{"organization country unassigned", one(set("organization.country", "ZZ")), []string{"invalid_value:organization.country"}},
		{"organization skip check not bool", one(set("organization.skip_duplicate_org_check", "yes")), []string{"invalid_value:organization.skip_duplicate_org_check"}},

		// organization.contacts and root-level contacts.
		{"contacts omitted", one(remove("organization.contacts")), nil},
		{"contacts not array", one(set("organization.contacts", "x")), []string{"invalid_value:organization.contacts"}},
		{"contacts over limit", one(set("organization.contacts", repeated(11, func(int) any { return map[string]any{"contact_type": "verified_contact", "user_id": num(1)} }))), []string{"invalid_value:organization.contacts"}},
		{"contact not object", one(set("organization.contacts[1]", "ann")), []string{"invalid_value:organization.contacts[1]"}},
		{"contact type missing", one(remove("organization.contacts[0].contact_type")), []string{"required_param:organization.contacts[0].contact_type"}},
		{"contact type unknown", one(set("organization.contacts[0].contact_type", "billing_contact")), []string{"invalid_value:organization.contacts[0].contact_type"}},
		{"contact verified", one(set("organization.contacts[0].contact_type", "verified_contact")), nil},
		{"new contact email missing", one(remove("organization.contacts[1].email")), []string{"required_param:organization.contacts[1].email"}},
		{"new contact every detail missing", one(set("organization.contacts[1]", map[string]any{"contact_type": "technical_contact"})), []string{
			"required_param:organization.contacts[1].email", "required_param:organization.contacts[1].first_name",
			"required_param:organization.contacts[1].job_title", "required_param:organization.contacts[1].last_name",
			"required_param:organization.contacts[1].telephone",
		}},
		{"existing contact by id zero is new", one(set("organization.contacts[0].user_id", num(0))), []string{
			"required_param:organization.contacts[0].email", "required_param:organization.contacts[0].first_name",
			"required_param:organization.contacts[0].job_title", "required_param:organization.contacts[0].last_name",
			"required_param:organization.contacts[0].telephone",
		}},
		{"existing contact detail invalid", one(set("organization.contacts[0].email", "not an address")), []string{"invalid_value:organization.contacts[0].email"}},
		{"contact email with display name", one(set("organization.contacts[1].email", "Ann Lee <ann.lee@example.com>")), []string{"invalid_value:organization.contacts[1].email"}},
		{"contact email in angle brackets", one(set("organization.contacts[1].email", "<ann.lee@example.com>")), []string{"invalid_value:organization.contacts[1].email"}},
		{"contact email without dotted domain", one(set("organization.contacts[1].email", "ann@localhost")), []string{"invalid_value:organization.contacts[1].email"}},
		{"contact first name over limit", one(set("organization.contacts[1].first_name", strings.Repeat("a", 65))), []string{"invalid_value:organization.contacts[1].first_name"}},
		{"two organization contacts", one(set("organization.contacts[1].contact_type", "organization_contact")), []string{"invalid_value:organization.contacts[1].contact_type"}},
		{"root contact new detail missing", one(remove("organization_contact.job_title")), []string{"required_param:organization_contact.job_title"}},
		{"root contact type contradicts", one(set("technical_contact.contact_type", "organization_contact")), []string{"invalid_value:technical_contact.contact_type"}},
		{"root contact id invalid", one(set("technical_contact.id", "abc")), []string{"invalid_value:technical_contact.id"}},
		{"root contact not object", one(set("technical_contact", jsonArray(t, "[]"))), []string{"invalid_value:technical_contact"}},

		// container, renewal and free-text options.
		{"container without id", one(set("container", map[string]any{})), []string{"required_param:container.id"}},
		{"container id zero", one(set("container.id", num(0))), []string{"invalid_value:container.id"}},
		{"renewal id given", one(set("renewal_of_order_id", "123")), nil},
		{"renewal id null", one(set("renewal_of_order_id", nil)), nil},
		{"renewal id invalid", one(set("renewal_of_order_id", "abc")), []string{"invalid_value:renewal_of_order_id"}},
		{"thumbprint valid lower case", one(set("renewed_thumbprint", strings.Repeat("ab", 20))), nil},
		{"thumbprint too short", one(set("renewed_thumbprint", strings.Repeat("ab", 19))), []string{"invalid_value:renewed_thumbprint"}},
		{"thumbprint not hex", one(set("renewed_thumbprint", strings.Repeat("zz", 20))), []string{"invalid_value:renewed_thumbprint"}},
		{"comments over limit", one(set("comments", strings.Repeat("c", 2001))), []string{"invalid_value:comments"}},
		{"comments at limit", one(set("comments", strings.Repeat("c", 2000))), nil},
		{"renewal message over limit", one(set("custom_renewal_message", strings.Repeat("m", 2001))), []string{"invalid_value:custom_renewal_message"}},
		{"promo code over limit", one(set("promo_code", strings.Repeat("p", 65))), []string{"invalid_value:promo_code"}},
		{"promo code not string", one(set("promo_code", num(10))), []string{"invalid_value:promo_code"}},

		// additional_emails and user_id_assignments.
		{"additional email invalid at index", one(set("additional_emails[1]", "leon")), []string{"invalid_value:additional_emails[1]"}},
		{"additional email display name", one(set("additional_emails[0]", "Jill <jill@example.com>")), []string{"invalid_value:additional_emails[0]"}},
		{"additional email empty", one(set("additional_emails[0]", "")), []string{"invalid_value:additional_emails[0]"}},
		{"additional emails over limit", one(set("additional_emails", repeated(101, func(i int) any { return "user" + strings.Repeat("x", i%5) + "@example.com" }))), []string{"invalid_value:additional_emails"}},
		{"additional emails at limit", one(set("additional_emails", repeated(100, func(int) any { return "user@example.com" }))), nil},
		{"additional email over length limit", one(set("additional_emails[0]", strings.Repeat("a", 64)+"@"+strings.Repeat("b", 186)+".com")), []string{"invalid_value:additional_emails[0]"}},
		{"user assignment invalid", one(set("user_id_assignments[0]", "me")), []string{"invalid_value:user_id_assignments[0]"}},
		{"user assignment zero", one(set("user_id_assignments[1]", num(0))), []string{"invalid_value:user_id_assignments[1]"}},
		{"user assignments over limit", one(set("user_id_assignments", repeated(101, func(i int) any { return num(int64(i + 1)) }))), []string{"invalid_value:user_id_assignments"}},

		// Agreement and flags.
		{"csa not agreed", one(set("csa_agreed_to", false)), []string{"invalid_value:csa_agreed_to"}},
		{"csa omitted", one(remove("csa_agreed_to")), nil},
		{"csa not bool", one(set("csa_agreed_to", "yes")), []string{"invalid_value:csa_agreed_to"}},
		{"renewal notifications not bool", one(set("disable_renewal_notifications", num(1))), []string{"invalid_value:disable_renewal_notifications"}},

		// order_validity.
		{"validity missing", one(remove("order_validity")), []string{"required_param:order_validity"}},
		{"validity empty", one(set("order_validity", map[string]any{})), []string{"required_param:order_validity.years"}},
		{"validity years over range", one(set("order_validity.years", num(4))), []string{"invalid_value:order_validity.years"}},
		{"validity years zero counts as omitted", one(set("order_validity.years", num(0))), []string{"required_param:order_validity.years"}},
		{"validity days zero beside years", one(set("order_validity", map[string]any{"years": num(1), "days": num(0)})), nil},
		{"validity years negative", one(set("order_validity.years", num(-1))), []string{"invalid_value:order_validity.years"}},
		{"validity years as string", one(set("order_validity.years", "2")), nil},
		{"validity days as string", one(set("order_validity", map[string]any{"days": "30"})), nil},
		{"validity years string with space", one(set("order_validity.years", " 1")), []string{"invalid_value:order_validity.years"}},
		{"validity years string with sign", one(set("order_validity.years", "+1")), []string{"invalid_value:order_validity.years"}},
		{"validity years string fraction", one(set("order_validity.years", "1.5")), []string{"invalid_value:order_validity.years"}},
		{"validity years number fraction", one(set("order_validity.years", json.Number("1.0"))), []string{"invalid_value:order_validity.years"}},
		{"validity years word", one(set("order_validity.years", "one")), []string{"invalid_value:order_validity.years"}},
		{"validity days over range", one(set("order_validity.days", num(1096))), []string{"invalid_value:order_validity.days"}},
		{"validity losing years still checked", one(set("order_validity", map[string]any{"years": num(9), "days": num(30)})), []string{"invalid_value:order_validity.years"}},
		{"validity custom date malformed", one(set("order_validity.custom_expiration_date", "June 9th")), []string{"invalid_value:order_validity.custom_expiration_date"}},
		{"validity custom date today", one(set("order_validity.custom_expiration_date", "15 MAR 2026")), []string{"invalid_value:order_validity.custom_expiration_date"}},
		{"validity custom date beyond three years", one(set("order_validity.custom_expiration_date", "2029-03-16")), []string{"invalid_value:order_validity.custom_expiration_date"}},
		{"validity custom date at three years", one(set("order_validity.custom_expiration_date", "2029-03-15")), nil},
		{"validity custom date not string", one(set("order_validity.custom_expiration_date", num(20270101))), []string{"invalid_value:order_validity.custom_expiration_date"}},

		// payment_method, credit_card and billing_address.
		{"payment method missing", one(remove("payment_method")), []string{"required_param:payment_method"}},
		{"payment method not offered", one(set("payment_method", "wire_transfer")), []string{"invalid_value:payment_method"}},
		{"payment method unknown", one(set("payment_method", "bitcoin")), []string{"invalid_value:payment_method"}},
		{"balance ignores card objects", with(one(set("payment_method", "Balance")), one(set("credit_card.number", "1"))), nil},
		{"card object missing", one(remove("credit_card")), []string{"required_param:credit_card"}},
		{"card number missing", one(remove("credit_card.number")), []string{"required_param:credit_card.number"}},
		{"card number fails luhn", one(set("credit_card.number", "4111 1111 1111 1112")), []string{"invalid_value:credit_card.number"}},
		{"card number too short", one(set("credit_card.number", "4111 1111 111")), []string{"invalid_value:credit_card.number"}},
		{"card number too long", one(set("credit_card.number", strings.Repeat("4", 20))), []string{"invalid_value:credit_card.number"}},
		{"card number letters", one(set("credit_card.number", "4111-1111-1111-111O")), []string{"invalid_value:credit_card.number"}},
		{"card number with dashes", one(set("credit_card.number", "4111-1111-1111-1111")), nil},
		{"card number not string", one(set("credit_card.number", num(4111111111111111))), []string{"invalid_value:credit_card.number"}},
		{"card month thirteen", one(set("credit_card.expiration_month", "13")), []string{"invalid_value:credit_card.expiration_month"}},
		{"card month as integer", one(set("credit_card.expiration_month", num(9))), nil},
		{"card year two digits", one(set("credit_card.expiration_year", "28")), []string{"invalid_value:credit_card.expiration_year"}},
		{"card year past", one(set("credit_card.expiration_year", "2025")), []string{"invalid_value:credit_card.expiration_year"}},
		{"card expired this year", with(one(set("credit_card.expiration_year", num(2026))), one(set("credit_card.expiration_month", "02"))), []string{"invalid_value:credit_card.expiration_month"}},
		{"card expiring this month", with(one(set("credit_card.expiration_year", num(2026))), one(set("credit_card.expiration_month", "03"))), nil},
		{"card cvv two digits", one(set("credit_card.cvv", "12")), []string{"invalid_value:credit_card.cvv"}},
		{"card cvv four digits", one(set("credit_card.cvv", "1234")), nil},
		{"card cvv missing", one(remove("credit_card.cvv")), []string{"required_param:credit_card.cvv"}},
		{"cardholder name missing", one(remove("credit_card.cardholder_name")), []string{"required_param:credit_card.cardholder_name"}},
		{"card save preference not bool", one(set("credit_card.save_credit_card", "yes")), []string{"invalid_value:credit_card.save_credit_card"}},
		{"card set as default missing", one(remove("credit_card.set_as_default")), []string{"required_param:credit_card.set_as_default"}},
		{"card set as default two", one(set("credit_card.set_as_default", "2")), []string{"invalid_value:credit_card.set_as_default"}},
		{"card month zero", one(set("credit_card.expiration_month", "00")), []string{"invalid_value:credit_card.expiration_month"}},
		{"card month three digits", one(set("credit_card.expiration_month", "009")), []string{"invalid_value:credit_card.expiration_month"}},
		{"card month missing", one(remove("credit_card.expiration_month")), []string{"required_param:credit_card.expiration_month"}},
		{"card year too far ahead", one(set("credit_card.expiration_year", "2047")), []string{"invalid_value:credit_card.expiration_year"}},
		{"card cvv five digits", one(set("credit_card.cvv", "12345")), []string{"invalid_value:credit_card.cvv"}},
		{"card cvv letters", one(set("credit_card.cvv", "12a")), []string{"invalid_value:credit_card.cvv"}},
		{"card cvv as number", one(set("credit_card.cvv", num(321))), nil},
		{"cardholder name empty", one(set("credit_card.cardholder_name", " ")), []string{"required_param:credit_card.cardholder_name"}},
		{"card set as default one", one(set("credit_card.set_as_default", num(1))), nil},
		{"card save preference true", one(set("credit_card.save_credit_card", true)), nil},
		{"payment method profile", one(set("payment_method", "profile")), nil},
		{"payment profile id not a number", with(one(set("payment_method", "profile")), one(set("payment_profile", map[string]any{"id": "x"}))), []string{"invalid_value:payment_profile.id"}},
		{"billing address missing", one(remove("billing_address")), []string{"required_param:billing_address"}},
		{"billing zip missing in US", one(remove("billing_address.zip")), []string{"required_param:billing_address.zip"}},
		{"billing state missing in CA", with(one(set("billing_address.country", "CA")), one(remove("billing_address.state"))), []string{"required_param:billing_address.state"}},
		{"billing city missing", one(remove("billing_address.city")), []string{"required_param:billing_address.city"}},
		{"billing state missing in US", one(remove("billing_address.state")), []string{"required_param:billing_address.state"}},
		{"billing state optional in DE", with(one(set("billing_address.country", "de")), one(remove("billing_address.state"))), nil},
		{"billing zip missing in DE", with(one(set("billing_address.country", "DE")), one(remove("billing_address.zip"))), []string{"required_param:billing_address.zip"}},
		{"billing zip optional in HK", with(one(set("billing_address.country", "HK")), one(remove("billing_address.zip")), one(remove("billing_address.state"))), nil},
		{"billing country UK", one(set("billing_address.country", "UK")), []string{"invalid_value:billing_address.country"}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tree any = validBody(t)
			if tc.name == "body not an object" {
				tree = []any{}
			}
			for _, m := range tc.mutations {
				m(t, tree.(map[string]any))
			}

			request, err := ParseDSOrg(tree, testNow)
			got := problemCodes(t, err)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("codes = %q, want %q\n%s", got, tc.want, problemText(err))
			}
			if err == nil && request == nil {
				t.Fatal("ParseDSOrg returned neither a request nor an error")
			}
		})
	}
}

// TestIntegerAsStringMessage checks that a value that is neither a JSON
// integer nor a string of digits gets a message naming the field and both
// accepted forms.
func TestIntegerAsStringMessage(t *testing.T) {
	body := validBody(t)
	set("order_validity.years", "one")(t, body)

	_, err := ParseDSOrg(body, testNow)
	want := `order_validity.years must be an integer or a string of digits, not "one"`
	if text := problemText(err); !strings.Contains(text, want) {
		t.Errorf("problems:\n%s\nwant one containing %q", text, want)
	}
}
