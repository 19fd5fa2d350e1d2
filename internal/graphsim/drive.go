package graphsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// OneDrive handlers: drives, items (by ID or path), children, content (302 to a pre-authenticated
// URL), folder create, delete, rename/move (PATCH).

// resolveDrive finds a drive; the caller holds the tenant lock.
func (s *Server) resolveDrive(dr driveRef) (*drive, *apiError) {
	if dr.user != "" {
		u := s.t.userByKey(dr.user)
		if u == nil {
			return nil, userNotFound(dr.user)
		}
		if u.drive == nil {
			return nil, newAPIError(http.StatusNotFound, "ResourceNotFound", "User's mysite not found.")
		}
		if dr.id != "" && dr.id != u.drive.id {
			return nil, newAPIError(http.StatusNotFound, "itemNotFound", "The requested drive was not found.")
		}
		return u.drive, nil
	}
	d := s.t.drivesByID[dr.id]
	if d == nil {
		if !strings.HasPrefix(dr.id, "b!") {
			return nil, errBadRequest("Invalid drive id '" + dr.id + "'.")
		}
		return nil, newAPIError(http.StatusNotFound, "itemNotFound", "The requested drive was not found.")
	}
	return d, nil
}

func userNotFound(key string) *apiError {
	return newAPIError(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+key+"' does not exist or one of its queried reference-property objects are not present.")
}

// resolveBase returns the item a reference's base names ("root" or an item ID).
func (s *Server) resolveBase(d *drive, base string) (int32, *apiError) {
	if strings.EqualFold(base, "root") {
		return 0, nil
	}
	drv, idx, ok := s.t.ids.parseItemID(base)
	if !ok || drv != d.no || !d.live(idx) {
		return -1, errNotFound()
	}
	return idx, nil
}

// resolveItem resolves a full reference, path included.
func (s *Server) resolveItem(d *drive, ref itemRef) (int32, *apiError) {
	idx, e := s.resolveBase(d, ref.base)
	if e != nil || !ref.hasPath {
		return idx, e
	}
	got, ok := d.resolvePath(idx, ref.path)
	if !ok {
		return -1, errNotFound()
	}
	return got, nil
}

func (s *Server) serveDriveGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, dr driveRef) {
	s.t.mu.RLock()
	d, e := s.resolveDrive(dr)
	var body map[string]any
	if e == nil {
		body = s.driveJSON(requestBase(r), d)
		body["@odata.context"] = requestBase(r) + "/v1.0/$metadata#drives/$entity"
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeJSON(w, http.StatusOK, selectFields(body, parseSelect(r)))
}

func (s *Server) serveUserDrives(w http.ResponseWriter, r *http.Request, rc *reqCtx, userKey string) {
	s.t.mu.RLock()
	d, e := s.resolveDrive(driveRef{user: userKey})
	var body map[string]any
	if e == nil {
		body = map[string]any{
			"@odata.context": requestBase(r) + "/v1.0/$metadata#drives",
			"value":          []any{s.driveJSON(requestBase(r), d)},
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// driveJSON renders a drive; caller holds the lock.
func (s *Server) driveJSON(base string, d *drive) map[string]any {
	const total = int64(1) << 40 // 1 TiB, the usual OneDrive for Business quota
	used := d.ensureCache().sizes[0]
	owner := map[string]any{"user": map[string]any{"email": d.owner.mail, "id": d.owner.id, "displayName": d.owner.displayName}}
	return map[string]any{
		"createdDateTime":      isoTime(d.created),
		"description":          "",
		"id":                   d.id,
		"lastModifiedDateTime": isoTime(max(d.created, d.item(0).modified)),
		"name":                 "OneDrive",
		"webUrl":               s.webURL(d, ""),
		"driveType":            "business",
		"createdBy":            map[string]any{"user": map[string]any{"displayName": "System Account"}},
		"lastModifiedBy":       owner,
		"owner":                owner,
		"quota": map[string]any{"deleted": 0, "remaining": total - used, "state": "normal",
			"total": total, "used": used},
	}
}

func (s *Server) serveItemGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, at itemAddr) {
	o := renderOpts{withPath: true}
	s.t.mu.RLock()
	d, e := s.resolveDrive(at.drive)
	var sn itemSnap
	if e == nil {
		var idx int32
		if idx, e = s.resolveItem(d, at.item); e == nil {
			sn = s.snap(d, idx, o)
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	s.writeItem(w, r, rc, http.StatusOK, &sn, o)
}

func (s *Server) writeItem(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, sn *itemSnap, o renderOpts) {
	snaps := []itemSnap{*sn}
	s.fillHashes(snaps)
	base := requestBase(r)
	j := s.render(base, &snaps[0], o, rc.now)
	if sel := parseSelect(r); len(sel) > 0 {
		writeJSON(w, status, selectFields(j, sel))
		return
	}
	writeJSON(w, status, struct {
		Context string `json:"@odata.context"`
		*driveItemJSON
	}{base + "/v1.0/$metadata#drives('" + url.PathEscape(sn.d.id) + "')/items/$entity", j})
}

func (s *Server) serveChildren(w http.ResponseWriter, r *http.Request, rc *reqCtx, at itemAddr) {
	base := requestBase(r)
	top := pageSize(r, deltaDefaultPage)
	offset := 0
	if st := r.URL.Query().Get("$skiptoken"); st != "" {
		nums, _, ok := s.decodeToken(st, tokSkip)
		if !ok || len(nums) < 1 {
			writeAPIError(w, rc, errBadRequest("Invalid $skiptoken."))
			return
		}
		offset = int(nums[0])
	}
	o := renderOpts{withPath: true}
	s.t.mu.RLock()
	d, e := s.resolveDrive(at.drive)
	var snaps []itemSnap
	var next string
	if e == nil {
		var idx int32
		if idx, e = s.resolveItem(d, at.item); e == nil {
			kids := d.item(idx).children
			end := min(len(kids), offset+top)
			for _, c := range kids[min(offset, end):end] {
				snaps = append(snaps, s.snap(d, c, o))
			}
			if end < len(kids) {
				q := url.Values{}
				q.Set("$top", strconv.Itoa(top))
				if sel := r.URL.Query().Get("$select"); sel != "" {
					q.Set("$select", sel)
				}
				q.Set("$skiptoken", s.encodeToken(tokSkip, []uint64{uint64(end)}, ""))
				next = base + "/v1.0/drives/" + url.PathEscape(d.id) + "/items/" + s.t.itemID(d, idx) + "/children?" + q.Encode()
			}
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	s.fillHashes(snaps)
	sel := parseSelect(r)
	vals := make([]any, len(snaps))
	for i := range snaps {
		vals[i] = selectFields(s.render(base, &snaps[i], o, rc.now), sel)
	}
	body := map[string]any{"@odata.context": base + "/v1.0/$metadata#Collection(driveItem)", "value": vals}
	if next != "" {
		body["@odata.nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

// conflictBehavior reads @microsoft.graph.conflictBehavior from the query or a body value.
func conflictBehavior(r *http.Request, body string, def string) (string, *apiError) {
	v := r.URL.Query().Get("@microsoft.graph.conflictBehavior")
	if v == "" {
		v = body
	}
	if v == "" {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "fail", "replace", "rename":
		return strings.ToLower(v), nil
	}
	return "", errBadRequest("Invalid value '" + v + "' for @microsoft.graph.conflictBehavior.")
}

func errNameExists() *apiError {
	return newAPIError(http.StatusConflict, "nameAlreadyExists", "The specified item name already exists.")
}

// validName applies OneDrive for Business's naming rules (characters " * : < > ? / \ | are
// not allowed; no leading/trailing spaces; not "." or "..").
func validName(n string) bool {
	if n == "" || n == "." || n == ".." || len(n) > 400 || strings.TrimSpace(n) != n {
		return false
	}
	return !strings.ContainsAny(n, "\"*:<>?/\\|")
}

func readJSONBody(r *http.Request, v any) *apiError { return readJSONBodyMax(r, v, 4<<20) }

// readJSONBodyMax reads a JSON body of at most limit bytes; a longer one is a 413, as the
// service answers it, rather than a truncated document.
func readJSONBodyMax(r *http.Request, v any, limit int64) *apiError {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if int64(len(b)) > limit {
		return newAPIError(http.StatusRequestEntityTooLarge, "ErrorRequestEntityTooLarge", "The request body is too large.")
	}
	if err != nil {
		return errBadRequest("Could not read the request body.")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadRequest("Invalid JSON in request body: " + err.Error())
	}
	return nil
}

func (s *Server) serveCreateChild(w http.ResponseWriter, r *http.Request, rc *reqCtx, at itemAddr) {
	var body struct {
		Name     string          `json:"name"`
		Folder   json.RawMessage `json:"folder"`
		File     json.RawMessage `json:"file"`
		Conflict string          `json:"@microsoft.graph.conflictBehavior"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	if body.Folder == nil || body.File != nil {
		writeAPIError(w, rc, errBadRequest("Only folders can be created with POST …/children; upload files with PUT …/content or an upload session."))
		return
	}
	if !validName(body.Name) {
		writeAPIError(w, rc, errBadRequest("The provided name is empty or contains invalid characters."))
		return
	}
	behavior, e := conflictBehavior(r, body.Conflict, "fail")
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	o := renderOpts{withPath: true}
	now := unixSec(rc.now)
	s.t.mu.Lock()
	d, e := s.resolveDrive(at.drive)
	var sn itemSnap
	if e == nil {
		var parent int32
		if parent, e = s.resolveItem(d, at.item); e == nil {
			if !d.item(parent).kind.container() {
				e = errBadRequest("The parent item is not a folder.")
			} else {
				var idx int32
				if idx, e = s.createFolder(d, parent, body.Name, behavior, now); e == nil {
					sn = s.snap(d, idx, o)
				}
			}
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	s.writeItem(w, r, rc, http.StatusCreated, &sn, o)
}

// createFolder makes a folder under parent honouring conflictBehavior; caller holds the write lock.
func (s *Server) createFolder(d *drive, parent int32, name, behavior string, now uint32) (int32, *apiError) {
	if existing, taken := d.childByName(parent, name); taken {
		switch behavior {
		case "fail":
			return -1, errNameExists()
		case "replace":
			d.remove(existing)
		case "rename":
			name = d.uniqueName(parent, name, true)
		}
	}
	idx, it := d.create(parent, name, kindFolder, now)
	it.byApp = true
	d.checkpoint(now)
	return idx, nil
}

func (s *Server) serveItemDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx, at itemAddr) {
	now := unixSec(rc.now)
	s.t.mu.Lock()
	d, e := s.resolveDrive(at.drive)
	if e == nil {
		var idx int32
		if idx, e = s.resolveItem(d, at.item); e == nil {
			switch {
			case idx == 0:
				e = newAPIError(http.StatusForbidden, "accessDenied", "The root folder cannot be deleted.")
			case !s.etagMatches(r, d, idx):
				e = newAPIError(http.StatusPreconditionFailed, "resourceModified", "ETag does not match current item's value.")
			default:
				d.remove(idx)
				d.checkpoint(now)
			}
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// etagMatches honours If-Match (eTag or cTag of the current version).
func (s *Server) etagMatches(r *http.Request, d *drive, idx int32) bool {
	im := r.Header.Get("If-Match")
	if im == "" || im == "*" {
		return true
	}
	v := strconv.Itoa(int(d.item(idx).version))
	g := s.t.ids.etagGUID(d.no, idx)
	return im == `"{`+g+`},`+v+`"` || im == `"c:{`+g+`},`+v+`"`
}

func (s *Server) serveItemPatch(w http.ResponseWriter, r *http.Request, rc *reqCtx, at itemAddr) {
	var body struct {
		Name            *string `json:"name"`
		ParentReference *struct {
			ID   string `json:"id"`
			Path string `json:"path"`
		} `json:"parentReference"`
		Conflict string `json:"@microsoft.graph.conflictBehavior"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	behavior, e := conflictBehavior(r, body.Conflict, "fail")
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	o := renderOpts{withPath: true}
	now := unixSec(rc.now)
	s.t.mu.Lock()
	d, e := s.resolveDrive(at.drive)
	var sn itemSnap
	if e == nil {
		var idx int32
		if idx, e = s.resolveItem(d, at.item); e == nil {
			if idx, e = s.patchItem(d, idx, body.Name, body.ParentReference, behavior, now, r); e == nil {
				sn = s.snap(d, idx, o)
			}
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	s.writeItem(w, r, rc, http.StatusOK, &sn, o)
}

func (s *Server) patchItem(d *drive, idx int32, name *string, pref *struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}, behavior string, now uint32, r *http.Request) (int32, *apiError) {
	if idx == 0 {
		return -1, newAPIError(http.StatusForbidden, "accessDenied", "The root folder cannot be renamed or moved.")
	}
	if !s.etagMatches(r, d, idx) {
		return -1, newAPIError(http.StatusPreconditionFailed, "resourceModified", "ETag does not match current item's value.")
	}
	it := d.item(idx)
	newName, newParent := it.name, it.parent
	if name != nil {
		if !validName(*name) {
			return -1, errBadRequest("The provided name is empty or contains invalid characters.")
		}
		newName = *name
	}
	if pref != nil {
		switch {
		case pref.ID != "":
			p, e := s.resolveBase(d, pref.ID)
			if e != nil {
				return -1, e
			}
			newParent = p
		case pref.Path != "":
			p, ok := d.resolvePath(0, strings.TrimPrefix(strings.TrimPrefix(pref.Path, "/drive/root:"), "/drive/root"))
			if !ok {
				return -1, errNotFound()
			}
			newParent = p
		}
	}
	if !d.item(newParent).kind.container() {
		return -1, errBadRequest("The destination is not a folder.")
	}
	if d.isWithin(newParent, idx) {
		return -1, errBadRequest("An item cannot be moved into itself or one of its descendants.")
	}
	if other, taken := d.childByName(newParent, newName); taken && other != idx {
		switch behavior {
		case "fail":
			return -1, errNameExists()
		case "replace":
			d.remove(other)
		case "rename":
			newName = d.uniqueName(newParent, newName, it.kind.container())
		}
	}
	d.move(idx, newParent, newName, now)
	it.byApp = true
	d.checkpoint(now)
	return idx, nil
}

func (s *Server) serveContentRedirect(w http.ResponseWriter, r *http.Request, rc *reqCtx, at itemAddr) {
	s.t.mu.RLock()
	d, e := s.resolveDrive(at.drive)
	var loc string
	if e == nil {
		var idx int32
		if idx, e = s.resolveItem(d, at.item); e == nil {
			if d.item(idx).kind != kindFile {
				e = errBadRequest("The item is not a file; only files have content.")
			} else {
				loc = s.downloadURL(requestBase(r), d.no, idx, rc.now)
			}
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusFound)
}
