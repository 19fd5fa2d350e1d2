package graphsim

import (
	"net/http"
	"strings"
)

// Routing of the Exchange surface below /users/{id|upn}/: mailFolders, messages, calendar(s),
// calendarView, events, contactFolders, contacts, mailboxSettings, settings/exchange. Segment
// names are case-insensitive (the service's own links say "mailfolders"); keys may be written
// as a segment or in parentheses ("mailFolders('AAMk…')", as the service's delta links are);
// well-known folder names work wherever a folder ID does. Functions are accepted as delta,
// delta(), microsoft.graph.delta (likewise move, copy, permanentDelete, createUploadSession).

var outlookRoots = map[string]bool{"mailfolders": true, "messages": true, "calendar": true, "calendars": true,
	"calendarview": true, "events": true, "contactfolders": true, "contacts": true, "mailboxsettings": true, "settings": true}

var outlookFuncs = map[string]bool{"delta": true, "move": true, "copy": true, "permanentdelete": true,
	"createuploadsession": true, "exportitems": true, "createimportsession": true}

// splitSegs splits a path into segments, turning "name('key')" into "name", "key" (function
// calls such as delta() or microsoft.graph.delta() stay whole).
func splitSegs(p string) []string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			continue
		}
		if i := strings.IndexByte(seg, '('); i > 0 && strings.HasSuffix(seg, ")") {
			name := seg[:i]
			if strings.Contains(name, ".") || outlookFuncs[lower(name)] {
				out = append(out, seg)
				continue
			}
			key := seg[i+1 : len(seg)-1]
			if len(key) >= 2 && key[0] == '\'' && key[len(key)-1] == '\'' {
				key = strings.ReplaceAll(key[1:len(key)-1], "''", "'")
			}
			out = append(out, name, key)
			continue
		}
		out = append(out, seg)
	}
	return out
}

// fn reports whether a segment names function name (delta, delta(), microsoft.graph.delta).
func fn(seg, name string) bool {
	_, ok := parseFunc(strings.ToLower(seg), strings.ToLower(name))
	return ok
}

func lower(s string) string { return strings.ToLower(s) }

func invalidUser(key string) *apiError {
	return newAPIError(http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+key+"' is invalid.")
}

func mailboxNotEnabled() *apiError {
	return newAPIError(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
}

func errItemNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

func errInvalidID() *apiError {
	return newAPIError(http.StatusBadRequest, "ErrorInvalidIdMalformed", "Id is malformed.")
}

// outlookReq is a parsed Exchange request: the mailbox and what it addresses.
type outlookReq struct {
	mb   *mailbox
	user *user
	segs []string
}

// handler is the signature of Exchange handlers.
type handler func(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq)

func (s *Server) routeOutlook(r *http.Request, key, rest string) (*route, *apiError) {
	s.t.mu.RLock()
	u := s.t.userByKey(key)
	s.t.mu.RUnlock()
	if u == nil {
		return nil, invalidUser(key)
	}
	segs := splitSegs(rest)
	if u.mbx == nil {
		return nil, mailboxNotEnabled()
	}
	q := &outlookReq{mb: u.mbx, user: u, segs: segs}
	mk := func(class string, perm permKind, h handler) (*route, *apiError) {
		return &route{class: class, perm: perm, mbx: u.mbx, serve: func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
			h(w, r, rc, q)
		}}, nil
	}
	m := r.Method
	switch lower(segs[0]) {
	case "mailboxsettings":
		if len(segs) == 1 && m == http.MethodGet {
			return mk("mailboxSettings", permMailboxSettings, s.serveMailboxSettings)
		}
	case "settings":
		if len(segs) == 2 && lower(segs[1]) == "exchange" && m == http.MethodGet {
			return mk("mailboxSettings", permExchangeSettings, s.serveExchangeSettings)
		}
	case "mailfolders", "messages":
		return s.routeMail(m, segs, mk)
	case "calendar", "calendars", "calendarview", "events":
		return s.routeCalendar(m, segs, mk)
	case "contactfolders", "contacts":
		return s.routeContacts(m, segs, mk)
	}
	if m != http.MethodGet && m != http.MethodPost && m != http.MethodPatch && m != http.MethodDelete && m != http.MethodPut {
		return nil, methodNotAllowed()
	}
	return nil, segmentNotFound(segs[len(segs)-1])
}

type mkRoute func(class string, perm permKind, h handler) (*route, *apiError)

// routeMail: mailFolders[/{id}[/childFolders/{id}…]][/childFolders|/messages[/delta]|/move|…]
// and messages[/{id}[/$value|/attachments[/{id}[/$value]]|/move|…]].
func (s *Server) routeMail(m string, segs []string, mk mkRoute) (*route, *apiError) {
	// Collapse mailFolders/{a}/childFolders/{b} to mailFolders/{b}, and
	// mailFolders/{a}/messages/{id}/… to messages/{id}/….
	for {
		if len(segs) >= 4 && lower(segs[0]) == "mailfolders" && lower(segs[2]) == "childfolders" && !fn(segs[3], "delta") {
			segs = append([]string{"mailFolders"}, segs[3:]...)
			continue
		}
		if len(segs) >= 4 && lower(segs[0]) == "mailfolders" && lower(segs[2]) == "messages" && !fn(segs[3], "delta") {
			segs = append([]string{"messages"}, segs[3:]...)
			continue
		}
		break
	}
	q := func(h handler) handler {
		return func(w http.ResponseWriter, r *http.Request, rc *reqCtx, o *outlookReq) {
			o.segs = segs
			h(w, r, rc, o)
		}
	}
	get, post, patch, del := m == http.MethodGet, m == http.MethodPost, m == http.MethodPatch, m == http.MethodDelete
	n := len(segs)
	if lower(segs[0]) == "mailfolders" {
		switch {
		case n == 1 && get:
			return mk("mail.folder", permMailRead, q(s.serveFolderList))
		case n == 1 && post:
			return mk("mail.folder", permMailWrite, q(s.serveFolderCreate))
		case n == 2 && fn(segs[1], "delta") && get:
			return mk("mail.delta", permMailRead, q(s.serveFolderDelta))
		case n == 2 && get:
			return mk("mail.folder", permMailRead, q(s.serveFolderGet))
		case n == 2 && patch:
			return mk("mail.folder", permMailWrite, q(s.serveFolderPatch))
		case n == 2 && del:
			return mk("mail.folder", permMailWrite, q(s.serveFolderDelete))
		case n == 3 && lower(segs[2]) == "childfolders" && get:
			return mk("mail.folder", permMailRead, q(s.serveFolderList))
		case n == 3 && lower(segs[2]) == "childfolders" && post:
			return mk("mail.folder", permMailWrite, q(s.serveFolderCreate))
		case n == 3 && fn(segs[2], "move") && post:
			return mk("mail.folder", permMailWrite, q(s.serveFolderMove))
		case n == 3 && fn(segs[2], "permanentDelete") && post:
			return mk("mail.folder", permMailWrite, q(s.serveFolderDelete))
		case n == 3 && lower(segs[2]) == "messages" && get:
			return mk("mail.message", permMailRead, q(s.serveMessageList))
		case n == 3 && lower(segs[2]) == "messages" && post:
			return mk("mail.message", permMailWrite, q(s.serveMessageCreate))
		case n == 4 && lower(segs[2]) == "messages" && fn(segs[3], "delta") && get:
			return mk("mail.delta", permMailRead, q(s.serveMessageDelta))
		case n == 4 && lower(segs[2]) == "childfolders" && fn(segs[3], "delta"):
			return nil, errBadRequest("Delta is supported on mailFolders, not on childFolders.")
		}
		if n <= 4 && (get || post || patch || del) {
			return nil, segmentNotFound(segs[n-1])
		}
		return nil, methodNotAllowed()
	}
	// messages…
	switch {
	case n == 1 && get:
		return mk("mail.message", permMailRead, q(s.serveMessageList))
	case n == 1 && post:
		return mk("mail.message", permMailWrite, q(s.serveMessageCreate))
	case n == 2 && fn(segs[1], "delta"):
		return nil, errBadRequest("Change tracking is not supported against 'microsoft.graph.message'; track messages per folder with mailFolders/{id}/messages/delta.")
	case n == 2 && get:
		return mk("mail.message", permMailRead, q(s.serveMessageGet))
	case n == 2 && patch:
		return mk("mail.message", permMailWrite, q(s.serveMessagePatch))
	case n == 2 && del:
		return mk("mail.message", permMailWrite, q(s.serveMessageDelete))
	case n == 3 && lower(segs[2]) == "$value" && get:
		return mk("mail.mime", permMailRead, q(s.serveMessageMIME))
	case n == 3 && (fn(segs[2], "move") || fn(segs[2], "copy")) && post:
		return mk("mail.message", permMailWrite, q(s.serveMessageMove))
	case n == 3 && fn(segs[2], "permanentDelete") && post:
		return mk("mail.message", permMailWrite, q(s.serveMessageDelete))
	case n == 3 && lower(segs[2]) == "attachments" && get:
		return mk("mail.attachment", permMailRead, q(s.serveAttachmentList))
	case n == 3 && lower(segs[2]) == "attachments" && post:
		return mk("mail.attachment", permMailWrite, q(s.serveAttachmentCreate))
	case n == 4 && lower(segs[2]) == "attachments" && fn(segs[3], "createUploadSession") && post:
		return mk("mail.attachment", permMailWrite, q(s.serveAttachmentSession))
	case n == 4 && lower(segs[2]) == "attachments" && get:
		return mk("mail.attachment", permMailRead, q(s.serveAttachmentGet))
	case n == 4 && lower(segs[2]) == "attachments" && del:
		return mk("mail.attachment", permMailWrite, q(s.serveAttachmentDelete))
	case n == 5 && lower(segs[2]) == "attachments" && lower(segs[4]) == "$value" && get:
		return mk("mail.attachment", permMailRead, q(s.serveAttachmentValue))
	}
	if n <= 5 && (get || post || patch || del) {
		return nil, segmentNotFound(segs[n-1])
	}
	return nil, methodNotAllowed()
}

// routeCalendar: calendar[/events|/calendarView[/delta]], calendars[/{id}[/events|/calendarView[/delta]]],
// calendarView[/delta], events[/{id}[/instances|/attachments[/{id}[/$value]]]].
func (s *Server) routeCalendar(m string, segs []string, mk mkRoute) (*route, *apiError) {
	// calendar/… is calendars/{default}/…
	if lower(segs[0]) == "calendar" {
		segs = append([]string{"calendars", ""}, segs[1:]...)
	}
	for len(segs) >= 4 && lower(segs[0]) == "calendars" && lower(segs[2]) == "events" && !fn(segs[3], "delta") {
		segs = append([]string{"events"}, segs[3:]...)
	}
	q := func(h handler) handler {
		return func(w http.ResponseWriter, r *http.Request, rc *reqCtx, o *outlookReq) {
			o.segs = segs
			h(w, r, rc, o)
		}
	}
	get, post, patch, del := m == http.MethodGet, m == http.MethodPost, m == http.MethodPatch, m == http.MethodDelete
	n := len(segs)
	switch lower(segs[0]) {
	case "calendars":
		switch {
		case n == 1 && get:
			return mk("calendar", permCalRead, q(s.serveCalendarList))
		case n == 1 && post:
			return mk("calendar", permCalWrite, q(s.serveCalendarCreate))
		case n == 2 && get:
			return mk("calendar", permCalRead, q(s.serveCalendarGet))
		case n == 2 && patch:
			return mk("calendar", permCalWrite, q(s.serveCalendarPatch))
		case n == 2 && del:
			return mk("calendar", permCalWrite, q(s.serveCalendarDelete))
		case n == 3 && lower(segs[2]) == "events" && get:
			return mk("calendar", permCalRead, q(s.serveEventList))
		case n == 3 && lower(segs[2]) == "events" && post:
			return mk("calendar", permCalWrite, q(s.serveEventCreate))
		case n == 3 && lower(segs[2]) == "calendarview" && get:
			return mk("calendar", permCalRead, q(s.serveCalendarView))
		case n == 4 && lower(segs[2]) == "calendarview" && fn(segs[3], "delta") && get:
			return mk("calendar.delta", permCalRead, q(s.serveCalendarViewDelta))
		}
	case "calendarview":
		segs = append([]string{"calendars", ""}, segs...)
		switch {
		case n == 1 && get:
			return mk("calendar", permCalRead, q(s.serveCalendarView))
		case n == 2 && fn(segs[3], "delta") && get:
			return mk("calendar.delta", permCalRead, q(s.serveCalendarViewDelta))
		}
	case "events":
		switch {
		case n == 1 && get:
			segs = []string{"calendars", "", "events"}
			return mk("calendar", permCalRead, q(s.serveEventList))
		case n == 1 && post:
			segs = []string{"calendars", "", "events"}
			return mk("calendar", permCalWrite, q(s.serveEventCreate))
		case n == 2 && fn(segs[1], "delta"):
			return nil, errBadRequest("Change tracking of events is supported on calendarView/delta with startDateTime and endDateTime.")
		case n == 2 && get:
			return mk("calendar", permCalRead, q(s.serveEventGet))
		case n == 2 && patch:
			return mk("calendar", permCalWrite, q(s.serveEventPatch))
		case n == 2 && del:
			return mk("calendar", permCalWrite, q(s.serveEventDelete))
		case n == 3 && lower(segs[2]) == "instances" && get:
			return mk("calendar", permCalRead, q(s.serveEventInstances))
		case n == 3 && lower(segs[2]) == "attachments" && get:
			return mk("calendar", permCalRead, q(s.serveEventAttachmentList))
		case n == 3 && lower(segs[2]) == "attachments" && post:
			return mk("calendar", permCalWrite, q(s.serveEventAttachmentCreate))
		case n == 4 && lower(segs[2]) == "attachments" && fn(segs[3], "createUploadSession") && post:
			return mk("calendar", permCalWrite, q(s.serveAttachmentSession))
		case n == 4 && lower(segs[2]) == "attachments" && get:
			return mk("calendar", permCalRead, q(s.serveEventAttachmentGet))
		case n == 4 && lower(segs[2]) == "attachments" && del:
			return mk("calendar", permCalWrite, q(s.serveEventAttachmentDelete))
		case n == 5 && lower(segs[2]) == "attachments" && lower(segs[4]) == "$value" && get:
			return mk("calendar", permCalRead, q(s.serveEventAttachmentValue))
		}
	}
	if get || post || patch || del {
		return nil, segmentNotFound(segs[len(segs)-1])
	}
	return nil, methodNotAllowed()
}

// routeContacts: contactFolders[/delta|/{id}[/childFolders|/contacts[/delta]]], contacts[/delta|/{id}[/photo[/$value]]].
func (s *Server) routeContacts(m string, segs []string, mk mkRoute) (*route, *apiError) {
	for {
		if len(segs) >= 4 && lower(segs[0]) == "contactfolders" && lower(segs[2]) == "childfolders" {
			segs = append([]string{"contactFolders"}, segs[3:]...)
			continue
		}
		if len(segs) >= 4 && lower(segs[0]) == "contactfolders" && lower(segs[2]) == "contacts" && !fn(segs[3], "delta") {
			segs = append([]string{"contacts"}, segs[3:]...)
			continue
		}
		break
	}
	q := func(h handler) handler {
		return func(w http.ResponseWriter, r *http.Request, rc *reqCtx, o *outlookReq) {
			o.segs = segs
			h(w, r, rc, o)
		}
	}
	get, post, patch, del, put := m == http.MethodGet, m == http.MethodPost, m == http.MethodPatch, m == http.MethodDelete, m == http.MethodPut
	n := len(segs)
	if lower(segs[0]) == "contactfolders" {
		switch {
		case n == 1 && get:
			return mk("contacts", permContactsRead, q(s.serveContactFolderList))
		case n == 1 && post:
			return mk("contacts", permContactsWrite, q(s.serveContactFolderCreate))
		case n == 2 && fn(segs[1], "delta") && get:
			return mk("contacts.delta", permContactsRead, q(s.serveContactFolderDelta))
		case n == 2 && get:
			return mk("contacts", permContactsRead, q(s.serveContactFolderGet))
		case n == 2 && patch:
			return mk("contacts", permContactsWrite, q(s.serveContactFolderPatch))
		case n == 2 && del:
			return mk("contacts", permContactsWrite, q(s.serveContactFolderDelete))
		case n == 3 && lower(segs[2]) == "childfolders" && get:
			return mk("contacts", permContactsRead, q(s.serveContactFolderList))
		case n == 3 && lower(segs[2]) == "childfolders" && post:
			return mk("contacts", permContactsWrite, q(s.serveContactFolderCreate))
		case n == 3 && lower(segs[2]) == "contacts" && get:
			return mk("contacts", permContactsRead, q(s.serveContactList))
		case n == 3 && lower(segs[2]) == "contacts" && post:
			return mk("contacts", permContactsWrite, q(s.serveContactCreate))
		case n == 4 && lower(segs[2]) == "contacts" && fn(segs[3], "delta") && get:
			return mk("contacts.delta", permContactsRead, q(s.serveContactDelta))
		}
	} else {
		switch {
		case n == 1 && get:
			return mk("contacts", permContactsRead, q(s.serveContactList))
		case n == 1 && post:
			return mk("contacts", permContactsWrite, q(s.serveContactCreate))
		case n == 2 && fn(segs[1], "delta") && get:
			return mk("contacts.delta", permContactsRead, q(s.serveContactDelta))
		case n == 2 && get:
			return mk("contacts", permContactsRead, q(s.serveContactGet))
		case n == 2 && patch:
			return mk("contacts", permContactsWrite, q(s.serveContactPatch))
		case n == 2 && del:
			return mk("contacts", permContactsWrite, q(s.serveContactDelete))
		case n == 3 && lower(segs[2]) == "photo" && get:
			return mk("contacts", permContactsRead, q(s.serveContactPhotoMeta))
		case n == 4 && lower(segs[2]) == "photo" && lower(segs[3]) == "$value" && get:
			return mk("contacts", permContactsRead, q(s.serveContactPhoto))
		case (n == 4 && lower(segs[3]) == "$value" || n == 3) && lower(segs[2]) == "photo" && (put || patch):
			return mk("contacts", permContactsWrite, q(s.serveContactPhotoPut))
		}
	}
	if get || post || patch || del || put {
		return nil, segmentNotFound(segs[len(segs)-1])
	}
	return nil, methodNotAllowed()
}
