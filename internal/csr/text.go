package csr

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// escapeReplacer undoes the damage that copying a PEM block through JSON,
// shell scripts and web forms leaves behind: literal two-character escape
// sequences, escaped slashes, and CR or CRLF line endings. strings.Replacer
// tries the patterns in argument order, so `\r\n` wins over `\r`.
var escapeReplacer = strings.NewReplacer(
	`\r\n`, "\n",
	`\n`, "\n",
	`\r`, "\n",
	`\/`, "/",
	"\r\n", "\n",
	"\r", "\n",
)

// privateKeyLabel matches the BEGIN line of every PEM private key type that
// OpenSSL, OpenSSH and OpenPGP write, such as PRIVATE KEY, RSA PRIVATE KEY,
// EC PRIVATE KEY, ENCRYPTED PRIVATE KEY and PGP PRIVATE KEY BLOCK.
var privateKeyLabel = regexp.MustCompile(`(?i)-----BEGIN[A-Z0-9 ]*PRIVATE KEY`)

func normalize(text string) string {
	return strings.TrimSpace(escapeReplacer.Replace(text))
}

func containsPrivateKeyLabel(text string) bool {
	return privateKeyLabel.MatchString(text)
}

// decodeText returns the PEM label and the decoded DER of normalized text.
// The label is "" when the text is bare base64 without PEM armor.
//
// The PEM armor is parsed by hand instead of with encoding/pem, because
// encoding/pem requires line breaks after the BEGIN line and before the END
// line, and pasted CSRs often lack them.
func decodeText(text string) (label string, der []byte, err error) {
	begin := strings.Index(text, "-----BEGIN")
	if begin < 0 {
		der, err := decodeBase64(text)
		if err != nil {
			return "", nil, unparseable("the text has no PEM BEGIN line and is not valid base64 (%v); send the CSR in a PEM block labeled %s",
				err, labelCSR)
		}
		return "", der, nil
	}

	label, body, rest, err := splitPEM(text[begin:])
	if err != nil {
		return "", nil, err
	}
	if strings.Contains(rest, "-----BEGIN") {
		return "", nil, unparseable("the text contains more than one PEM block; send exactly one CSR")
	}

	der, err = decodeBase64(body)
	if err != nil {
		return "", nil, unparseable("the base64 content of the PEM block is invalid (%v); copy the complete PEM block again", err)
	}
	if len(der) == 0 {
		return "", nil, unparseable("the PEM block is empty; copy the complete PEM block again")
	}
	return label, der, nil
}

// splitPEM splits text that starts with "-----BEGIN" into the label, the
// base64 body and the text after the END line. The END label must match the
// BEGIN label, as RFC 7468 requires.
func splitPEM(text string) (label, body, rest string, err error) {
	afterBegin := text[len("-----BEGIN"):]
	labelEnd := strings.Index(afterBegin, "-----")
	if labelEnd < 0 {
		return "", "", "", unparseable("the PEM BEGIN line does not end with five dashes; copy the complete PEM block again")
	}
	label = canonicalLabel(afterBegin[:labelEnd])
	if label == "" {
		return "", "", "", unparseable("the PEM BEGIN line has no label; send a CSR in a PEM block labeled %s", labelCSR)
	}
	content := afterBegin[labelEnd+len("-----"):]

	endStart := strings.Index(content, "-----END")
	if endStart < 0 {
		return "", "", "", unparseable("the PEM block has no END line; copy the complete PEM block, including the -----END line")
	}
	body = content[:endStart]
	afterEnd := content[endStart+len("-----END"):]

	endLabelEnd := strings.Index(afterEnd, "-----")
	if endLabelEnd < 0 {
		return "", "", "", unparseable("the PEM END line does not end with five dashes; copy the complete PEM block again")
	}
	if canonicalLabel(afterEnd[:endLabelEnd]) != label {
		return "", "", "", unparseable("the label of the PEM END line differs from the BEGIN line; copy the complete PEM block again")
	}
	return label, body, afterEnd[endLabelEnd+len("-----"):], nil
}

// canonicalLabel uppercases a PEM label and collapses its whitespace, so that
// a label broken across lines still matches.
func canonicalLabel(label string) string {
	return strings.ToUpper(strings.Join(strings.Fields(label), " "))
}

// decodeBase64 decodes standard base64 (RFC 4648 §4) after removing all
// whitespace. Padding is optional. The error gives the offset of the first
// invalid character counted without whitespace, never the character itself.
func decodeBase64(text string) ([]byte, error) {
	compact := strings.TrimRight(strings.Join(strings.Fields(text), ""), "=")

	der, err := base64.RawStdEncoding.DecodeString(compact)
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		return nil, fmt.Errorf("invalid base64 at character %d, not counting whitespace", int64(corrupt))
	}
	return der, err
}

// describeLabel returns the reason for rejecting a PEM block of an
// unsupported label. It names only labels from a fixed list, so no submitted
// text is echoed.
func describeLabel(label string) string {
	const sendCSR = "send a CSR in a PEM block labeled " + labelCSR

	switch label {
	case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
		return "the PEM block is a certificate, not a CSR; " + sendCSR
	case "PKCS7", "CMS":
		return "the PEM block is a PKCS #7 or CMS structure, not a CSR; " + sendCSR
	case "X509 CRL":
		return "the PEM block is a certificate revocation list, not a CSR; " + sendCSR
	case "RSA PUBLIC KEY":
		return "the PEM block is a PKCS #1 RSA public key, which is not accepted; " + sendCSR +
			", or convert the key to a PUBLIC KEY block with `openssl rsa -RSAPublicKey_in -pubout`"
	default:
		return "the PEM block has a type that is not accepted; " + sendCSR + " or " + labelPublicKey
	}
}
