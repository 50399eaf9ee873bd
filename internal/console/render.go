package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
)

// page is the data the layout template receives.
type page struct {
	Title   string
	Session *session
	Notice  string
	Data    any
}

var templateFuncs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"label": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"fieldErrors": func(all map[string][]string, field string) fieldErrorView {
		return fieldErrorView{Field: field, Messages: all[field]}
	},
	// The order form's choices, the values the ds_org validator accepts.
	"list3":   func() []string { return []string{"1", "2", "3"} },
	"hashes":  func() []string { return []string{"sha256", "sha384", "sha512"} },
	"methods": func() []string { return []string{"email", "client_app", "ship_token"} },
	"shipfields": func() [][2]string {
		return [][2]string{
			{"ship_name", "Recipient name"}, {"ship_addr1", "Address line 1"}, {"ship_addr2", "Address line 2 (optional)"},
			{"ship_city", "City"}, {"ship_state", "State or province"}, {"ship_zip", "Postal code"},
			{"ship_country", "Country (ISO 3166-1 alpha-2 code, such as us)"},
		}
	},
}

// fieldErrorView is the messages shown beside one form field; Field names
// the id of the paragraph that the field's aria-describedby points to.
type fieldErrorView struct {
	Field    string
	Messages []string
}

// parsePages parses each page template together with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimPrefix(name, "templates/")
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(templateFuncs).ParseFS(assets, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("parse console template %s: %w", base, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render executes a page into a buffer first, so a template error becomes
// a 500 page and never a half-written one.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, sess *session, title string, data any) {
	h.renderNotice(w, r, status, name, sess, title, "", data)
}

func (h *Handler) renderNotice(w http.ResponseWriter, r *http.Request, status int, name string, sess *session, title, notice string, data any) {
	t, ok := h.pages[name]
	if !ok {
		h.cfg.Log.Error("console template missing", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", page{Title: title, Session: sess, Notice: notice, Data: data}); err != nil {
		h.cfg.Log.Error("render console page", "template", name, "path", r.URL.Path, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorView is the error page: the status and the problems of the
// errs.Error, the same messages the API's envelope carries.
type errorView struct {
	Status   int
	Problems []errs.Problem
}

// renderError renders err as an error page. An internal error is logged
// with its cause and shown only as a generic message, as in the API.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	status := statusOf(err)
	e := errs.As(err)
	view := errorView{Status: status}
	if e == nil || e.Kind == errs.Internal {
		h.cfg.Log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		view.Problems = []errs.Problem{{Code: "internal_error", Message: "The server failed to process the request. The failure was logged."}}
	} else {
		view.Problems = e.Problems
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "error.html", sess, http.StatusText(status), view)
}

// redirectNotice sends the browser to target with a notice key that the
// target page turns into a message (see notices).
func redirectNotice(w http.ResponseWriter, r *http.Request, target, notice string) {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	http.Redirect(w, r, target+sep+"notice="+notice, http.StatusSeeOther)
}

// notices are the messages pages show after a form's redirect. Only these
// keys are shown, so a link cannot put other text on a page.
var notices = map[string]string{
	"approved":           "The request was approved.",
	"rejected":           "The request was rejected.",
	"bulk_approved":      "The selected requests were approved.",
	"placed":             "The order was placed.",
	"revoked":            "The certificate was revoked.",
	"revoke_requested":   "The revoke request was submitted; an administrator must approve it.",
	"canceled":           "The order was canceled.",
	"validated":          "The organization's validation was completed.",
	"shipped":            "The token's shipment was recorded; the requester is e-mailed the tracking number and the PIN separately.",
	"nothing_selected":   "No request was selected. Tick the requests to approve first.",
	"bulk_partly_failed": "Some requests could not be approved; the list shows the ones still pending.",
}

func noticeOf(r *http.Request) string { return notices[r.URL.Query().Get("notice")] }
