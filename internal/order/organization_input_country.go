package order

import (
	"strings"
)

// assignedCountryCodes lists the 249 officially assigned ISO 3166-1 alpha-2
// codes, as published in Debian's iso-codes 4.15.0 (iso_3166-1.json).
// Reserved codes such as UK, EU and XK are not assigned and so are rejected.
const assignedCountryCodes = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE " +
	"BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD " +
	"CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM " +
	"DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF " +
	"GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN " +
	"KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME " +
	"MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA " +
	"NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM " +
	"PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI " +
	"SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK " +
	"TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI " +
	"VN VU WF WS YE YT ZA ZM ZW"

var assignedCountries = countrySet(assignedCountryCodes)

// countriesRequiringState are the countries whose postal addresses always
// include a state or province, so that a billing address without one is
// incomplete.
//
// NOTE: the list covers large federal countries only. Other countries with
// states (CN, JP, IT and more) accept a billing address without one.
var countriesRequiringState = countrySet("US CA AU IN BR MX")

// countriesWithoutPostalCodes are the countries where a billing address may
// omit the zip. Most of them have no national postal code system. IE has one
// (Eircode, since 2015), but mail is delivered without it.
//
// NOTE: compiled from general knowledge of national postal systems, not from
// an authoritative registry. A country missing here only makes zip required.
var countriesWithoutPostalCodes = countrySet("" +
	"AE AG AO AW BF BI BJ BO BQ BS BW BZ CD CF CG CI CK CM CW DJ " +
	"DM ER FJ GA GD GH GM GQ GY HK IE KI KM KN KP ML MO MR MW NR " +
	"NU QA RW SB SC SL SR SS ST SX SY TD TF TG TK TL TO TV UG VU " +
	"YE ZW")

func countrySet(codes string) map[string]bool {
	set := make(map[string]bool)
	for _, code := range strings.Fields(codes) {
		set[code] = true
	}
	return set
}

// requiredCountry reads a required country code at key and returns it in
// upper case.
func (r *fieldReader) requiredCountry(object jsonObject, key string) (string, bool) {
	return r.requiredCountryOr(object, key, "")
}

// requiredCountryOr is requiredCountry with the alternative of requiredTextOr.
func (r *fieldReader) requiredCountryOr(object jsonObject, key, alternative string) (string, bool) {
	text, ok := r.requiredTextOr(object, key, maxCodeLength, alternative)
	if !ok {
		return "", false
	}
	return r.countryValue(text, object.childPath(key))
}

// countryValue matches an ISO 3166-1 alpha-2 code case-insensitively.
func (r *fieldReader) countryValue(text, path string) (string, bool) {
	code := strings.ToUpper(text)
	if assignedCountries[code] {
		return code, true
	}

	if code == "UK" {
		r.problems.Invalid(path, "%s %s is not an ISO 3166-1 code: use GB for the United Kingdom", path, echo(text))
		return "", false
	}

	r.problems.Invalid(path, "%s %s is not an assigned ISO 3166-1 alpha-2 code: use a two-letter code such as US, GB or DE",
		path, echo(text))
	return "", false
}
