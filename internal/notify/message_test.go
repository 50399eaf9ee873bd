package notify

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func testMessage() *Message {
	return &Message{
		From:      "docsign-ca <ca@example.com>",
		To:        []string{"ann@example.com", "bo@example.org"},
		Subject:   "Zertifikat für Müller GmbH",
		Text:      "First line.\nA long line that goes on and on and on, well past the seventy-six characters of a quoted-printable line.\n",
		Date:      time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		MessageID: "notification-1.abc@example.com",
		Attachments: []Attachment{
			{Name: "order-1-certificate.pem", ContentType: "application/x-pem-file", Data: bytes.Repeat([]byte("PEM DATA "), 40)},
		},
	}
}

func TestMessageBytesParses(t *testing.T) {
	m := testMessage()
	raw, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if strings.Contains(line, "\n") {
			t.Fatalf("line %d has a bare LF; RFC 5322 §2.3 requires CRLF", i)
		}
		if len(line) > 998 {
			t.Fatalf("line %d is %d characters long, over the limit of 998", i, len(line))
		}
	}

	parsed, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject decodes to %q (%v), expected %q", subject, err, m.Subject)
	}
	to, err := parsed.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "ann@example.com" || to[1].Address != "bo@example.org" {
		t.Errorf("To = %v (%v), expected both recipients", to, err)
	}
	if got := parsed.Header.Get("Message-ID"); got != "<notification-1.abc@example.com>" {
		t.Errorf("Message-ID = %q", got)
	}
	if date, err := parsed.Header.Date(); err != nil || !date.Equal(m.Date) {
		t.Errorf("Date = %v (%v), expected %v", date, err, m.Date)
	}

	mediaType, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/mixed" {
		t.Fatalf("Content-Type = %q (%v), expected multipart/mixed", parsed.Header.Get("Content-Type"), err)
	}
	parts := multipart.NewReader(parsed.Body, params["boundary"])

	text, err := parts.NextRawPart()
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := io.ReadAll(quotedprintable.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ReplaceAll(string(decoded), "\r\n", "\n") != m.Text {
		t.Errorf("text part decodes to %q, expected %q", decoded, m.Text)
	}

	attachment, err := parts.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if attachment.FileName() != "order-1-certificate.pem" {
		t.Errorf("attachment file name = %q", attachment.FileName())
	}
	if cte := attachment.Header.Get("Content-Transfer-Encoding"); cte != "base64" {
		t.Errorf("attachment Content-Transfer-Encoding = %q, expected base64", cte)
	}
	data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, attachment))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, m.Attachments[0].Data) {
		t.Error("the attachment does not decode to its data")
	}
}

func TestMessageWithoutAttachmentIsPlainText(t *testing.T) {
	m := testMessage()
	m.Attachments = nil
	raw, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if ct := parsed.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q, expected text/plain; charset=utf-8", ct)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ReplaceAll(string(body), "\r\n", "\n") != m.Text {
		t.Errorf("body decodes to %q", body)
	}
}

func TestMessageRejectsBadHeaders(t *testing.T) {
	cases := []struct {
		name   string
		change func(m *Message)
	}{
		{"line break in subject", func(m *Message) { m.Subject = "Hello\r\nBcc: victim@example.com" }},
		{"line break in recipient", func(m *Message) { m.To = []string{"ann@example.com\r\nBcc: x@example.com"} }},
		{"invalid sender", func(m *Message) { m.From = "not an address" }},
		{"invalid recipient", func(m *Message) { m.To = []string{"ann@"} }},
		{"no recipients", func(m *Message) { m.To = nil }},
		{"quote in attachment name", func(m *Message) { m.Attachments[0].Name = `a".pem` }},
		{"empty attachment name", func(m *Message) { m.Attachments[0].Name = "" }},
	}
	for _, tc := range cases {
		m := testMessage()
		tc.change(m)
		if _, err := m.Bytes(); err == nil {
			t.Errorf("%s: the message was encoded", tc.name)
		}
	}
}

func TestEnvelopeAddress(t *testing.T) {
	cases := map[string]string{
		"docsign-ca <ca@example.com>": "ca@example.com",
		"ca@example.com":              "ca@example.com",
	}
	for from, expected := range cases {
		if got := envelopeAddress(from); got != expected {
			t.Errorf("envelopeAddress(%q) = %q, expected %q", from, got, expected)
		}
	}
}
