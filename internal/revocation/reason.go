package revocation

import (
	"fmt"
	"strings"
)

// Reason is an RFC 5280 §5.3.1 CRLReason code.
type Reason int

// The CRLReason codes that docsign-ca accepts. certificateHold (6) and
// removeFromCRL (8) are missing because docsign-ca never suspends a
// certificate: a revocation is final. aACompromise (10) is missing because
// it concerns attribute certificates.
const (
	Unspecified          Reason = 0
	KeyCompromise        Reason = 1
	CACompromise         Reason = 2
	AffiliationChanged   Reason = 3
	Superseded           Reason = 4
	CessationOfOperation Reason = 5
	PrivilegeWithdrawn   Reason = 9
)

// reasonNames lists the accepted reasons with their CertCentral-style
// snake_case names, in code order.
var reasonNames = []struct {
	reason Reason
	name   string
}{
	{Unspecified, "unspecified"},
	{KeyCompromise, "key_compromise"},
	{CACompromise, "ca_compromise"},
	{AffiliationChanged, "affiliation_changed"},
	{Superseded, "superseded"},
	{CessationOfOperation, "cessation_of_operation"},
	{PrivilegeWithdrawn, "privilege_withdrawn"},
}

// rejectedReasons maps the folded CRLReason names that exist in RFC 5280
// but that docsign-ca rejects to the explanation for the client.
var rejectedReasons = map[string]string{
	"certificatehold": "docsign-ca does not suspend certificates, because a revocation is final; revoke with another reason",
	"removefromcrl":   "removeFromCRL only undoes a certificateHold, and docsign-ca does not suspend certificates",
	"aacompromise":    "aACompromise concerns attribute certificates, which docsign-ca does not issue",
}

// String returns the snake_case name of the reason, such as "key_compromise".
func (r Reason) String() string {
	for _, n := range reasonNames {
		if n.reason == r {
			return n.name
		}
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// ReasonNames returns the snake_case names ParseReason accepts, in code order.
func ReasonNames() []string {
	names := make([]string, 0, len(reasonNames))
	for _, n := range reasonNames {
		names = append(names, n.name)
	}
	return names
}

// ParseReason returns the reason named by name. It accepts CertCentral's
// snake_case names (key_compromise) and RFC 5280's camelCase names
// (keyCompromise, cACompromise), in any letter case. An empty name is
// Unspecified.
func ParseReason(name string) (Reason, error) {
	folded := foldReasonName(name)
	if folded == "" {
		return Unspecified, nil
	}

	for _, n := range reasonNames {
		if foldReasonName(n.name) == folded {
			return n.reason, nil
		}
	}
	if explanation, ok := rejectedReasons[folded]; ok {
		return 0, fmt.Errorf("revocation reason %q is not allowed: %s", name, explanation)
	}
	return 0, fmt.Errorf("revocation reason %q is not known; allowed: %s", name, strings.Join(ReasonNames(), ", "))
}

// foldReasonName lower-cases a name and drops underscores, so that
// "key_compromise", "keyCompromise" and "KEY_COMPROMISE" compare equal.
func foldReasonName(name string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "_", ""))
}
