package graphsim

import (
	"net/http"
	"net/url"
	"strings"
)

// Routing works on the escaped path, unescaped once: the SDK percent-encodes segments
// (b%21…, u%40contoso.com, root%3A%2Fpath%3A), hand-written clients don't, and both must land in
// the same place. OneDrive names cannot contain '/' or ':', so after unescaping, ':' only ever
// delimits path addressing (root:/a/b.txt:/content) and '/' only separates segments.
//
// Function segments are accepted as delta, delta(), microsoft.graph.delta and
// microsoft.graph.delta(token='…').

func (s *Server) route(r *http.Request) (*route, *apiError) {
	esc := strings.TrimPrefix(r.URL.EscapedPath(), "/v1.0")
	p, err := url.PathUnescape(esc)
	if err != nil {
		return nil, errBadRequest("Invalid request URL.")
	}
	p = strings.Trim(p, "/")
	head, rest, _ := strings.Cut(p, "/")
	switch head {
	case "$batch":
		if rest != "" {
			return nil, segmentNotFound(rest)
		}
		if r.Method != http.MethodPost {
			return nil, methodNotAllowed()
		}
		return &route{class: "batch", serve: s.serveBatch}, nil
	case "users":
		return s.routeUsers(r, rest)
	case "groups":
		return s.routeGroups(r, rest)
	case "admin":
		return s.routeAdminExchange(r, rest)
	case "drives":
		id, rest2, _ := strings.Cut(rest, "/")
		if id == "" {
			return nil, errBadRequest("Listing all drives is not supported; address a drive by ID.")
		}
		return s.routeDrive(r, driveRef{id: id}, rest2)
	case "me":
		return nil, newAPIError(http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
	case "":
		return nil, errBadRequest("Invalid request.")
	}
	return nil, segmentNotFound(head)
}

func (s *Server) routeGroups(r *http.Request, rest string) (*route, *apiError) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	mk := func(perm permKind, f func(http.ResponseWriter, *http.Request, *reqCtx)) (*route, *apiError) {
		return &route{class: "groups", perm: perm, serve: f}, nil
	}
	if rest == "" {
		return mk(permGroups, s.serveGroupsList)
	}
	id, rest2, _ := strings.Cut(rest, "/")
	if _, ok := parseFunc(id, "delta"); ok && rest2 == "" {
		return mk(permGroups, s.serveGroupsDelta)
	}
	switch rest2 {
	case "":
		return mk(permGroups, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveGroup(w, r, rc, id) })
	case "members":
		return mk(permGroupMembers, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveGroupMembers(w, r, rc, id) })
	}
	seg, _, _ := strings.Cut(rest2, "/")
	return nil, segmentNotFound(seg)
}

func segmentNotFound(seg string) *apiError {
	return newAPIError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+seg+"'.")
}

func methodNotAllowed() *apiError {
	return newAPIError(http.StatusMethodNotAllowed, "BadRequest", "Specified HTTP method is not allowed for the request target.")
}

// parseFunc matches a function segment such as delta, delta(), microsoft.graph.delta(token='x').
func parseFunc(seg, name string) (map[string]string, bool) {
	seg = strings.TrimPrefix(seg, "microsoft.graph.")
	if seg == name || seg == name+"()" {
		return map[string]string{}, true
	}
	if !strings.HasPrefix(seg, name+"(") || !strings.HasSuffix(seg, ")") {
		return nil, false
	}
	params := map[string]string{}
	for _, kv := range splitParams(seg[len(name)+1 : len(seg)-1]) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, false
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		}
		params[strings.TrimSpace(k)] = v
	}
	return params, true
}

// splitParams splits on commas outside single-quoted strings.
func splitParams(s string) []string {
	var out []string
	inQ := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			inQ = !inQ
		case ',':
			if !inQ {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func (s *Server) routeUsers(r *http.Request, rest string) (*route, *apiError) {
	get := func(class string, f func(http.ResponseWriter, *http.Request, *reqCtx)) (*route, *apiError) {
		if r.Method != http.MethodGet {
			return nil, methodNotAllowed()
		}
		return &route{class: class, perm: permUsers, serve: f}, nil
	}
	if rest == "" {
		return get("users", s.serveUsersList)
	}
	key, rest2, _ := strings.Cut(rest, "/")
	if _, ok := parseFunc(key, "delta"); ok && rest2 == "" {
		return get("users.delta", s.serveUsersDelta)
	}
	seg0, _, _ := strings.Cut(rest2, "/")
	if i := strings.IndexByte(seg0, '('); i > 0 {
		seg0 = seg0[:i]
	}
	if outlookRoots[strings.ToLower(seg0)] {
		return s.routeOutlook(r, key, rest2)
	}
	switch {
	case rest2 == "":
		return get("users", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveUser(w, r, rc, key) })
	case rest2 == "drive" || strings.HasPrefix(rest2, "drive/"):
		return s.routeDrive(r, driveRef{user: key}, strings.TrimPrefix(rest2, "drive"))
	case rest2 == "drives":
		if r.Method != http.MethodGet {
			return nil, methodNotAllowed()
		}
		return &route{class: "drive", perm: permFilesRead, cost: ruMulti,
			serve: func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveUserDrives(w, r, rc, key) }}, nil
	case strings.HasPrefix(rest2, "drives/"):
		id, rest3, _ := strings.Cut(strings.TrimPrefix(rest2, "drives/"), "/")
		return s.routeDrive(r, driveRef{id: id, user: key}, rest3)
	}
	seg, _, _ := strings.Cut(rest2, "/")
	return nil, segmentNotFound(seg)
}

// driveRef names a drive by ID, by owner, or both (then they must agree).
type driveRef struct {
	id   string
	user string
}

// itemRef names an item: base "root" or an item ID, optionally followed by a path below it.
type itemRef struct {
	base    string
	path    string
	hasPath bool
}

// parseItemRef splits "root:/a/b.txt:/content" or "items/{id}/children" into the reference
// and the remaining tail ("content", "children", …).
func parseItemRef(rest string) (itemRef, string, bool) {
	var ref itemRef
	var after string
	switch {
	case rest == "root" || strings.HasPrefix(rest, "root/") || strings.HasPrefix(rest, "root:"):
		ref.base, after = "root", rest[len("root"):]
	case strings.HasPrefix(rest, "items/"):
		x := rest[len("items/"):]
		if i := strings.IndexAny(x, "/:"); i >= 0 {
			ref.base, after = x[:i], x[i:]
		} else {
			ref.base = x
		}
		if ref.base == "" {
			return ref, "", false
		}
	default:
		return ref, "", false
	}
	if strings.HasPrefix(after, ":") {
		after = after[1:]
		ref.hasPath = true
		if j := strings.IndexByte(after, ':'); j >= 0 {
			ref.path, after = after[:j], after[j+1:]
		} else {
			ref.path, after = after, ""
		}
	}
	if after != "" && !strings.HasPrefix(after, "/") {
		return ref, "", false
	}
	return ref, strings.Trim(after, "/"), true
}

func (s *Server) routeDrive(r *http.Request, dr driveRef, rest string) (*route, *apiError) {
	rest = strings.Trim(rest, "/")
	m := r.Method
	mk := func(class string, perm permKind, cost int, f func(http.ResponseWriter, *http.Request, *reqCtx)) (*route, *apiError) {
		return &route{class: class, perm: perm, cost: cost, serve: f}, nil
	}
	if rest == "" {
		if m != http.MethodGet {
			return nil, methodNotAllowed()
		}
		return mk("drive", permFilesRead, ruSingle, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
			s.serveDriveGet(w, r, rc, dr)
		})
	}
	ref, tail, ok := parseItemRef(rest)
	if !ok {
		seg, _, _ := strings.Cut(rest, "/")
		return nil, segmentNotFound(seg)
	}
	at := itemAddr{drive: dr, item: ref}
	if params, isDelta := parseFunc(tail, "delta"); isDelta {
		if m != http.MethodGet {
			return nil, methodNotAllowed()
		}
		tok := params["token"]
		if tok == "" {
			tok = r.URL.Query().Get("token")
		}
		cost := ruMulti
		if tok != "" && tok != "latest" {
			cost = ruSingle
		}
		return mk("drive.delta", permFilesRead, cost, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
			s.serveDelta(w, r, rc, at, tok)
		})
	}
	switch tail {
	case "":
		switch m {
		case http.MethodGet:
			return mk("drive.item", permFilesRead, ruSingle, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveItemGet(w, r, rc, at) })
		case http.MethodDelete:
			return mk("drive.item", permFilesWrite, ruMulti, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveItemDelete(w, r, rc, at) })
		case http.MethodPatch:
			return mk("drive.item", permFilesWrite, ruMulti, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveItemPatch(w, r, rc, at) })
		}
	case "children":
		switch m {
		case http.MethodGet:
			return mk("drive.children", permFilesRead, ruMulti, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveChildren(w, r, rc, at) })
		case http.MethodPost:
			return mk("drive.children", permFilesWrite, ruMulti, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveCreateChild(w, r, rc, at) })
		}
	case "content":
		switch m {
		case http.MethodGet:
			return mk("drive.content", permFilesRead, ruSingle, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveContentRedirect(w, r, rc, at) })
		case http.MethodPut:
			return mk("upload", permFilesWrite, ruMulti, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveSimpleUpload(w, r, rc, at) })
		}
	case "createUploadSession", "microsoft.graph.createUploadSession":
		if m == http.MethodPost {
			return mk("upload", permFilesWrite, ruMulti, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { s.serveCreateUploadSession(w, r, rc, at) })
		}
	default:
		seg, _, _ := strings.Cut(tail, "/")
		return nil, segmentNotFound(seg)
	}
	return nil, methodNotAllowed()
}

// itemAddr is a fully parsed item address: which drive, which item.
type itemAddr struct {
	drive driveRef
	item  itemRef
}
