package order

import (
	"testing"
	"time"
)

func TestReadValidityEndDate(t *testing.T) {
	leapDay := time.Date(2028, time.February, 29, 8, 0, 0, 0, time.UTC)

	cases := []struct {
		name     string
		now      time.Time
		validity map[string]any
		want     time.Time
		wantDate string
	}{
		{"one year", testNow, map[string]any{"years": num(1)}, endOfDay(2027, time.March, 15), ""},
		{"three years", testNow, map[string]any{"years": "3"}, endOfDay(2029, time.March, 15), ""},
		{"year from leap day", leapDay, map[string]any{"years": num(1)}, endOfDay(2029, time.February, 28), ""},
		{"three years from leap day", leapDay, map[string]any{"years": num(3)}, endOfDay(2031, time.February, 28), ""},
		{"thirty days", testNow, map[string]any{"days": num(30)}, endOfDay(2026, time.April, 14), ""},
		{"days win over years", testNow, map[string]any{"years": num(3), "days": num(1)}, endOfDay(2026, time.March, 16), ""},
		{"custom date wins", testNow, map[string]any{"years": num(3), "days": num(10), "custom_expiration_date": "2026-06-09"}, endOfDay(2026, time.June, 9), "2026-06-09"},
		{"custom date month abbreviation", testNow, map[string]any{"custom_expiration_date": "09 JUN 2026"}, endOfDay(2026, time.June, 9), "2026-06-09"},
		{"custom date lower case one digit day", testNow, map[string]any{"custom_expiration_date": "9 jun 2026"}, endOfDay(2026, time.June, 9), "2026-06-09"},
		{"custom date full month name", testNow, map[string]any{"custom_expiration_date": "9 September 2026"}, endOfDay(2026, time.September, 9), "2026-09-09"},
		{"custom date RFC 3339 in UTC", testNow, map[string]any{"custom_expiration_date": "2026-06-09T23:30:00-05:00"}, endOfDay(2026, time.June, 10), "2026-06-10"},
		{"custom date tomorrow", testNow, map[string]any{"custom_expiration_date": "2026-03-16"}, endOfDay(2026, time.March, 16), "2026-03-16"},
		{"day taken in UTC", time.Date(2026, time.March, 15, 23, 0, 0, 0, time.FixedZone("UTC-5", -5*3600)), map[string]any{"days": num(1)}, endOfDay(2026, time.March, 17), ""},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reader := &fieldReader{}
			root := jsonObject{fields: map[string]any{"order_validity": tc.validity}}

			validity := reader.readValidity(root, tc.now)
			if reader.problems.Len() != 0 {
				t.Fatalf("unexpected problems: %v", reader.problems.Problems())
			}
			if !validity.EndDate.Equal(tc.want) {
				t.Errorf("EndDate = %v, want %v", validity.EndDate, tc.want)
			}
			if validity.CustomExpirationDate != tc.wantDate {
				t.Errorf("CustomExpirationDate = %q, want %q", validity.CustomExpirationDate, tc.wantDate)
			}
		})
	}
}

func endOfDay(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 23, 59, 59, 0, time.UTC)
}

func TestParseExpirationDateRejects(t *testing.T) {
	for _, text := range []string{
		"31 JUN 2026", "30 FEB 2027", "09 JUNE", "9 jun 26", "123 jun 2026", "09-JUN-2026",
		"2026-6-9", "2026-06-09T10:00:00", "06/09/2026", "9 juin 2026", "",
	} {
		t.Run(text, func(t *testing.T) {
			if date, ok := parseExpirationDate(text); ok {
				t.Fatalf("parseExpirationDate(%q) = %v, want rejection", text, date)
			}
		})
	}
}

func TestAddYears(t *testing.T) {
	cases := []struct {
		from time.Time
		n    int
		want time.Time
	}{
		{time.Date(2026, time.March, 15, 0, 0, 0, 0, time.UTC), 1, time.Date(2027, time.March, 15, 0, 0, 0, 0, time.UTC)},
		{time.Date(2028, time.February, 29, 0, 0, 0, 0, time.UTC), 1, time.Date(2029, time.February, 28, 0, 0, 0, 0, time.UTC)},
		{time.Date(2028, time.February, 29, 0, 0, 0, 0, time.UTC), 4, time.Date(2032, time.February, 29, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, time.December, 31, 0, 0, 0, 0, time.UTC), 3, time.Date(2029, time.December, 31, 0, 0, 0, 0, time.UTC)},
	}

	for _, tc := range cases {
		if got := addYears(tc.from, tc.n); !got.Equal(tc.want) {
			t.Errorf("addYears(%s, %d) = %s, want %s", tc.from.Format(isoDateLayout), tc.n, got.Format(isoDateLayout), tc.want.Format(isoDateLayout))
		}
	}
}
