package graphsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"
)

// RFC 5322 / MIME rendering of message content, as GET /messages/{id}/$value serves it:
// From, To, Cc, Subject (RFC 2047 for non-ASCII, folded), Date, Message-ID = internetMessageId,
// text and HTML bodies as multipart/alternative (with the text/calendar part of an invitation),
// inline images in multipart/related, attachments as parts with Content-Disposition, item
// attachments as message/rfc822 (nested to any depth), events as text/calendar and contacts as
// text/vcard. S/MIME messages are a single application/pkcs7-mime body. Reference attachments
// have no MIME form and are left out. The output is a pure function of the content, so its
// hash is stable.

// writeMIME renders c into w.
func (t *tenant) writeMIME(w *bytes.Buffer, c *msgContent) error {
	if c.raw >= 0 {
		rc, err := openBlob(t.blobs.get(c.raw))
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(w, rc)
		return err
	}
	mw := &mimeWriter{t: t, w: w, seed: sha256.Sum256([]byte(c.messageID + "\x00" + c.subject))}
	return mw.message(c)
}

func (t *tenant) mimeBytes(c *msgContent) ([]byte, error) {
	var b bytes.Buffer
	err := t.writeMIME(&b, c)
	return b.Bytes(), err
}

type mimeWriter struct {
	t    *tenant
	w    *bytes.Buffer
	seed [32]byte
	n    int
}

func (mw *mimeWriter) boundary() string {
	mw.n++
	h := sha256.Sum256(append(mw.seed[:], byte(mw.n), byte(mw.n>>8)))
	return fmt.Sprintf("_%03d_%s_", mw.n-1, strings.ToUpper(hex.EncodeToString(h[:14])))
}

func (mw *mimeWriter) header(k, v string) {
	mw.w.WriteString(k + ": " + v + "\r\n")
}

// foldHeader folds an unstructured header value at spaces so lines stay under 78 characters.
func foldHeader(name, v string) string {
	lineLen := len(name) + 2
	var b strings.Builder
	words := strings.Split(v, " ")
	for i, wd := range words {
		if i > 0 {
			if lineLen+1+len(wd) > 76 {
				b.WriteString("\r\n ")
				lineLen = 1
			} else {
				b.WriteByte(' ')
				lineLen++
			}
		}
		b.WriteString(wd)
		lineLen += len(wd)
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || (s[i] < 0x20 && s[i] != '\t') {
			return false
		}
	}
	return true
}

// encodeCharset converts UTF-8 text to a charset ("" or utf-8: unchanged).
func encodeCharset(s, charset string) []byte {
	if charset == "" || strings.EqualFold(charset, "utf-8") {
		return []byte(s)
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return []byte(s)
	}
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return []byte(s)
	}
	return b
}

// encodeWord RFC 2047-encodes a header value if it needs it.
func encodeWord(s, charset string) string {
	if isASCII(s) {
		return s
	}
	if charset == "" {
		charset = "utf-8"
	}
	enc := mime.BEncoding
	if strings.EqualFold(charset, "iso-8859-1") {
		enc = mime.QEncoding
	}
	return enc.Encode(charset, string(encodeCharset(s, charset)))
}

func formatAddrs(as []addr) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = (&mail.Address{Name: a.name, Address: a.email}).String()
	}
	return strings.Join(parts, ",\r\n ")
}

func mimeDate(t time.Time) string { return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700") }

func (mw *mimeWriter) message(c *msgContent) error {
	if !c.from.isZero() {
		mw.header("From", formatAddrs([]addr{c.from}))
	}
	if len(c.to) > 0 {
		mw.header("To", formatAddrs(c.to))
	}
	if len(c.cc) > 0 {
		mw.header("CC", formatAddrs(c.cc))
	}
	if len(c.bcc) > 0 {
		mw.header("BCC", formatAddrs(c.bcc))
	}
	if len(c.replyTo) > 0 {
		mw.header("Reply-To", formatAddrs(c.replyTo))
	}
	if isASCII(c.subject) {
		mw.header("Subject", foldHeader("Subject", c.subject))
	} else {
		mw.header("Subject", strings.ReplaceAll(encodeWord(c.subject, c.charset), "?= =?", "?=\r\n =?"))
	}
	for _, h := range c.headers {
		if isASCII(h[1]) {
			mw.header(h[0], foldHeader(h[0], h[1]))
		} else {
			mw.header(h[0], encodeWord(h[1], ""))
		}
	}
	if !c.date.IsZero() {
		mw.header("Date", mimeDate(c.date))
	}
	if c.messageID != "" {
		mw.header("Message-ID", c.messageID)
	}
	if c.inReplyTo != "" {
		mw.header("In-Reply-To", c.inReplyTo)
	}
	if c.references != "" {
		mw.header("References", foldHeader("References", c.references))
	}
	mw.header("Content-Language", "en-US")
	if c.hasAttachments() {
		mw.header("X-MS-Has-Attach", "yes")
	} else {
		mw.header("X-MS-Has-Attach", "")
	}
	switch c.importance {
	case "high":
		mw.header("Importance", "high")
		mw.header("X-Priority", "1")
	case "low":
		mw.header("Importance", "low")
		mw.header("X-Priority", "5")
	}
	mw.header("MIME-Version", "1.0")
	if c.smime {
		for _, a := range c.atts {
			if a.kind == attFile {
				return mw.fileBody(a, "application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"", "attachment; filename=\"smime.p7m\"")
			}
		}
	}
	var inline, attached []*attContent
	for _, a := range c.atts {
		switch {
		case a.kind == attRef:
		case a.inline && a.kind == attFile:
			inline = append(inline, a)
		default:
			attached = append(attached, a)
		}
	}
	body := func() error { return mw.bodyPart(c, inline) }
	if len(attached) == 0 {
		return body()
	}
	b := mw.boundary()
	mw.header("Content-Type", "multipart/mixed;\r\n\tboundary=\""+b+"\"")
	mw.w.WriteString("\r\n")
	mw.w.WriteString("--" + b + "\r\n")
	if err := body(); err != nil {
		return err
	}
	for _, a := range attached {
		mw.w.WriteString("\r\n--" + b + "\r\n")
		if err := mw.attachment(a); err != nil {
			return err
		}
	}
	mw.w.WriteString("\r\n--" + b + "--\r\n")
	return nil
}

// bodyPart writes the body: text, HTML, alternative, related, with the invitation.
func (mw *mimeWriter) bodyPart(c *msgContent, inline []*attContent) error {
	var alts []func()
	if c.text != "" || (c.html == "" && c.invite == nil) {
		alts = append(alts, func() { mw.textPart("text/plain", c.text, c.charset) })
	}
	if c.html != "" {
		alts = append(alts, func() { mw.textPart("text/html", c.html, c.charset) })
	}
	if c.invite != nil {
		alts = append(alts, func() {
			mw.header("Content-Type", "text/calendar; charset=\"utf-8\"; method=REQUEST")
			mw.header("Content-Transfer-Encoding", "base64")
			mw.w.WriteString("\r\n")
			writeBase64Lines(mw.w, icsCalendar([]*eventContent{c.invite}, "REQUEST"))
		})
	}
	alt := func() {
		if len(alts) == 1 {
			alts[0]()
			return
		}
		b := mw.boundary()
		mw.header("Content-Type", "multipart/alternative;\r\n\tboundary=\""+b+"\"")
		mw.w.WriteString("\r\n")
		for _, f := range alts {
			mw.w.WriteString("--" + b + "\r\n")
			f()
			mw.w.WriteString("\r\n")
		}
		mw.w.WriteString("--" + b + "--\r\n")
	}
	if len(inline) == 0 {
		alt()
		return nil
	}
	b := mw.boundary()
	mw.header("Content-Type", "multipart/related;\r\n\tboundary=\""+b+"\";\r\n\ttype=\"multipart/alternative\"")
	mw.w.WriteString("\r\n--" + b + "\r\n")
	alt()
	for _, a := range inline {
		mw.w.WriteString("\r\n--" + b + "\r\n")
		if err := mw.attachment(a); err != nil {
			return err
		}
	}
	mw.w.WriteString("\r\n--" + b + "--\r\n")
	return nil
}

func (mw *mimeWriter) textPart(ctype, s, charset string) {
	if charset == "" {
		charset = "utf-8"
	}
	raw := encodeCharset(s, charset)
	mw.header("Content-Type", ctype+"; charset=\""+charset+"\"")
	if strings.EqualFold(charset, "shift_jis") || strings.EqualFold(charset, "iso-2022-jp") {
		mw.header("Content-Transfer-Encoding", "base64")
		mw.w.WriteString("\r\n")
		writeBase64Lines(mw.w, raw)
		return
	}
	mw.header("Content-Transfer-Encoding", "quoted-printable")
	mw.w.WriteString("\r\n")
	qp := quotedprintable.NewWriter(mw.w)
	_, _ = qp.Write(raw)
	_ = qp.Close()
	mw.w.WriteString("\r\n")
}

func writeBase64Lines(w *bytes.Buffer, b []byte) {
	enc := base64.StdEncoding.EncodeToString(b)
	for len(enc) > 76 {
		w.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	if enc != "" {
		w.WriteString(enc + "\r\n")
	}
}

func dispositionFor(a *attContent) string {
	d := "attachment"
	if a.inline {
		d = "inline"
	}
	params := map[string]string{"filename": a.name}
	if a.kind == attFile {
		params["size"] = fmt.Sprint(a.size)
	}
	if !a.modified.IsZero() {
		params["creation-date"] = mimeDate(a.modified)
		params["modification-date"] = mimeDate(a.modified)
	}
	return mime.FormatMediaType(d, params)
}

func (mw *mimeWriter) attachment(a *attContent) error {
	switch {
	case a.kind == attItem && a.msg != nil:
		mw.header("Content-Type", "message/rfc822")
		mw.header("Content-Disposition", dispositionFor(a))
		mw.w.WriteString("\r\n")
		inner := &mimeWriter{t: mw.t, w: mw.w, seed: sha256.Sum256(append(mw.seed[:], []byte(a.msg.messageID)...))}
		return inner.message(a.msg)
	case a.kind == attItem && a.event != nil:
		mw.header("Content-Type", mime.FormatMediaType("text/calendar", map[string]string{"charset": "utf-8", "name": a.name + ".ics"}))
		mw.header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.name + ".ics"}))
		mw.header("Content-Transfer-Encoding", "base64")
		mw.w.WriteString("\r\n")
		writeBase64Lines(mw.w, icsCalendar([]*eventContent{a.event}, "PUBLISH"))
		return nil
	case a.kind == attItem && a.contact != nil:
		mw.header("Content-Type", mime.FormatMediaType("text/vcard", map[string]string{"charset": "utf-8", "name": a.name + ".vcf"}))
		mw.header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.name + ".vcf"}))
		mw.header("Content-Transfer-Encoding", "base64")
		mw.w.WriteString("\r\n")
		writeBase64Lines(mw.w, vcard(a.contact, nil))
		return nil
	}
	ct := a.ctype
	if ct == "" {
		ct = "application/octet-stream"
	}
	ctype := mime.FormatMediaType(ct, map[string]string{"name": a.name})
	if ctype == "" {
		ctype = mime.FormatMediaType("application/octet-stream", map[string]string{"name": a.name})
	}
	if a.name != "" {
		mw.header("Content-Description", encodeWord(a.name, ""))
	}
	return mw.fileBody(a, ctype, dispositionFor(a))
}

func (mw *mimeWriter) fileBody(a *attContent, ctype, disp string) error {
	mw.header("Content-Type", ctype)
	mw.header("Content-Disposition", disp)
	if a.cid != "" {
		mw.header("Content-ID", "<"+a.cid+">")
	}
	mw.header("Content-Transfer-Encoding", "base64")
	mw.w.WriteString("\r\n")
	data, err := mw.t.attBytes(a)
	if err != nil {
		return err
	}
	writeBase64Lines(mw.w, data)
	return nil
}

// itemBytes is what /attachments/{id}/$value serves for an item attachment: the MIME of a
// message, the iCalendar of an event, the vCard of a contact.
func (t *tenant) itemBytes(a *attContent) ([]byte, string, error) {
	switch {
	case a.msg != nil:
		b, err := t.mimeBytes(a.msg)
		return b, "message/rfc822", err
	case a.event != nil:
		return icsCalendar([]*eventContent{a.event}, "PUBLISH"), "text/calendar", nil
	case a.contact != nil:
		return vcard(a.contact, nil), "text/vcard", nil
	}
	return nil, "", nil
}
