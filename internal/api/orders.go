package api

import (
	"encoding/pem"
	"net/http"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// CertCentral's date formats: request and order dates are ISO 8601 with a
// numeric offset; certificate validity dates are plain dates.
const (
	dateTimeLayout = "2006-01-02T15:04:05-07:00"
	dateLayout     = "2006-01-02"
)

type requestRef struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

type chainEntry struct {
	SubjectCommonName string `json:"subject_common_name"`
	PEM               string `json:"pem"`
}

type placedOrderView struct {
	ID               int64         `json:"id"`
	Organization     *containerRef `json:"organization,omitempty"`
	Requests         []requestRef  `json:"requests,omitempty"`
	CertificateID    int64         `json:"certificate_id,omitempty"`
	CertificateChain []chainEntry  `json:"certificate_chain,omitempty"`
}

func (s *Server) placeDSOrder(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	tree, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, parseErr := order.ParseDSOrg(tree, s.orders.Now())
	if req == nil {
		s.writeError(w, r, parseErr)
		return
	}
	placed, err := s.orders.PlaceDSOrder(r.Context(), caller, req, parseErr)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewPlacedOrder(placed))
}

// viewPlacedOrder renders the four response bodies of the ds_org reference page:
// a pending request; a request approved by policy that waits ("submitted");
// an approved request whose certificate was issued within the call (with
// certificate_id); and, with no request at all, {id, certificate_id}.
func viewPlacedOrder(p *order.PlacedOrder) placedOrderView {
	v := placedOrderView{ID: p.OrderID}
	if p.OrganizationCreated {
		v.Organization = &containerRef{ID: p.OrganizationID}
	}
	if p.RequestID != 0 {
		v.Requests = []requestRef{{ID: p.RequestID, Status: p.RequestStatus}}
	}
	if p.RequestID == 0 || p.Certificate != nil {
		v.CertificateID = p.CertificateID
	}
	if p.Certificate != nil {
		v.CertificateChain = append(v.CertificateChain, chainEntry{
			SubjectCommonName: commonNameOf(p.Certificate),
			PEM:               pemString(p.Certificate),
		})
		for _, c := range p.Chain {
			v.CertificateChain = append(v.CertificateChain, chainEntry{SubjectCommonName: c.Subject.CommonName, PEM: pemString(c.Raw)})
		}
	}
	return v
}

func pemString(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

type orderCertificateView struct {
	ID                int64            `json:"id"`
	CommonName        string           `json:"common_name"`
	DNSNames          []string         `json:"dns_names"`
	SerialNumber      string           `json:"serial_number,omitempty"`
	Thumbprint        string           `json:"thumbprint,omitempty"`
	DateCreated       string           `json:"date_created"`
	ValidFrom         string           `json:"valid_from,omitempty"`
	ValidTill         string           `json:"valid_till,omitempty"`
	DaysRemaining     *int             `json:"days_remaining,omitempty"`
	CSR               string           `json:"csr,omitempty"`
	Organization      containerRef     `json:"organization"`
	OrganizationUnits []string         `json:"organization_units"`
	ServerPlatform    serverPlatform   `json:"server_platform"`
	SignatureHash     string           `json:"signature_hash"`
	KeySize           int              `json:"key_size"`
	KeyType           string           `json:"csr_key_type"`
	CACert            caCertRef        `json:"ca_cert"`
	CertValidity      map[string]any   `json:"cert_validity"`
	UsageDesignation  usageDesignation `json:"usage_designation"`
}

type serverPlatform struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type caCertRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type usageDesignation struct {
	PrimaryUsage     string   `json:"primary_usage"`
	AdditionalUsages []string `json:"additional_usages"`
}

type orderOrganizationView struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	IsActive    bool   `json:"is_active"`
	City        string `json:"city"`
	State       string `json:"state"`
	Country     string `json:"country"`
}

type productView struct {
	NameID         string `json:"name_id"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	ValidationType string `json:"validation_type"`
}

type userView struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

type orderRequestView struct {
	ID       int64  `json:"id"`
	Date     string `json:"date"`
	Type     string `json:"type"`
	Status   string `json:"status"`
	Comments string `json:"comments"`
}

type orderInfoView struct {
	ID                          int64                 `json:"id"`
	Status                      string                `json:"status"`
	Certificate                 orderCertificateView  `json:"certificate"`
	IsRenewal                   bool                  `json:"is_renewal"`
	RenewedOrderID              int64                 `json:"renewed_order_id,omitempty"`
	DateCreated                 string                `json:"date_created"`
	OrderValidTill              string                `json:"order_valid_till"`
	Organization                orderOrganizationView `json:"organization"`
	OrganizationContact         store.Contact         `json:"organization_contact"`
	TechnicalContact            *store.Contact        `json:"technical_contact,omitempty"`
	DisableRenewalNotifications bool                  `json:"disable_renewal_notifications"`
	Container                   containerRef          `json:"container"`
	Product                     productView           `json:"product"`
	User                        userView              `json:"user"`
	Requests                    []orderRequestView    `json:"requests"`
	CSProvisioningMethod        string                `json:"cs_provisioning_method"`
	PaymentMethod               string                `json:"payment_method"`
	AdditionalEmails            []string              `json:"additional_emails"`
	CustomRenewalMessage        string                `json:"custom_renewal_message,omitempty"`
	UserAssignments             []containerRef        `json:"user_assignments"`
	provisioningView
	// IssuanceError is docsign-ca's own field: why the CA refused to issue
	// (for example a pre-issuance lint finding). Absent when nothing failed.
	IssuanceError string `json:"issuance_error,omitempty"`
}

// wireRequestStatus shows an approved request whose certificate is not yet
// issued as "submitted", the status CertCentral uses for a request that is
// approved and waiting for validation or key material. An approved revoke
// request has done its work, so it stays "approved".
func wireRequestStatus(r store.Request, o *store.Order) string {
	waiting := o.Status == store.OrderPending || o.Status == store.OrderWaitingPickup
	if r.Status == store.RequestApproved && waiting && r.Type != store.RequestRevoke {
		return "submitted"
	}
	return r.Status
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "order")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := s.orders.Order(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOrderInfo(info))
}

func viewOrderInfo(info *order.OrderInfo) orderInfoView {
	o, d, org := info.Order, info.Details, info.Organization
	v := orderInfoView{
		ID:                          o.ID,
		Status:                      o.Status,
		IsRenewal:                   o.RenewalOfOrderID != 0 || d.RenewedThumbprint != "",
		RenewedOrderID:              o.RenewalOfOrderID,
		DateCreated:                 o.DateCreated.Format(dateTimeLayout),
		OrderValidTill:              o.NotAfter.Format(dateLayout),
		OrganizationContact:         org.OrganizationContact,
		TechnicalContact:            org.TechnicalContact,
		DisableRenewalNotifications: d.DisableRenewalNotifications,
		Container:                   containerRef{ID: o.ContainerID},
		Product:                     productView{NameID: order.ProductNameID, Name: "Document Signing - Organization", Type: "document_signing_certificate", ValidationType: "ds"},
		User:                        userView{ID: info.Requester.ID, FirstName: info.Requester.FirstName, LastName: info.Requester.LastName, Email: info.Requester.Email},
		Requests:                    []orderRequestView{},
		CSProvisioningMethod:        o.ProvisioningMethod,
		PaymentMethod:               d.PaymentMethod,
		AdditionalEmails:            append([]string{}, d.AdditionalEmails...),
		CustomRenewalMessage:        d.CustomRenewalMessage,
		UserAssignments:             []containerRef{},
		IssuanceError:               o.IssueError,
		Organization: orderOrganizationView{
			ID: org.ID, Name: org.Name, DisplayName: displayName(org), IsActive: org.IsActive,
			City: org.City, State: org.State, Country: strings.ToLower(org.Country),
		},
	}
	for _, id := range d.UserIDAssignments {
		v.UserAssignments = append(v.UserAssignments, containerRef{ID: id})
	}
	for _, r := range info.Requests {
		v.Requests = append(v.Requests, orderRequestView{
			ID: r.ID, Date: r.Date.Format(dateTimeLayout), Type: r.Type, Status: wireRequestStatus(r, o), Comments: r.Comments,
		})
	}
	v.Certificate = viewOrderCertificate(info)
	v.provisioningView = viewProvisioning(info)
	return v
}

func viewOrderCertificate(info *order.OrderInfo) orderCertificateView {
	o, d, c := info.Order, info.Details, info.Certificate
	v := orderCertificateView{
		ID:                c.ID,
		CommonName:        info.Organization.Name,
		DNSNames:          []string{},
		DateCreated:       c.DateCreated.Format(dateTimeLayout),
		CSR:               o.CSRPEM,
		Organization:      containerRef{ID: o.OrganizationID},
		OrganizationUnits: []string{},
		ServerPlatform:    serverPlatform{ID: d.ServerPlatformID, Name: "OTHER"},
		SignatureHash:     o.SignatureHash,
		KeySize:           o.KeySize,
		KeyType:           o.KeyType,
		CACert:            caCertRef{ID: info.CACertID, Name: info.CAName},
		CertValidity:      certValidity(d.Validity),
		UsageDesignation:  usageDesignation{PrimaryUsage: "signing", AdditionalUsages: d.Usages},
	}
	if c.Status != store.CertificatePending {
		v.SerialNumber = c.SerialNumber
		v.Thumbprint = c.Thumbprint
		v.ValidFrom = c.ValidFrom.Format(dateLayout)
		v.ValidTill = c.ValidTill.Format(dateLayout)
		days := int(time.Until(c.ValidTill).Hours() / 24)
		if days < 0 {
			days = 0
		}
		v.DaysRemaining = &days
	}
	return v
}

func certValidity(v order.Validity) map[string]any {
	switch {
	case v.CustomExpirationDate != "":
		return map[string]any{"custom_expiration_date": v.EndDate.Format(dateLayout)}
	case v.Days != 0:
		return map[string]any{"days": v.Days}
	default:
		return map[string]any{"years": v.Years}
	}
}
