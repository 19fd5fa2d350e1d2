package graphsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Message attachments (https://learn.microsoft.com/graph/api/message-list-attachments,
// attachment-get, message-post-attachments, attachment-delete): file attachments carry
// contentBytes; item attachments carry their item with $expand=microsoft.graph.itemattachment/item
// (a message's own attachments come with it, nested to any depth, so a tree can be read — and
// rebuilt by POSTing item attachments level by level); reference attachments carry sourceUrl,
// providerType, permission and isFolder. /attachments/{id}/$value is the file's bytes, or the
// MIME / iCalendar / vCard of an item. POST takes up to ~3 MB of contentBytes; larger files go
// through createUploadSession (outlook_upload.go).

func expandItem(r *http.Request) bool {
	e := strings.ToLower(r.URL.Query().Get("$expand"))
	return strings.Contains(e, "itemattachment/item") || strings.Contains(e, "itemattachment/microsoft.graph.") || e == "item"
}

// resolveAttachment resolves messages/{id}/attachments/{aid} and returns the message snapshot
// and the attachment ordinal.
func (s *Server) resolveAttachmentRef(mb *mailbox, msgKey, attKey string) (msgSnap, int, *apiError) {
	idx, e := s.resolveMsg(mb, msgKey)
	if e != nil {
		return msgSnap{}, 0, e
	}
	o, ok := s.t.ids.parseRestID(attKey)
	if !ok {
		return msgSnap{}, 0, errInvalidID()
	}
	if o.kind != oidAttachment || o.mbx != mb.no || int32(o.a) != idx {
		return msgSnap{}, 0, errItemNotFound()
	}
	return s.snapMsg(mb, idx), int(o.b), nil
}

func (s *Server) serveAttachmentList(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	idx, e := s.resolveMsg(q.mb, q.segs[1])
	var sn msgSnap
	if e == nil {
		sn = s.snapMsg(q.mb, idx)
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	c := s.content(&sn)
	exp := expandItem(r)
	sel := parseSelect(r)
	vals := make([]any, 0, len(c.atts))
	for i, a := range c.atts {
		vals = append(vals, projectOutlook(s.attachmentJSON(q.mb, oidAttachment, idx, i, a, true, exp), sel))
	}
	writeCollection(w, requestBase(r)+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/messages('"+q.segs[1]+"')/attachments", vals, "")
}

func (s *Server) serveAttachmentGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	sn, ord, e := s.resolveAttachmentRef(q.mb, q.segs[1], q.segs[3])
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	c := s.content(&sn)
	a, pos := findAtt(c.atts, ord)
	if a == nil {
		writeAPIError(w, rc, errItemNotFound())
		return
	}
	j := projectOutlook(s.attachmentJSON(q.mb, oidAttachment, sn.idx, pos, a, true, expandItem(r)), parseSelect(r))
	writeEntity(w, http.StatusOK, requestBase(r)+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/messages('"+q.segs[1]+"')/attachments/$entity", j)
}

// writeAttachmentValue serves an attachment's raw content.
func (s *Server) writeAttachmentValue(w http.ResponseWriter, rc *reqCtx, a *attContent) {
	var b []byte
	var ct string
	var err error
	switch a.kind {
	case attFile:
		ct = a.ctype
		if ct == "" {
			ct = "application/octet-stream"
		}
		rdr, oerr := s.t.openAtt(a)
		if oerr != nil {
			writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "ErrorInternalServerError", oerr.Error()))
			return
		}
		defer rdr.Close()
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", strconv.FormatInt(a.size, 10))
		w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(w, rdr)
		return
	case attItem:
		b, ct, err = s.t.itemBytes(a)
	default:
		writeAPIError(w, rc, errInvalidRequest("A reference attachment has no content of its own; follow its sourceUrl."))
		return
	}
	if err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "ErrorInternalServerError", err.Error()))
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (s *Server) serveAttachmentValue(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	sn, ord, e := s.resolveAttachmentRef(q.mb, q.segs[1], q.segs[3])
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	a, _ := findAtt(s.content(&sn).atts, ord)
	if a == nil {
		writeAPIError(w, rc, errItemNotFound())
		return
	}
	s.writeAttachmentValue(w, rc, a)
}

func (s *Server) serveAttachmentCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		writeAPIError(w, rc, errBadRequest("Could not read the request body."))
		return
	}
	if len(raw) >= 6<<20 {
		writeAPIError(w, rc, newAPIError(http.StatusRequestEntityTooLarge, "ErrorRequestEntityTooLarge",
			"The request is too large; use an upload session (attachments/createUploadSession) for files over 3 MB."))
		return
	}
	a, e := parseAttachment(json.RawMessage(raw), rc.now.UTC(), 0)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	idx, e := s.resolveMsg(mb, q.segs[1])
	var pos int
	if e == nil {
		m := mb.msg(idx)
		c := s.editable(mb, m)
		a.no = nextOrdinal(c.atts) + 1
		c.atts = append(c.atts, a)
		pos = len(c.atts) - 1
		m.version++
		mb.touchMsg(idx, unixSec(rc.now))
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	j := s.attachmentJSON(mb, oidAttachment, idx, pos, a, false, false)
	writeEntity(w, http.StatusCreated, requestBase(r)+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/messages('"+s.messageID(mb, idx)+"')/attachments/$entity", j)
}

func (s *Server) serveAttachmentDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	mb := q.mb
	s.t.mu.Lock()
	sn, ord, e := s.resolveAttachmentRef(mb, q.segs[1], q.segs[3])
	if e == nil {
		m := mb.msg(sn.idx)
		c := s.editable(mb, m)
		if _, pos := findAtt(c.atts, ord); pos < 0 {
			e = errItemNotFound()
		} else {
			c.atts = append(c.atts[:pos], c.atts[pos+1:]...)
			m.version++
			mb.touchMsg(sn.idx, unixSec(rc.now))
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
