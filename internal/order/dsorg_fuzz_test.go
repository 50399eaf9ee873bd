package order

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/errs"
)

// FuzzParseDSOrg feeds decoded JSON trees to ParseDSOrg. It must never
// panic, must return either a request or a BadRequest error with problems,
// and must never repeat a card number in a message.
func FuzzParseDSOrg(f *testing.F) {
	quotedCSR, err := json.Marshal(testRSACSR())
	if err != nil {
		f.Fatal(err)
	}

	f.Add([]byte(strings.Replace(validBodyJSON, "CSR", string(quotedCSR), 1)))
	f.Add([]byte(minimalBodyJSON))
	for _, example := range pageExamples {
		f.Add([]byte(strings.Replace(example.body, "CSR", string(quotedCSR), 1)))
	}
	f.Add([]byte(`{"certificate": [], "organization": {"id": "", "contacts": [null, 1, {}]}, "order_validity": {"custom_expiration_date": "29 feb 2028"}}`))
	f.Add([]byte(`{"payment_method": "card", "credit_card": {"number": "4111-1111-1111-1111", "expiration_month": 12, "expiration_year": "9999"}}`))
	f.Add([]byte(`{"certificate": {"key_size": "p-384", "csr_key_type": "RSA", "csr": "-----BEGIN PUBLIC KEY-----"}}`))
	f.Add([]byte(`[1, 2]`))

	f.Fuzz(func(t *testing.T, data []byte) {
		decoder := json.NewDecoder(bytes.NewReader(data))
		decoder.UseNumber()

		var tree any
		if decoder.Decode(&tree) != nil {
			return
		}

		request, err := ParseDSOrg(tree, testNow)
		if err != nil {
			checkFuzzError(t, err, tree)
			return
		}
		checkFuzzRequest(t, request)
	})
}

func checkFuzzError(t *testing.T, err error, tree any) {
	e := errs.As(err)
	if e == nil || e.Kind != errs.BadRequest || len(e.Problems) == 0 {
		t.Fatalf("error %v is not a BadRequest *errs.Error with problems", err)
	}

	for _, problem := range e.Problems {
		if problem.Code == "" || problem.Message == "" {
			t.Fatalf("problem %+v has an empty code or message", problem)
		}
	}

	digits, ok := fuzzCardDigits(tree)
	if ok && strings.Contains(problemText(err), digits) {
		t.Fatalf("a message repeats the card number:\n%s", problemText(err))
	}
}

// fuzzCardDigits returns the digits of credit_card.number when it has
// enough of them to be recognizable as a card number.
func fuzzCardDigits(tree any) (string, bool) {
	root, _ := tree.(map[string]any)
	card, _ := root["credit_card"].(map[string]any)
	number, _ := card["number"].(string)

	digits := strings.Map(func(c rune) rune {
		if c >= '0' && c <= '9' {
			return c
		}
		return -1
	}, number)
	return digits, len(digits) >= minCardDigits
}

func checkFuzzRequest(t *testing.T, request *DSOrgRequest) {
	if request == nil {
		t.Fatal("ParseDSOrg returned neither a request nor an error")
	}

	if !slices.Contains(allowedKeySizes[request.KeyType], request.KeySize) {
		t.Fatalf("key %s %d is not an offered key", request.KeyType, request.KeySize)
	}

	if !request.Validity.EndDate.After(testNow) {
		t.Fatalf("EndDate %v is not after now", request.Validity.EndDate)
	}

	hour, minute, second := request.Validity.EndDate.Clock()
	if hour != 23 || minute != 59 || second != 59 {
		t.Fatalf("EndDate %v is not the last second of a day", request.Validity.EndDate)
	}

	if request.Organization.ID == 0 && request.Organization.New == nil {
		t.Fatal("the request names neither an existing nor a new organization")
	}

	if request.Card != nil && len(request.Card.LastFour) != 4 {
		t.Fatalf("card last four %q is not four digits", request.Card.LastFour)
	}
}

func BenchmarkParseDSOrg(b *testing.B) {
	cases := []struct {
		name string
		tree any
	}{
		{"email with RSA CSR and card", validBody(b)},
		{"client app minimal", decodeTree(b, minimalBodyJSON)},
	}

	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseDSOrg(tc.tree, testNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
