package order

import (
	"strconv"
	"strings"
	"time"
)

// Limits of order_validity. Three years is both the longest order and the
// latest custom expiration date that the ds_org product accepts.
const (
	minValidityYears = 1
	maxValidityYears = 3
	minValidityDays  = 1
	maxValidityDays  = 1095
	isoDateLayout    = "2006-01-02"
)

// Validity is the order's validity period. Only the field that decided the
// end date is set: custom_expiration_date wins over days, and days over years.
type Validity struct {
	Years int
	Days  int
	// CustomExpirationDate is the requested last day of validity as YYYY-MM-DD.
	CustomExpirationDate string
	// EndDate is the last second of validity, 23:59:59 UTC on the last day.
	// The workflow uses it as the certificate's notAfter.
	EndDate time.Time
}

// readValidity reads order_validity. Every field that was sent is checked,
// so that a client learns of a bad value even when another field wins.
// Years end on the same calendar date N years after today (UTC), where
// 29 February becomes 28 February. Days end N days after today.
func (r *fieldReader) readValidity(root jsonObject, now time.Time) Validity {
	object, ok := r.requiredObject(root, "order_validity")
	if !ok {
		return Validity{}
	}

	today := dateOf(now)
	problemsBefore := r.problems.Len()
	years, yearsOK := r.readValidityNumber(object, "years", minValidityYears, maxValidityYears)
	days, daysOK := r.readValidityNumber(object, "days", minValidityDays, maxValidityDays)
	customDate, customOK := r.readCustomExpiration(object, today)

	var validity Validity
	var lastDay time.Time
	switch {
	case customOK:
		validity.CustomExpirationDate = customDate.Format(isoDateLayout)
		lastDay = customDate
	case daysOK:
		validity.Days = days
		lastDay = today.AddDate(0, 0, days)
	case yearsOK:
		validity.Years = years
		lastDay = addYears(today, years)
	default:
		// A field that was sent but invalid already has its own problem.
		if r.problems.Len() == problemsBefore {
			r.problems.Required("order_validity.years",
				"order_validity needs years (1 to 3), days (1 to 1095) or custom_expiration_date; 0 and null count as not given")
		}
		return Validity{}
	}

	validity.EndDate = lastDay.Add(24*time.Hour - time.Second)
	return validity
}

// readValidityNumber reads an integer field of order_validity within
// [minimum, maximum]. 0 counts as omitted, like null: clients that marshal
// a struct send {"years": 1, "days": 0}.
func (r *fieldReader) readValidityNumber(object jsonObject, key string, minimum, maximum int) (int, bool) {
	value, present := object.lookup(key)
	if !present {
		return 0, false
	}

	path := object.childPath(key)
	n, ok := r.integerField(value, path)
	if !ok || n == 0 {
		return 0, false
	}

	if n < int64(minimum) || n > int64(maximum) {
		r.problems.Invalid(path, "%s %d is out of range: use %d to %d", path, n, minimum, maximum)
		return 0, false
	}
	return int(n), true
}

// readCustomExpiration reads custom_expiration_date, which must be after
// today and at most three calendar years ahead. An empty string counts as
// omitted.
func (r *fieldReader) readCustomExpiration(object jsonObject, today time.Time) (time.Time, bool) {
	path := object.childPath("custom_expiration_date")
	text, ok := r.optionalText(object, "custom_expiration_date", maxCodeLength, singleLine)
	if !ok {
		return time.Time{}, false
	}

	date, ok := parseExpirationDate(text)
	if !ok {
		r.problems.Invalid(path, "%s %s is not a date: use dd MMM YYYY (09 JUN 2025), YYYY-MM-DD or an RFC 3339 date-time",
			path, echo(text))
		return time.Time{}, false
	}

	if !date.After(today) {
		r.problems.Invalid(path, "%s %s is not after today (%s UTC): choose a later date",
			path, date.Format(isoDateLayout), today.Format(isoDateLayout))
		return time.Time{}, false
	}

	latest := addYears(today, maxValidityYears)
	if date.After(latest) {
		r.problems.Invalid(path, "%s %s is more than three years ahead: choose a date on or before %s",
			path, date.Format(isoDateLayout), latest.Format(isoDateLayout))
		return time.Time{}, false
	}
	return date, true
}

// parseExpirationDate accepts "dd MMM YYYY" with a month name or its
// three-letter abbreviation in any case, "YYYY-MM-DD", and an RFC 3339
// date-time, whose date is taken after conversion to UTC. It returns
// midnight UTC of the date.
func parseExpirationDate(text string) (time.Time, bool) {
	if date, err := time.Parse(isoDateLayout, text); err == nil {
		return date, true
	}

	if instant, err := time.Parse(time.RFC3339, text); err == nil {
		return dateOf(instant), true
	}
	return parseDayMonthYear(text)
}

var monthsByName = func() map[string]time.Month {
	months := make(map[string]time.Month, 24)
	for month := time.January; month <= time.December; month++ {
		name := strings.ToLower(month.String())
		months[name] = month
		months[name[:3]] = month
	}
	return months
}()

// parseDayMonthYear parses CertCentral's "dd MMM YYYY" form, such as
// "09 JUN 2025" or "9 june 2025".
func parseDayMonthYear(text string) (time.Time, bool) {
	parts := strings.Fields(text)
	if len(parts) != 3 {
		return time.Time{}, false
	}

	dayText, monthText, yearText := parts[0], parts[1], parts[2]
	if len(dayText) > 2 || !isDigits(dayText) || len(yearText) != 4 || !isDigits(yearText) {
		return time.Time{}, false
	}

	month, ok := monthsByName[strings.ToLower(monthText)]
	if !ok {
		return time.Time{}, false
	}

	day, _ := strconv.Atoi(dayText)
	year, _ := strconv.Atoi(yearText)
	date := time.Date(year, month, day, 0, 0, 0, 0, time.UTC)

	// time.Date normalizes 31 June to 1 July, so a changed day means the
	// date does not exist.
	if date.Day() != day || date.Month() != month {
		return time.Time{}, false
	}
	return date, true
}

// dateOf returns midnight UTC of the UTC date of t.
func dateOf(t time.Time) time.Time {
	year, month, day := t.UTC().Date()
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

// addYears returns the same calendar date n years after date. A day that the
// target month lacks (29 February in a common year) becomes the month's last day.
func addYears(date time.Time, n int) time.Time {
	year, month, day := date.Date()
	target := time.Date(year+n, month, day, 0, 0, 0, 0, time.UTC)
	if target.Month() != month {
		// Day 0 of the next month is the last day of month.
		target = time.Date(year+n, month+1, 0, 0, 0, 0, 0, time.UTC)
	}
	return target
}
