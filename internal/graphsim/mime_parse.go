package graphsim

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// Parsing RFC 5322 messages into content: for messages created from MIME (which the service
// turns into drafts) and for imported .eml files. The exact bytes are kept elsewhere; this
// only derives the properties the JSON reports (subject, addresses, dates, bodies decoded to
// UTF-8 from their charset, attachments, nested message/rfc822 items).

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, fmt.Errorf("graphsim: unknown charset %q", charset)
	}
	return enc.NewDecoder().Reader(input), nil
}

func decodeCharset(b []byte, charset string) string {
	if charset == "" || strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
		return string(b)
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return string(b)
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return string(b)
	}
	return string(out)
}

func decodeHeader(v string) string {
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

func parseAddrs(v string) []addr {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	p := mail.AddressParser{WordDecoder: wordDecoder}
	list, err := p.ParseList(v)
	if err != nil {
		var out []addr
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, addr{email: strings.Trim(s, "<>")})
			}
		}
		return out
	}
	out := make([]addr, len(list))
	for i, a := range list {
		out[i] = addr{a.Name, a.Address}
	}
	return out
}

// parseMIME reads a message; the bytes themselves are not kept in the result.
func parseMIME(raw []byte) (*msgContent, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	h := m.Header
	c := &msgContent{raw: -1, importance: "normal", class: "IPM.Note",
		subject:    decodeHeader(h.Get("Subject")),
		messageID:  strings.TrimSpace(h.Get("Message-Id")),
		inReplyTo:  strings.TrimSpace(h.Get("In-Reply-To")),
		references: strings.Join(strings.Fields(h.Get("References")), " "),
	}
	if fs := parseAddrs(h.Get("From")); len(fs) > 0 {
		c.from = fs[0]
	}
	c.to, c.cc, c.bcc, c.replyTo = parseAddrs(h.Get("To")), parseAddrs(h.Get("Cc")), parseAddrs(h.Get("Bcc")), parseAddrs(h.Get("Reply-To"))
	if d, err := mail.ParseDate(h.Get("Date")); err == nil {
		c.date = d.UTC()
	}
	switch imp := strings.ToLower(h.Get("Importance")); {
	case imp == "high", strings.HasPrefix(h.Get("X-Priority"), "1"), strings.HasPrefix(h.Get("X-Priority"), "2"):
		c.importance = "high"
	case imp == "low", strings.HasPrefix(h.Get("X-Priority"), "5"), strings.HasPrefix(h.Get("X-Priority"), "4"):
		c.importance = "low"
	}
	c.topic = stripSubjectPrefix(c.subject)
	if t := h.Get("Thread-Topic"); t != "" {
		c.topic = decodeHeader(t)
	}
	ph := textproto.MIMEHeader(h)
	if err := c.walkPart(ph, m.Body, true); err != nil {
		return nil, err
	}
	return c, nil
}

func partBody(h textproto.MIMEHeader, r io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &b64Cleaner{r: r})
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	return io.ReadAll(r)
}

// b64Cleaner drops whitespace the base64 decoder does not skip itself (spaces, tabs).
type b64Cleaner struct{ r io.Reader }

func (c *b64Cleaner) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	j := 0
	for i := range n {
		if b := p[i]; b != ' ' && b != '\t' {
			p[j] = b
			j++
		}
	}
	return j, err
}

func (c *msgContent) walkPart(h textproto.MIMEHeader, body io.Reader, top bool) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, params = "application/octet-stream", map[string]string{}
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	name = decodeHeader(name)
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := c.walkPart(p.Header, p, false); err != nil {
				return err
			}
		}
	}
	data, err := partBody(h, body)
	if err != nil {
		return err
	}
	attached := disp == "attachment" || (disp == "inline" && name != "" && !strings.HasPrefix(mt, "text/"))
	switch {
	case mt == "message/rfc822":
		inner, err := parseMIME(data)
		if err != nil {
			return nil // not a message after all: drop it
		}
		if name == "" {
			name = inner.subject
		}
		c.atts = append(c.atts, &attContent{kind: attItem, name: strings.TrimSuffix(name, ".eml"), ctype: "message/rfc822", msg: inner, blob: -1, modified: inner.date})
	case mt == "application/pkcs7-mime" || mt == "application/x-pkcs7-mime":
		if top {
			c.smime, c.class = true, "IPM.Note.SMIME"
		}
		if name == "" {
			name = "smime.p7m"
		}
		c.atts = append(c.atts, &attContent{kind: attFile, name: name, ctype: "application/pkcs7-mime", data: data, size: int64(len(data)), blob: -1})
	case mt == "text/calendar" && !attached:
		if evs := parseICS(data); len(evs) > 0 {
			c.invite = evs[0].c
			c.class = "IPM.Schedule.Meeting.Request"
		}
	case (mt == "text/plain" || mt == "text/html") && !attached:
		s := decodeCharset(data, params["charset"])
		if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
			c.charset = strings.ToLower(cs)
		}
		if mt == "text/html" && c.html == "" {
			c.html = s
		} else if mt == "text/plain" && c.text == "" {
			c.text = s
		}
	default:
		a := &attContent{kind: attFile, name: name, ctype: mt, data: data, size: int64(len(data)), blob: -1,
			inline: disp == "inline" || (disp == "" && h.Get("Content-Id") != "")}
		if cid := strings.Trim(strings.TrimSpace(h.Get("Content-Id")), "<>"); cid != "" {
			a.cid = cid
		}
		if md, ok := dparams["modification-date"]; ok {
			if t, err := mail.ParseDate(md); err == nil {
				a.modified = t.UTC()
			}
		}
		if a.name == "" {
			a.name = "attachment"
			if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
				a.name += exts[0]
			}
		}
		if mt == "text/vcard" || mt == "text/x-vcard" {
			if cards := parseVCards(data); len(cards) > 0 {
				c.atts = append(c.atts, &attContent{kind: attItem, name: strings.TrimSuffix(name, ".vcf"), ctype: "text/vcard", contact: cards[0].c, blob: -1})
				return nil
			}
		}
		if mt == "text/calendar" {
			if evs := parseICS(data); len(evs) > 0 {
				c.atts = append(c.atts, &attContent{kind: attItem, name: strings.TrimSuffix(name, ".ics"), ctype: "text/calendar", event: evs[0].c, blob: -1})
				return nil
			}
		}
		c.atts = append(c.atts, a)
	}
	return nil
}
