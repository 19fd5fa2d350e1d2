package graphsim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Creating and updating messages (https://learn.microsoft.com/graph/api/user-post-messages,
// mailfolder-post-messages, message-update):
//
//   - MIME: Content-Type text/plain with the base64 of an RFC 5322 message. The service always
//     makes a draft of it; the bytes are kept exactly, so /$value returns them.
//   - JSON: a message resource. Without singleValueExtendedProperties it is a draft. With
//     PidTagMessageFlags ("Integer 0x0E07") set at creation the message takes those flags: no
//     unsent bit (0x8) → not a draft, the read bit (0x1) → read (isRead, when given, wins);
//     client-submit time ("SystemTime 0x0039") and delivery time ("SystemTime 0x0E06") become
//     sentDateTime and receivedDateTime. This is how a restore recreates a received message
//     with its original dates. Attachments may be given inline (file, item, reference).
//   - PATCH: isRead, flag, categories, importance on any message; subject, body and recipients
//     on drafts only.

type recipIn struct {
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
}

func (r *recipIn) addr() addr { return addr{r.EmailAddress.Name, r.EmailAddress.Address} }

func addrsOf(in []recipIn) []addr {
	out := make([]addr, 0, len(in))
	for i := range in {
		out = append(out, in[i].addr())
	}
	return out
}

type extProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type msgInput struct {
	Type        string `json:"@odata.type"`
	Subject     *string
	Body        *struct{ ContentType, Content string }
	From        *recipIn
	Sender      *recipIn
	To          []recipIn `json:"toRecipients"`
	Cc          []recipIn `json:"ccRecipients"`
	Bcc         []recipIn `json:"bccRecipients"`
	ReplyTo     []recipIn `json:"replyTo"`
	Importance  *string
	IsRead      *bool
	Categories  *[]string
	Flag        *struct{ FlagStatus string }
	MessageID   *string                        `json:"internetMessageId"`
	Headers     []struct{ Name, Value string } `json:"internetMessageHeaders"`
	ExtProps    []extProp                      `json:"singleValueExtendedProperties"`
	Attachments []json.RawMessage              `json:"attachments"`
	SentAt      *string                        `json:"sentDateTime"`
	ReceivedAt  *string                        `json:"receivedDateTime"`
	Inference   *string                        `json:"inferenceClassification"`
}

type attInput struct {
	Type         string          `json:"@odata.type"`
	Name         string          `json:"name"`
	ContentType  string          `json:"contentType"`
	ContentBytes string          `json:"contentBytes"`
	IsInline     bool            `json:"isInline"`
	ContentID    string          `json:"contentId"`
	Item         json.RawMessage `json:"item"`
	SourceURL    string          `json:"sourceUrl"`
	ProviderType string          `json:"providerType"`
	Permission   string          `json:"permission"`
	IsFolder     bool            `json:"isFolder"`
	Modified     *string         `json:"lastModifiedDateTime"`
}

// parseGraphTime reads the timestamp forms clients send (RFC 3339, or without a zone: UTC).
func parseGraphTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, strings.TrimSpace(v)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func errInvalidRequest(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, "ErrorInvalidRequest", msg)
}

func newMessageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "<" + strings.ToUpper(hex.EncodeToString(b[:])) + "@" + outlookHost + ">"
}

// content builds message content from JSON; attachments nest (item attachments hold messages
// with their own attachments).
func (in *msgInput) content(now time.Time, depth int) (*msgContent, *apiError) {
	c := &msgContent{raw: -1, importance: "normal", class: "IPM.Note", date: now}
	if in.Subject != nil {
		c.subject = *in.Subject
	}
	if in.Body != nil {
		if strings.EqualFold(in.Body.ContentType, "html") {
			c.html = in.Body.Content
		} else {
			c.text = in.Body.Content
		}
	}
	switch {
	case in.From != nil:
		c.from = in.From.addr()
	case in.Sender != nil:
		c.from = in.Sender.addr()
	}
	c.to, c.cc, c.bcc, c.replyTo = addrsOf(in.To), addrsOf(in.Cc), addrsOf(in.Bcc), addrsOf(in.ReplyTo)
	if in.Importance != nil {
		switch imp := strings.ToLower(*in.Importance); imp {
		case "low", "normal", "high":
			c.importance = imp
		default:
			return nil, errInvalidRequest("Invalid importance '" + *in.Importance + "'.")
		}
	}
	c.messageID = newMessageID()
	if in.MessageID != nil && *in.MessageID != "" {
		c.messageID = *in.MessageID
	}
	for _, h := range in.Headers {
		if !strings.HasPrefix(strings.ToLower(h.Name), "x-") {
			return nil, newAPIError(http.StatusBadRequest, "InvalidInternetMessageHeader", "The internet message header name '"+h.Name+"' should start with 'x-' or 'X-'.")
		}
		c.headers = append(c.headers, [2]string{h.Name, h.Value})
	}
	if in.SentAt != nil && depth > 0 {
		if t, ok := parseGraphTime(*in.SentAt); ok {
			c.date = t
		}
	}
	c.topic = stripSubjectPrefix(c.subject)
	for _, raw := range in.Attachments {
		a, e := parseAttachment(raw, now, depth)
		if e != nil {
			return nil, e
		}
		c.atts = append(c.atts, a)
	}
	return c, nil
}

const maxItemDepth = 16

func parseAttachment(raw json.RawMessage, now time.Time, depth int) (*attContent, *apiError) {
	var in attInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, errBadRequest("Invalid attachment: " + err.Error())
	}
	a := &attContent{name: in.Name, ctype: in.ContentType, inline: in.IsInline, cid: in.ContentID, blob: -1, modified: now}
	if in.Modified != nil {
		if t, ok := parseGraphTime(*in.Modified); ok {
			a.modified = t
		}
	}
	switch strings.TrimPrefix(strings.ToLower(in.Type), "#") {
	case "microsoft.graph.fileattachment", "":
		a.kind = attFile
		b, err := base64.StdEncoding.DecodeString(in.ContentBytes)
		if err != nil {
			return nil, errBadRequest("contentBytes is not valid base64.")
		}
		if len(b) > 3<<20+512<<10 {
			return nil, newAPIError(http.StatusRequestEntityTooLarge, "ErrorRequestEntityTooLarge",
				"The attachment is too large to add in one request; use an upload session (attachments/createUploadSession) for files over 3 MB.")
		}
		a.data, a.size = b, int64(len(b))
		if a.ctype == "" {
			a.ctype = mimeType(a.name)
		}
	case "microsoft.graph.itemattachment":
		a.kind = attItem
		if depth >= maxItemDepth {
			return nil, errBadRequest("Item attachments are nested too deeply.")
		}
		var head struct {
			Type string `json:"@odata.type"`
		}
		_ = json.Unmarshal(in.Item, &head)
		switch strings.TrimPrefix(strings.ToLower(head.Type), "#") {
		case "microsoft.graph.event":
			ev, e := parseEventInput(in.Item)
			if e != nil {
				return nil, e
			}
			a.event, a.ctype = ev, "text/calendar"
		case "microsoft.graph.contact":
			ct, e := parseContactInput(in.Item, nil)
			if e != nil {
				return nil, e
			}
			a.contact, a.ctype = ct, "text/vcard"
		default:
			var mi msgInput
			if len(in.Item) == 0 {
				return nil, errBadRequest("An item attachment needs an item.")
			}
			if err := json.Unmarshal(in.Item, &mi); err != nil {
				return nil, errBadRequest("Invalid item: " + err.Error())
			}
			c, e := mi.content(now, depth+1)
			if e != nil {
				return nil, e
			}
			a.msg, a.ctype = c, "message/rfc822"
		}
		if a.name == "" {
			a.name = "Untitled"
		}
	case "microsoft.graph.referenceattachment":
		a.kind = attRef
		if in.SourceURL == "" {
			return nil, errBadRequest("A reference attachment needs a sourceUrl.")
		}
		a.url, a.provider, a.permission, a.isFolder = in.SourceURL, in.ProviderType, in.Permission, in.IsFolder
		if a.provider == "" {
			a.provider = "other"
		}
		if a.permission == "" {
			a.permission = "other"
		}
	default:
		return nil, errBadRequest("Unknown attachment type '" + in.Type + "'.")
	}
	return a, nil
}

// flagsFromExt reads PidTagMessageFlags and the client-submit and delivery times.
func flagsFromExt(props []extProp) (flags int, hasFlags bool, sent, recv time.Time, e *apiError) {
	for _, p := range props {
		switch {
		case propIDEqual(p.ID, "Integer 0x0E07"):
			v, err := strconv.ParseInt(strings.TrimSpace(p.Value), 0, 64)
			if err != nil {
				return 0, false, sent, recv, errBadRequest("Invalid value for extended property '" + p.ID + "'.")
			}
			flags, hasFlags = int(v), true
		case propIDEqual(p.ID, "SystemTime 0x0039"):
			t, ok := parseGraphTime(p.Value)
			if !ok {
				return 0, false, sent, recv, errBadRequest("Invalid SystemTime value for '" + p.ID + "'.")
			}
			sent = t
		case propIDEqual(p.ID, "SystemTime 0x0E06"):
			t, ok := parseGraphTime(p.Value)
			if !ok {
				return 0, false, sent, recv, errBadRequest("Invalid SystemTime value for '" + p.ID + "'.")
			}
			recv = t
		}
	}
	return
}

func (s *Server) serveMessageCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	mb := q.mb
	now := rc.now.UTC().Truncate(time.Second)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var c *msgContent
	var in msgInput
	isMIME := ct == "text/plain"
	switch {
	case isMIME:
		b, err := io.ReadAll(io.LimitReader(r.Body, 36<<20))
		if err != nil {
			writeAPIError(w, rc, errBadRequest("Could not read the request body."))
			return
		}
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
		if err != nil {
			writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."))
			return
		}
		if _, err := parseMIME(raw); err != nil {
			writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "ErrorMimeContentConversionFailed", "The MIME content could not be converted: "+err.Error()))
			return
		}
		blob, err := s.t.blobs.ingest(bytes.NewReader(raw), 36<<20)
		if err != nil {
			writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "ErrorInternalServerError", err.Error()))
			return
		}
		c = &msgContent{raw: blob, rawSize: int64(len(raw))}
	default:
		if e := readJSONBody(r, &in); e != nil {
			writeAPIError(w, rc, e)
			return
		}
		var e *apiError
		if c, e = in.content(now, 0); e != nil {
			writeAPIError(w, rc, e)
			return
		}
	}
	flags, hasFlags, sent, recv, e := flagsFromExt(in.ExtProps)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	s.t.mu.Lock()
	folder := mb.mustWellKnown("drafts")
	if len(q.segs) == 3 {
		folder, e = s.resolveFolder(mb, q.segs[1])
	}
	var sn msgSnap
	if e == nil {
		mb.stored = append(mb.stored, c)
		idx, m := mb.addMsg(folder, unixSec(now))
		m.src = int32(len(mb.stored) - 1)
		m.sent, m.received = unixSec(now), unixSec(now)
		m.flags = msgDraft | msgRead
		if hasFlags {
			m.flags = 0
			if flags&mfUnsent != 0 {
				m.flags |= msgDraft
			}
			if flags&mfRead != 0 {
				m.flags |= msgRead
			}
		}
		if !sent.IsZero() {
			m.sent = unixSec(sent)
			if c.raw < 0 {
				c.date = sent
			}
		}
		if !recv.IsZero() {
			m.received = unixSec(recv)
		}
		if c.raw < 0 && sent.IsZero() {
			c.date = fromUnix(m.sent)
		}
		if in.IsRead != nil {
			if *in.IsRead {
				m.flags |= msgRead
			} else {
				m.flags &^= msgRead
			}
		}
		if in.Categories != nil {
			m.cats = mb.categorySet(*in.Categories)
		}
		if in.Flag != nil {
			m.flag = flagIndex(in.Flag.FlagStatus)
		}
		sn = s.snapMsg(mb, idx)
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	base := requestBase(r)
	j := s.messageJSON(base, &sn, s.content(&sn), msgOpts{})
	writeEntity(w, http.StatusCreated, base+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/messages/$entity", j)
}

func flagIndex(s string) uint8 {
	for i, n := range flagNames {
		if strings.EqualFold(n, s) {
			return uint8(i)
		}
	}
	return 0
}

// editable returns a message's content as a stored, private copy (seeded content is
// materialized; raw MIME is parsed and stops being served verbatim).
func (s *Server) editable(mb *mailbox, m *message) *msgContent {
	var c msgContent
	if m.src < 0 {
		c = *s.t.genMessage(mb, m)
	} else {
		c = *s.t.resolveContent(mb.stored[m.src])
	}
	c.raw = -1
	c.atts = append([]*attContent(nil), c.atts...)
	for i, a := range c.atts {
		cp := *a
		cp.no = attOrdinal(a, i) + 1
		c.atts[i] = &cp
	}
	mb.stored = append(mb.stored, &c)
	m.src = int32(len(mb.stored) - 1)
	return &c
}

func (s *Server) serveMessagePatch(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var in msgInput
	if e := readJSONBody(r, &in); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	now := unixSec(rc.now)
	s.t.mu.Lock()
	idx, e := s.resolveMsg(mb, q.segs[1])
	var sn msgSnap
	if e == nil {
		m := mb.msg(idx)
		contentEdit := in.Subject != nil || in.Body != nil || in.From != nil || in.To != nil || in.Cc != nil || in.Bcc != nil || in.ReplyTo != nil
		if contentEdit && m.flags&msgDraft == 0 {
			e = newAPIError(http.StatusBadRequest, "ErrorInvalidPropertyUpdateSentMessage", "Update operation is not supported for this property on a sent message.")
		}
		if e == nil && in.Importance != nil {
			switch strings.ToLower(*in.Importance) {
			case "low", "normal", "high":
				contentEdit = true
			default:
				e = errInvalidRequest("Invalid importance '" + *in.Importance + "'.")
			}
		}
		if e == nil {
			if contentEdit {
				c := s.editable(mb, m)
				if in.Subject != nil {
					c.subject, c.topic = *in.Subject, stripSubjectPrefix(*in.Subject)
				}
				if in.Body != nil {
					c.text, c.html = "", ""
					if strings.EqualFold(in.Body.ContentType, "html") {
						c.html = in.Body.Content
					} else {
						c.text = in.Body.Content
					}
				}
				if in.From != nil {
					c.from = in.From.addr()
				}
				if in.To != nil {
					c.to = addrsOf(in.To)
				}
				if in.Cc != nil {
					c.cc = addrsOf(in.Cc)
				}
				if in.Bcc != nil {
					c.bcc = addrsOf(in.Bcc)
				}
				if in.ReplyTo != nil {
					c.replyTo = addrsOf(in.ReplyTo)
				}
				if in.Importance != nil {
					c.importance = strings.ToLower(*in.Importance)
				}
				m.version++
			}
			if in.IsRead != nil {
				if *in.IsRead {
					m.flags |= msgRead
				} else {
					m.flags &^= msgRead
				}
			}
			if in.Categories != nil {
				m.cats = mb.categorySet(*in.Categories)
			}
			if in.Flag != nil {
				m.flag = flagIndex(in.Flag.FlagStatus)
			}
			mb.touchMsg(idx, now)
			sn = s.snapMsg(mb, idx)
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	base := requestBase(r)
	j := s.messageJSON(base, &sn, s.content(&sn), msgOpts{})
	writeEntity(w, http.StatusOK, base+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/messages/$entity", j)
}
