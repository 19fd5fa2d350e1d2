package graphsim

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The Graph request pipeline, in order: fault injection → gzip request bodies → bearer token
// → routing → permission check → throttling → handler. $batch runs each inner request through
// dispatch (everything but faults and gzip).

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	rc := s.newReqCtx(r)
	setGraphHeaders(w, rc)
	w, handled, finish := s.applyFault(w, r, rc, true)
	if handled {
		return
	}
	defer finish()
	if e := decodeRequestBody(r); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	s.dispatch(w, r, rc)
}

func setGraphHeaders(w http.ResponseWriter, rc *reqCtx) {
	h := w.Header()
	h.Set("request-id", rc.reqID)
	if rc.clientReqID != "" {
		h.Set("client-request-id", rc.clientReqID)
	}
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"graphsim","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"graphsim"}}`)
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Cache-Control", "no-cache")
}

// decodeRequestBody undoes Content-Encoding: gzip on POST/PUT/PATCH bodies. A body that claims
// gzip but isn't (kiota's retry handler resends compressed requests uncompressed with the header
// still set) is a 400, as it would be from the real service.
func decodeRequestBody(r *http.Request) *apiError {
	ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if ce == "" || ce == "identity" {
		return nil
	}
	if ce != "gzip" {
		return newAPIError(http.StatusUnsupportedMediaType, "unsupportedMediaType", "Content-Encoding '"+ce+"' is not supported.")
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		return errBadRequest("The request body is marked Content-Encoding: gzip but is not valid gzip data.")
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{zr, r.Body}
	r.Header.Del("Content-Encoding")
	r.Header.Del("Content-Length")
	r.ContentLength = -1
	return nil
}

// route is what the router resolved a request to.
type route struct {
	class string   // counters' endpoint class
	perm  permKind // roles required
	cost  int      // SharePoint resource units; 0 = not throttled
	mbx   *mailbox // Outlook routes: the mailbox addressed (Outlook throttling applies)
	serve func(w http.ResponseWriter, r *http.Request, rc *reqCtx)
}

type permKind uint8

const (
	permNone permKind = iota
	permUsers
	permFilesRead
	permFilesWrite
	permMailRead
	permMailWrite
	permCalRead
	permCalWrite
	permContactsRead
	permContactsWrite
	permMailboxSettings
	permExchangeSettings
	permGroups
	permGroupMembers
	permImportExport
	permImportExportRead
	permImportExportFolderWrite
)

var permRoles = map[permKind][]string{
	permUsers:            {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	permFilesRead:        {"Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All", "Sites.ReadWrite.All"},
	permFilesWrite:       {"Files.ReadWrite.All", "Sites.ReadWrite.All"},
	permMailRead:         {"Mail.Read", "Mail.ReadWrite"},
	permMailWrite:        {"Mail.ReadWrite"},
	permCalRead:          {"Calendars.Read", "Calendars.ReadWrite"},
	permCalWrite:         {"Calendars.ReadWrite"},
	permContactsRead:     {"Contacts.Read", "Contacts.ReadWrite"},
	permContactsWrite:    {"Contacts.ReadWrite"},
	permMailboxSettings:  {"MailboxSettings.Read", "MailboxSettings.ReadWrite"},
	permExchangeSettings: {"MailboxSettings.Read", "MailboxSettings.ReadWrite", "User.Read.All", "Directory.Read.All"},
	permGroups:           {"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	permGroupMembers:     {"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	permImportExport:     {"MailboxItem.ImportExport.All"},
	permImportExportRead: {"MailboxItem.ImportExport.All", "MailboxItem.Read.All", "MailboxFolder.Read.All", "MailboxFolder.ReadWrite.All"},
	// https://learn.microsoft.com/graph/api/mailbox-post-folders
	permImportExportFolderWrite: {"MailboxFolder.ReadWrite.All"},
}

// outlookPerm reports whether a permission kind is an Exchange one (403 ErrorAccessDenied).
func outlookPerm(p permKind) bool {
	return p >= permMailRead && p <= permExchangeSettings || p >= permImportExport
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if e := s.authenticate(w, r, rc); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	rt, e := s.route(r)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	if rt.perm != permNone && !rc.claims.hasRole(permRoles[rt.perm]...) {
		switch {
		case rt.perm == permUsers || rt.perm == permGroups || rt.perm == permGroupMembers:
			writeAPIError(w, rc, newAPIError(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
		case outlookPerm(rt.perm):
			writeAPIError(w, rc, newAPIError(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again."))
		default:
			writeAPIError(w, rc, newAPIError(http.StatusForbidden, "accessDenied", "Access denied. The application does not have the required application permissions (roles) for this operation."))
		}
		return
	}
	if !s.admit(w, rc, rt.class, rt.cost) {
		return
	}
	if rt.mbx != nil {
		s.serveOutlook(w, r, rc, rt)
		return
	}
	s.ctr.served(rt.class)
	rt.serve(w, r, rc)
}

// admit charges the throttle and, when over budget, answers the request itself.
func (s *Server) admit(w http.ResponseWriter, rc *reqCtx, class string, cost int) bool {
	v := s.thr.admit(rc.now, cost)
	for k, val := range v.header {
		w.Header().Set(k, val)
	}
	if !v.throttled {
		return true
	}
	s.ctr.throttled(class)
	var e *apiError
	if v.status == http.StatusServiceUnavailable {
		e = newAPIError(v.status, "serviceNotAvailable", "The service is temporarily unavailable. Retry after "+strconv.Itoa(v.retryAfter)+" seconds.")
	} else {
		e = newAPIError(v.status, "activityLimitReached", "The request has been throttled").withInner("throttledRequest")
	}
	writeAPIError(w, rc, e)
	return false
}

// authenticate validates the bearer token (401 with InvalidAuthenticationToken otherwise).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	authz := r.Header.Get("Authorization")
	fail := func(msg string) *apiError {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.baseURL+`/`+s.t.tenantID+
			`/oauth2/authorize", client_id="`+graphAppID+`"`)
		return newAPIError(http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
	}
	scheme, tok, _ := strings.Cut(authz, " ")
	tok = strings.TrimSpace(tok)
	if authz == "" || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return fail("Access token is empty.")
	}
	c, err := s.tokens.validate(tok, s.app, s.t.tenantID, rc.now)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, errTokenInvalid) {
			msg = errTokenInvalid.Error()
		}
		return fail(msg)
	}
	rc.claims = c
	return nil
}
