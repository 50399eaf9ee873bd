package order

import (
	"slices"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/errs"
)

// Product describes an orderable product. The ds_org entry is built from
// the same values that ParseDSOrg accepts, so the product endpoints and the
// order endpoint cannot disagree.
type Product struct {
	GroupName      string
	NameID         string
	Name           string
	Type           string
	ValidationType string
	ValidityYears  []int
	// MaxValidityDays is the longest order_validity.days.
	MaxValidityDays             int
	SignatureHashes             []string
	DefaultSignatureHash        string
	KeyTypes                    []KeyTypeOption
	ProvisioningMethods         []string
	DefaultProvisioningMethod   string
	CSRRequired                 bool
	CustomExpirationDateAllowed bool
	// DuplicatesAllowed is true because an issued order may gain duplicate
	// certificates with their own keys.
	DuplicatesAllowed bool
	// CACerts are the active issuing CAs an order may name in certificate.ca_cert_id.
	CACerts []CACertOption
}

// KeyTypeOption is a key type with its allowed sizes in bits. For ecc the
// sizes are those of the curves P-256 and P-384.
type KeyTypeOption struct {
	Type  string
	Sizes []int
}

// CACertOption is an issuing CA as certificate.ca_cert_id names it.
type CACertOption struct {
	ID   string
	Name string
}

// Names of the ds_org product as CertCentral lists it.
const (
	dsOrgProductName    = "Document Signing - Organization"
	dsOrgProductType    = "document_signing_certificate"
	dsOrgProductGroup   = "document_signing"
	dsOrgValidationType = "DS"
)

// Products lists the products docsign-ca sells: ds_org only.
func (s *Service) Products() []Product {
	var cas []CACertOption
	for _, issuer := range s.ca.Issuers() {
		cas = append(cas, CACertOption{ID: issuer.Record.CACertID, Name: issuer.Record.CommonName})
	}
	slices.SortFunc(cas, func(a, b CACertOption) int { return strings.Compare(a.ID, b.ID) })
	return []Product{dsOrgProduct(cas)}
}

// Product returns the product with the name_id, or 404 not_found|product.
func (s *Service) Product(nameID string) (*Product, error) {
	for _, p := range s.Products() {
		if strings.EqualFold(p.NameID, nameID) {
			return &p, nil
		}
	}
	return nil, errs.NotFoundf("product", "product %q not found; docsign-ca sells %s", nameID, ProductNameID)
}

// dsOrgProduct describes ds_org with the given issuing CAs.
func dsOrgProduct(cas []CACertOption) Product {
	years := make([]int, 0, maxValidityYears-minValidityYears+1)
	for y := minValidityYears; y <= maxValidityYears; y++ {
		years = append(years, y)
	}

	keyOptions := make([]KeyTypeOption, 0, len(keyTypes))
	for _, t := range keyTypes {
		keyOptions = append(keyOptions, KeyTypeOption{Type: t, Sizes: slices.Clone(allowedKeySizes[t])})
	}

	return Product{
		GroupName:                   dsOrgProductGroup,
		NameID:                      ProductNameID,
		Name:                        dsOrgProductName,
		Type:                        dsOrgProductType,
		ValidationType:              dsOrgValidationType,
		ValidityYears:               years,
		MaxValidityDays:             maxValidityDays,
		SignatureHashes:             slices.Clone(signatureHashes),
		DefaultSignatureHash:        defaultSignatureHash,
		KeyTypes:                    keyOptions,
		ProvisioningMethods:         slices.Clone(provisioningMethods),
		DefaultProvisioningMethod:   defaultProvisioning,
		CSRRequired:                 false,
		CustomExpirationDateAllowed: true,
		DuplicatesAllowed:           true,
		CACerts:                     cas,
	}
}
