package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWantsCSV(t *testing.T) {
	cases := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"text/csv", true},
		{"TEXT/CSV", true},
		{"text/csv; charset=utf-8", true},
		{"application/json", false},
		{"*/*", false},
		{"application/json, text/csv", false},
		{"text/csv, application/json", true},
		{"application/json;q=0.5, text/csv", true},
		{"text/csv;q=0.2, application/json;q=0.9", false},
		{"text/csv;q=0", false},
		{"text/csv;q=abc", false},
		{"text/html, text/csv", true},
	}
	for _, tc := range cases {
		if got := wantsCSV(tc.accept); got != tc.want {
			t.Errorf("wantsCSV(%q) = %v, expected %v", tc.accept, got, tc.want)
		}
	}
}

func TestCSVTextNeutralizesFormulas(t *testing.T) {
	cases := map[string]string{
		"Example Inc":   "Example Inc",
		"=HYPERLINK(1)": "'=HYPERLINK(1)",
		"+1 555 0100":   "'+1 555 0100",
		"-2":            "'-2",
		"@SUM(A1)":      "'@SUM(A1)",
		"\tTab":         "'\tTab",
		"\rReturn":      "'\rReturn",
		"a=b":           "a=b",
		"":              "",
	}
	for in, want := range cases {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, expected %q", in, got, want)
		}
	}
}

func TestQueryValuesRejectsBadEscapes(t *testing.T) {
	cases := []struct {
		rawQuery string
		wantErr  bool
	}{
		{"filters[search]=%25abc", false},
		{"filters[search]=%zz", true},
		{"filters[search]=%", true},
		{"a=1;b=2", true},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodGet, "/services/v2/order/certificate", nil)
		r.URL.RawQuery = tc.rawQuery
		_, err := queryValues(r)
		if (err != nil) != tc.wantErr {
			t.Errorf("queryValues(%q) error = %v, expected error: %v", tc.rawQuery, err, tc.wantErr)
		}
	}
}

func TestDaysRemaining(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		validTill time.Time
		want      int
	}{
		{"a year ahead", now.AddDate(1, 0, 0), 366},
		{"less than a day", now.Add(23 * time.Hour), 0},
		{"expired", now.AddDate(0, 0, -3), 0},
	}
	for _, tc := range cases {
		if got := daysRemaining(tc.validTill, now); got != tc.want {
			t.Errorf("%s: daysRemaining = %d, expected %d", tc.name, got, tc.want)
		}
	}
}
