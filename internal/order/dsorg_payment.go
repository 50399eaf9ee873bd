package order

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/payment"
)

// Values of payment_method. profile charges a card saved by an earlier
// order (save_credit_card or set_as_default).
const (
	paymentBalance = "balance"
	paymentCard    = "card"
	paymentProfile = "profile"
)

var paymentMethods = []string{paymentBalance, paymentCard, paymentProfile}

// unofferedPaymentMethods are CertCentral payment methods that this CA does
// not offer. They get their own message, because a CertCentral client may
// send them in good faith.
var unofferedPaymentMethods = []string{"wire_transfer"}

// Card limits. A card number has 12 to 19 digits (ISO/IEC 7812-1 allows up
// to 19). An expiration year more than maxCardYearsAhead ahead is a typing
// error, because issuers print expiry dates at most a few years ahead.
const (
	minCardDigits     = 12
	maxCardDigits     = 19
	maxCardYearsAhead = 20
)

// Card is a validated credit card. The full number and the CVV stay in an
// unexported field for the one processor charge of the request. They are
// never stored, and String shows only the brand and the last four digits.
type Card struct {
	// Brand is visa, mastercard, amex, discover or other, derived from the
	// number's prefix.
	Brand    string
	LastFour string
	// ExpirationMonth is 1 to 12, and the card is valid through the end of
	// that month of ExpirationYear.
	ExpirationMonth int
	ExpirationYear  int
	CardholderName  string
	// SaveCard is the save_credit_card preference, nil when it was not stated.
	SaveCard *bool
	// SetAsDefault is true when set_as_default was 1.
	SetAsDefault bool

	secret payment.CardDetails
}

// GoString keeps %#v as safe as %v.
func (c Card) GoString() string { return c.String() }

// details returns the card as the payment processor takes it.
func (c *Card) details() payment.CardDetails { return c.secret }

// saveRequested reports whether the card becomes a payment profile: the
// client asked to save it, or to make it the default payment method.
func (c *Card) saveRequested() bool {
	return (c.SaveCard != nil && *c.SaveCard) || c.SetAsDefault
}

// String returns only the brand and the last four digits, for example
// "visa ending in 1111".
func (c Card) String() string {
	return c.Brand + " ending in " + c.LastFour
}

// BillingAddress is the billing address of a card payment.
type BillingAddress struct {
	Address  string
	Address2 string
	City     string
	// State is required for the countries in countriesRequiringState.
	State string
	// Zip is required except for the countries in countriesWithoutPostalCodes.
	Zip     string
	Country string
}

// readPayment reads payment_method, credit_card and billing_address when
// the method is card, and the optional payment_profile when it is profile.
// Objects that the method does not use are ignored.
func (r *fieldReader) readPayment(root jsonObject, request *DSOrgRequest, now time.Time) {
	method, ok := r.readPaymentMethod(root)
	request.PaymentMethod = method
	if ok && method == paymentProfile {
		request.PaymentProfileID = r.readPaymentProfile(root)
	}
	if !ok || method != paymentCard {
		return
	}

	if object, ok := r.requiredObject(root, "credit_card"); ok {
		request.Card = r.readCard(object, now)
	}

	if object, ok := r.requiredObject(root, "billing_address"); ok {
		request.BillingAddress = r.readBillingAddress(object)
	}
}

func (r *fieldReader) readPaymentMethod(root jsonObject) (string, bool) {
	const key = "payment_method"
	if value, present := root.lookup(key); present {
		if s, isString := value.(string); isString {
			if _, unoffered := enumValue(s, unofferedPaymentMethods); unoffered {
				r.problems.Invalid(key, "payment_method %s is not offered by this CA: use balance, card or profile", echo(s))
				return "", false
			}
		}
	}
	return r.requiredEnum(root, key, paymentMethods)
}

// readCard reads credit_card. Messages about the number and the CVV state
// only the rule that failed and never repeat the value.
func (r *fieldReader) readCard(object jsonObject, now time.Time) *Card {
	card := &Card{}
	if digits, ok := r.readCardNumber(object); ok {
		card.Brand = cardBrand(digits)
		card.LastFour = digits[len(digits)-4:]
		card.secret.Number = digits
	}

	month, monthOK := r.readExpirationMonth(object)
	year, yearOK := r.readExpirationYear(object, now)
	if monthOK && yearOK {
		r.checkCardNotExpired(object, month, year, now)
	}
	card.ExpirationMonth, card.ExpirationYear = month, year

	card.secret.CVV = r.readCVV(object)
	card.CardholderName, _ = r.requiredText(object, "cardholder_name", maxNameLength)
	card.secret.ExpirationMonth, card.secret.ExpirationYear = month, year
	card.secret.CardholderName = card.CardholderName

	if save, given := r.optionalBool(object, "save_credit_card"); given {
		card.SaveCard = &save
	}
	card.SetAsDefault = r.readSetAsDefault(object)
	return card
}

// readCardNumber returns the digits of credit_card.number after removing
// spaces and dashes.
func (r *fieldReader) readCardNumber(object jsonObject) (string, bool) {
	path := object.childPath("number")
	value, present := object.lookup("number")
	if !present {
		r.problems.Required(path, "%s is required", path)
		return "", false
	}

	text, isString := value.(string)
	if !isString {
		r.wrongType(path, "a string", value)
		return "", false
	}

	digits := strings.NewReplacer(" ", "", "-", "").Replace(text)
	switch {
	case digits == "":
		r.problems.Required(path, "%s is required and must not be empty", path)
		return "", false
	case !isDigits(digits):
		r.problems.Invalid(path, "%s may contain only digits, spaces and dashes", path)
		return "", false
	case len(digits) < minCardDigits || len(digits) > maxCardDigits:
		r.problems.Invalid(path, "%s has %d digits, but a card number has %d to %d digits",
			path, len(digits), minCardDigits, maxCardDigits)
		return "", false
	case !luhnValid(digits):
		r.problems.Invalid(path, "%s fails the Luhn check digit test: check the number for typing errors", path)
		return "", false
	}
	return digits, true
}

// luhnValid applies the Luhn check digit test (ISO/IEC 7812-1 Annex B) to a
// string of ASCII digits.
func luhnValid(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// cardBrand derives the brand from the issuer identification number prefix.
func cardBrand(digits string) string {
	prefix := func(n int) int {
		value := 0
		for i := 0; i < n && i < len(digits); i++ {
			value = value*10 + int(digits[i]-'0')
		}
		return value
	}

	switch {
	case digits[0] == '4':
		return "visa"
	case prefix(2) >= 51 && prefix(2) <= 55, prefix(4) >= 2221 && prefix(4) <= 2720:
		return "mastercard"
	case prefix(2) == 34, prefix(2) == 37:
		return "amex"
	case prefix(4) == 6011, prefix(2) == 65, prefix(3) >= 644 && prefix(3) <= 649,
		prefix(6) >= 622126 && prefix(6) <= 622925:
		return "discover"
	default:
		return "other"
	}
}

// readExpirationMonth reads credit_card.expiration_month: 1 to 12, as an
// integer or as a string of one or two digits ("01" to "12").
func (r *fieldReader) readExpirationMonth(object jsonObject) (int, bool) {
	path := object.childPath("expiration_month")
	value, present := object.lookup("expiration_month")
	if !present {
		r.problems.Required(path, "%s is required: use 01 to 12", path)
		return 0, false
	}

	month, ok := integerValue(value)
	if s, isString := value.(string); isString && len(s) > 2 {
		ok = false
	}

	if !ok || month < 1 || month > 12 {
		r.problems.Invalid(path, "%s %s is not a month: use 01 to 12", path, echoAny(value))
		return 0, false
	}
	return int(month), true
}

// readExpirationYear reads credit_card.expiration_year: four digits, not
// before the current year (UTC) and at most maxCardYearsAhead ahead.
func (r *fieldReader) readExpirationYear(object jsonObject, now time.Time) (int, bool) {
	path := object.childPath("expiration_year")
	value, present := object.lookup("expiration_year")
	if !present {
		r.problems.Required(path, "%s is required: use four digits, such as 2030", path)
		return 0, false
	}

	year, ok := integerValue(value)
	if !ok || year < 1000 || year > 9999 {
		r.problems.Invalid(path, "%s %s is not a four-digit year: use four digits, such as 2030", path, echoAny(value))
		return 0, false
	}

	currentYear := int64(now.UTC().Year())
	if year < currentYear {
		r.problems.Invalid(path, "%s %d is in the past, so the card has expired: use a valid card", path, year)
		return 0, false
	}

	if year > currentYear+maxCardYearsAhead {
		r.problems.Invalid(path, "%s %d is more than %d years ahead: check the year on the card", path, year, maxCardYearsAhead)
		return 0, false
	}
	return int(year), true
}

// checkCardNotExpired checks that the card is valid through the end of its
// expiry month relative to now (UTC).
func (r *fieldReader) checkCardNotExpired(object jsonObject, month, year int, now time.Time) {
	current := now.UTC()
	if year == current.Year() && time.Month(month) < current.Month() {
		path := object.childPath("expiration_month")
		r.problems.Invalid(path, "the card expired at the end of %02d/%d: use a valid card", month, year)
	}
}

// readCVV returns credit_card.cvv: 3 or 4 digits, as a string or a JSON
// number. It returns "" when the value is missing or invalid.
func (r *fieldReader) readCVV(object jsonObject) string {
	path := object.childPath("cvv")
	value, present := object.lookup("cvv")
	if !present {
		r.problems.Required(path, "%s is required", path)
		return ""
	}

	var text string
	switch v := value.(type) {
	case string:
		text = strings.TrimSpace(v)
	case json.Number:
		text = string(v)
	default:
		r.wrongType(path, "a string of 3 or 4 digits", value)
		return ""
	}

	if text == "" {
		r.problems.Required(path, "%s is required and must not be empty", path)
		return ""
	}

	if !isDigits(text) || len(text) < 3 || len(text) > 4 {
		r.problems.Invalid(path, "%s must be 3 or 4 digits", path)
		return ""
	}
	return text
}

// readPaymentProfile reads the optional payment_profile.id of a profile
// payment. It returns 0 when the object is absent, and the order then
// uses the account's default profile.
func (r *fieldReader) readPaymentProfile(root jsonObject) int64 {
	object, ok := r.optionalObject(root, "payment_profile")
	if !ok {
		return 0
	}
	id, _ := r.optionalID(object, "id")
	return id
}

// readSetAsDefault reads credit_card.set_as_default: 1 makes the card the
// default payment method and 0 keeps the current default. Both may be sent
// as integers or strings.
func (r *fieldReader) readSetAsDefault(object jsonObject) bool {
	path := object.childPath("set_as_default")
	value, present := object.lookup("set_as_default")
	if !present {
		r.problems.Required(path, "%s is required: send 1 to make this card the default payment method or 0 to keep the current default", path)
		return false
	}

	flag, ok := integerValue(value)
	if !ok || (flag != 0 && flag != 1) {
		r.problems.Invalid(path, "%s %s is not allowed: use 1 or 0", path, echoAny(value))
		return false
	}
	return flag == 1
}

// readBillingAddress reads billing_address. Whether state and zip are
// required depends on the country, so an invalid country leaves both optional.
func (r *fieldReader) readBillingAddress(object jsonObject) *BillingAddress {
	address := &BillingAddress{}
	address.Address, _ = r.requiredText(object, "address", maxNameLength)
	address.Address2, _ = r.optionalText(object, "address2", maxNameLength, singleLine)
	address.City, _ = r.requiredText(object, "city", maxNameLength)
	country, countryOK := r.requiredCountry(object, "country")
	address.Country = country

	stateRequired := countryOK && countriesRequiringState[country]
	address.State = r.conditionalText(object, "state", maxNameLength, stateRequired,
		"for country "+country+", which has states or provinces")

	zipRequired := countryOK && !countriesWithoutPostalCodes[country]
	address.Zip = r.conditionalText(object, "zip", maxZipLength, zipRequired,
		"for country "+country+", which has postal codes")
	return address
}

// conditionalText reads an optional text field and records it as missing
// when required is true, with reason completing the message.
func (r *fieldReader) conditionalText(object jsonObject, key string, maxLength int, required bool, reason string) string {
	problemsBefore := r.problems.Len()
	text, ok := r.optionalText(object, key, maxLength, singleLine)
	if !ok && required && r.problems.Len() == problemsBefore {
		path := object.childPath(key)
		r.problems.Required(path, "%s is required %s", path, reason)
	}
	return text
}
