package graphsim

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Large attachments (https://learn.microsoft.com/graph/outlook-large-attachments):
// POST …/messages/{id}/attachments/createUploadSession (or …/events/{id}/…) with
// {"AttachmentItem":{"attachmentType":"file","name","size","contentType","isInline","contentId"}}
// for files of 3 MB to 150 MB → 201 {uploadUrl, expirationDateTime, nextExpectedRanges:["0-"]}.
// The uploadUrl is on this server under /api/v2.0/… with an authtoken in the query, like the
// service's outlook.office.com URL: it is pre-authenticated, and a request that carries an
// Authorization header is refused (401). Byte ranges go in order with Content-Range, each at
// most 4 MiB; 200 {expirationDateTime, nextExpectedRanges:["<next>"]} until the last, which
// answers 201 with an empty body and a Location naming the new attachment
// (…/Attachments('<id>')). The uploads count against the mailbox's 150 MB / 5 min budget.
//
// Mailbox import sessions (archive.go) share the /api/ prefix.

const (
	attachSessionMin  = 3 << 20
	attachSessionMax  = 150 << 20
	attachChunkMax    = 4 << 20
	attachSessionLife = 6 * time.Hour
	importSessionLife = time.Hour
)

type outlookSession struct {
	mu       sync.Mutex
	id       string
	import_  bool // a mailbox import session (no file)
	mbx      int32
	onEvent  bool
	item     int32
	name     string
	ctype    string
	inline   bool
	cid      string
	size     int64
	received int64
	path     string
	expires  time.Time
	done     bool
}

type outlookSessions struct {
	mu sync.Mutex
	m  map[string]*outlookSession
}

func (o *outlookSessions) add(us *outlookSession) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]*outlookSession{}
	}
	o.m[us.id] = us
}

func (o *outlookSessions) get(id string) *outlookSession {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.m[id]
}

func (o *outlookSessions) removeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for id, us := range o.m {
		if us.path != "" {
			os.Remove(us.path)
		}
		delete(o.m, id)
	}
}

func (o *outlookSessions) drop(us *outlookSession) {
	o.mu.Lock()
	delete(o.m, us.id)
	o.mu.Unlock()
	us.done = true
	if us.path != "" {
		os.Remove(us.path)
	}
}

// authToken signs a session ID with its expiry, so the URL alone authorizes the upload.
func (s *Server) authToken(id string, exp time.Time) string {
	p := []byte(fmt.Sprintf("%s.%d", id, exp.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(p, s.sign(p)...))
}

func (s *Server) checkAuthToken(tok string, now time.Time) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 17 {
		return "", false
	}
	p, sig := b[:len(b)-16], b[len(b)-16:]
	if string(s.sign(p)) != string(sig) {
		return "", false
	}
	id, exp, ok := strings.Cut(string(p), ".")
	n, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || now.Unix() > n {
		return "", false
	}
	return id, true
}

func (s *Server) serveAttachmentSession(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var body struct {
		Item struct {
			Type        string `json:"attachmentType"`
			Name        string `json:"name"`
			Size        int64  `json:"size"`
			ContentType string `json:"contentType"`
			IsInline    bool   `json:"isInline"`
			ContentID   string `json:"contentId"`
		} `json:"AttachmentItem"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	it := body.Item
	switch {
	case it.Type != "" && !strings.EqualFold(it.Type, "file"):
		writeAPIError(w, rc, errInvalidRequest("Only file attachments can be uploaded in a session."))
		return
	case it.Name == "":
		writeAPIError(w, rc, errInvalidRequest("The attachment name is required."))
		return
	case it.Size < attachSessionMin:
		writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
			"Attachment size must be at least 3 MB for an upload session; add smaller files with a POST to attachments."))
		return
	case it.Size > attachSessionMax:
		writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize",
			"Attachment size must not exceed 150 MB."))
		return
	}
	mb := q.mb
	onEvent := lower(q.segs[0]) == "events"
	s.t.mu.RLock()
	var idx int32
	var e *apiError
	if onEvent {
		idx, _, e = s.resolveEvent(mb, q.segs[1])
	} else {
		idx, e = s.resolveMsg(mb, q.segs[1])
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	f, err := s.t.blobs.tempFile()
	if err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "ErrorInternalServerError", err.Error()))
		return
	}
	f.Close()
	us := &outlookSession{id: newSessionID(), mbx: mb.no, onEvent: onEvent, item: idx, name: it.Name,
		ctype: it.ContentType, inline: it.IsInline, cid: it.ContentID, size: it.Size, path: f.Name(),
		expires: rc.now.Add(attachSessionLife)}
	if us.ctype == "" {
		us.ctype = mimeType(us.name)
	}
	s.ouploads.add(us)
	base := requestBase(r)
	coll, key := "Messages", q.segs[1]
	if onEvent {
		coll = "Events"
	}
	upURL := fmt.Sprintf("%s/api/v2.0/Users('%s@%s')/%s('%s')/AttachmentSessions('%s')?authtoken=%s",
		base, q.user.id, s.t.tenantID, coll, url.PathEscape(key), us.id, s.authToken(us.id, us.expires))
	writeJSON(w, http.StatusCreated, map[string]any{
		"@odata.context":     base + "/v1.0/$metadata#microsoft.graph.uploadSession",
		"uploadUrl":          upURL,
		"expirationDateTime": us.expires.UTC().Format(time.RFC3339Nano),
		"nextExpectedRanges": []string{"0-"},
	})
}

// serveOutlookAPI handles the pre-authenticated outlook.office.com-style URLs: attachment
// upload sessions and mailbox import sessions.
func (s *Server) serveOutlookAPI(w http.ResponseWriter, r *http.Request) {
	rc := s.newReqCtx(r)
	setGraphHeaders(w, rc)
	if r.Header.Get("Authorization") != "" {
		writeAPIError(w, rc, newAPIError(http.StatusUnauthorized, "InvalidAuthenticationToken",
			"This URL is pre-authenticated by its authtoken; requests to it must not carry an Authorization header."))
		return
	}
	id, ok := s.checkAuthToken(r.URL.Query().Get("authtoken"), rc.now)
	if !ok {
		writeAPIError(w, rc, newAPIError(http.StatusUnauthorized, "InvalidAuthenticationToken", "The authtoken is invalid or has expired."))
		return
	}
	w, handled, finish := s.applyFault(w, r, rc, false)
	if handled {
		return
	}
	defer finish()
	us := s.ouploads.get(id)
	if us == nil || us.done || rc.now.After(us.expires) {
		writeAPIError(w, rc, newAPIError(http.StatusNotFound, "ErrorItemNotFound", "The session was not found; it may have expired or completed."))
		return
	}
	s.t.mu.RLock()
	var mb *mailbox
	if int(us.mbx) < len(s.t.mailboxes) {
		mb = s.t.mailboxes[us.mbx]
	}
	s.t.mu.RUnlock()
	if mb == nil {
		writeAPIError(w, rc, newAPIError(http.StatusNotFound, "ErrorItemNotFound", "The session's mailbox no longer exists."))
		return
	}
	class := "mail.upload"
	if us.import_ {
		class = "archive"
	}
	// The uploads count against the mailbox's Outlook limits, like any request to it.
	var upload int64
	if r.ContentLength > 0 {
		upload = r.ContentLength
	}
	v := s.othr.enter(mb, rc.now, upload)
	s.ctr.mailboxInflight(mb.owner.id, v.inflight)
	hw := &holdWriter{ResponseWriter: w}
	defer func() {
		s.othr.leave(mb)
		hw.flushHeld()
	}()
	if v.e != nil {
		s.ctr.throttled(class)
		writeAPIError(hw, rc, v.e)
		return
	}
	s.ctr.served(class)
	if us.import_ {
		if r.Method != http.MethodPost {
			writeAPIError(hw, rc, methodNotAllowed())
			return
		}
		s.serveImportItem(hw, r, rc, us, mb)
		return
	}
	if r.Method != http.MethodPut {
		writeAPIError(hw, rc, methodNotAllowed())
		return
	}
	us.mu.Lock()
	defer us.mu.Unlock()
	s.putAttachmentChunk(hw, r, rc, us, mb)
}

func (s *Server) putAttachmentChunk(w http.ResponseWriter, r *http.Request, rc *reqCtx, us *outlookSession, mb *mailbox) {
	bad := func(status int, code, msg string) { writeAPIError(w, rc, newAPIError(status, code, msg)) }
	a, b, total, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok {
		bad(http.StatusBadRequest, "ErrorInvalidContentRange", "Content-Range must be 'bytes {start}-{end}/{total}'.")
		return
	}
	n := b - a + 1
	switch {
	case total != us.size:
		bad(http.StatusBadRequest, "ErrorInvalidContentRange", "The total size in Content-Range differs from the size the session was created with.")
		return
	case a != us.received:
		bad(http.StatusBadRequest, "ErrorInvalidContentRange", fmt.Sprintf("Byte ranges must be uploaded in order; expected a range starting at %d.", us.received))
		return
	case n > attachChunkMax:
		bad(http.StatusRequestEntityTooLarge, "ErrorRequestEntityTooLarge", "Each byte range must be at most 4 MB.")
		return
	case r.ContentLength >= 0 && r.ContentLength != n:
		bad(http.StatusBadRequest, "ErrorInvalidContentRange", "Content-Length does not match Content-Range.")
		return
	}
	f, err := os.OpenFile(us.path, os.O_WRONLY, 0)
	if err != nil {
		bad(http.StatusInternalServerError, "ErrorInternalServerError", err.Error())
		return
	}
	got, err := io.Copy(io.NewOffsetWriter(f, a), io.LimitReader(r.Body, n))
	f.Close()
	if err != nil || got != n {
		bad(http.StatusBadRequest, "ErrorInvalidContentRange", "The request body is shorter than Content-Range declares.")
		return
	}
	us.received += n
	if us.received < us.size {
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.context":     requestBase(r) + "/api/v2.0/$metadata#Users/AttachmentSessions/$entity",
			"expirationDateTime": us.expires.UTC().Format(time.RFC3339Nano),
			"nextExpectedRanges": []string{strconv.FormatInt(us.received, 10)},
		})
		return
	}
	if err := os.Truncate(us.path, us.size); err != nil {
		bad(http.StatusInternalServerError, "ErrorInternalServerError", err.Error())
		return
	}
	blob, err := s.t.blobs.commit(us.path)
	us.path = ""
	s.ouploads.drop(us)
	if err != nil {
		bad(http.StatusInternalServerError, "ErrorInternalServerError", err.Error())
		return
	}
	att := &attContent{kind: attFile, name: us.name, ctype: us.ctype, inline: us.inline, cid: us.cid,
		size: us.size, blob: blob, modified: rc.now.UTC()}
	now := unixSec(rc.now)
	s.t.mu.Lock()
	var attID string
	var e *apiError
	if us.onEvent {
		if !mb.liveEvent(us.item) {
			e = errItemNotFound()
		} else {
			ev := mb.events[us.item]
			c := *ev.c
			c.atts = append(append([]*attContent(nil), c.atts...), att)
			att.no = nextOrdinal(ev.c.atts) + 1
			ev.c = &c
			mb.touchEvent(us.item, now)
			attID = s.attachmentID(mb, oidEventAttachment, us.item, att.no-1)
		}
	} else {
		if !mb.liveMsg(us.item) {
			e = errItemNotFound()
		} else {
			m := mb.msg(us.item)
			c := s.editable(mb, m)
			att.no = nextOrdinal(c.atts) + 1
			c.atts = append(c.atts, att)
			m.version++
			mb.touchMsg(us.item, now)
			attID = s.attachmentID(mb, oidAttachment, us.item, att.no-1)
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	coll, item := "Messages", s.messageID(mb, us.item)
	if us.onEvent {
		coll, item = "Events", s.eventID(mb, us.item)
	}
	w.Header().Set("Location", fmt.Sprintf("%s/api/v2.0/Users('%s@%s')/%s('%s')/Attachments('%s')",
		requestBase(r), mb.owner.id, s.t.tenantID, coll, item, attID))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}
