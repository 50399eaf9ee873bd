// Package errs defines the one error type that crosses package boundaries
// inside docsign-ca. Only the api package turns it into CertCentral's wire
// envelope {"errors":[{"code","message"}]}; every other package returns it
// or wraps a cause in it.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error for the HTTP edge. Each kind maps to one status.
type Kind int

const (
	// Internal is a server fault. Its problems never reach a client.
	Internal Kind = iota
	BadRequest
	Unauthenticated
	Forbidden
	NotFound
	Conflict
	TooLarge
	RateLimited
)

// Problem is one reported violation: a CertCentral error code such as
// "invalid_value:certificate.csr" and a message that names the value and the fix.
type Problem struct {
	Code    string
	Message string
}

// Error is a classified failure with one or more problems.
type Error struct {
	Kind     Kind
	Problems []Problem
	cause    error
}

func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		parts = append(parts, p.Code+": "+p.Message)
	}
	msg := strings.Join(parts, "; ")
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.cause }

// New returns an error of the given kind with a single problem.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Problems: []Problem{{Code: code, Message: fmt.Sprintf(format, args...)}}}
}

// Wrap returns an Internal error that keeps cause for logs. The client sees
// only a generic message.
func Wrap(cause error, format string, args ...any) *Error {
	return &Error{
		Kind:     Internal,
		Problems: []Problem{{Code: "internal_error", Message: fmt.Sprintf(format, args...)}},
		cause:    cause,
	}
}

// NotFoundf returns the CertCentral not-found error for an object kind, for
// example code "not_found|order".
func NotFoundf(object string, format string, args ...any) *Error {
	return New(NotFound, "not_found|"+object, format, args...)
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Is reports whether err carries an *Error of the given kind.
func Is(err error, kind Kind) bool {
	e := As(err)
	return e != nil && e.Kind == kind
}

// List collects the violations of one request, so that a client sees every
// problem in a single response.
type List struct {
	problems []Problem
}

// Required records a missing field at path, for example "organization.contacts[0].email".
func (l *List) Required(path, format string, args ...any) {
	l.Add("required_param:"+path, format, args...)
}

// Invalid records a field at path whose value breaks a rule.
func (l *List) Invalid(path, format string, args ...any) {
	l.Add("invalid_value:"+path, format, args...)
}

// Add records a problem with an explicit code.
func (l *List) Add(code, format string, args ...any) {
	l.problems = append(l.problems, Problem{Code: code, Message: fmt.Sprintf(format, args...)})
}

// Len returns the number of recorded problems.
func (l *List) Len() int { return len(l.problems) }

// Problems returns a copy of the recorded problems.
func (l *List) Problems() []Problem { return append([]Problem(nil), l.problems...) }

// Err returns nil when nothing was recorded, and otherwise a BadRequest error
// holding every problem in the order they were found.
func (l *List) Err() error {
	if len(l.problems) == 0 {
		return nil
	}
	return &Error{Kind: BadRequest, Problems: l.Problems()}
}
