package graphsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Contacts handlers (https://learn.microsoft.com/graph/api/resources/contact, contactfolder,
// contact-delta, profilephoto): /contactFolders lists the folders inside the default Contacts
// folder (which is /contacts itself, also addressable as contactFolders/contacts),
// childFolders nest, /contactFolders/{id}/contacts/delta and /contacts/delta track a folder,
// /contacts/{id}/photo and /photo/$value read the photo (404 when there is none), PUT
// /photo/$value sets it.

func (s *Server) contactFolderID(mb *mailbox, f int32) string {
	return s.t.ids.restID(oid{mbx: mb.no, kind: oidContactFolder, a: uint32(f)})
}

func (s *Server) contactID(mb *mailbox, i int32) string {
	return s.t.ids.restID(oid{mbx: mb.no, kind: oidContact, a: uint32(i)})
}

func (s *Server) resolveContactFolder(mb *mailbox, key string) (int32, *apiError) {
	if key == "" || strings.EqualFold(key, "contacts") {
		if len(mb.contactFolders) == 0 {
			return -1, errItemNotFound()
		}
		return 0, nil
	}
	o, ok := s.t.ids.parseRestID(key)
	return liveIndex(o, ok, mb, oidContactFolder, mb.liveContactFolder)
}

func (s *Server) resolveContact(mb *mailbox, key string) (int32, *apiError) {
	o, ok := s.t.ids.parseRestID(key)
	return liveIndex(o, ok, mb, oidContact, mb.liveContact)
}

func (s *Server) contactFolderJSON(mb *mailbox, f int32) map[string]any {
	fo := mb.contactFolders[f]
	parent := s.folderID(mb, fTop)
	if fo.parent >= 0 {
		parent = s.contactFolderID(mb, fo.parent)
	}
	return map[string]any{"id": s.contactFolderID(mb, f), "displayName": fo.name, "parentFolderId": parent}
}

func postal(street, city, state, cc, pc string) map[string]any {
	if street == "" && city == "" && state == "" && cc == "" && pc == "" {
		return map[string]any{}
	}
	return map[string]any{"street": street, "city": city, "state": state, "countryOrRegion": cc, "postalCode": pc}
}

func contactContentJSON(c *contactContent) map[string]any {
	emails := make([]any, 0, len(c.emails))
	for _, e := range c.emails {
		emails = append(emails, map[string]any{"name": e.name, "address": e.email})
	}
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	var bday any
	if c.birthday != "" {
		bday = c.birthday + "T11:59:00Z"
	}
	var mobile any
	if c.mobile != "" {
		mobile = c.mobile
	}
	return map[string]any{
		"displayName": c.display, "givenName": c.given, "surname": c.surname, "middleName": c.middle,
		"nickName": c.nickname, "fileAs": c.display, "initials": nil, "title": nil, "generation": nil,
		"companyName": c.company, "jobTitle": c.jobTitle, "department": c.dept, "officeLocation": nil,
		"profession": nil, "businessHomePage": nil, "assistantName": nil, "manager": nil, "spouseName": nil,
		"personalNotes": c.notes, "birthday": bday, "categories": orEmpty(c.categories),
		"emailAddresses": emails, "imAddresses": []string{}, "children": []string{},
		"businessPhones": orEmpty(c.businessPhones), "homePhones": orEmpty(c.homePhones), "mobilePhone": mobile,
		"businessAddress": postal(c.street, c.city, c.state, c.country, c.postal),
		"homeAddress":     map[string]any{}, "otherAddress": map[string]any{},
	}
}

func (s *Server) contactJSON(mb *mailbox, i int32) map[string]any {
	ct := mb.contacts[i]
	j := contactContentJSON(ct.c)
	ck := s.t.ids.changeKey(oid{mbx: mb.no, kind: oidContact, a: uint32(i)}, ct.seq)
	j["@odata.etag"] = etagOf(ck)
	j["id"] = s.contactID(mb, i)
	j["changeKey"] = ck
	j["createdDateTime"] = isoTime(ct.created)
	j["lastModifiedDateTime"] = isoTime(ct.modified)
	j["parentFolderId"] = s.contactFolderID(mb, ct.folder)
	return j
}

// ---- folders ----

func (s *Server) serveContactFolderList(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	top, skip, e := pageParams(r, mailDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.RLock()
	parent := int32(0)
	if len(q.segs) == 3 {
		parent, e = s.resolveContactFolder(mb, q.segs[1])
	}
	var vals []any
	n := 0
	if e == nil {
		var list []int32
		for i, f := range mb.contactFolders {
			if !f.deleted && f.parent == parent && i != 0 {
				list = append(list, int32(i))
			}
		}
		n = len(list)
		for _, f := range list[min(skip, n):min(n, skip+top)] {
			vals = append(vals, projectOutlook(s.contactFolderJSON(mb, f), parseSelect(r)))
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
	writeCollection(w, s.ctxBase(r, q)+"/contactFolders", vals, next)
}

func (s *Server) serveContactFolderGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	f, e := s.resolveContactFolder(q.mb, q.segs[1])
	var j map[string]any
	if e == nil {
		j = s.contactFolderJSON(q.mb, f)
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/contactFolders/$entity", j)
}

func (mb *mailbox) contactChild(parent int32, name string) int32 {
	for i, f := range mb.contactFolders {
		if !f.deleted && f.parent == parent && strings.EqualFold(f.name, name) {
			return int32(i)
		}
	}
	return -1
}

func (s *Server) serveContactFolderCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var body struct {
		DisplayName string `json:"displayName"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	if !validFolderName(body.DisplayName) {
		writeAPIError(w, rc, errInvalidRequest("The folder display name is missing or invalid."))
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	parent := int32(0)
	var e *apiError
	if len(q.segs) == 3 {
		parent, e = s.resolveContactFolder(mb, q.segs[1])
	}
	var j map[string]any
	if e == nil {
		if mb.contactChild(parent, body.DisplayName) >= 0 {
			e = errFolderExists()
		} else {
			j = s.contactFolderJSON(mb, mb.addContactFolder(body.DisplayName, parent, unixSec(rc.now)))
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusCreated, s.ctxBase(r, q)+"/contactFolders/$entity", j)
}

func (s *Server) serveContactFolderPatch(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var body struct {
		DisplayName *string `json:"displayName"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	f, e := s.resolveContactFolder(mb, q.segs[1])
	var j map[string]any
	if e == nil && body.DisplayName != nil {
		fo := mb.contactFolders[f]
		switch {
		case f == 0:
			e = newAPIError(http.StatusBadRequest, "ErrorCannotRenameDistinguishedFolder", "The default contact folder cannot be renamed.")
		case mb.contactChild(fo.parent, *body.DisplayName) >= 0:
			e = errFolderExists()
		default:
			fo.name = *body.DisplayName
			fo.seq = mb.bump()
		}
	}
	if e == nil {
		j = s.contactFolderJSON(mb, f)
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/contactFolders/$entity", j)
}

func (mb *mailbox) deleteContactFolder(f int32, now uint32) {
	for i, x := range mb.contactFolders {
		if x.parent == f && !x.deleted {
			mb.deleteContactFolder(int32(i), now)
		}
	}
	for i, ct := range mb.contacts {
		if ct.folder == f && !ct.deleted {
			mb.deleteContact(int32(i), now)
		}
	}
	mb.contactFolders[f].deleted = true
	mb.contactFolders[f].seq = mb.bump()
}

func (s *Server) serveContactFolderDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	mb := q.mb
	s.t.mu.Lock()
	f, e := s.resolveContactFolder(mb, q.segs[1])
	if e == nil {
		if f == 0 {
			e = newAPIError(http.StatusBadRequest, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
		} else {
			mb.deleteContactFolder(f, unixSec(rc.now))
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveContactFolderDelta(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	base := requestBase(r)
	mb := q.mb
	page, _ := outlookPage(r, outlookDeltaDefaultPage)
	st := odState{what: deltaContactFolders, page: page, cursor: -1}
	link := base + "/v1.0/users/" + url.PathEscape(q.user.id) + "/contactFolders/delta"
	s.t.mu.RLock()
	fromToken, e := s.decodeOD(r, rc, mb, &st, link)
	if e == nil && !fromToken {
		st.since, st.upto, st.phase = 0, mb.seq, 1
	}
	var vals []any
	more := false
	if e == nil {
		var rem, items []dEntry
		for i, fo := range mb.contactFolders {
			switch {
			case fo.seq <= st.since || fo.seq > st.upto:
			case fo.deleted:
				if st.since > 0 {
					rem = append(rem, dEntry{key: int64(i), idx: int32(i), rm: true})
				}
			default:
				items = append(items, dEntry{key: int64(i), idx: int32(i)})
			}
		}
		var out []dEntry
		out, more = pageEntries(rem, items, &st)
		for _, d := range out {
			if d.rm {
				vals = append(vals, removedJSON("contactFolder", s.contactFolderID(mb, d.idx)))
			} else {
				vals = append(vals, s.contactFolderJSON(mb, d.idx))
			}
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	s.writeDeltaPage(w, r, rc, mb, &st, link, base+"/v1.0/$metadata#Collection(contactFolder)", vals, more)
}

// ---- contacts ----

func (s *Server) contactListFolder(mb *mailbox, segs []string) (int32, *apiError) {
	if lower(segs[0]) == "contactfolders" {
		return s.resolveContactFolder(mb, segs[1])
	}
	return s.resolveContactFolder(mb, "")
}

func (s *Server) serveContactList(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	top, skip, e := pageParams(r, mailDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.RLock()
	f, e := s.contactListFolder(mb, q.segs)
	var vals []any
	n := 0
	if e == nil {
		var list []int32
		for i, ct := range mb.contacts {
			if !ct.deleted && ct.folder == f {
				list = append(list, int32(i))
			}
		}
		n = len(list)
		for _, i := range list[min(skip, n):min(n, skip+top)] {
			vals = append(vals, projectOutlook(s.contactJSON(mb, i), parseSelect(r)))
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
	writeCollection(w, s.ctxBase(r, q)+"/contacts", vals, next)
}

func (s *Server) serveContactGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	i, e := s.resolveContact(q.mb, q.segs[1])
	var j map[string]any
	if e == nil {
		j = projectOutlook(s.contactJSON(q.mb, i), parseSelect(r))
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/contacts/$entity", j)
}

type contactInput struct {
	GivenName, Surname, DisplayName, MiddleName, NickName *string
	CompanyName, JobTitle, Department, PersonalNotes      *string
	Birthday                                              *string
	MobilePhone                                           *string
	EmailAddresses                                        *[]struct{ Name, Address string }
	BusinessPhones, HomePhones, Categories                *[]string
	BusinessAddress                                       *struct{ Street, City, State, CountryOrRegion, PostalCode string }
}

func parseContactInput(raw json.RawMessage, base *contactContent) (*contactContent, *apiError) {
	var in contactInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, errBadRequest("Invalid contact: " + err.Error())
	}
	c := &contactContent{}
	if base != nil {
		*c = *base
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.given, in.GivenName)
	set(&c.surname, in.Surname)
	set(&c.display, in.DisplayName)
	set(&c.middle, in.MiddleName)
	set(&c.nickname, in.NickName)
	set(&c.company, in.CompanyName)
	set(&c.jobTitle, in.JobTitle)
	set(&c.dept, in.Department)
	set(&c.notes, in.PersonalNotes)
	set(&c.mobile, in.MobilePhone)
	if in.Birthday != nil {
		c.birthday = ""
		if len(*in.Birthday) >= 10 {
			c.birthday = (*in.Birthday)[:10]
		}
	}
	if in.EmailAddresses != nil {
		c.emails = nil
		for _, e := range *in.EmailAddresses {
			c.emails = append(c.emails, addr{e.Name, e.Address})
		}
	}
	if in.BusinessPhones != nil {
		c.businessPhones = *in.BusinessPhones
	}
	if in.HomePhones != nil {
		c.homePhones = *in.HomePhones
	}
	if in.Categories != nil {
		c.categories = *in.Categories
	}
	if a := in.BusinessAddress; a != nil {
		c.street, c.city, c.state, c.country, c.postal = a.Street, a.City, a.State, a.CountryOrRegion, a.PostalCode
	}
	if c.display == "" {
		c.display = strings.TrimSpace(c.given + " " + c.surname)
	}
	return c, nil
}

func (s *Server) serveContactCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		writeAPIError(w, rc, errBadRequest("Could not read the request body."))
		return
	}
	c, e := parseContactInput(raw, nil)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	f, e := s.contactListFolder(mb, q.segs)
	var j map[string]any
	if e == nil {
		j = s.contactJSON(mb, mb.addContact(f, c, unixSec(rc.now)))
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusCreated, s.ctxBase(r, q)+"/contacts/$entity", j)
}

func (s *Server) serveContactPatch(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		writeAPIError(w, rc, errBadRequest("Could not read the request body."))
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	i, e := s.resolveContact(mb, q.segs[1])
	var j map[string]any
	if e == nil {
		var c *contactContent
		if c, e = parseContactInput(raw, mb.contacts[i].c); e == nil {
			mb.contacts[i].c = c
			mb.touchContact(i, unixSec(rc.now))
			j = s.contactJSON(mb, i)
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/contacts/$entity", j)
}

func (s *Server) serveContactDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	mb := q.mb
	s.t.mu.Lock()
	i, e := s.resolveContact(mb, q.segs[1])
	if e == nil {
		mb.deleteContact(i, unixSec(rc.now))
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveContactDelta(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	base := requestBase(r)
	mb := q.mb
	page, _ := outlookPage(r, outlookDeltaDefaultPage)
	st := odState{what: deltaContacts, page: page, sel: strings.Join(parseSelect(r), ","), cursor: -1}
	s.t.mu.RLock()
	f, e := s.contactListFolder(mb, q.segs)
	var link string
	var vals []any
	more := false
	if e == nil {
		st.container = uint64(f)
		link = base + "/v1.0/users/" + url.PathEscape(q.user.id) + "/contactFolders('" + s.contactFolderID(mb, f) + "')/contacts/delta"
		var fromToken bool
		if fromToken, e = s.decodeOD(r, rc, mb, &st, link); e == nil && !fromToken {
			st.since, st.upto, st.phase = 0, mb.seq, 1
		}
	}
	if e == nil {
		var rem, items []dEntry
		if st.since > 0 {
			for i, x := range mb.ctRemoved {
				if x.folder == f && x.seq > st.since && x.seq <= st.upto {
					rem = append(rem, dEntry{key: int64(i), idx: x.msg, rm: true})
				}
			}
		}
		for i, ct := range mb.contacts {
			if !ct.deleted && ct.folder == f && ct.seq > st.since && ct.seq <= st.upto {
				items = append(items, dEntry{key: int64(i), idx: int32(i)})
			}
		}
		var out []dEntry
		out, more = pageEntries(rem, items, &st)
		sel := splitSel(st.sel)
		for _, d := range out {
			if d.rm {
				vals = append(vals, removedJSON("contact", s.contactID(mb, d.idx)))
			} else {
				vals = append(vals, projectOutlook(s.contactJSON(mb, d.idx), sel))
			}
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	s.writeDeltaPage(w, r, rc, mb, &st, link, base+"/v1.0/$metadata#Collection(contact)", vals, more)
}

// ---- photos ----

// contactPhotoBytes returns a contact's photo, or nil; caller holds the lock (the bytes are
// produced after it is released by the caller invoking the returned function).
func (s *Server) contactPhotoFunc(mb *mailbox, i int32) func() ([]byte, error) {
	ct := mb.contacts[i]
	switch {
	case ct.photo >= 0:
		bl := s.t.blobs.get(ct.photo)
		return func() ([]byte, error) {
			rc, err := openBlob(bl)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		}
	case ct.photoKey != 0:
		key := ct.photoKey
		return func() ([]byte, error) { return contactPhoto(key), nil }
	}
	return nil
}

func errNoPhoto() *apiError {
	return newAPIError(http.StatusNotFound, "ErrorItemNotFound", "The photo wasn't found.")
}

func (s *Server) serveContactPhotoMeta(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	i, e := s.resolveContact(q.mb, q.segs[1])
	var get func() ([]byte, error)
	if e == nil {
		if get = s.contactPhotoFunc(q.mb, i); get == nil {
			e = errNoPhoto()
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	b, err := get()
	if err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "ErrorInternalServerError", err.Error()))
		return
	}
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/contacts('"+q.segs[1]+"')/photo/$entity", map[string]any{
		"@odata.mediaContentType": "image/jpeg", "@odata.mediaEtag": `W/"` + strconv.Itoa(len(b)) + `"`,
		"id": "48X48", "width": 48, "height": 48,
	})
}

func (s *Server) serveContactPhoto(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	i, e := s.resolveContact(q.mb, q.segs[1])
	var get func() ([]byte, error)
	if e == nil {
		if get = s.contactPhotoFunc(q.mb, i); get == nil {
			e = errNoPhoto()
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	b, err := get()
	if err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "ErrorInternalServerError", err.Error()))
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (s *Server) serveContactPhotoPut(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	blob, err := s.t.blobs.ingest(r.Body, 4<<20)
	if err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusRequestEntityTooLarge, "ErrorRequestEntityTooLarge", "The photo must be at most 4 MB."))
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	i, e := s.resolveContact(mb, q.segs[1])
	if e == nil {
		mb.contacts[i].photo = blob
		mb.touchContact(i, unixSec(rc.now))
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusOK)
}
