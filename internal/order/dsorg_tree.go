package order

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/jsonbody"
)

// This file reads typed values out of a decoded JSON tree: map[string]any,
// []any, string, json.Number, bool and nil, as encoding/json produces with
// UseNumber. Every reader records its violation in the fieldReader's list and
// returns ok=false, so that one pass over a body reports every problem.
//
// General input policies, shared by ParseDSOrg and ParseOrganization:
//   - null for an optional field means the field was omitted.
//   - Unknown fields are ignored, as CertCentral ignores them.
//   - Text is trimmed of surrounding white space. A required text field that is
//     empty after trimming is missing.
//   - Text must not contain control characters. Only free-text fields
//     (comments, custom_renewal_message) may contain line breaks and tabs.
//   - Lengths count Unicode code points, not bytes, except for the CSR.
//   - Integers are JSON integers or strings of ASCII digits, because CertCentral
//     clients send ids both ways (the ds_org examples quote organization.id).

// maxEchoedValueLength is the number of code points of a client's value that
// an error message repeats, so that a huge value does not produce a huge error.
const maxEchoedValueLength = 64

// fieldReader collects the problems found while reading one request body.
type fieldReader struct {
	problems errs.List
}

// jsonObject is a JSON object of the request together with its path, such as
// "organization.contacts[0]". The root object has the empty path.
type jsonObject struct {
	fields map[string]any
	path   string
}

// textKind selects which characters a text field accepts.
type textKind int

const (
	singleLine textKind = iota
	multiLine
)

func (o jsonObject) childPath(key string) string {
	return jsonbody.Path(o.path, key)
}

// lookup returns the value of key and whether it is present and not null.
func (o jsonObject) lookup(key string) (any, bool) {
	value, ok := o.fields[key]
	if !ok || value == nil {
		return nil, false
	}
	return value, true
}

// typeName returns the JSON type name of a decoded value, for messages.
func typeName(value any) string {
	switch value.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, float64, int, int64:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return fmt.Sprintf("an unsupported value of Go type %T", value)
	}
}

// echo quotes a client's value for an error message, shortened to
// maxEchoedValueLength code points. Never pass it a card number or a CVV.
func echo(value string) string {
	if utf8.RuneCountInString(value) <= maxEchoedValueLength {
		return strconv.Quote(value)
	}

	runes := []rune(value)
	return strconv.Quote(string(runes[:maxEchoedValueLength])) + "..."
}

// echoAny renders a scalar value for an error message.
func echoAny(value any) string {
	switch v := value.(type) {
	case string:
		return echo(v)
	case json.Number:
		return echo(string(v))
	case bool, int, int64, float64:
		return fmt.Sprint(v)
	default:
		return typeName(value)
	}
}

func (r *fieldReader) wrongType(path, expected string, value any) {
	r.problems.Invalid(path, "%s must be %s, not %s", path, expected, typeName(value))
}

// requiredObject returns the object at key, recording a problem when it is
// missing or not an object.
func (r *fieldReader) requiredObject(parent jsonObject, key string) (jsonObject, bool) {
	path := parent.childPath(key)
	if _, present := parent.lookup(key); !present {
		r.problems.Required(path, "%s is required and must be an object", path)
		return jsonObject{}, false
	}
	return r.optionalObject(parent, key)
}

// optionalObject returns the object at key. It returns ok=false when the key
// is absent, null or not an object, and records a problem in the last case.
func (r *fieldReader) optionalObject(parent jsonObject, key string) (jsonObject, bool) {
	value, present := parent.lookup(key)
	if !present {
		return jsonObject{}, false
	}
	return r.objectValue(value, parent.childPath(key))
}

func (r *fieldReader) objectValue(value any, path string) (jsonObject, bool) {
	fields, ok := value.(map[string]any)
	if !ok {
		r.wrongType(path, "an object", value)
		return jsonObject{}, false
	}
	return jsonObject{fields: fields, path: path}, true
}

// optionalArray returns the array at key with at most maxLength elements.
func (r *fieldReader) optionalArray(parent jsonObject, key string, maxLength int) ([]any, bool) {
	path := parent.childPath(key)
	value, present := parent.lookup(key)
	if !present {
		return nil, false
	}

	elements, ok := value.([]any)
	if !ok {
		r.wrongType(path, "an array", value)
		return nil, false
	}

	if len(elements) > maxLength {
		r.problems.Invalid(path, "%s has %d entries, more than the limit of %d: send at most %d",
			path, len(elements), maxLength, maxLength)
		return nil, false
	}
	return elements, true
}

// optionalText returns the trimmed string at key. Absent, null and empty
// strings all return ok=false without a problem.
func (r *fieldReader) optionalText(parent jsonObject, key string, maxLength int, kind textKind) (string, bool) {
	value, present := parent.lookup(key)
	if !present {
		return "", false
	}
	return r.textValue(value, parent.childPath(key), maxLength, kind)
}

// requiredText is optionalText that records a missing or empty value.
func (r *fieldReader) requiredText(parent jsonObject, key string, maxLength int) (string, bool) {
	return r.requiredTextOr(parent, key, maxLength, "")
}

// requiredTextOr is requiredText with alternative appended to the message
// of a missing or empty value. alternative is text that continues the
// message, such as the other way to send the same information, or "".
func (r *fieldReader) requiredTextOr(parent jsonObject, key string, maxLength int, alternative string) (string, bool) {
	path := parent.childPath(key)
	value, present := parent.lookup(key)
	if !present {
		r.problems.Required(path, "%s is required%s", path, alternative)
		return "", false
	}

	text, ok := r.textValue(value, path, maxLength, singleLine)
	if ok {
		return text, true
	}

	if s, isString := value.(string); isString && strings.TrimSpace(s) == "" {
		r.problems.Required(path, "%s is required and must not be empty%s", path, alternative)
	}
	return "", false
}

// textValue checks one string value. It returns ok=false without a problem
// for an empty string, so that callers decide whether empty means missing.
func (r *fieldReader) textValue(value any, path string, maxLength int, kind textKind) (string, bool) {
	s, ok := value.(string)
	if !ok {
		r.wrongType(path, "a string", value)
		return "", false
	}

	text := strings.TrimSpace(s)
	if text == "" {
		return "", false
	}

	if length := utf8.RuneCountInString(text); length > maxLength {
		r.problems.Invalid(path, "%s is %d characters long, more than the limit of %d: shorten it",
			path, length, maxLength)
		return "", false
	}

	if position, found := findControlCharacter(text, kind); found {
		r.problems.Invalid(path, "%s contains a control character at position %d: remove it",
			path, position)
		return "", false
	}
	return text, true
}

// findControlCharacter returns the code point position of the first control
// character that kind does not allow.
func findControlCharacter(text string, kind textKind) (int, bool) {
	position := 0
	for _, c := range text {
		allowed := kind == multiLine && (c == '\n' || c == '\r' || c == '\t')
		if unicode.IsControl(c) && !allowed {
			return position, true
		}
		position++
	}
	return 0, false
}

// optionalBool returns the boolean at key and whether it was given.
func (r *fieldReader) optionalBool(parent jsonObject, key string) (bool, bool) {
	value, present := parent.lookup(key)
	if !present {
		return false, false
	}

	b, ok := value.(bool)
	if !ok {
		r.wrongType(parent.childPath(key), "a boolean (true or false)", value)
		return false, false
	}
	return b, true
}

// integerValue converts a JSON integer or a string of ASCII digits. It
// rejects fractions, exponents, signs in strings and values beyond int64.
func integerValue(value any) (int64, bool) {
	switch v := value.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, err == nil
	case string:
		if !isDigits(v) {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	case float64:
		// Trees decoded without UseNumber carry float64. Only integral values
		// that float64 represents exactly are accepted.
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, false
		}
		return int64(v), true
	case int:
		return int64(v), true
	case int64:
		return v, true
	default:
		return 0, false
	}
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// integerField reads an integer at path, recording a problem when the value
// is neither a JSON integer nor a string of digits.
func (r *fieldReader) integerField(value any, path string) (int64, bool) {
	n, ok := integerValue(value)
	if !ok {
		r.problems.Invalid(path, "%s must be an integer or a string of digits, not %s", path, echoAny(value))
		return 0, false
	}
	return n, true
}

// idField reads an id at path. Zero is returned as is, because its meaning
// ("not given" or invalid) depends on the field.
func (r *fieldReader) idField(value any, path string) (int64, bool) {
	id, ok := r.integerField(value, path)
	if !ok {
		return 0, false
	}

	if id < 0 {
		r.problems.Invalid(path, "%s must be a non-negative id, not %d", path, id)
		return 0, false
	}
	return id, true
}

// optionalID reads the id at key and returns ok=false when it is absent.
func (r *fieldReader) optionalID(parent jsonObject, key string) (int64, bool) {
	value, present := parent.lookup(key)
	if !present {
		return 0, false
	}
	return r.idField(value, parent.childPath(key))
}

// positiveIDField reads an id that must name an object, so zero is invalid.
func (r *fieldReader) positiveIDField(value any, path string) (int64, bool) {
	id, ok := r.idField(value, path)
	if !ok {
		return 0, false
	}

	if id == 0 {
		r.problems.Invalid(path, "%s must be a positive id, not 0", path)
		return 0, false
	}
	return id, true
}

// enumValue matches a string case-insensitively against allowed and returns
// the allowed spelling.
func enumValue(s string, allowed []string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, candidate := range allowed {
		if strings.EqualFold(s, candidate) {
			return candidate, true
		}
	}
	return "", false
}

// optionalEnum reads the string at key and matches it against allowed. An
// absent, null or empty value returns fallback.
func (r *fieldReader) optionalEnum(parent jsonObject, key string, allowed []string, fallback string) (string, bool) {
	value, present := parent.lookup(key)
	if !present {
		return fallback, true
	}
	return r.enumField(value, parent.childPath(key), allowed, fallback)
}

// requiredEnum is optionalEnum for a field without a default.
func (r *fieldReader) requiredEnum(parent jsonObject, key string, allowed []string) (string, bool) {
	path := parent.childPath(key)
	value, present := parent.lookup(key)
	if s, isString := value.(string); !present || (isString && strings.TrimSpace(s) == "") {
		r.problems.Required(path, "%s is required: use one of %s", path, strings.Join(allowed, ", "))
		return "", false
	}
	return r.enumField(value, path, allowed, "")
}

func (r *fieldReader) enumField(value any, path string, allowed []string, fallback string) (string, bool) {
	s, ok := value.(string)
	if !ok {
		r.wrongType(path, "a string", value)
		return "", false
	}

	if strings.TrimSpace(s) == "" {
		return fallback, true
	}

	match, ok := enumValue(s, allowed)
	if !ok {
		r.problems.Invalid(path, "%s %s is not allowed: use one of %s", path, echo(s), strings.Join(allowed, ", "))
		return "", false
	}
	return match, true
}
