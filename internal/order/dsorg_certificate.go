package order

import (
	"errors"
	"github.com/docsign-ca/docsign-ca/internal/jsonbody"
	"slices"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/csr"
)

var (
	signatureHashes = []string{"sha256", "sha384", "sha512"}
	primaryUsages   = []string{"signing"}
	// additionalUsages are the extended uses a ds_org certificate may carry.
	// The CertCentral reference lists "adobe_authentic_documents_trustsigning",
	// a misprint of adobe_authentic_documents_trust, so that spelling is
	// rejected with a hint.
	additionalUsages = []string{"adobe_authentic_documents_trust", "ms_document_signing", "document_signing"}
	keyTypes         = []string{"rsa", "ecc"}
)

const misprintedAdobeUsage = "adobe_authentic_documents_trustsigning"

// Key types and sizes that the ds_org product offers. ECC sizes are the
// curve sizes of P-256 and P-384.
const (
	keyTypeRSA          = "rsa"
	keyTypeECC          = "ecc"
	defaultRSAKeySize   = 2048
	defaultECCKeySize   = 256
	maxKeyBits          = 1 << 16 // bounds key_size before its conversion to int
	allowedKeySizesText = "2048, 3072 or 4096 for rsa keys, and 256 (p-256) or 384 (p-384) for ecc keys"
)

var allowedKeySizes = map[string][]int{
	keyTypeRSA: {2048, 3072, 4096},
	keyTypeECC: {256, 384},
}

// keySize is a parsed certificate.key_size together with the key type it
// implies and the value as sent, for messages.
type keySize struct {
	bits    int
	keyType string
	sent    string
}

// readCertificate reads the certificate object: usages, server platform,
// issuing CA, signature hash, CSR and key parameters.
func (r *fieldReader) readCertificate(root jsonObject, request *DSOrgRequest, methodKnown bool) {
	certificate, ok := r.requiredObject(root, "certificate")
	if !ok {
		return
	}

	r.readUsageDesignation(certificate, request)
	request.ServerPlatformID = r.readServerPlatform(certificate)
	request.CACertID, _ = r.optionalText(certificate, "ca_cert_id", maxCodeLength, singleLine)
	request.SignatureHash, _ = r.optionalEnum(certificate, "signature_hash", signatureHashes, defaultSignatureHash)

	request.CSR = r.readCSR(certificate, request.ProvisioningMethod, methodKnown)
	request.KeyType, request.KeySize = r.readKey(certificate, request.CSR)
}

func (r *fieldReader) readUsageDesignation(certificate jsonObject, request *DSOrgRequest) {
	designation, ok := r.requiredObject(certificate, "usage_designation")
	if !ok {
		return
	}

	request.PrimaryUsage, _ = r.requiredEnum(designation, "primary_usage", primaryUsages)
	request.Usages = r.readAdditionalUsages(designation)
}

// readAdditionalUsages returns the distinct additional usages in the order
// first sent. An absent, null or empty array means ["document_signing"].
func (r *fieldReader) readAdditionalUsages(designation jsonObject) []string {
	path := designation.childPath("additional_usages")
	value, present := designation.lookup("additional_usages")
	if !present {
		return []string{defaultAdditionalUsage}
	}

	elements, ok := value.([]any)
	if !ok {
		r.wrongType(path, "an array", value)
		return nil
	}

	if len(elements) == 0 {
		return []string{defaultAdditionalUsage}
	}

	distinct, ok := r.distinctUsages(elements, path)
	if !ok {
		return nil
	}

	usages := make([]string, 0, len(distinct))
	for _, entry := range distinct {
		usage, ok := r.usageValue(entry.text, jsonbody.Index(path, entry.index))
		if ok {
			usages = append(usages, usage)
		}
	}
	return usages
}

// usageEntry is the first occurrence of a usage in the array.
type usageEntry struct {
	text  string
	index int
}

// distinctUsages collapses repeated usages, compared case-insensitively. It
// stops at the first value beyond maxDistinctUsages, so that a long array
// yields one problem instead of one per entry. Each non-string element counts
// as a distinct value.
func (r *fieldReader) distinctUsages(elements []any, path string) ([]usageEntry, bool) {
	var distinct []usageEntry
	count := 0
	for i, element := range elements {
		text, isString := element.(string)
		key := strings.ToLower(strings.TrimSpace(text))
		if isString && slices.ContainsFunc(distinct, func(e usageEntry) bool { return e.text == key }) {
			continue
		}

		count++
		if count > maxDistinctUsages {
			r.problems.Invalid(path, "%s has more than %d distinct values: send at most %d of %s",
				path, maxDistinctUsages, maxDistinctUsages, strings.Join(additionalUsages, ", "))
			return nil, false
		}

		if !isString {
			r.wrongType(jsonbody.Index(path, i), "a string", element)
			continue
		}
		distinct = append(distinct, usageEntry{text: key, index: i})
	}
	return distinct, true
}

func (r *fieldReader) usageValue(text, path string) (string, bool) {
	usage, ok := enumValue(text, additionalUsages)
	if ok {
		return usage, true
	}

	hint := ""
	if text == misprintedAdobeUsage {
		hint = " (the Adobe usage is spelled adobe_authentic_documents_trust)"
	}
	r.problems.Invalid(path, "%s %s is not allowed%s: use one of %s",
		path, echo(text), hint, strings.Join(additionalUsages, ", "))
	return "", false
}

// readServerPlatform returns certificate.server_platform.id, or -1 (other)
// when server_platform is absent.
func (r *fieldReader) readServerPlatform(certificate jsonObject) int {
	platform, ok := r.optionalObject(certificate, "server_platform")
	if !ok {
		return defaultServerPlatform
	}

	path := platform.childPath("id")
	value, present := platform.lookup("id")
	if !present {
		r.problems.Required(path, "%s is required when server_platform is given: use -1 for other", path)
		return defaultServerPlatform
	}

	id, ok := r.integerField(value, path)
	if !ok {
		return defaultServerPlatform
	}

	// -1 is CertCentral's "other" platform and real platform ids are
	// positive, so 0 and other negative values name nothing.
	if id != defaultServerPlatform && (id <= 0 || id > maxServerPlatformID) {
		r.problems.Invalid(path, "%s %d is not a server platform id: use -1 (other) or a positive id", path, id)
		return defaultServerPlatform
	}
	return int(id)
}

// maxServerPlatformID bounds the id so that its conversion to int cannot
// overflow, even where int has 32 bits.
const maxServerPlatformID = 1<<31 - 1

// readCSR reads certificate.csr. The email method requires a CSR. The
// ship_token and client_app methods reject one, because for them the key is
// generated on the token. With an invalid method a given CSR is still parsed,
// so that its problems are reported too.
func (r *fieldReader) readCSR(certificate jsonObject, method string, methodKnown bool) *csr.Request {
	path := certificate.childPath("csr")
	text, ok := r.csrText(certificate, path)
	if !ok {
		return nil
	}

	switch {
	case methodKnown && method == provisioningEmail && text == "":
		r.problems.Required(path, "%s is required with cs_provisioning_method email: send the CSR or public key in PEM format", path)
		return nil
	case methodKnown && method != provisioningEmail && text != "":
		r.problems.Invalid(path, "%s is not accepted with cs_provisioning_method %s, because the key is generated on the token: remove the CSR or use the email method",
			path, method)
		return nil
	case text == "":
		return nil
	}

	return r.parseCSR(text, path)
}

// csrText returns the trimmed CSR text, empty when the field is absent or
// null. It returns ok=false after recording a problem.
func (r *fieldReader) csrText(certificate jsonObject, path string) (string, bool) {
	value, present := certificate.lookup("csr")
	if !present {
		return "", true
	}

	text, isString := value.(string)
	if !isString {
		r.wrongType(path, "a string", value)
		return "", false
	}

	if len(text) > maxCSRBytes {
		r.problems.Invalid(path, "%s is %d bytes long, more than the limit of %d bytes (64 KiB): send a single PEM CSR or public key",
			path, len(text), maxCSRBytes)
		return "", false
	}
	return strings.TrimSpace(text), true
}

func (r *fieldReader) parseCSR(text, path string) *csr.Request {
	parsed, err := csr.Parse(text)
	if err == nil {
		return parsed
	}

	if errors.Is(err, csr.ErrKeyNotAllowed) {
		r.problems.Invalid(path, "%s: %v", path, err)
		return nil
	}
	r.problems.Add("csr_invalid_cannot_parse", "%s: %v", path, err)
	return nil
}

// readKey returns the key type and size. They come from the CSR when there
// is one. Otherwise they come from csr_key_type and key_size. Without either,
// the key is rsa 2048, and an ecc key without key_size is P-256. A key_size
// that names an ecc curve implies ecc when csr_key_type is absent.
func (r *fieldReader) readKey(certificate jsonObject, parsed *csr.Request) (string, int) {
	requestedType, _ := r.optionalEnum(certificate, "csr_key_type", keyTypes, "")
	size, sizeGiven := r.readKeySize(certificate)

	if sizeGiven && requestedType != "" && size.keyType != requestedType {
		r.problems.Invalid("certificate.key_size", "certificate.key_size %s is not a size for csr_key_type %s: use %s",
			size.sent, requestedType, allowedKeySizesText)
		sizeGiven = false
	}

	if parsed != nil {
		return r.matchCSRKey(parsed, requestedType, size, sizeGiven)
	}

	keyType := keyTypeRSA
	switch {
	case requestedType != "":
		keyType = requestedType
	case sizeGiven:
		keyType = size.keyType
	}

	switch {
	case sizeGiven:
		return keyType, size.bits
	case keyType == keyTypeECC:
		return keyType, defaultECCKeySize
	default:
		return keyType, defaultRSAKeySize
	}
}

// readKeySize reads certificate.key_size: an integer or digit string, or a
// curve name p-256 or p-384 in any case. The CertCentral reference lists
// "p-354", a misprint of p-384, which is rejected like any other value.
func (r *fieldReader) readKeySize(certificate jsonObject) (keySize, bool) {
	const path = "certificate.key_size"
	value, present := certificate.lookup("key_size")
	if !present || isZeroValue(value) {
		// 0 and "" count as omitted: clients that marshal a struct send them.
		return keySize{}, false
	}

	size, ok := parseKeySize(value)
	if !ok {
		r.problems.Invalid(path, "%s %s is not allowed: use %s", path, echoAny(value), allowedKeySizesText)
		return keySize{}, false
	}
	return size, true
}

func parseKeySize(value any) (keySize, bool) {
	sent := echoAny(value)
	if s, isString := value.(string); isString {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "p-256":
			return keySize{bits: 256, keyType: keyTypeECC, sent: sent}, true
		case "p-384":
			return keySize{bits: 384, keyType: keyTypeECC, sent: sent}, true
		}
	}

	bits, ok := integerValue(value)
	if !ok || bits <= 0 || bits > maxKeyBits {
		return keySize{}, false
	}

	for keyType, sizes := range allowedKeySizes {
		if slices.Contains(sizes, int(bits)) {
			return keySize{bits: int(bits), keyType: keyType, sent: sent}, true
		}
	}
	return keySize{}, false
}

// matchCSRKey checks the CSR's key against csr_key_type, key_size and the
// sizes that the product offers, and returns the CSR's type and size.
func (r *fieldReader) matchCSRKey(parsed *csr.Request, requestedType string, size keySize, sizeGiven bool) (string, int) {
	if requestedType != "" && requestedType != parsed.KeyType {
		r.problems.Invalid("certificate.csr_key_type", "certificate.csr_key_type %s contradicts the CSR, whose key is %s: send %s or omit csr_key_type",
			requestedType, parsed.KeyType, parsed.KeyType)
	}

	if sizeGiven && (size.keyType != parsed.KeyType || size.bits != parsed.KeySize) {
		r.problems.Invalid("certificate.key_size", "certificate.key_size %s contradicts the CSR, whose %s key has %d bits: send %d or omit key_size",
			size.sent, parsed.KeyType, parsed.KeySize, parsed.KeySize)
	}

	// csr.Parse applies its own key policy, which today allows the same keys.
	// The check is repeated so that KeySize is always a size this product
	// offers, even if that policy grows.
	if !slices.Contains(allowedKeySizes[parsed.KeyType], parsed.KeySize) {
		r.problems.Invalid("certificate.csr", "the CSR's %s key has %d bits, a size this product does not offer: use %s",
			parsed.KeyType, parsed.KeySize, allowedKeySizesText)
	}
	return parsed.KeyType, parsed.KeySize
}

// isZeroValue reports whether a JSON value is 0 or the empty string.
func isZeroValue(value any) bool {
	if s, ok := value.(string); ok {
		return strings.TrimSpace(s) == ""
	}
	n, ok := integerValue(value)
	return ok && n == 0
}
