package order

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Paging of the list endpoints: at most 1000 rows per page, and 1000 rows
// when the client sends no limit or limit=0.
//
// NOTE: CertCentral does not publish its default or maximum limit, so both
// values are docsign-ca's choice.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 1000
)

// maxQueryValueLength bounds each query parameter value, in code points.
// It is far above any name or serial number docsign-ca stores.
const maxQueryValueLength = 256

// queryReader reads the query parameters of a list endpoint and collects
// every problem, so that a client sees all of them in one response. Codes
// name the parameter: invalid_value:limit, invalid_value:filters[status].
type queryReader struct {
	values   url.Values
	problems errs.List
}

func newQueryReader(values url.Values) *queryReader {
	return &queryReader{values: values}
}

// single returns the value of a parameter that may appear once. A repeated
// parameter is a problem, because which copy wins would be a guess.
func (r *queryReader) single(name string) (string, bool) {
	list, present := r.values[name]
	if !present {
		return "", false
	}
	if len(list) > 1 {
		r.problems.Invalid(name, "%s was sent %d times; send it once", name, len(list))
		return "", false
	}
	value := list[0]
	if !r.checkText(name, value) {
		return "", false
	}
	return value, true
}

// checkText requires valid UTF-8 within maxQueryValueLength code points.
func (r *queryReader) checkText(name, value string) bool {
	if !utf8.ValidString(value) {
		r.problems.Invalid(name, "%s is not valid UTF-8; percent-encode the value's UTF-8 bytes", name)
		return false
	}
	if utf8.RuneCountInString(value) > maxQueryValueLength {
		r.problems.Invalid(name, "%s is longer than %d characters", name, maxQueryValueLength)
		return false
	}
	return true
}

// page reads offset and limit. A limit of 0, like an absent one, means
// DefaultListLimit.
func (r *queryReader) page() store.Page {
	p := store.Page{Limit: DefaultListLimit}
	if raw, ok := r.single("offset"); ok {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			r.problems.Invalid("offset", "offset %q is not a whole number of 0 or more; send the index of the first row, such as offset=0", raw)
		} else {
			p.Offset = n
		}
	}
	if raw, ok := r.single("limit"); ok {
		n, err := strconv.ParseInt(raw, 10, 64)
		switch {
		case err != nil || n < 0 || n > MaxListLimit:
			r.problems.Invalid("limit", "limit %q is out of range; send a whole number from 1 to %d", raw, MaxListLimit)
		case n > 0:
			p.Limit = n
		}
	}
	return p
}

// sort reads the sort parameter: comma-separated field names, each with an
// optional "-" for descending order.
func (r *queryReader) sort(fields []string) []store.SortKey {
	raw, ok := r.single("sort")
	if !ok {
		return nil
	}

	var keys []store.SortKey
	seen := map[string]bool{}
	for _, part := range strings.Split(raw, ",") {
		key := store.SortKey{Field: strings.TrimSpace(part)}
		if rest, found := strings.CutPrefix(key.Field, "-"); found {
			key.Field, key.Descending = rest, true
		}
		switch {
		case key.Field == "":
			r.problems.Invalid("sort", "sort %q has an empty field name; separate field names with single commas", raw)
			return nil
		case !slices.Contains(fields, key.Field):
			r.problems.Invalid("sort", "cannot sort by %q; sortable fields: %s (prefix a field with - for descending order)",
				key.Field, strings.Join(fields, ", "))
			return nil
		case seen[key.Field]:
			r.problems.Invalid("sort", "sort names %q twice; name each field once", key.Field)
			return nil
		}
		seen[key.Field] = true
		keys = append(keys, key)
	}
	return keys
}

// filters returns the filters[name] parameters by name. A filter this
// endpoint does not support is a problem: ignoring it would return more
// rows than the client asked for.
func (r *queryReader) filters(supported []string) map[string]string {
	keys := make([]string, 0, len(r.values))
	for key := range r.values {
		keys = append(keys, key)
	}
	slices.Sort(keys)

	out := map[string]string{}
	for _, key := range keys {
		name, ok := filterName(key)
		if !ok {
			continue
		}
		if !slices.Contains(supported, name) {
			r.problems.Invalid(key, "filter %s is not supported here; supported filters: %s", key, strings.Join(supported, ", "))
			continue
		}
		if value, ok := r.single(key); ok {
			out[name] = value
		}
	}
	return out
}

// filterName returns "status" for the parameter "filters[status]".
func filterName(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "filters[")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "]")
}

func filterPath(name string) string { return "filters[" + name + "]" }

// id reads a positive integer id.
func (r *queryReader) id(path, raw string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || n <= 0 {
		r.problems.Invalid(path, "%s %q is not an id; ids are positive integers", path, raw)
		return 0
	}
	return n
}

// enum reads one of the allowed values, compared without regard to case,
// and returns it in its canonical spelling.
func (r *queryReader) enum(path, raw string, allowed []string) string {
	for _, value := range allowed {
		if strings.EqualFold(strings.TrimSpace(raw), value) {
			return value
		}
	}
	r.problems.Invalid(path, "%s %q is not allowed; allowed: %s", path, raw, strings.Join(allowed, ", "))
	return ""
}

// boolean reads true/false or 1/0.
func (r *queryReader) boolean(path, raw string) *bool {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "true", "1":
		v := true
		return &v
	case "false", "0":
		v := false
		return &v
	}
	r.problems.Invalid(path, "%s %q is not a boolean; send true, false, 1 or 0", path, raw)
	return nil
}

// textMatch reads a text filter. CertCentral marks a "contains" search with
// a leading "%" (sent as %25). docsign-ca also drops trailing "%" signs, so
// "%name%" works the same. Every other "%" is a literal character.
func (r *queryReader) textMatch(path, raw string) *store.TextMatch {
	value, contains := strings.CutPrefix(raw, "%")
	if contains {
		value = strings.TrimRight(value, "%")
	}
	if strings.TrimSpace(value) == "" {
		r.problems.Invalid(path, "%s is empty; send the text to match, with a leading %%25 for a contains match", path)
		return nil
	}
	return &store.TextMatch{Value: value, Contains: contains}
}

// timeRange reads a date filter. The forms, with every time in UTC unless
// it carries an offset:
//
//	2024-01-31                      that whole day
//	2024-01-31 13:45:00             that second ("+" in a URL is a space)
//	2024-01-01...2024-01-31         from the start of the first to the end of the last (either side may be empty)
//	>=2024-01-01  >2024-01-01       on or after, after
//	<=2024-01-31  <2024-01-31       on or before, before
//
// Timestamps may also be RFC 3339, such as 2024-01-31T13:45:00+02:00.
func (r *queryReader) timeRange(path, raw string) *store.TimeRange {
	value := strings.TrimSpace(raw)
	var rng store.TimeRange
	var ok bool
	switch {
	case strings.Contains(value, "..."):
		rng, ok = r.explicitRange(path, value)
	case strings.HasPrefix(value, ">="):
		rng.From, _, ok = parseInstant(value[2:])
	case strings.HasPrefix(value, "<="):
		_, rng.Until, ok = parseInstant(value[2:])
	case strings.HasPrefix(value, ">"):
		_, rng.From, ok = parseInstant(value[1:])
	case strings.HasPrefix(value, "<"):
		rng.Until, _, ok = parseInstant(value[1:])
	default:
		rng.From, rng.Until, ok = parseInstant(value)
	}
	if !ok {
		r.problems.Invalid(path, "%s %q is not a date or date range; send YYYY-MM-DD, YYYY-MM-DD...YYYY-MM-DD, >=YYYY-MM-DD or <=YYYY-MM-DD (times as YYYY-MM-DD HH:MM:SS, UTC)", path, raw)
		return nil
	}
	if !rng.From.IsZero() && !rng.Until.IsZero() && !rng.From.Before(rng.Until) {
		r.problems.Invalid(path, "%s %q ends before it starts; put the earlier date first", path, raw)
		return nil
	}
	return &rng
}

func (r *queryReader) explicitRange(path, value string) (store.TimeRange, bool) {
	first, last, _ := strings.Cut(value, "...")
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" && last == "" {
		return store.TimeRange{}, false
	}

	var rng store.TimeRange
	if first != "" {
		start, _, ok := parseInstant(first)
		if !ok {
			return rng, false
		}
		rng.From = start
	}
	if last != "" {
		_, end, ok := parseInstant(last)
		if !ok {
			return rng, false
		}
		rng.Until = end
	}
	return rng, true
}

// parseInstant parses a date or a timestamp and returns the half-open
// interval it names: a whole day for a date, one second for a timestamp.
func parseInstant(text string) (start, end time.Time, ok bool) {
	text = strings.TrimSpace(text)
	if t, err := time.Parse(time.DateOnly, text); err == nil {
		return t, t.AddDate(0, 0, 1), true
	}

	// A "+" before an offset arrives as a space when the client did not
	// percent-encode it.
	if strings.Contains(text, "T") {
		text = strings.Replace(text, " ", "+", 1)
	}
	for _, layout := range []string{time.DateTime, "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, text); err == nil {
			t = t.UTC().Truncate(time.Second)
			return t, t.Add(time.Second), true
		}
	}
	return time.Time{}, time.Time{}, false
}

// parseCount parses a decimal integer.
func parseCount(raw string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	return n, err == nil
}
