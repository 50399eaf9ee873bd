// Package jsonbody decodes HTTP request bodies of the CertCentral-compatible
// API strictly. Beyond RFC 8259 syntax it rejects what encoding/json would
// silently accept: duplicate object keys (RFC 8259 §4 leaves their meaning
// undefined, so two parsers may read different values), invalid UTF-8
// (RFC 8259 §8.1), trailing data and deep nesting.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/docsign-ca/docsign-ca/internal/errs"
)

// MaxDepth is the maximum nesting of objects and arrays that Decode accepts.
// The top-level object is depth 1. CertCentral request bodies nest only a
// few levels, so the limit rejects nothing real and bounds the work that a
// hostile body can cause.
const MaxDepth = 32

// formatCode is the CertCentral error code for a body that cannot be decoded.
const formatCode = "bad_request_format"

// Decode decodes one request body into a tree of map[string]any, []any,
// string, json.Number, bool and nil. The top-level value must be an object.
//
// Every failure is an *errs.Error of kind errs.BadRequest with code
// "bad_request_format". Messages about a position give a 1-based line and
// column, where the column counts Unicode code points.
func Decode(body []byte) (any, error) {
	if isBlank(body) {
		return nil, badFormat("request body is empty; send a JSON object")
	}

	if offset, ok := invalidUTF8Offset(body); ok {
		return nil, badFormat("request body is not valid UTF-8: invalid byte 0x%02X at %s (byte offset %d); encode the body as UTF-8",
			body[offset], at(body, int64(offset)), offset)
	}

	if err := checkSyntax(body); err != nil {
		return nil, err
	}

	w := &walker{body: body, tokens: json.NewDecoder(bytes.NewReader(body))}
	w.tokens.UseNumber()

	first, err := w.next()
	if err != nil {
		return nil, err
	}
	if first != json.Delim('{') {
		return nil, badFormat("request body must be a JSON object, but it is %s; wrap the fields in { }", describeToken(first))
	}

	tree, err := w.object("", 1)
	if err != nil {
		return nil, err
	}

	if err := w.checkTrailingData(); err != nil {
		return nil, err
	}
	return tree, nil
}

// Path returns the JSON path of the member key of the object at parent, for
// example Path("organization", "name") is "organization.name" and
// Path("", "certificate") is "certificate".
func Path(parent string, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Index returns the JSON path of element i of the array at parent, for
// example Index("organization.contacts", 0) is "organization.contacts[0]".
func Index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// walker builds the tree from the token stream of encoding/json, because
// only the token stream exposes duplicate keys and the depth.
type walker struct {
	body   []byte
	tokens *json.Decoder
}

// checkSyntax reports the first RFC 8259 syntax error in the first value of
// body. It runs before the token walk because Decoder.Decode on a fresh
// json.Decoder sets SyntaxError.Offset to the count of bytes read up to and
// including the offending byte. The offsets from Decoder.Token (Go 1.26)
// leave out the delimiters that Token reads itself.
func checkSyntax(body []byte) error {
	var value json.RawMessage
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&value)

	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntaxErr):
		offset := syntaxErr.Offset - 1
		message := syntaxErr.Error()
		if hint := controlCharacterHint(body, offset, syntaxErr); hint != "" {
			message += "; " + hint
		}
		return badFormat("invalid JSON at %s: %s", at(body, offset), message)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badFormat("invalid JSON at %s: unexpected end of input; complete the JSON object", at(body, int64(len(body))))
	default:
		return badFormat("invalid JSON: %v", err)
	}
}

// controlCharacterHint returns how to escape the control character at
// offset when the syntax error is that character inside a string. RFC 8259
// §7 requires U+0000 to U+001F to be escaped there, and a PEM CSR pasted
// into a JSON string by hand brings raw line breaks.
func controlCharacterHint(body []byte, offset int64, syntaxErr *json.SyntaxError) string {
	// encoding/json (Go 1.26) has no error type for this case, only the
	// message "invalid character '\n' in string literal".
	if offset < 0 || offset >= int64(len(body)) || !strings.HasSuffix(syntaxErr.Error(), "in string literal") {
		return ""
	}

	switch c := body[offset]; {
	case c == '\n' || c == '\r':
		return `escape line breaks in JSON strings as \n`
	case c == '\t':
		return `escape tabs in JSON strings as \t`
	case c < 0x20:
		return fmt.Sprintf(`escape control characters in JSON strings, such as U+%04X as \u%04X`, c, c)
	default:
		return ""
	}
}

// next reads one token. After checkSyntax passed, the first value contains
// no syntax error, so a failure here is unexpected.
func (w *walker) next() (json.Token, error) {
	token, err := w.tokens.Token()
	if err != nil {
		return nil, badFormat("invalid JSON at %s: %v", at(w.body, w.tokens.InputOffset()), err)
	}
	return token, nil
}

// value converts the token that starts a value, reading the rest of the
// value when it is an object or array. depth is the depth of the container
// that holds the value.
func (w *walker) value(token json.Token, path string, depth int) (any, error) {
	switch token {
	case json.Delim('{'):
		return w.object(path, depth+1)
	case json.Delim('['):
		return w.array(path, depth+1)
	default:
		return token, nil
	}
}

// object reads the members of an object whose '{' was the last token read.
func (w *walker) object(path string, depth int) (map[string]any, error) {
	if err := w.checkDepth(depth); err != nil {
		return nil, err
	}

	members := map[string]any{}
	for {
		before := w.tokens.InputOffset()
		token, err := w.next()
		if err != nil {
			return nil, err
		}
		if token == json.Delim('}') {
			return members, nil
		}

		// encoding/json rejects anything but a string in key position with
		// a SyntaxError, so token is a string here.
		key, ok := token.(string)
		if !ok {
			return nil, badFormat("invalid JSON: object key at %s is not a string", path)
		}
		keyPath := Path(path, key)

		// Keys compare after unescaping, so "a" and "\u0061" are duplicates.
		if _, duplicate := members[key]; duplicate {
			return nil, badFormat("duplicate key %q at %s; send each key only once", keyPath, at(w.body, w.keyStart(before)))
		}

		token, err = w.next()
		if err != nil {
			return nil, err
		}
		member, err := w.value(token, keyPath, depth)
		if err != nil {
			return nil, err
		}
		members[key] = member
	}
}

// array reads the elements of an array whose '[' was the last token read.
func (w *walker) array(path string, depth int) ([]any, error) {
	if err := w.checkDepth(depth); err != nil {
		return nil, err
	}

	elements := []any{}
	for {
		token, err := w.next()
		if err != nil {
			return nil, err
		}
		if token == json.Delim(']') {
			return elements, nil
		}

		element, err := w.value(token, Index(path, len(elements)), depth)
		if err != nil {
			return nil, err
		}
		elements = append(elements, element)
	}
}

// checkDepth rejects a container nested deeper than MaxDepth. It runs right
// after the container's opening delimiter was read, so the delimiter is the
// byte before the input offset.
func (w *walker) checkDepth(depth int) error {
	if depth <= MaxDepth {
		return nil
	}
	return badFormat("JSON nesting exceeds the maximum depth of %d at %s; nest objects and arrays at most %d levels deep",
		MaxDepth, at(w.body, w.tokens.InputOffset()-1), MaxDepth)
}

// keyStart returns the offset of the opening quote of the key that follows
// offset, skipping the whitespace and the comma before it.
func (w *walker) keyStart(offset int64) int64 {
	for offset < int64(len(w.body)) && (isJSONSpace(w.body[offset]) || w.body[offset] == ',') {
		offset++
	}
	return offset
}

// checkTrailingData rejects anything but whitespace after the top-level value.
func (w *walker) checkTrailingData() error {
	for offset := w.tokens.InputOffset(); offset < int64(len(w.body)); offset++ {
		if !isJSONSpace(w.body[offset]) {
			return badFormat("unexpected data after the JSON object at %s; send exactly one JSON object", at(w.body, offset))
		}
	}
	return nil
}

// at formats the position of the byte at offset as "line 3, column 14".
func at(body []byte, offset int64) string {
	line, column := position(body, offset)
	return fmt.Sprintf("line %d, column %d", line, column)
}

// position converts a byte offset into a 1-based line and column. Only LF
// starts a new line, so CRLF bodies count correctly.
func position(body []byte, offset int64) (line, column int) {
	offset = min(max(offset, 0), int64(len(body)))

	line, column = 1, 1
	for _, r := range string(body[:offset]) {
		if r == '\n' {
			line++
			column = 1
		} else {
			column++
		}
	}
	return line, column
}

// invalidUTF8Offset returns the offset of the first byte that is not part of
// a valid UTF-8 sequence.
func invalidUTF8Offset(body []byte) (int, bool) {
	if utf8.Valid(body) {
		return 0, false
	}
	for offset := 0; offset < len(body); {
		r, size := utf8.DecodeRune(body[offset:])
		if r == utf8.RuneError && size == 1 {
			return offset, true
		}
		offset += size
	}
	return 0, false
}

// isJSONSpace reports whether b is whitespace as RFC 8259 §2 defines it.
func isJSONSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r'
}

func isBlank(body []byte) bool {
	for _, b := range body {
		if !isJSONSpace(b) {
			return false
		}
	}
	return true
}

// describeToken names the JSON type of a top-level token that is not an object.
func describeToken(token json.Token) string {
	switch token.(type) {
	case json.Delim:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("a %T", token)
	}
}

func badFormat(format string, args ...any) *errs.Error {
	return errs.New(errs.BadRequest, formatCode, format, args...)
}
