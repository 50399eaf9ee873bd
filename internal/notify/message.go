// Package notify sends docsign-ca's e-mail: it renders each queued
// notification from its order, sends it through an SMTP relay or writes it
// to an outbox directory, and retries failures with backoff. The queue is
// a table in the database, so a restart loses no message.
package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Attachment is a file attached to a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is an e-mail before encoding.
type Message struct {
	From        string
	To          []string
	Subject     string
	Text        string
	Attachments []Attachment
	Date        time.Time
	// MessageID is the Message-ID without angle brackets.
	MessageID string
}

// Bytes encodes the message in the Internet Message Format (RFC 5322)
// with CRLF line endings. The text is quoted-printable UTF-8 (RFC 2045
// §6.7); attachments make it multipart/mixed (RFC 2046 §5.1.3), each
// attachment in base64.
func (m *Message) Bytes() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}

	var out bytes.Buffer
	writeHeader(&out, "From", m.From)
	writeHeader(&out, "To", strings.Join(m.To, ", "))
	writeHeader(&out, "Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	writeHeader(&out, "Date", m.Date.Format(time.RFC1123Z))
	writeHeader(&out, "Message-ID", "<"+m.MessageID+">")
	writeHeader(&out, "MIME-Version", "1.0")

	if len(m.Attachments) == 0 {
		writeHeader(&out, "Content-Type", "text/plain; charset=utf-8")
		writeHeader(&out, "Content-Transfer-Encoding", "quoted-printable")
		out.WriteString("\r\n")
		if err := writeQuotedPrintable(&out, m.Text); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	}

	body := multipart.NewWriter(&out)
	writeHeader(&out, "Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": body.Boundary()}))
	out.WriteString("\r\n")
	if err := m.writeParts(body); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (m *Message) writeParts(body *multipart.Writer) error {
	text, err := body.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	if err := writeQuotedPrintable(text, m.Text); err != nil {
		return err
	}

	for _, a := range m.Attachments {
		part, err := body.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(a.ContentType, map[string]string{"name": a.Name})},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return err
		}
		if _, err := part.Write(base64Lines(a.Data)); err != nil {
			return err
		}
	}
	return body.Close()
}

// check rejects what would make an invalid or ambiguous message: bad
// addresses and line breaks in header values (header injection).
func (m *Message) check() error {
	if _, err := mail.ParseAddress(m.From); err != nil {
		return fmt.Errorf("invalid sender address %q: %w", m.From, err)
	}
	if len(m.To) == 0 {
		return fmt.Errorf("message %q has no recipients", m.Subject)
	}
	for _, to := range m.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return fmt.Errorf("invalid recipient address %q: %w", to, err)
		}
	}
	for _, value := range append([]string{m.From, m.Subject, m.MessageID}, m.To...) {
		if strings.ContainsAny(value, "\r\n") {
			return fmt.Errorf("header value %q contains a line break", value)
		}
	}
	for _, a := range m.Attachments {
		if strings.ContainsAny(a.Name, "\r\n\"") || a.Name == "" {
			return fmt.Errorf("invalid attachment name %q", a.Name)
		}
	}
	return nil
}

func writeHeader(out *bytes.Buffer, name, value string) {
	out.WriteString(name + ": " + value + "\r\n")
}

// writeQuotedPrintable writes text with its line breaks as CRLF, which
// quotedprintable.Writer does for text (Binary false).
func writeQuotedPrintable(out interface{ Write([]byte) (int, error) }, text string) error {
	w := quotedprintable.NewWriter(out)
	if _, err := w.Write([]byte(text)); err != nil {
		return err
	}
	return w.Close()
}

// base64Lines encodes data in base64 lines of 76 characters, the maximum
// of RFC 2045 §6.8.
func base64Lines(data []byte) []byte {
	encoded := base64.StdEncoding.EncodeToString(data)
	var out bytes.Buffer
	for len(encoded) > 76 {
		out.WriteString(encoded[:76] + "\r\n")
		encoded = encoded[76:]
	}
	out.WriteString(encoded + "\r\n")
	return out.Bytes()
}

// newMessageID returns a unique Message-ID (RFC 5322 §3.6.4) for a
// notification, in the domain of the sender address.
func newMessageID(notificationID int64, from string) string {
	random := make([]byte, 8)
	_, _ = rand.Read(random)
	domain := "docsign-ca.invalid"
	if addr, err := mail.ParseAddress(from); err == nil {
		if at := strings.LastIndexByte(addr.Address, '@'); at >= 0 {
			domain = addr.Address[at+1:]
		}
	}
	return fmt.Sprintf("notification-%d.%s@%s", notificationID, hex.EncodeToString(random), domain)
}

// envelopeAddress returns the bare address of a From header value for the
// SMTP envelope (MAIL FROM), which takes no display name.
func envelopeAddress(from string) string {
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return from
	}
	return addr.Address
}
