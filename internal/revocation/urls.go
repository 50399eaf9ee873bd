package revocation

import (
	"fmt"
	"net/url"
	"strings"
)

// OCSPPath is the path of the OCSP responder under the public URL. GET
// requests append the base64 request to it, as in /ocsp/MFQwUjBQ...
const OCSPPath = "/ocsp"

// CRLPath returns the path of an issuing CA's CRL, /crl/<ca_cert_id>.crl.
func CRLPath(caCertID string) string { return "/crl/" + caCertID + ".crl" }

// CACertificatePath returns the path of a CA certificate, /ca/<ca_cert_id>.cer.
func CACertificatePath(caCertID string) string { return "/ca/" + caCertID + ".cer" }

// URLs are the revocation status URLs written into a certificate.
type URLs struct {
	CRL    string // CRL distribution point (RFC 5280 §4.2.1.13)
	OCSP   string // AIA id-ad-ocsp (RFC 5280 §4.2.2.1)
	Issuer string // AIA id-ad-caIssuers (RFC 5280 §4.2.2.1)
}

// StatusURLs returns the URLs for certificates that the CA with caCertID
// issues. publicURL must have passed CheckPublicURL.
func StatusURLs(publicURL, caCertID string) URLs {
	return URLs{
		CRL:    publicURL + CRLPath(caCertID),
		OCSP:   publicURL + OCSPPath,
		Issuer: publicURL + CACertificatePath(caCertID),
	}
}

// CheckPublicURL validates the base URL that relying parties reach, such as
// http://pki.example.com, and returns it without a trailing slash.
//
// Relying parties fetch CRLs and OCSP responses over plain HTTP, which
// RFC 5280 §4.2.1.13 and §4.2.2.1 describe. https is accepted, but a
// relying party that must check the revocation of the HTTPS server's own
// certificate first may fail, so plain http is the recommended scheme.
func CheckPublicURL(raw string) (string, error) {
	parsed, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid public URL %q: %v; use a URL such as http://pki.example.com", raw, err)
	}

	switch {
	case parsed.Scheme != "http" && parsed.Scheme != "https":
		return "", fmt.Errorf("invalid public URL %q: the scheme must be http or https, as in http://pki.example.com", raw)
	case parsed.Host == "":
		return "", fmt.Errorf("invalid public URL %q: the host is missing; use a URL such as http://pki.example.com", raw)
	case parsed.User != nil:
		return "", fmt.Errorf("invalid public URL %q: it must not contain a user name or password", raw)
	case parsed.RawQuery != "" || parsed.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return "", fmt.Errorf("invalid public URL %q: it must not contain a query or a fragment", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}
