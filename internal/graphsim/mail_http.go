package graphsim

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Mail handlers: folders (list, get, create, rename, move, delete), messages (list, get,
// $value, move, delete). Creation and PATCH of messages are in mail_create.go, attachments in
// mail_attach.go, delta in mail_delta.go.
//
// Deleting a folder or a message (DELETE) moves it to Deleted Items, as the service does; from
// Deleted Items it goes to Recoverable Items/Deletions; permanentDelete purges (Recoverable
// Items/Purges for messages). Moving a message gives it a new ID — the service's default IDs
// change on move — so the folder it left reports the old ID removed and the destination a new
// item.

const (
	mailDefaultPage = 10
	mailMaxPage     = 1000
)

func (s *Server) resolveFolder(mb *mailbox, key string) (int32, *apiError) {
	if f, ok := mb.wellKnown(key); ok && f != fRoot {
		return f, nil
	}
	o, ok := s.t.ids.parseRestID(key)
	return liveIndex(o, ok, mb, oidFolder, func(f int32) bool { return f != fRoot && mb.liveFolder(f) })
}

func (s *Server) resolveMsg(mb *mailbox, key string) (int32, *apiError) {
	o, ok := s.t.ids.parseRestID(key)
	return liveIndex(o, ok, mb, oidMessage, mb.liveMsg)
}

// pageParams reads $top (default def, at most max) and $skip.
func pageParams(r *http.Request, def int) (top, skip int, e *apiError) {
	q := r.URL.Query()
	top = def
	if t := q.Get("$top"); t != "" {
		v, err := strconv.Atoi(t)
		if err != nil || v < 1 {
			return 0, 0, errBadRequest("Invalid $top value '" + t + "'.")
		}
		top = min(v, mailMaxPage)
	}
	if sk := q.Get("$skip"); sk != "" {
		v, err := strconv.Atoi(sk)
		if err != nil || v < 0 {
			return 0, 0, errBadRequest("Invalid $skip value '" + sk + "'.")
		}
		skip = v
	}
	return top, skip, nil
}

// nextSkipLink is the request URL with $skip advanced.
func nextSkipLink(r *http.Request, skip int) string {
	q := r.URL.Query()
	q.Set("$skip", strconv.Itoa(skip))
	return requestBase(r) + r.URL.EscapedPath() + "?" + q.Encode()
}

func (s *Server) userPath(q *outlookReq) string {
	return "/v1.0/users('" + url.PathEscape(q.user.id) + "')"
}

func writeCollection(w http.ResponseWriter, ctx string, vals []any, next string) {
	if vals == nil {
		vals = []any{}
	}
	body := map[string]any{"@odata.context": ctx, "value": vals}
	if next != "" {
		body["@odata.nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

func writeEntity(w http.ResponseWriter, status int, ctx string, j map[string]any) {
	j["@odata.context"] = ctx
	writeJSON(w, status, j)
}

// ---- folders ----

func (s *Server) serveFolderList(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	top, skip, e := pageParams(r, mailDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	hidden := strings.EqualFold(r.URL.Query().Get("includeHiddenFolders"), "true")
	sel := parseSelect(r)
	mb := q.mb
	s.t.mu.RLock()
	parent := fTop
	if len(q.segs) == 3 {
		parent, e = s.resolveFolder(mb, q.segs[1])
	}
	var vals []any
	var n int
	if e == nil {
		var list []int32
		for _, c := range mb.folders[parent].children {
			if hidden || !mb.folders[c].hidden {
				list = append(list, c)
			}
		}
		n = len(list)
		for _, c := range list[min(skip, n):min(n, skip+top)] {
			vals = append(vals, projectOutlook(s.folderJSON(mb, c), sel))
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	next := ""
	if skip+top < n {
		next = nextSkipLink(r, skip+top)
	}
	writeCollection(w, requestBase(r)+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/mailFolders", vals, next)
}

func (s *Server) serveFolderGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	f, e := s.resolveFolder(q.mb, q.segs[1])
	var j map[string]any
	if e == nil {
		j = projectOutlook(s.folderJSON(q.mb, f), parseSelect(r))
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, requestBase(r)+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/mailFolders/$entity", j)
}

func errFolderExists() *apiError {
	return newAPIError(http.StatusConflict, "ErrorFolderExists", "A folder with the specified name already exists.")
}

func validFolderName(n string) bool { return strings.TrimSpace(n) != "" && len(n) <= 255 }

func (s *Server) serveFolderCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var body struct {
		DisplayName string `json:"displayName"`
		IsHidden    bool   `json:"isHidden"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	if !validFolderName(body.DisplayName) {
		writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "ErrorInvalidRequest", "The folder display name is missing or invalid."))
		return
	}
	mb := q.mb
	now := unixSec(rc.now)
	s.t.mu.Lock()
	parent := fTop
	var e *apiError
	if len(q.segs) == 3 {
		parent, e = s.resolveFolder(mb, q.segs[1])
	}
	var j map[string]any
	if e == nil {
		if _, taken := mb.childFolder(parent, body.DisplayName); taken {
			e = errFolderExists()
		} else {
			f := mb.addFolder(parent, body.DisplayName, "", body.IsHidden, now)
			j = s.folderJSON(mb, f)
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusCreated, requestBase(r)+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/mailFolders/$entity", j)
}

func (s *Server) serveFolderPatch(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var body struct {
		DisplayName *string `json:"displayName"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	f, e := s.resolveFolder(mb, q.segs[1])
	var j map[string]any
	if e == nil && body.DisplayName != nil {
		fo := mb.folders[f]
		switch {
		case !validFolderName(*body.DisplayName):
			e = newAPIError(http.StatusBadRequest, "ErrorInvalidRequest", "The folder display name is invalid.")
		case fo.wellKnown != "":
			e = newAPIError(http.StatusBadRequest, "ErrorCannotRenameDistinguishedFolder", "Distinguished folders cannot be renamed.")
		default:
			if c, taken := mb.childFolder(fo.parent, *body.DisplayName); taken && c != f {
				e = errFolderExists()
			} else {
				fo.name = *body.DisplayName
				fo.modified = unixSec(rc.now)
				fo.seq = mb.bump()
			}
		}
	}
	if e == nil {
		j = s.folderJSON(mb, f)
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, requestBase(r)+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/mailFolders/$entity", j)
}

// uniqueFolderName returns name, or "name 1", "name 2"… free under parent.
func (mb *mailbox) uniqueFolderName(parent int32, name string) string {
	if _, taken := mb.childFolder(parent, name); !taken {
		return name
	}
	for n := 1; ; n++ {
		c := fmt.Sprintf("%s %d", name, n)
		if _, taken := mb.childFolder(parent, c); !taken {
			return c
		}
	}
}

// softDeleteFolder moves a folder to Deleted Items, or removes it for good when it is there
// already.
func (mb *mailbox) softDeleteFolder(f int32, now uint32) {
	del := mb.mustWellKnown("deleteditems")
	if del < 0 || mb.isWithinFolder(f, del) {
		mb.deleteFolder(f, now)
		return
	}
	fo := mb.folders[f]
	fo.name = mb.uniqueFolderName(del, fo.name)
	mb.moveFolder(f, del, now)
}

func (s *Server) serveFolderDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	mb := q.mb
	permanent := len(q.segs) == 3
	s.t.mu.Lock()
	f, e := s.resolveFolder(mb, q.segs[1])
	if e == nil {
		switch {
		case mb.folders[f].wellKnown != "":
			e = newAPIError(http.StatusBadRequest, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
		case permanent:
			mb.deleteFolder(f, unixSec(rc.now))
		default:
			mb.softDeleteFolder(f, unixSec(rc.now))
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveFolderMove(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var body struct {
		DestinationID string `json:"destinationId"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	f, e := s.resolveFolder(mb, q.segs[1])
	var dst int32
	if e == nil {
		dst, e = s.resolveFolder(mb, body.DestinationID)
	}
	var j map[string]any
	if e == nil {
		fo := mb.folders[f]
		switch {
		case fo.wellKnown != "":
			e = newAPIError(http.StatusBadRequest, "ErrorMoveDistinguishedFolder", "Distinguished folders cannot be moved.")
		case mb.isWithinFolder(dst, f):
			e = newAPIError(http.StatusBadRequest, "ErrorMoveCopyFailed", "Cannot move a folder into itself or one of its subfolders.")
		default:
			if c, taken := mb.childFolder(dst, fo.name); taken && c != f {
				e = errFolderExists()
			} else {
				mb.moveFolder(f, dst, unixSec(rc.now))
				j = s.folderJSON(mb, f)
			}
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusCreated, requestBase(r)+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/mailFolders/$entity", j)
}

// ---- messages ----

func (s *Server) serveMessageList(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	top, skip, e := pageParams(r, mailDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	o := parseMsgOpts(r)
	mb := q.mb
	s.t.mu.RLock()
	var list []int32
	if len(q.segs) == 3 {
		var f int32
		if f, e = s.resolveFolder(mb, q.segs[1]); e == nil {
			list = mb.folders[f].msgs
		}
	} else {
		for _, f := range mb.subtreeFolders(fTop) {
			list = append(list, mb.folders[f].msgs...)
		}
	}
	n := len(list)
	var snaps []msgSnap
	if e == nil {
		for _, i := range list[min(skip, n):min(n, skip+top)] {
			snaps = append(snaps, s.snapMsg(mb, i))
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	base := requestBase(r)
	vals := make([]any, len(snaps))
	for i := range snaps {
		vals[i] = s.messageJSON(base, &snaps[i], s.content(&snaps[i]), o)
	}
	preferTextApplied(w, o)
	next := ""
	if skip+top < n {
		next = nextSkipLink(r, skip+top)
	}
	writeCollection(w, base+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/messages", vals, next)
}

func (s *Server) serveMessageGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
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
	base := requestBase(r)
	o := parseMsgOpts(r)
	preferTextApplied(w, o)
	j := s.messageJSON(base, &sn, s.content(&sn), o)
	writeEntity(w, http.StatusOK, base+"/v1.0/$metadata#users('"+url.PathEscape(q.user.id)+"')/messages/$entity", j)
}

func (s *Server) serveMessageMIME(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
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
	b, err := s.t.mimeBytes(s.content(&sn))
	if err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "ErrorInternalServerError", err.Error()))
		return
	}
	w.Header().Set("Content-Type", "message/rfc822")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// deleteMsg moves a message to Deleted Items, or from there to Recoverable Items/Deletions;
// permanent deletes go to Recoverable Items/Purges. It returns the message's new index.
func (mb *mailbox) deleteMsg(i int32, permanent bool, now uint32) int32 {
	m := mb.msg(i)
	del := mb.mustWellKnown("deleteditems")
	switch {
	case permanent:
		if mb.isWithinFolder(m.folder, fPurges) {
			return i
		}
		return mb.moveMsg(i, fPurges, now)
	case del >= 0 && !mb.isWithinFolder(m.folder, del) && !mb.isWithinFolder(m.folder, fRecoverable):
		return mb.moveMsg(i, del, now)
	case mb.isWithinFolder(m.folder, fRecoverable):
		return mb.moveMsg(i, fPurges, now)
	}
	return mb.moveMsg(i, fDeletions, now)
}

func (s *Server) serveMessageDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	permanent := len(q.segs) == 3
	s.t.mu.Lock()
	idx, e := s.resolveMsg(q.mb, q.segs[1])
	if e == nil {
		q.mb.deleteMsg(idx, permanent, unixSec(rc.now))
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveMessageMove(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var body struct {
		DestinationID string `json:"destinationId"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	isCopy := fn(q.segs[2], "copy")
	mb := q.mb
	now := unixSec(rc.now)
	s.t.mu.Lock()
	idx, e := s.resolveMsg(mb, q.segs[1])
	var dst int32
	if e == nil {
		dst, e = s.resolveFolder(mb, body.DestinationID)
	}
	var sn msgSnap
	if e == nil {
		switch {
		case isCopy:
			src := *mb.msg(idx)
			n, m := mb.addMsg(dst, now)
			seq := m.seq
			*m = src
			m.folder, m.seq, m.created, m.modified = dst, seq, now, now
			idx = n
		default:
			idx = mb.moveMsg(idx, dst, now)
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
