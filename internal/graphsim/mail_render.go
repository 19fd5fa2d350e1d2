package graphsim

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// JSON of mail folders, messages and attachments
// (https://learn.microsoft.com/graph/api/resources/mailfolder, message, fileattachment,
// itemattachment, referenceattachment). As for drive items, rendering is two steps: a snapshot
// of the mailbox state is copied under the tenant lock, and the content (regenerated for
// seeded messages, parsed for MIME ones) is produced after the lock is released. Content
// stored for client-created messages is copy-on-write, so a pointer copied under the lock
// stays valid.

type msgSnap struct {
	mb     *mailbox
	idx    int32
	m      message
	cats   []string
	stored *msgContent
}

func (s *Server) snapMsg(mb *mailbox, idx int32) msgSnap {
	m := mb.msg(idx)
	sn := msgSnap{mb: mb, idx: idx, m: *m, cats: mb.categories(m)}
	if m.src >= 0 {
		sn.stored = mb.stored[m.src]
	}
	return sn
}

// content returns a message's content, regenerating or parsing it as needed.
func (s *Server) content(sn *msgSnap) *msgContent {
	if sn.stored == nil {
		return s.t.genMessage(sn.mb, &sn.m)
	}
	return s.t.resolveContent(sn.stored)
}

// resolveContent parses raw (MIME) content; the result keeps raw so that $value serves the
// original bytes.
func (t *tenant) resolveContent(c *msgContent) *msgContent {
	if c.raw < 0 {
		return c
	}
	rc, err := openBlob(t.blobs.get(c.raw))
	if err != nil {
		return &msgContent{raw: c.raw, importance: "normal", class: "IPM.Note"}
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return &msgContent{raw: c.raw, importance: "normal", class: "IPM.Note"}
	}
	p, err := parseMIME(b)
	if err != nil {
		return &msgContent{raw: c.raw, importance: "normal", class: "IPM.Note", rawSize: int64(len(b))}
	}
	p.raw, p.rawSize = c.raw, int64(len(b))
	return p
}

func (s *Server) folderID(mb *mailbox, f int32) string {
	return s.t.ids.restID(oid{mbx: mb.no, kind: oidFolder, a: uint32(f)})
}

func (s *Server) messageID(mb *mailbox, idx int32) string {
	return s.t.ids.restID(oid{mbx: mb.no, kind: oidMessage, a: uint32(idx)})
}

func (s *Server) attachmentID(mb *mailbox, kind oidKind, item int32, n int) string {
	return s.t.ids.restID(oid{mbx: mb.no, kind: kind, a: uint32(item), b: uint32(n)})
}

func recipients(as []addr) []any {
	out := make([]any, 0, len(as))
	for _, a := range as {
		out = append(out, emailAddr(a))
	}
	return out
}

func emailAddr(a addr) map[string]any {
	return map[string]any{"emailAddress": map[string]any{"name": a.name, "address": a.email}}
}

func isoUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Server) conversationID(mb *mailbox, topic string) string {
	d := s.t.ids.digest("conv", mb.no, strings.ToLower(topic))
	return base64.URLEncoding.EncodeToString(append([]byte{0x00, 0x10, 0x24, 0x00}, d[:26]...))
}

func conversationIndex(s *Server, mb *mailbox, topic string, at time.Time) string {
	d := s.t.ids.digest("convidx", mb.no, strings.ToLower(topic))
	b := make([]byte, 22)
	b[0] = 1
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(at.Unix()))
	copy(b[1:6], ts[3:])
	copy(b[6:], d[:16])
	return base64.StdEncoding.EncodeToString(b)
}

// msgOpts are the query options that shape a message.
type msgOpts struct {
	sel        []string
	expandAtts bool     // $expand=attachments
	extProps   []string // $expand=singleValueExtendedProperties(…): the ids asked for; nil = none
	extAll     bool
	textBody   bool // Prefer: outlook.body-content-type="text"
}

func preferTextApplied(w http.ResponseWriter, o msgOpts) {
	if o.textBody {
		w.Header().Add("Preference-Applied", `outlook.body-content-type="text"`)
	}
}

// preferText reads Prefer: outlook.body-content-type="text".
func preferText(r *http.Request) bool {
	for _, p := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(p, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.EqualFold(k, "outlook.body-content-type") && strings.EqualFold(strings.Trim(v, `"`), "text") {
				return true
			}
		}
	}
	return false
}

func parseMsgOpts(r *http.Request) msgOpts {
	o := msgOpts{sel: parseSelect(r), textBody: preferText(r)}
	exp := r.URL.Query().Get("$expand")
	for _, part := range splitParams(exp) {
		part = strings.TrimSpace(part)
		name, args, _ := strings.Cut(part, "(")
		switch strings.ToLower(name) {
		case "attachments":
			o.expandAtts = true
		case "singlevalueextendedproperties":
			o.extAll = true
			for _, kv := range strings.Split(args, "'") {
				if strings.Contains(strings.ToLower(kv), "0x") {
					o.extProps = append(o.extProps, kv)
				}
			}
			if len(o.extProps) > 0 {
				o.extAll = false
			}
		}
	}
	return o
}

// PidTagMessageFlags bits (MS-OXCMSG 2.2.1.6).
const (
	mfRead   = 0x1
	mfUnsent = 0x8
	mfAttach = 0x10
)

func (s *Server) extendedProps(sn *msgSnap, c *msgContent, o msgOpts) []any {
	flags := 0
	if sn.m.flags&msgRead != 0 {
		flags |= mfRead
	}
	if sn.m.flags&msgDraft != 0 {
		flags |= mfUnsent
	}
	if c.hasAttachments() {
		flags |= mfAttach
	}
	all := [][2]string{
		{"Integer 0xe07", fmt.Sprint(flags)},
		{"SystemTime 0x39", isoTime(sn.m.sent)},
		{"SystemTime 0xe06", isoTime(sn.m.received)},
	}
	var out []any
	for _, p := range all {
		keep := o.extAll
		for _, want := range o.extProps {
			if propIDEqual(want, p[0]) {
				keep = true
			}
		}
		if keep {
			out = append(out, map[string]any{"id": p[0], "value": p[1]})
		}
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// propIDEqual compares extended property ids ("Integer 0x0E07" and "Integer 0xe07" are equal).
func propIDEqual(a, b string) bool {
	ta, va, _ := strings.Cut(strings.TrimSpace(a), " ")
	tb, vb, _ := strings.Cut(strings.TrimSpace(b), " ")
	var na, nb uint64
	_, e1 := fmt.Sscanf(strings.ToLower(va), "0x%x", &na)
	_, e2 := fmt.Sscanf(strings.ToLower(vb), "0x%x", &nb)
	return e1 == nil && e2 == nil && na == nb && strings.EqualFold(ta, tb)
}

// messageJSON renders a mailbox message.
func (s *Server) messageJSON(base string, sn *msgSnap, c *msgContent, o msgOpts) map[string]any {
	mb, m := sn.mb, &sn.m
	id := s.messageID(mb, sn.idx)
	ck := s.t.ids.changeKey(oid{mbx: mb.no, kind: oidMessage, a: uint32(sn.idx)}, m.seq)
	bt, body := c.bodyContent()
	if o.textBody && bt == "html" {
		bt, body = "text", c.text
		if body == "" {
			body = strings.TrimSpace(stripTags(c.html))
		}
	}
	cats := sn.cats
	if cats == nil {
		cats = []string{}
	}
	j := map[string]any{
		"@odata.type":                "#microsoft.graph.message",
		"@odata.etag":                etagOf(ck),
		"id":                         id,
		"createdDateTime":            isoTime(m.created),
		"lastModifiedDateTime":       isoTime(m.modified),
		"changeKey":                  ck,
		"categories":                 cats,
		"receivedDateTime":           isoTime(m.received),
		"sentDateTime":               isoTime(m.sent),
		"hasAttachments":             c.hasAttachments(),
		"internetMessageId":          c.messageID,
		"subject":                    c.subject,
		"bodyPreview":                c.preview(),
		"importance":                 c.importance,
		"parentFolderId":             s.folderID(mb, m.folder),
		"conversationId":             s.conversationID(mb, c.topic),
		"conversationIndex":          conversationIndex(s, mb, c.topic, c.date),
		"isDeliveryReceiptRequested": false,
		"isReadReceiptRequested":     false,
		"isRead":                     m.flags&msgRead != 0,
		"isDraft":                    m.flags&msgDraft != 0,
		"webLink":                    "https://outlook.office365.com/owa/?ItemID=" + url.QueryEscape(id) + "&exvsurl=1&viewmodel=ReadMessageItem",
		"inferenceClassification":    "focused",
		"body":                       map[string]any{"contentType": bt, "content": body},
		"toRecipients":               recipients(c.to),
		"ccRecipients":               recipients(c.cc),
		"bccRecipients":              recipients(c.bcc),
		"replyTo":                    recipients(c.replyTo),
		"flag":                       map[string]any{"flagStatus": flagNames[m.flag]},
	}
	if m.flags&msgDraft != 0 && c.from.isZero() {
		j["from"], j["sender"] = nil, nil
	} else {
		j["from"], j["sender"] = emailAddr(c.from), emailAddr(c.from)
	}
	if c.invite != nil {
		j["@odata.type"] = "#microsoft.graph.eventMessageRequest"
		j["meetingMessageType"] = "meetingRequest"
		s.addInviteFields(j, c.invite)
	}
	if o.expandAtts {
		j["attachments"] = s.attachmentsJSON(mb, oidAttachment, sn.idx, c.atts, true)
	}
	if o.extAll || len(o.extProps) > 0 {
		j["singleValueExtendedProperties"] = s.extendedProps(sn, c, o)
	}
	return projectOutlook(j, o.sel)
}

func (s *Server) addInviteFields(j map[string]any, ev *eventContent) {
	st, en := eventSpan(ev, -1)
	j["startDateTime"] = map[string]any{"dateTime": graphDateTime(st), "timeZone": "UTC"}
	j["endDateTime"] = map[string]any{"dateTime": graphDateTime(en), "timeZone": "UTC"}
	j["location"] = map[string]any{"displayName": ev.location}
	j["type"] = "singleInstance"
	j["isAllDay"] = ev.allDay
	j["isOutOfDate"] = false
	j["isDelegated"] = false
	j["responseRequested"] = true
}

// projectOutlook applies $select; id and the @odata annotations always stay.
func projectOutlook(j map[string]any, sel []string) map[string]any {
	if len(sel) == 0 {
		return j
	}
	out := map[string]any{}
	for k, v := range j {
		if k == "id" || strings.HasPrefix(k, "@") || k == "attachments" || k == "singleValueExtendedProperties" {
			out[k] = v
			continue
		}
		for _, f := range sel {
			if strings.EqualFold(k, f) {
				out[k] = v
			}
		}
	}
	return out
}

// itemJSON renders a message embedded in an item attachment (no mailbox state; its own
// attachments nested, file bytes included).
func (s *Server) itemJSON(mb *mailbox, c *msgContent) map[string]any {
	bt, body := c.bodyContent()
	j := map[string]any{
		"@odata.type":       "#microsoft.graph.message",
		"createdDateTime":   isoUTC(c.date),
		"receivedDateTime":  isoUTC(c.date),
		"sentDateTime":      isoUTC(c.date),
		"hasAttachments":    c.hasAttachments(),
		"internetMessageId": c.messageID,
		"subject":           c.subject,
		"bodyPreview":       c.preview(),
		"importance":        c.importance,
		"isRead":            true,
		"isDraft":           false,
		"body":              map[string]any{"contentType": bt, "content": body},
		"from":              emailAddr(c.from),
		"sender":            emailAddr(c.from),
		"toRecipients":      recipients(c.to),
		"ccRecipients":      recipients(c.cc),
		"bccRecipients":     recipients(c.bcc),
		"replyTo":           recipients(c.replyTo),
		"flag":              map[string]any{"flagStatus": "notFlagged"},
		"categories":        []string{},
	}
	var atts []any
	for i, a := range c.atts {
		atts = append(atts, s.attachmentJSON(mb, oidAttachment, -1, i, a, true, true))
	}
	if atts == nil {
		atts = []any{}
	}
	j["attachments"] = atts
	return j
}

func (s *Server) attachmentsJSON(mb *mailbox, kind oidKind, item int32, atts []*attContent, withBytes bool) []any {
	out := make([]any, 0, len(atts))
	for i, a := range atts {
		out = append(out, s.attachmentJSON(mb, kind, item, i, a, withBytes, false))
	}
	return out
}

// attachmentJSON renders one attachment; expand includes an item attachment's item.
func (s *Server) attachmentJSON(mb *mailbox, kind oidKind, item int32, n int, a *attContent, withBytes, expand bool) map[string]any {
	j := map[string]any{
		"lastModifiedDateTime": isoUTC(a.modified),
		"name":                 a.name,
		"isInline":             a.inline,
	}
	if item >= 0 {
		j["id"] = s.attachmentID(mb, kind, item, attOrdinal(a, n))
	}
	var ct any = a.ctype
	if a.ctype == "" {
		ct = nil
	}
	j["contentType"] = ct
	switch a.kind {
	case attFile:
		j["@odata.type"] = "#microsoft.graph.fileAttachment"
		j["@odata.mediaContentType"] = a.ctype
		j["size"] = a.size
		j["contentLocation"] = nil
		if a.cid != "" {
			j["contentId"] = a.cid
		} else {
			j["contentId"] = nil
		}
		if withBytes {
			if b, err := s.t.attBytes(a); err == nil {
				j["contentBytes"] = base64.StdEncoding.EncodeToString(b)
			}
		}
	case attItem:
		j["@odata.type"] = "#microsoft.graph.itemAttachment"
		b, _, _ := s.t.itemBytes(a)
		j["size"] = len(b)
		if expand {
			j["item"] = s.embeddedItemJSON(mb, a)
		}
	case attRef:
		j["@odata.type"] = "#microsoft.graph.referenceAttachment"
		j["size"] = 0
		j["sourceUrl"] = a.url
		j["providerType"] = a.provider
		j["permission"] = a.permission
		j["isFolder"] = a.isFolder
	}
	return j
}

func (s *Server) embeddedItemJSON(mb *mailbox, a *attContent) map[string]any {
	switch {
	case a.msg != nil:
		return s.itemJSON(mb, a.msg)
	case a.event != nil:
		j := s.eventContentJSON(a.event, "UTC")
		j["@odata.type"] = "#microsoft.graph.event"
		return j
	case a.contact != nil:
		j := contactContentJSON(a.contact)
		j["@odata.type"] = "#microsoft.graph.contact"
		return j
	}
	return nil
}

// folderJSON renders a mail folder; caller holds the lock.
func (s *Server) folderJSON(mb *mailbox, f int32) map[string]any {
	fo := mb.folders[f]
	parent := ""
	if fo.parent >= 0 {
		parent = s.folderID(mb, fo.parent)
	}
	var size int64
	return map[string]any{
		"id":               s.folderID(mb, f),
		"displayName":      fo.name,
		"parentFolderId":   parent,
		"childFolderCount": len(fo.children),
		"unreadItemCount":  mb.unread(f),
		"totalItemCount":   len(fo.msgs),
		"sizeInBytes":      size,
		"isHidden":         fo.hidden,
	}
}

// graphDateTime formats a dateTimeTimeZone dateTime (the wall clock of t in its location).
func graphDateTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.0000000") }
