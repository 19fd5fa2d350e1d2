package graphsim

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Uploads (https://learn.microsoft.com/graph/api/driveitem-createuploadsession and
// driveitem-put-content):
//
//   - simple upload: PUT …/items/{parent}:/{name}:/content (or …/items/{id}/content to replace),
//     up to 250 MB, @microsoft.graph.conflictBehavior in the query (default replace);
//   - upload sessions: POST …:/{name}:/createUploadSession → uploadUrl on this server (/_up/<id>),
//     pre-authenticated: a request to it that carries Authorization is refused with 401, as the
//     docs warn. Fragments go in order with Content-Range; every fragment but the last must be a
//     multiple of 320 KiB (327,680 bytes), each under 60 MiB. 202 + nextExpectedRanges until
//     the last byte, then 201 (created) or 200 (replaced) with the driveItem. A fragment that
//     overlaps what was received is 416. GET reports status, DELETE cancels (204).
//   - conflictBehavior fail (the session default) → 409 nameAlreadyExists, checked at creation
//     and again at commit; replace keeps the item ID and bumps its version; rename → "name 1.ext".
//
// Intermediate folders named in a path are created as needed. Uploaded bytes are kept in the
// blob store and round-trip exactly.

const (
	fragmentMultiple  = 320 << 10 // "MUST be a multiple of 320 KiB (327,680 bytes)"
	maxFragment       = 60 << 20  // "the maximum bytes in any given request is less than 60 MiB"
	maxSimpleUpload   = 250 << 20 // simple upload: "files up to 250 MB"
	uploadSessionIdle = 24 * time.Hour
)

type uploadSession struct {
	mu          sync.Mutex
	id          string
	drive       int32
	parent      int32
	name        string
	target      int32 // existing item to replace, or -1
	behavior    string
	deferCommit bool
	total       int64 // -1 until the first fragment
	received    int64
	path        string // scratch file
	expires     time.Time
	gone        bool
}

type uploadSessions struct {
	mu sync.Mutex
	m  map[string]*uploadSession
}

func newUploadSessions() *uploadSessions { return &uploadSessions{m: map[string]*uploadSession{}} }

func (u *uploadSessions) add(us *uploadSession) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.m[us.id] = us
}

func (u *uploadSessions) get(id string) *uploadSession {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.m[id]
}

func (u *uploadSessions) drop(us *uploadSession) {
	u.mu.Lock()
	delete(u.m, us.id)
	u.mu.Unlock()
	us.gone = true
	if us.path != "" {
		os.Remove(us.path)
	}
}

func (u *uploadSessions) removeAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id, us := range u.m {
		if us.path != "" {
			os.Remove(us.path)
		}
		delete(u.m, id)
	}
}

// resolveUploadTarget finds where an upload lands: a parent and a name (creating intermediate
// folders), or an existing file to replace. Caller holds the write lock.
func (s *Server) resolveUploadTarget(d *drive, ref itemRef, now uint32) (parent int32, name string, target int32, e *apiError) {
	base, e := s.resolveBase(d, ref.base)
	if e != nil {
		return -1, "", -1, e
	}
	if !ref.hasPath {
		it := d.item(base)
		if it.kind != kindFile {
			return -1, "", -1, errBadRequest("Uploads address a file: use …/items/{parent-id}:/{filename}:/… or a file's ID.")
		}
		return it.parent, it.name, base, nil
	}
	var segs []string
	for _, sg := range strings.Split(ref.path, "/") {
		if sg != "" {
			segs = append(segs, sg)
		}
	}
	if len(segs) == 0 || !d.item(base).kind.container() {
		return -1, "", -1, errBadRequest("The upload path must name a file inside a folder.")
	}
	cur := base
	for _, sg := range segs {
		if !validName(sg) {
			return -1, "", -1, errBadRequest("The name '" + sg + "' contains invalid characters.")
		}
	}
	for _, sg := range segs[:len(segs)-1] {
		if c, ok := d.childByName(cur, sg); ok {
			if !d.item(c).kind.container() {
				return -1, "", -1, errNameExists()
			}
			cur = c
			continue
		}
		c, it := d.create(cur, sg, kindFolder, now)
		it.byApp = true
		cur = c
	}
	return cur, segs[len(segs)-1], -1, nil
}

// putFile places content (a blob) at parent/name or over target, honouring conflictBehavior.
// Caller holds the write lock.
func (s *Server) putFile(d *drive, parent int32, name string, target int32, blobIdx int32, size int64, behavior string, now uint32) (int32, bool, *apiError) {
	if target < 0 {
		if !d.live(parent) || !d.item(parent).kind.container() {
			return -1, false, newAPIError(http.StatusConflict, "itemNotFound", "The destination folder no longer exists.")
		}
		if existing, taken := d.childByName(parent, name); taken {
			switch {
			case behavior == "fail":
				return -1, false, errNameExists()
			case behavior == "rename":
				name = d.uniqueName(parent, name, false)
			case d.item(existing).kind != kindFile:
				return -1, false, errNameExists()
			default:
				target = existing
			}
		}
	}
	if target >= 0 {
		if !d.live(target) {
			return -1, false, errNotFound()
		}
		it := d.item(target)
		it.blob, it.size, it.content = blobIdx, size, 0
		it.version++
		it.modified = now
		it.byApp = true
		it.hashes.Store(nil)
		d.bump(it)
		d.checkpoint(now)
		return target, false, nil
	}
	idx, it := d.create(parent, name, kindFile, now)
	it.blob, it.size, it.byApp = blobIdx, size, true
	d.checkpoint(now)
	return idx, true, nil
}

func (s *Server) serveSimpleUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx, at itemAddr) {
	behavior, e := conflictBehavior(r, "", "replace")
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	if r.ContentLength > maxSimpleUpload {
		writeAPIError(w, rc, newAPIError(http.StatusRequestEntityTooLarge, "requestTooLarge", "Simple upload is limited to 250 MB; use an upload session."))
		return
	}
	blobIdx, err := s.t.blobs.ingest(r.Body, maxSimpleUpload)
	if err == errTooLarge {
		writeAPIError(w, rc, newAPIError(http.StatusRequestEntityTooLarge, "requestTooLarge", "Simple upload is limited to 250 MB; use an upload session."))
		return
	}
	if err != nil {
		writeAPIError(w, rc, errBadRequest("Could not read the request body: "+err.Error()))
		return
	}
	size := s.t.blobs.get(blobIdx).size
	now := unixSec(rc.now)
	o := renderOpts{withPath: true}
	s.t.mu.Lock()
	d, e := s.resolveDrive(at.drive)
	var sn itemSnap
	created := false
	if e == nil {
		var parent, target int32
		var name string
		if parent, name, target, e = s.resolveUploadTarget(d, at.item, now); e == nil {
			var idx int32
			if idx, created, e = s.putFile(d, parent, name, target, blobIdx, size, behavior, now); e == nil {
				sn = s.snap(d, idx, o)
			}
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeItem(w, r, rc, status, &sn, o)
}

func (s *Server) serveCreateUploadSession(w http.ResponseWriter, r *http.Request, rc *reqCtx, at itemAddr) {
	var body struct {
		Item struct {
			Conflict string `json:"@microsoft.graph.conflictBehavior"`
			Name     string `json:"name"`
			FileSize *int64 `json:"fileSize"`
		} `json:"item"`
		DeferCommit bool `json:"deferCommit"`
	}
	if b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20)); len(strings.TrimSpace(string(b))) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			writeAPIError(w, rc, errBadRequest("Invalid JSON in request body: "+err.Error()))
			return
		}
	}
	behavior, e := conflictBehavior(r, body.Item.Conflict, "fail")
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	now := unixSec(rc.now)
	s.t.mu.Lock()
	d, e := s.resolveDrive(at.drive)
	var us *uploadSession
	if e == nil {
		var parent, target int32
		var name string
		if parent, name, target, e = s.resolveUploadTarget(d, at.item, now); e == nil {
			switch {
			case body.Item.Name != "" && at.item.hasPath && !strings.EqualFold(body.Item.Name, name):
				e = errBadRequest("The name in the request body must match the name in the item path.")
			case target < 0 && behavior == "fail":
				if _, taken := d.childByName(parent, name); taken {
					e = errNameExists()
				}
			}
			if e == nil {
				us = &uploadSession{id: newSessionID(), drive: d.no, parent: parent, name: name, target: target,
					behavior: behavior, deferCommit: body.DeferCommit, total: -1, expires: rc.now.Add(uploadSessionIdle)}
			}
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	f, err := s.t.blobs.tempFile()
	if err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "generalException", err.Error()))
		return
	}
	us.path = f.Name()
	f.Close()
	s.uploads.add(us)
	base := requestBase(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context":     base + "/v1.0/$metadata#microsoft.graph.uploadSession",
		"uploadUrl":          base + "/_up/" + us.id,
		"expirationDateTime": us.expires.UTC().Format(time.RFC3339),
		"nextExpectedRanges": []string{"0-"},
	})
}

func newSessionID() string {
	return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
}

// serveUploadURL handles requests to a session's pre-authenticated uploadUrl.
func (s *Server) serveUploadURL(w http.ResponseWriter, r *http.Request) {
	rc := s.newReqCtx(r)
	setGraphHeaders(w, rc)
	if r.Header.Get("Authorization") != "" {
		writeAPIError(w, rc, newAPIError(http.StatusUnauthorized, "unauthenticated",
			"The upload URL is pre-authenticated; requests to it must not carry an Authorization header."))
		return
	}
	w, handled, finish := s.applyFault(w, r, rc, false)
	if handled {
		return
	}
	defer finish()
	us := s.uploads.get(strings.TrimPrefix(r.URL.Path, "/_up/"))
	if us == nil {
		writeAPIError(w, rc, newAPIError(http.StatusNotFound, "itemNotFound", "The upload session was not found; it may have expired, completed or been cancelled."))
		return
	}
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.gone || rc.now.After(us.expires) {
		s.uploads.drop(us)
		writeAPIError(w, rc, newAPIError(http.StatusNotFound, "itemNotFound", "The upload session has expired."))
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.writeSessionStatus(w, us, http.StatusOK)
	case http.MethodDelete:
		s.ctr.served("upload")
		s.uploads.drop(us)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		if !s.admit(w, rc, "upload", ruMulti) {
			return
		}
		s.ctr.served("upload")
		s.putFragment(w, r, rc, us)
	case http.MethodPost:
		if !us.deferCommit || us.total < 0 || us.received != us.total {
			writeAPIError(w, rc, errBadRequest("The upload session is not ready to be committed."))
			return
		}
		s.ctr.served("upload")
		s.commitSession(w, r, rc, us)
	default:
		writeAPIError(w, rc, methodNotAllowed())
	}
}

func (s *Server) writeSessionStatus(w http.ResponseWriter, us *uploadSession, status int) {
	ranges := []string{strconv.FormatInt(us.received, 10) + "-"}
	if us.total >= 0 && us.received == us.total {
		ranges = []string{}
	}
	writeJSON(w, status, map[string]any{
		"expirationDateTime": us.expires.UTC().Format(time.RFC3339),
		"nextExpectedRanges": ranges,
	})
}

// parseContentRange reads "bytes a-b/total".
func parseContentRange(h string) (a, b, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	as, bs, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	a, err1 = strconv.ParseInt(as, 10, 64)
	b, err2 = strconv.ParseInt(bs, 10, 64)
	total, err3 = strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || a < 0 || b < a || total <= b {
		return 0, 0, 0, false
	}
	return a, b, total, true
}

func (s *Server) putFragment(w http.ResponseWriter, r *http.Request, rc *reqCtx, us *uploadSession) {
	bad := func(status int, code, msg string) { writeAPIError(w, rc, newAPIError(status, code, msg)) }
	a, b, total, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok {
		bad(http.StatusBadRequest, "invalidRange", "Content-Range must be 'bytes {start}-{end}/{total}'.")
		return
	}
	n := b - a + 1
	switch {
	case us.total >= 0 && total != us.total:
		bad(http.StatusBadRequest, "invalidRange", "The total size in Content-Range differs from earlier fragments.")
		return
	case a < us.received:
		bad(http.StatusRequestedRangeNotSatisfiable, "invalidRange", "The uploaded fragment overlaps with data that has already been received.")
		return
	case a > us.received:
		bad(http.StatusBadRequest, "invalidRange", fmt.Sprintf("Fragments must be uploaded in order; expected a fragment starting at %d.", us.received))
		return
	case n >= maxFragment:
		bad(http.StatusBadRequest, "invalidRequest", "A fragment must be smaller than 60 MiB.")
		return
	case b+1 < total && n%fragmentMultiple != 0:
		bad(http.StatusBadRequest, "invalidRequest", "Every fragment except the last must be a multiple of 320 KiB (327,680 bytes).")
		return
	case r.ContentLength >= 0 && r.ContentLength != n:
		bad(http.StatusBadRequest, "invalidRequest", "Content-Length does not match Content-Range.")
		return
	}
	f, err := os.OpenFile(us.path, os.O_WRONLY, 0)
	if err != nil {
		bad(http.StatusInternalServerError, "generalException", err.Error())
		return
	}
	got, err := io.Copy(io.NewOffsetWriter(f, a), io.LimitReader(r.Body, n))
	f.Close()
	if err != nil || got != n {
		bad(http.StatusBadRequest, "invalidRequest", "The request body is shorter than Content-Range declares.")
		return
	}
	us.total, us.received = total, a+n
	us.expires = rc.now.Add(uploadSessionIdle)
	if us.received < total || us.deferCommit {
		s.writeSessionStatus(w, us, http.StatusAccepted)
		return
	}
	s.commitSession(w, r, rc, us)
}

// commitSession turns a complete session into a driveItem.
func (s *Server) commitSession(w http.ResponseWriter, r *http.Request, rc *reqCtx, us *uploadSession) {
	if err := os.Truncate(us.path, us.total); err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "generalException", err.Error()))
		return
	}
	blobIdx, err := s.t.blobs.commit(us.path)
	us.path = ""
	if err != nil {
		s.uploads.drop(us)
		writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "generalException", err.Error()))
		return
	}
	now := unixSec(rc.now)
	o := renderOpts{withPath: true}
	s.t.mu.Lock()
	var sn itemSnap
	var e *apiError
	created := false
	d := s.t.drives[us.drive]
	var idx int32
	if idx, created, e = s.putFile(d, us.parent, us.name, us.target, blobIdx, us.total, us.behavior, now); e == nil {
		sn = s.snap(d, idx, o)
	}
	s.t.mu.Unlock()
	s.uploads.drop(us)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeItem(w, r, rc, status, &sn, o)
}
