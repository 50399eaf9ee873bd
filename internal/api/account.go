package api

import (
	"net/http"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/payment"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// organizationListItemView is an organization in the organization list.
// validations appears only with include_validation=true.
type organizationListItemView struct {
	ID                  int64             `json:"id"`
	Status              string            `json:"status"`
	Name                string            `json:"name"`
	AssumedName         string            `json:"assumed_name"`
	DisplayName         string            `json:"display_name"`
	IsActive            bool              `json:"is_active"`
	Address             string            `json:"address"`
	Address2            string            `json:"address2"`
	Zip                 string            `json:"zip"`
	City                string            `json:"city"`
	State               string            `json:"state"`
	Country             string            `json:"country"`
	Telephone           string            `json:"telephone"`
	Container           containerRef      `json:"container"`
	OrganizationContact store.Contact     `json:"organization_contact"`
	Validations         *[]validationView `json:"validations,omitempty"`
}

type organizationListView struct {
	Organizations []organizationListItemView `json:"organizations"`
	Page          pageView                   `json:"page"`
}

func organizationStatus(o *store.Organization) string {
	if o.IsActive {
		return "active"
	}
	return "inactive"
}

func viewOrganizationListItem(o *store.Organization, validations map[int64][]store.Validation) organizationListItemView {
	v := organizationListItemView{
		ID:                  o.ID,
		Status:              organizationStatus(o),
		Name:                o.Name,
		AssumedName:         o.AssumedName,
		DisplayName:         displayName(o),
		IsActive:            o.IsActive,
		Address:             o.Address,
		Address2:            o.Address2,
		Zip:                 o.Zip,
		City:                o.City,
		State:               o.State,
		Country:             strings.ToLower(o.Country),
		Telephone:           o.Telephone,
		Container:           containerRef{ID: o.ContainerID},
		OrganizationContact: o.OrganizationContact,
	}
	if validations != nil {
		list := viewValidations(validations[o.ID])
		v.Validations = &list
	}
	return v
}

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	q, err := parseOrganizationQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.orders.ListOrganizations(r.Context(), caller, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOrganizationList(w, r, list)
}

// listContainerOrganizations lists the organizations that orders placed in
// the container may name.
func (s *Server) listContainerOrganizations(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "container")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := parseOrganizationQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.orders.ContainerOrganizations(r.Context(), caller, id, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOrganizationList(w, r, list)
}

func parseOrganizationQuery(r *http.Request) (*order.OrganizationListQuery, error) {
	values, err := queryValues(r)
	if err != nil {
		return nil, err
	}
	return order.ParseOrganizationListQuery(values)
}

var organizationCSVHeader = []string{
	"id", "status", "name", "assumed_name", "display_name", "is_active", "address", "address2",
	"city", "state", "zip", "country", "telephone", "container_id",
}

func writeOrganizationList(w http.ResponseWriter, r *http.Request, list *order.OrganizationList) {
	items := make([]organizationListItemView, 0, len(list.Organizations))
	for i := range list.Organizations {
		items = append(items, viewOrganizationListItem(&list.Organizations[i], list.Validations))
	}

	if wantsCSV(r.Header.Get("Accept")) {
		rows := make([][]string, 0, len(items))
		for _, o := range items {
			rows = append(rows, []string{
				csvInt(o.ID), o.Status, csvText(o.Name), csvText(o.AssumedName), csvText(o.DisplayName), csvBool(o.IsActive),
				csvText(o.Address), csvText(o.Address2), csvText(o.City), csvText(o.State), csvText(o.Zip), o.Country,
				csvText(o.Telephone), csvInt(o.Container.ID),
			})
		}
		writeCSV(w, "organizations.csv", organizationCSVHeader, rows)
		return
	}
	writeJSON(w, http.StatusOK, organizationListView{Organizations: items, Page: viewPage(list.Total, list.Page)})
}

// productListItemView is a product in CertCentral's product list.
type productListItemView struct {
	GroupName                 string             `json:"group_name"`
	NameID                    string             `json:"name_id"`
	Name                      string             `json:"name"`
	Type                      string             `json:"type"`
	AllowedContainerIDs       []int64            `json:"allowed_container_ids"`
	AllowedValidityYears      []int              `json:"allowed_validity_years"`
	AllowedOrderValidityYears []int              `json:"allowed_order_validity_years"`
	SignatureHashTypes        signatureHashTypes `json:"signature_hash_types"`
	CSRRequired               bool               `json:"csr_required"`
}

type signatureHashTypes struct {
	AllowedHashTypes  []hashTypeView `json:"allowed_hash_types"`
	DefaultHashTypeID string         `json:"default_hash_type_id"`
}

type hashTypeView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// productInfoView is CertCentral's product info. The fields after
// ServerPlatforms are docsign-ca's own: they state the key and
// provisioning choices that ParseDSOrg accepts.
type productInfoView struct {
	productListItemView
	ValidationType                string           `json:"validation_type"`
	DuplicatesAllowed             bool             `json:"duplicates_allowed"`
	AllowedCACerts                []caCertRef      `json:"allowed_ca_certs"`
	AdditionalDNSNamesAllowed     bool             `json:"additional_dns_names_allowed"`
	IncreasedCompatibilityAllowed bool             `json:"increased_compatibility_allowed"`
	CustomExpirationDateAllowed   bool             `json:"custom_expiration_date_allowed"`
	AllowAutoRenew                bool             `json:"allow_auto_renew"`
	ServerPlatforms               []serverPlatform `json:"server_platforms"`
	AllowedKeyTypes               []keyTypeView    `json:"allowed_key_types"`
	CSProvisioningMethods         []string         `json:"cs_provisioning_methods"`
	DefaultCSProvisioningMethod   string           `json:"default_cs_provisioning_method"`
	MaxOrderValidityDays          int              `json:"max_order_validity_days"`
}

type keyTypeView struct {
	Type  string `json:"type"`
	Sizes []int  `json:"sizes"`
}

func viewProductListItem(p order.Product) productListItemView {
	hashes := make([]hashTypeView, 0, len(p.SignatureHashes))
	for _, h := range p.SignatureHashes {
		hashes = append(hashes, hashTypeView{ID: h, Name: hashDisplayName(h)})
	}
	return productListItemView{
		GroupName:                 p.GroupName,
		NameID:                    p.NameID,
		Name:                      p.Name,
		Type:                      p.Type,
		AllowedContainerIDs:       []int64{},
		AllowedValidityYears:      p.ValidityYears,
		AllowedOrderValidityYears: p.ValidityYears,
		SignatureHashTypes:        signatureHashTypes{AllowedHashTypes: hashes, DefaultHashTypeID: p.DefaultSignatureHash},
		CSRRequired:               p.CSRRequired,
	}
}

// hashDisplayName turns "sha256" into "SHA-256".
func hashDisplayName(id string) string {
	upper := strings.ToUpper(id)
	if rest, ok := strings.CutPrefix(upper, "SHA"); ok {
		return "SHA-" + rest
	}
	return upper
}

func viewProductInfo(p order.Product) productInfoView {
	cas := make([]caCertRef, 0, len(p.CACerts))
	for _, c := range p.CACerts {
		cas = append(cas, caCertRef{ID: c.ID, Name: c.Name})
	}
	keys := make([]keyTypeView, 0, len(p.KeyTypes))
	for _, k := range p.KeyTypes {
		keys = append(keys, keyTypeView{Type: k.Type, Sizes: k.Sizes})
	}
	return productInfoView{
		productListItemView:         viewProductListItem(p),
		ValidationType:              p.ValidationType,
		DuplicatesAllowed:           p.DuplicatesAllowed,
		AllowedCACerts:              cas,
		CustomExpirationDateAllowed: p.CustomExpirationDateAllowed,
		ServerPlatforms:             []serverPlatform{{ID: -1, Name: "OTHER"}},
		AllowedKeyTypes:             keys,
		CSProvisioningMethods:       p.ProvisioningMethods,
		DefaultCSProvisioningMethod: p.DefaultProvisioningMethod,
		MaxOrderValidityDays:        p.MaxValidityDays,
	}
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	products := s.orders.Products()
	items := make([]productListItemView, 0, len(products))
	for _, p := range products {
		items = append(items, viewProductListItem(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"products": items})
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	p, err := s.orders.Product(r.PathValue("name_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewProductInfo(*p))
}

// accessRoleView is a CertCentral access role. The ids are CertCentral's:
// 1 Administrator, 4 Manager, 5 Standard User.
type accessRoleView struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func accessRole(role string) accessRoleView {
	switch role {
	case store.RoleAdministrator:
		return accessRoleView{ID: 1, Name: "Administrator"}
	case store.RoleManager:
		return accessRoleView{ID: 4, Name: "Manager"}
	case store.RoleStandardUser:
		return accessRoleView{ID: 5, Name: "Standard User"}
	}
	return accessRoleView{Name: role}
}

// userInfoView is CertCentral's user info. docsign-ca does not record
// logins, so last_login_date is absent.
type userInfoView struct {
	ID                      int64            `json:"id"`
	Username                string           `json:"username"`
	AccountID               int64            `json:"account_id"`
	FirstName               string           `json:"first_name"`
	LastName                string           `json:"last_name"`
	Email                   string           `json:"email"`
	JobTitle                string           `json:"job_title"`
	Telephone               string           `json:"telephone"`
	Status                  string           `json:"status"`
	Container               userContainerRef `json:"container"`
	AccessRoles             []accessRoleView `json:"access_roles"`
	IsCertCentral           bool             `json:"is_cert_central"`
	IsEnterprise            bool             `json:"is_enterprise"`
	IsSAMLSSOOnly           bool             `json:"is_saml_sso_only"`
	Type                    string           `json:"type"`
	HasContainerAssignments bool             `json:"has_container_assignments"`
	ContainerVisibility     []int64          `json:"container_visibility"`
}

type userContainerRef struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	ParentID int64  `json:"parent_id"`
	IsActive bool   `json:"is_active"`
}

func viewUserInfo(u store.User, c store.Container) userInfoView {
	return userInfoView{
		ID:                  u.ID,
		Username:            u.Username,
		AccountID:           u.AccountID,
		FirstName:           u.FirstName,
		LastName:            u.LastName,
		Email:               u.Email,
		JobTitle:            u.JobTitle,
		Telephone:           u.Telephone,
		Status:              "active",
		Container:           userContainerRef{ID: c.ID, Name: c.Name, ParentID: c.ParentID, IsActive: true},
		AccessRoles:         []accessRoleView{accessRole(u.Role)},
		IsCertCentral:       true,
		Type:                "standard",
		ContainerVisibility: []int64{},
	}
}

// getUser serves GET user/{id}, where the id "me" names the caller.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	var id int64
	if r.PathValue("id") != "me" {
		var err error
		if id, err = pathID(r, "user"); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	info, err := s.orders.User(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewUserInfo(info.User, info.Container))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	values, err := queryValues(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := order.ParseUserListQuery(values)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.orders.ListUsers(r.Context(), caller, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	users := make([]userInfoView, 0, len(list.Users))
	for _, u := range list.Users {
		users = append(users, viewUserInfo(u, list.Containers[u.ContainerID]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "page": viewPage(list.Total, list.Page)})
}

// containerInfoView is CertCentral's container info.
type containerInfoView struct {
	ID                      int64                    `json:"id"`
	Name                    string                   `json:"name"`
	Description             string                   `json:"description"`
	ParentID                int64                    `json:"parent_id"`
	HasLogo                 bool                     `json:"has_logo"`
	IsActive                bool                     `json:"is_active"`
	AllowedDomainNames      []string                 `json:"allowed_domain_names"`
	OrganizationAssignments []organizationAssignment `json:"organization_assignments"`
	UserIDAssignments       []int64                  `json:"user_id_assignments"`
}

type organizationAssignment struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	IsActive    bool   `json:"is_active"`
}

func viewContainerInfo(info order.ContainerInfo) containerInfoView {
	v := containerInfoView{
		ID:                      info.Container.ID,
		Name:                    info.Container.Name,
		ParentID:                info.Container.ParentID,
		IsActive:                true,
		AllowedDomainNames:      []string{},
		OrganizationAssignments: make([]organizationAssignment, 0, len(info.Organizations)),
		UserIDAssignments:       append([]int64{}, info.UserIDs...),
	}
	for i := range info.Organizations {
		o := &info.Organizations[i]
		v.OrganizationAssignments = append(v.OrganizationAssignments, organizationAssignment{
			ID: o.ID, Status: organizationStatus(o), Name: o.Name, DisplayName: displayName(o), IsActive: o.IsActive,
		})
	}
	return v
}

func (s *Server) listContainers(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	list, err := s.orders.Containers(r.Context(), caller)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]containerInfoView, 0, len(list))
	for _, c := range list {
		views = append(views, viewContainerInfo(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"containers": views})
}

func (s *Server) getContainer(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "container")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := s.orders.Container(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewContainerInfo(*info))
}

// accountView is the body of GET account. No published CertCentral shape
// for this endpoint could be read, so it carries the account fields that
// docsign-ca stores.
type accountView struct {
	ID             int64        `json:"id"`
	Name           string       `json:"name"`
	DateCreated    string       `json:"date_created"`
	Container      containerRef `json:"container"`
	ApprovalPolicy string       `json:"approval_policy"`
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	a := caller.Account
	writeJSON(w, http.StatusOK, accountView{
		ID:             a.ID,
		Name:           a.Name,
		DateCreated:    formatDateTime(a.CreatedAt),
		Container:      containerRef{ID: a.RootContainerID},
		ApprovalPolicy: a.ApprovalPolicy,
	})
}

// balanceView is CertCentral's balance, whose amounts are strings.
// negative_balance_limit and total_available_funds are omitted, and
// unlimited_negative_balance is true, when the negative balance is
// unlimited; unlimited_negative_balance is omitted otherwise, as
// CertCentral does.
type balanceView struct {
	Balance                       string `json:"balance"`
	Currency                      string `json:"currency"`
	UnpaidInvoiceBalance          string `json:"unpaid_invoice_balance"`
	NegativeBalanceLimit          string `json:"negative_balance_limit,omitempty"`
	UsedCreditFromOtherContainers string `json:"used_credit_from_other_containers"`
	TotalAvailableFunds           string `json:"total_available_funds,omitempty"`
	UnlimitedNegativeBalance      bool   `json:"unlimited_negative_balance,omitempty"`
}

func (s *Server) getBalance(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	values, err := queryValues(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := s.orders.Balance(r.Context(), caller, values)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewBalance(info))
}

// viewBalance renders a balance. docsign-ca has no invoices and no credit
// shared between containers, so those amounts are zero, and the available
// funds are the balance plus the negative balance limit.
func viewBalance(info *order.BalanceInfo) balanceView {
	v := balanceView{
		Balance:                       payment.FormatAmount(info.BalanceCents),
		Currency:                      payment.Currency,
		UnpaidInvoiceBalance:          payment.FormatAmount(0),
		UsedCreditFromOtherContainers: payment.FormatAmount(0),
		UnlimitedNegativeBalance:      info.UnlimitedNegative,
	}
	if !info.UnlimitedNegative {
		v.NegativeBalanceLimit = payment.FormatAmount(info.NegativeLimitCents)
		v.TotalAvailableFunds = payment.FormatAmount(info.BalanceCents + info.NegativeLimitCents)
	}
	return v
}

// paymentProfileView is a saved card as GET finance/payment-profile lists
// it. It shows the brand and last four digits only.
type paymentProfileView struct {
	ID              int64  `json:"id"`
	CardType        string `json:"card_type"`
	LastFour        string `json:"last_four"`
	ExpirationMonth int    `json:"expiration_month"`
	ExpirationYear  int    `json:"expiration_year"`
	CardholderName  string `json:"cardholder_name"`
	IsDefault       bool   `json:"is_default"`
	DateCreated     string `json:"date_created"`
}

func (s *Server) listPaymentProfiles(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	profiles, err := s.orders.PaymentProfiles(r.Context(), caller)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]paymentProfileView, 0, len(profiles))
	for _, p := range profiles {
		views = append(views, paymentProfileView{
			ID: p.ID, CardType: p.CardBrand, LastFour: p.CardLastFour,
			ExpirationMonth: p.ExpirationMonth, ExpirationYear: p.ExpirationYear, CardholderName: p.CardholderName,
			IsDefault: p.IsDefault, DateCreated: formatDateTime(p.CreatedAt),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"payment_profiles": views})
}
