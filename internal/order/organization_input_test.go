package order

import (
	"slices"
	"strings"
	"testing"
)

const organizationBodyJSON = `{
  "name": "Example Org, Inc.",
  "assumed_name": "Example",
  "address": "360 Taylor Street",
  "address2": "Floor 74",
  "city": "Richmond",
  "state": "VA",
  "zip": "69662",
  "country": "us",
  "telephone": "+1 555 0100",
  "organization_contact": {"first_name": "Ann", "last_name": "Lee", "email": "ann@Example.com",
                           "job_title": "Director", "telephone": "+1 555 0101"}
}`

func TestParseOrganizationRules(t *testing.T) {
	cases := []ruleCase{
		{"valid body", nil, nil},
		{"name missing", one(remove("name")), []string{"required_param:name"}},
		{"name empty", one(set("name", "   ")), []string{"required_param:name"}},
		{"address missing", one(remove("address")), []string{"required_param:address"}},
		{"city missing", one(remove("city")), []string{"required_param:city"}},
		{"state missing", one(remove("state")), []string{"required_param:state"}},
		{"zip missing", one(remove("zip")), []string{"required_param:zip"}},
		{"country missing", one(remove("country")), []string{"required_param:country"}},
		{"optional fields omitted", with(one(remove("assumed_name")), one(remove("address2")), one(remove("telephone")), one(remove("organization_contact"))), nil},
		{"country UK", one(set("country", "uk")), []string{"invalid_value:country"}},
		{"country three letters", one(set("country", "USA")), []string{"invalid_value:country"}},
		{"city over limit", one(set("city", strings.Repeat("c", 65))), []string{"invalid_value:city"}},
		{"address2 over limit", one(set("address2", strings.Repeat("a", 65))), []string{"invalid_value:address2"}},
		{"names together over limit", one(set("assumed_name", strings.Repeat("a", 45))), []string{"invalid_value:assumed_name"}},
		{"contact email missing", one(remove("organization_contact.email")), []string{"required_param:organization_contact.email"}},
		{"contact existing user", one(set("organization_contact", map[string]any{"user_id": "77"})), nil},
		{"contact type contradicts", one(set("organization_contact.contact_type", "technical_contact")), []string{"invalid_value:organization_contact.contact_type"}},
		{"skip check not bool", one(set("skip_duplicate_org_check", "true")), []string{"invalid_value:skip_duplicate_org_check"}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := decodeTree(t, organizationBodyJSON).(map[string]any)
			for _, m := range tc.mutations {
				m(t, body)
			}

			input, err := ParseOrganization(body, testNow)
			got := problemCodes(t, err)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("codes = %q, want %q\n%s", got, tc.want, problemText(err))
			}
			if err == nil && input == nil {
				t.Fatal("ParseOrganization returned neither an input nor an error")
			}
		})
	}
}

// TestParseOrganizationMissingMessage checks that POST /organization, which
// always creates an organization, does not offer organization.id.
func TestParseOrganizationMissingMessage(t *testing.T) {
	body := decodeTree(t, organizationBodyJSON).(map[string]any)
	remove("name")(t, body)

	_, err := ParseOrganization(body, testNow)
	if text := problemText(err); text != "required_param:name: name is required\n" {
		t.Errorf("messages = %q, expected only %q", text, "required_param:name: name is required\n")
	}
}

func TestParseOrganizationOutput(t *testing.T) {
	input, err := ParseOrganization(decodeTree(t, organizationBodyJSON), testNow)
	if err != nil {
		t.Fatalf("ParseOrganization failed:\n%s", problemText(err))
	}

	checks := []struct {
		field     string
		got, want any
	}{
		{"Name", input.Name, "Example Org, Inc."},
		{"Country", input.Country, "US"},
		{"Address2", input.Address2, "Floor 74"},
		{"OrganizationContact.Type", input.OrganizationContact.Type, "organization_contact"},
		{"OrganizationContact.Email", input.OrganizationContact.Email, "ann@example.com"},
		{"SkipDuplicateOrgCheck", input.SkipDuplicateOrgCheck, false},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.field, check.got, check.want)
		}
	}
}

func TestParseOrganizationNotObject(t *testing.T) {
	_, err := ParseOrganization("name", testNow)
	want := []string{"invalid_value:body"}
	if got := problemCodes(t, err); !slices.Equal(got, want) {
		t.Fatalf("codes = %q, want %q", got, want)
	}
}

func TestNormalizedKeyMatches(t *testing.T) {
	base := OrganizationInput{Name: "Acme Inc", Address: "1 Main Street", City: "Lehi", Zip: "84043", Country: "US"}

	cases := []struct {
		name   string
		change func(*OrganizationInput)
	}{
		{"case", func(o *OrganizationInput) { o.Name = "ACME INC" }},
		{"dot after suffix", func(o *OrganizationInput) { o.Name = "Acme Inc." }},
		{"comma before suffix", func(o *OrganizationInput) { o.Name = "Acme, Inc." }},
		{"suffix spelled out", func(o *OrganizationInput) { o.Name = "Acme Incorporated" }},
		{"repeated spaces", func(o *OrganizationInput) { o.Name = "  Acme    Inc "; o.City = " Lehi  " }},
		{"address punctuation", func(o *OrganizationInput) { o.Address = "1, Main Street." }},
		{"ignored fields differ", func(o *OrganizationInput) { o.State = "UT"; o.Address2 = "Suite 5"; o.Telephone = "1" }},
	}

	want := base.NormalizedKey()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			other := base
			tc.change(&other)
			if got := other.NormalizedKey(); got != want {
				t.Fatalf("NormalizedKey() = %q, want %q", got, want)
			}
		})
	}
}

func TestNormalizedKeyLegalForms(t *testing.T) {
	groups := [][]string{
		{"Acme Ltd", "Acme Ltd.", "ACME Limited"},
		{"Acme LLC", "Acme L.L.C.", "Acme, LLC", "Acme Limited Liability Company"},
		{"Acme Corp", "Acme Corp.", "Acme Corporation"},
		{"Acme Co", "Acme Co.", "Acme Company"},
		{"Acme PLC", "Acme P.L.C.", "Acme Public Limited Company"},
		{"Smith & Sons", "Smith and Sons"},
		{"O'Brien GmbH", "OBrien G.m.b.H."},
	}

	for _, group := range groups {
		want := (&OrganizationInput{Name: group[0]}).NormalizedKey()
		for _, name := range group[1:] {
			if got := (&OrganizationInput{Name: name}).NormalizedKey(); got != want {
				t.Errorf("NormalizedKey of %q = %q, want %q as for %q", name, got, want, group[0])
			}
		}
	}
}

func TestNormalizedKeyDistinguishes(t *testing.T) {
	base := OrganizationInput{Name: "Acme Inc", Address: "1 Main Street", City: "Lehi", Zip: "84043", Country: "US"}

	cases := []struct {
		name   string
		change func(*OrganizationInput)
	}{
		{"other name", func(o *OrganizationInput) { o.Name = "Acme Labs Inc" }},
		{"other legal form", func(o *OrganizationInput) { o.Name = "Acme Ltd" }},
		{"other address", func(o *OrganizationInput) { o.Address = "2 Main Street" }},
		{"other city", func(o *OrganizationInput) { o.City = "Provo" }},
		{"other zip", func(o *OrganizationInput) { o.Zip = "84044" }},
		{"other country", func(o *OrganizationInput) { o.Country = "CA" }},
		{"words moved between fields", func(o *OrganizationInput) { o.Name = "Acme Inc 1"; o.Address = "Main Street" }},
	}

	want := base.NormalizedKey()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			other := base
			tc.change(&other)
			if got := other.NormalizedKey(); got == want {
				t.Fatalf("NormalizedKey() = %q, the same as the base organization", got)
			}
		})
	}
}

func TestCountryLists(t *testing.T) {
	if got := len(assignedCountries); got != 249 {
		t.Errorf("assigned country codes = %d, want 249", got)
	}
	if assignedCountries["UK"] {
		t.Error("UK is listed as assigned")
	}

	for name, set := range map[string]map[string]bool{
		"countriesRequiringState":     countriesRequiringState,
		"countriesWithoutPostalCodes": countriesWithoutPostalCodes,
	} {
		for code := range set {
			if !assignedCountries[code] {
				t.Errorf("%s lists %s, which is not an assigned code", name, code)
			}
			if name == "countriesWithoutPostalCodes" && countriesRequiringState[code] {
				t.Errorf("%s is in both lists", code)
			}
		}
	}
}
