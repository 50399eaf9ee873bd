package order

import (
	"testing"
	"time"
)

// FuzzParseExpirationDate checks custom_expiration_date parsing. No input
// panics, and an accepted date is midnight UTC and survives a round trip
// through YYYY-MM-DD. readValidity accepts a date only after today and at
// most three calendar years ahead, with notAfter at 23:59:59 UTC.
func FuzzParseExpirationDate(f *testing.F) {
	seeds := []string{
		"2026-06-09", "09 JUN 2026", "9 jun 2026", "9 September 2026", "2026-06-09T23:30:00-05:00",
		"2026-03-16", "2026-03-15", "2029-03-15", "2029-03-16", "29 feb 2028", "29 feb 2027", "31 June 2026",
		"2026-13-01", "00 jan 2027", "1 jan 10000", "0001-01-01", "9999-12-31T23:59:59Z", "2026-06-09T24:00:00Z",
		" 9 jun 2026 ", "9\tjun\t2026", "9 juN 2026", "9 junee 2026", "", "null", "2026/06/09", "+2026-06-09",
	}
	for _, s := range seeds {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, text string) {
		date, ok := parseExpirationDate(text)
		if ok {
			checkParsedDate(t, text, date)
		}

		reader := &fieldReader{}
		root := jsonObject{fields: map[string]any{"order_validity": map[string]any{"custom_expiration_date": text}}}
		validity := reader.readValidity(root, testNow)
		if reader.problems.Len() > 0 {
			return
		}
		if validity.CustomExpirationDate == "" {
			// An empty date counts as not given, and then readValidity
			// requires another field, so it is never accepted alone.
			t.Fatalf("readValidity accepted %q without a custom date and without a problem", text)
		}
		checkAcceptedValidity(t, text, validity)
	})
}

func checkParsedDate(t *testing.T, text string, date time.Time) {
	if date.Location() != time.UTC || date.Hour() != 0 || date.Minute() != 0 || date.Second() != 0 || date.Nanosecond() != 0 {
		t.Fatalf("parseExpirationDate(%q) = %v, not midnight UTC", text, date)
	}
	again, ok := parseExpirationDate(date.Format(isoDateLayout))
	if !ok || !again.Equal(date) {
		t.Fatalf("parseExpirationDate(%q) = %v, but its YYYY-MM-DD form parses to %v, %v", text, date, again, ok)
	}
}

func checkAcceptedValidity(t *testing.T, text string, v Validity) {
	today := dateOf(testNow)
	lastDay := dateOf(v.EndDate)
	if !lastDay.After(today) || lastDay.After(addYears(today, maxValidityYears)) {
		t.Fatalf("custom_expiration_date %q was accepted with last day %s; today is %s", text, lastDay.Format(isoDateLayout), today.Format(isoDateLayout))
	}
	if !v.EndDate.Equal(lastDay.Add(24*time.Hour - time.Second)) {
		t.Fatalf("custom_expiration_date %q gives notAfter %v, not 23:59:59 UTC of its day", text, v.EndDate)
	}
	if v.CustomExpirationDate != lastDay.Format(isoDateLayout) {
		t.Fatalf("custom_expiration_date %q is recorded as %q, not %s", text, v.CustomExpirationDate, lastDay.Format(isoDateLayout))
	}
}
