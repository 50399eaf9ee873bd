package jsonbody

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/errs"
)

// nested returns an object nested depth levels deep, counting the top level.
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + "{}" + strings.Repeat("}", depth-1)
}

// rejectCases holds one body per rule that Decode enforces. Each message
// fragment must appear in the error message.
var rejectCases = []struct {
	name      string
	body      string
	fragments []string
}{
	{"empty body", "", []string{"request body is empty; send a JSON object"}},
	{"whitespace body", " \r\n\t ", []string{"request body is empty; send a JSON object"}},
	{"invalid UTF-8 in string", "{\"a\":\"x\xffy\"}", []string{"not valid UTF-8", "0xFF", "byte offset 7"}},
	{"truncated UTF-8 sequence", "{\"a\":\"\xe2\x82\"}", []string{"not valid UTF-8", "byte offset 6"}},
	{"syntax error after key", "{\n  \"certificate\": {\n    \"csr\" }\n}", []string{"invalid JSON at line 3, column 11", "invalid character '}' after object key"}},
	{"syntax error after comma", `{"a":[1,}`, []string{"line 1, column 9", "looking for beginning of value"}},
	{"syntax error CRLF lines", "{\r\n\"a\":1,\r\n,}", []string{"line 3, column 1"}},
	{"syntax error after multibyte", `{"é":"ü" "b":1}`, []string{"line 1, column 10"}},
	{"raw line feed in string", "{\"csr\":\"-----BEGIN\nMIIB\"}", []string{"line 1, column 19", `invalid character '\n' in string literal; escape line breaks in JSON strings as \n`}},
	{"raw carriage return in string", "{\"csr\":\"a\r\nb\"}", []string{`invalid character '\r' in string literal; escape line breaks in JSON strings as \n`}},
	{"raw tab in string", "{\"name\":\"a\tb\"}", []string{`in string literal; escape tabs in JSON strings as \t`}},
	{"raw control character in string", "{\"name\":\"a\x01b\"}", []string{`in string literal; escape control characters in JSON strings, such as U+0001 as \u0001`}},
	{"truncated object", "{\"a\":\n", []string{"invalid JSON at line 2, column 1", "unexpected end of input"}},
	{"truncated string", `{"a":"abc`, []string{"line 1, column 10", "unexpected end of input"}},
	{"duplicate top-level key", "{\"a\":1,\n \"a\":2}", []string{`duplicate key "a"`, "line 2, column 2"}},
	{"duplicate nested key", `{"certificate":{"csr":"x","csr":"y"}}`, []string{`duplicate key "certificate.csr"`, "line 1, column 27"}},
	{"duplicate key in array element", "{\"organization\":{\"contacts\":[{\"email\":\"a\"},\n{\"email\":\"b\",\"email\":\"c\"}]}}", []string{`duplicate key "organization.contacts[1].email"`, "line 2, column 14"}},
	{"duplicate key after escape", `{"a":1,"\u0061":2}`, []string{`duplicate key "a"`, "line 1, column 8"}},
	{"duplicate key with null value", `{"a":null,"a":null}`, []string{`duplicate key "a"`}},
	{"trailing object", `{"a":1}{"b":2}`, []string{"unexpected data after the JSON object at line 1, column 8"}},
	{"trailing garbage after newline", "{}\n  x", []string{"unexpected data after the JSON object at line 2, column 3"}},
	{"trailing closing brace", `{"a":1}}`, []string{"line 1, column 8"}},
	{"nesting one level too deep", nested(MaxDepth + 1), []string{"maximum depth of 32", "line 1, column 161"}},
	{"nesting too deep in arrays", `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + "}", []string{"maximum depth of 32", "line 1, column 37"}},
	{"top-level array", `[{"a":1}]`, []string{"request body must be a JSON object", "an array"}},
	{"top-level string", `"certificate"`, []string{"request body must be a JSON object", "a string"}},
	{"top-level number", `42`, []string{"request body must be a JSON object", "a number"}},
	{"top-level null", `null`, []string{"request body must be a JSON object", "null"}},
	{"top-level boolean", `true`, []string{"request body must be a JSON object", "a boolean"}},
	{"byte order mark", "\xef\xbb\xbf{}", []string{"invalid JSON at line 1, column 1"}},
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range rejectCases {
		t.Run(tc.name, func(t *testing.T) {
			tree, err := Decode([]byte(tc.body))
			if err == nil {
				t.Fatalf("Decode(%q) = %v, want an error", tc.body, tree)
			}

			e := errs.As(err)
			if e == nil {
				t.Fatalf("Decode(%q) error %v is a %T, want *errs.Error", tc.body, err, err)
			}
			if e.Kind != errs.BadRequest {
				t.Errorf("Kind = %v, want errs.BadRequest", e.Kind)
			}
			if len(e.Problems) != 1 {
				t.Fatalf("Problems = %v, want exactly one", e.Problems)
			}
			if e.Problems[0].Code != "bad_request_format" {
				t.Errorf("Code = %q, want bad_request_format", e.Problems[0].Code)
			}
			for _, fragment := range tc.fragments {
				if !strings.Contains(e.Problems[0].Message, fragment) {
					t.Errorf("Message = %q, want it to contain %q", e.Problems[0].Message, fragment)
				}
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		body string
		want any
	}{
		{
			name: "empty object",
			body: "{}",
			want: map[string]any{},
		},
		{
			name: "order body",
			body: `{"certificate":{"csr":"MII","signature_hash":"sha256"},"order_validity":{"years":1},"organization":{"id":7}}`,
			want: map[string]any{
				"certificate":    map[string]any{"csr": "MII", "signature_hash": "sha256"},
				"order_validity": map[string]any{"years": json.Number("1")},
				"organization":   map[string]any{"id": json.Number("7")},
			},
		},
		{
			name: "numbers keep their text",
			body: `{"big":12345678901234567890,"float":1.50,"exp":1e3}`,
			want: map[string]any{"big": json.Number("12345678901234567890"), "float": json.Number("1.50"), "exp": json.Number("1e3")},
		},
		{
			name: "all scalar types",
			body: `{"s":"x","t":true,"f":false,"n":null}`,
			want: map[string]any{"s": "x", "t": true, "f": false, "n": nil},
		},
		{
			name: "same key in sibling objects",
			body: `{"contacts":[{"email":"a"},{"email":"b"}],"email":"c"}`,
			want: map[string]any{
				"contacts": []any{map[string]any{"email": "a"}, map[string]any{"email": "b"}},
				"email":    "c",
			},
		},
		{
			name: "empty array",
			body: `{"a":[]}`,
			want: map[string]any{"a": []any{}},
		},
		{
			name: "keys differing in case",
			body: `{"csr":"a","CSR":"b"}`,
			want: map[string]any{"csr": "a", "CSR": "b"},
		},
		{
			name: "surrounding whitespace and CRLF",
			body: "\r\n  {\r\n\"a\": \"é\"\r\n}\r\n\t",
			want: map[string]any{"a": "é"},
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.body))
			if err != nil {
				t.Fatalf("Decode(%q) error: %v", tc.body, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode(%q) = %#v, want %#v", tc.body, got, tc.want)
			}
		})
	}
}

func TestDecodeMaxDepthAccepted(t *testing.T) {
	got, err := Decode([]byte(nested(MaxDepth)))
	if err != nil {
		t.Fatalf("Decode of depth %d error: %v", MaxDepth, err)
	}

	depth := 0
	for node, ok := got.(map[string]any); ok; node, ok = node["a"].(map[string]any) {
		depth++
	}
	if depth != MaxDepth {
		t.Errorf("decoded depth = %d, want %d", depth, MaxDepth)
	}
}

func TestPathAndIndex(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"top-level key", Path("", "certificate"), "certificate"},
		{"nested key", Path("certificate", "csr"), "certificate.csr"},
		{"array element", Index("organization.contacts", 0), "organization.contacts[0]"},
		{"key in array element", Path(Index(Path("organization", "contacts"), 1), "email"), "organization.contacts[1].email"},
		{"nested array", Index(Index("a", 2), 10), "a[2][10]"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestPosition(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		offset     int64
		wantLine   int
		wantColumn int
	}{
		{"start", "abc", 0, 1, 1},
		{"middle of first line", "abc", 2, 1, 3},
		{"end of input", "abc", 3, 1, 4},
		{"after newline", "a\nbc", 3, 2, 2},
		{"multibyte counts once", "éé\nx", 4, 1, 3},
		{"negative offset clamps", "abc", -5, 1, 1},
		{"offset past end clamps", "a\nb", 99, 2, 2},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line, column := position([]byte(tc.body), tc.offset)
			if line != tc.wantLine || column != tc.wantColumn {
				t.Errorf("position(%q, %d) = line %d, column %d, want line %d, column %d",
					tc.body, tc.offset, line, column, tc.wantLine, tc.wantColumn)
			}
		})
	}
}

// FuzzDecode checks that Decode never panics, that it accepts only valid
// JSON objects and that every rejection is a bad_request_format error.
func FuzzDecode(f *testing.F) {
	for _, tc := range rejectCases {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`{"certificate":{"csr":"MII"},"organization":{"contacts":[{"email":"a@example.com"}]}}`))
	f.Add([]byte(nested(MaxDepth)))

	f.Fuzz(func(t *testing.T, body []byte) {
		tree, err := Decode(body)

		if err != nil {
			e := errs.As(err)
			if e == nil || e.Kind != errs.BadRequest || len(e.Problems) != 1 || e.Problems[0].Code != "bad_request_format" {
				t.Fatalf("Decode(%q) error %v is not a single bad_request_format problem", body, err)
			}
			return
		}

		if _, ok := tree.(map[string]any); !ok {
			t.Fatalf("Decode(%q) = %T, want map[string]any", body, tree)
		}
		if !json.Valid(body) {
			t.Fatalf("Decode(%q) accepted a body that json.Valid rejects", body)
		}
	})
}
