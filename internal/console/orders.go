package console

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/certformat"
	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/revocation"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// orderStatuses are the status filter's choices, those of the API's
// filters[status].
var orderStatuses = []string{"needs_approval", "pending", "waiting_pickup", "reissue_pending", "issued", "rejected", "canceled", "revoked"}

type ordersView struct {
	Orders   []order.OrderListEntry
	Status   string
	Search   string
	Statuses []string
	// Fields holds the other filter fields, by the name of their input.
	Fields   map[string]string
	Pager    pager
	Problems []errs.Problem
}

// orderFilterFields are the order list's text filters beside status and
// search, by the name of the console's input and of the API's filter.
var orderFilterFields = []struct{ input, filter string }{
	{"common_name", "common_name"},
	{"serial_number", "serial_number"},
	{"organization_id", "organization_id"},
	{"created_from", "date_created"},
	{"created_until", "date_created"},
	{"valid_till_until", "valid_till"},
}

// orderFilterValues turns the console's filter inputs into the API's
// filters[...] parameters, so that one parser checks both. The two
// created_* inputs become one date_created range.
func orderFilterValues(query url.Values, status, search string) (url.Values, map[string]string) {
	values := url.Values{}
	if status != "" {
		values.Set("filters[status]", status)
	}
	if search != "" {
		values.Set("filters[search]", "%"+search+"%")
	}

	fields := map[string]string{}
	for _, f := range orderFilterFields {
		fields[f.input] = strings.TrimSpace(query.Get(f.input))
	}
	for _, name := range []string{"common_name", "serial_number", "organization_id"} {
		if v := fields[name]; v != "" {
			values.Set("filters["+name+"]", v)
		}
	}
	switch from, until := fields["created_from"], fields["created_until"]; {
	case from != "" && until != "":
		values.Set("filters[date_created]", from+"..."+until)
	case from != "":
		values.Set("filters[date_created]", ">="+from)
	case until != "":
		values.Set("filters[date_created]", "<="+until)
	}
	if v := fields["valid_till_until"]; v != "" {
		values.Set("filters[valid_till]", "<="+v)
	}
	return values, fields
}

// ordersPage lists orders newest first with the API's filters; the filter
// values go through the API's query parser.
func (h *Handler) ordersPage(w http.ResponseWriter, r *http.Request, sess *session) {
	status := strings.TrimSpace(r.URL.Query().Get("status"))
	search := strings.TrimSpace(r.URL.Query().Get("search"))
	values, fields := orderFilterValues(r.URL.Query(), status, search)
	view := ordersView{Status: status, Search: search, Statuses: orderStatuses, Fields: fields}

	q, err := order.ParseOrderListQuery(values)
	if err != nil {
		if e := errs.As(err); e != nil && e.Kind == errs.BadRequest {
			view.Problems = e.Problems
			h.render(w, r, http.StatusBadRequest, "orders.html", sess, "Orders", view)
			return
		}
		h.renderError(w, r, sess, err)
		return
	}
	q.Page = pageOf(r, requestsPerPage)
	q.Sort = []store.SortKey{{Field: "date_created", Descending: true}, {Field: "id", Descending: true}}

	list, err := h.cfg.Orders.ListOrders(r.Context(), &sess.caller, q)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	view.Orders, view.Pager = list.Orders, newPager(r, q.Page, list.Total)
	h.renderNotice(w, r, http.StatusOK, "orders.html", sess, "Orders", noticeOf(r), view)
}

// certificateDetails is the part of an issued certificate the order page shows.
type certificateDetails struct {
	ID                int64
	Status            string
	Subject           string
	Issuer            string
	Serial            string
	SHA256Fingerprint string
	NotBefore         string
	NotAfter          string
	KeyType           string
	ExtKeyUsages      []string
}

type orderView struct {
	Info        *order.OrderInfo
	History     []store.StatusChange
	Certificate *certificateDetails
	Formats     []string
	Reasons     []string
	CanRevoke   bool
	CanCancel   bool
	IsAdmin     bool
}

func (h *Handler) orderPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := pathID(r, "order")
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	info, err := h.cfg.Orders.Order(r.Context(), &sess.caller, id)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	history, err := h.cfg.Store.OrderStatusHistory(r.Context(), sess.caller.Account.ID, id)
	if err != nil {
		h.renderError(w, r, sess, errs.Wrap(err, "read status history"))
		return
	}

	role := sess.caller.User.Role
	view := orderView{
		Info: info, History: history,
		Formats: append(certformat.Formats(), certformat.ZipFormats()...),
		Reasons: revocation.ReasonNames(),
		// The forms appear only where the permission table allows them;
		// the handlers check again.
		CanRevoke: order.Allowed(role, 0, order.ActionCertificateRevoke) && info.Order.Status == store.OrderIssued,
		CanCancel: order.Allowed(role, 0, order.ActionOrderChange) && cancelable(info.Order.Status),
		IsAdmin:   role == store.RoleAdministrator,
	}
	if info.Certificate != nil && len(info.Certificate.DER) > 0 {
		view.Certificate = describeCertificate(info.Certificate)
	}
	h.renderNotice(w, r, http.StatusOK, "order.html", sess, "Order "+strconv.FormatInt(id, 10), noticeOf(r), view)
}

// cancelable reports whether an order in status may still be canceled,
// which the store decides again when the form is sent.
func cancelable(status string) bool {
	return status == store.OrderNeedsApproval || status == store.OrderPending || status == store.OrderWaitingPickup
}

// describeCertificate reads the fields the order page shows. A
// certificate that does not parse shows only its stored fields.
func describeCertificate(c *store.Certificate) *certificateDetails {
	d := &certificateDetails{ID: c.ID, Status: c.Status, Serial: c.SerialNumber}
	sum := sha256.Sum256(c.DER)
	d.SHA256Fingerprint = colonHex(sum[:])

	leaf, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return d
	}
	d.Subject = leaf.Subject.String()
	d.Issuer = leaf.Issuer.String()
	d.Serial = colonHex(leaf.SerialNumber.Bytes())
	d.NotBefore = leaf.NotBefore.UTC().Format("2006-01-02 15:04:05 UTC")
	d.NotAfter = leaf.NotAfter.UTC().Format("2006-01-02 15:04:05 UTC")
	d.KeyType = keyDescription(leaf.PublicKey)
	d.ExtKeyUsages = extKeyUsageNames(leaf)
	return d
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, v := range b {
		parts[i] = strings.ToUpper(hex.EncodeToString([]byte{v}))
	}
	return strings.Join(parts, ":")
}

func keyDescription(key any) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", key)
}

// extKeyUsageNames names the extended key usages, with the OID of the ones
// crypto/x509 does not know, such as Microsoft's document signing
// (1.3.6.1.4.1.311.10.3.12) and Adobe's (1.2.840.113583.1.1.5).
func extKeyUsageNames(c *x509.Certificate) []string {
	names := map[x509.ExtKeyUsage]string{
		x509.ExtKeyUsageAny: "any", x509.ExtKeyUsageServerAuth: "serverAuth", x509.ExtKeyUsageClientAuth: "clientAuth",
		x509.ExtKeyUsageCodeSigning: "codeSigning", x509.ExtKeyUsageEmailProtection: "emailProtection",
		x509.ExtKeyUsageTimeStamping: "timeStamping", x509.ExtKeyUsageOCSPSigning: "OCSPSigning",
	}
	known := map[string]string{
		"1.3.6.1.4.1.311.10.3.12": "Microsoft document signing",
		"1.2.840.113583.1.1.5":    "Adobe Authentic Documents Trust",
		"1.3.6.1.5.5.7.3.36":      "documentSigning (RFC 9336)",
	}

	var out []string
	for _, u := range c.ExtKeyUsage {
		if name, ok := names[u]; ok {
			out = append(out, name)
			continue
		}
		out = append(out, fmt.Sprintf("usage %d", u))
	}
	for _, oid := range c.UnknownExtKeyUsage {
		if name, ok := known[oid.String()]; ok {
			out = append(out, name+" ("+oid.String()+")")
			continue
		}
		out = append(out, oid.String())
	}
	return out
}

// download sends the order's certificate in one of the API's formats.
func (h *Handler) download(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := pathID(r, "order")
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	c, err := h.cfg.Orders.CertificateOfOrder(r.Context(), &sess.caller, id)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	format := r.PathValue("format")
	dl, err := order.Encode(c, format, false)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}

	name := dl.FileName
	if name == "" {
		name = certformat.FileName(c.Leaf.Subject.CommonName) + "." + fileExtension(format)
	}
	w.Header().Set("Content-Type", dl.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(dl.Body)))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	_, _ = w.Write(dl.Body)
}

func fileExtension(format string) string {
	switch format {
	case certformat.P7B:
		return "p7b"
	case certformat.CER:
		return "cer"
	}
	return "pem"
}

// revokeOrder revokes the order's certificates, or submits a revoke
// request; an administrator may revoke at once with skip_approval.
func (h *Handler) revokeOrder(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := pathID(r, "order")
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	in, err := readRevokeForm(r)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	outcome, err := h.cfg.Orders.RevokeOrder(r.Context(), &sess.caller, id, in)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	notice := "revoked"
	if outcome.Request != nil {
		notice = "revoke_requested"
	}
	redirectNotice(w, r, "/console/orders/"+strconv.FormatInt(id, 10), notice)
}

func readRevokeForm(r *http.Request) (order.RevokeInput, error) {
	var in order.RevokeInput
	var problems errs.List
	reason, err := revocation.ParseReason(r.PostForm.Get("reason"))
	if err != nil {
		problems.Invalid("reason", "%s", err.Error())
	}
	in.Reason = reason
	in.Comments = r.PostForm.Get("comments")
	if len([]rune(in.Comments)) > maxCommentLength {
		problems.Invalid("comments", "the comments are longer than %d characters", maxCommentLength)
	}
	in.SkipApproval = r.PostForm.Get("skip_approval") == "true"
	return in, problems.Err()
}

// cancelOrder cancels an order that is not issued yet, with a note.
func (h *Handler) cancelOrder(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := pathID(r, "order")
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	note := r.PostForm.Get("note")
	if len([]rune(note)) > maxCommentLength {
		h.renderError(w, r, sess, errs.New(errs.BadRequest, "invalid_value:note", "the note is longer than %d characters", maxCommentLength))
		return
	}
	if err := h.cfg.Orders.UpdateOrderStatus(r.Context(), &sess.caller, id, "canceled", note); err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	redirectNotice(w, r, "/console/orders/"+strconv.FormatInt(id, 10), "canceled")
}
