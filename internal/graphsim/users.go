package graphsim

import (
	"net/http"
	"strconv"
	"strings"
)

// Users (https://learn.microsoft.com/graph/api/user-list, user-get, user-delta): paging with
// $top (default 100, max 999) and $skiptoken, $select, a $filter subset (eq/ne/startswith/in
// over the common string properties, and/or, parentheses), /users/{id|userPrincipalName}, and
// /users/delta with $skiptoken/$deltatoken (and $deltatoken=latest). Users are directory
// objects, so they are not charged against the SharePoint throttling budget.

const (
	usersDefaultPage = 100
	usersMaxPage     = 999
)

var userDefaultProps = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail",
	"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

// userProps renders every property the simulator knows; caller holds the lock.
func userProps(u *user) map[string]any {
	var mail any = u.mail
	proxies := []string{"SMTP:" + u.mail}
	if u.kind == mbxNone {
		mail, proxies = nil, []string{} // no Exchange licence: no mailbox, no address
	}
	return map[string]any{
		"businessPhones":    []string{},
		"displayName":       u.displayName,
		"givenName":         u.givenName,
		"jobTitle":          u.jobTitle,
		"mail":              mail,
		"mobilePhone":       u.mobilePhone,
		"officeLocation":    u.officeLocation,
		"preferredLanguage": u.preferredLanguage,
		"surname":           u.surname,
		"userPrincipalName": u.upn,
		"id":                u.id,
		"accountEnabled":    u.accountEnabled,
		"department":        u.department,
		"createdDateTime":   isoTime(u.created),
		"usageLocation":     u.usageLocation,
		"userType":          "Member",
		"mailNickname":      strings.SplitN(u.upn, "@", 2)[0],
		"otherMails":        []string{},
		"proxyAddresses":    proxies,
	}
}

// projectUser applies $select (or the default property set).
func projectUser(u *user, sel []string) (map[string]any, *apiError) {
	all := userProps(u)
	if len(sel) == 0 {
		sel = userDefaultProps
	}
	out := make(map[string]any, len(sel))
	for _, f := range sel {
		found := false
		for k, v := range all {
			if strings.EqualFold(k, f) {
				out[k], found = v, true
			}
		}
		if !found {
			return nil, newAPIError(http.StatusBadRequest, "Request_BadRequest",
				"Could not find a property named '"+f+"' on type 'microsoft.graph.user'.")
		}
	}
	return out, nil
}

func usersContext(base string, sel []string) string {
	if len(sel) > 0 {
		return base + "/v1.0/$metadata#users(" + strings.Join(sel, ",") + ")"
	}
	return base + "/v1.0/$metadata#users"
}

func (s *Server) serveUser(w http.ResponseWriter, r *http.Request, rc *reqCtx, key string) {
	sel := parseSelect(r)
	s.t.mu.RLock()
	u := s.t.userByKey(key)
	var body map[string]any
	var e *apiError
	if u == nil {
		e = userNotFound(key)
	} else {
		body, e = projectUser(u, sel)
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	body["@odata.context"] = usersContext(requestBase(r), sel) + "/$entity"
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) serveUsersList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	base := requestBase(r)
	q := r.URL.Query()
	sel := parseSelect(r)
	filter := q.Get("$filter")
	top := usersDefaultPage
	if t := q.Get("$top"); t != "" {
		v, err := strconv.Atoi(t)
		if err != nil || v < 1 || v > usersMaxPage {
			writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "Request_UnsupportedQuery",
				"Invalid page size specified: '"+t+"'. Must be between 1 and 999 inclusive."))
			return
		}
		top = v
	}
	offset := 0
	if st := q.Get("$skiptoken"); st != "" {
		nums, str, ok := s.decodeToken(st, tokSkip)
		if !ok || len(nums) < 2 {
			writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "Request_BadRequest", "Invalid $skiptoken."))
			return
		}
		offset, top = int(nums[0]), int(nums[1])
		f, sl, _ := strings.Cut(str, "\x00")
		filter, sel = f, splitSel(sl)
	}
	var pred userPred
	if filter != "" {
		var e *apiError
		if pred, e = parseUserFilter(filter); e != nil {
			writeAPIError(w, rc, e)
			return
		}
	}
	s.t.mu.RLock()
	var matched []*user
	for _, u := range s.t.users {
		if pred == nil || pred(u) {
			matched = append(matched, u)
		}
	}
	end := min(len(matched), offset+top)
	vals := make([]any, 0, end-min(offset, end))
	var e *apiError
	for _, u := range matched[min(offset, end):end] {
		var m map[string]any
		if m, e = projectUser(u, sel); e != nil {
			break
		}
		vals = append(vals, m)
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	body := map[string]any{"@odata.context": usersContext(base, sel), "value": vals}
	if strings.EqualFold(q.Get("$count"), "true") {
		body["@odata.count"] = len(matched)
	}
	if end < len(matched) {
		tok := s.encodeToken(tokSkip, []uint64{uint64(end), uint64(top)}, filter+"\x00"+strings.Join(sel, ","))
		body["@odata.nextLink"] = base + "/v1.0/users?$skiptoken=" + tok
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) serveUsersDelta(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	base := requestBase(r)
	q := r.URL.Query()
	sel := parseSelect(r)
	fresh := base + "/v1.0/users/delta()"
	var since, offset uint64
	s.t.mu.RLock()
	gen := uint64(s.t.usersGen)
	seq := uint64(s.t.usersSeq)
	check := func(tok string, kind byte, n int) ([]uint64, *apiError) {
		nums, str, ok := s.decodeToken(tok, kind)
		switch {
		case !ok || len(nums) < n:
			return nil, newAPIError(http.StatusBadRequest, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
		case nums[0] != gen:
			return nil, newAPIError(http.StatusGone, "syncStateInvalid", "The sync state is no longer valid; start a full synchronization again.").withHeader("Location", fresh)
		case rc.now.Sub(fromUnix(uint32(nums[1]))) > min(directoryDeltaTokenMaxAge, s.opts.DeltaTokenMaxAge):
			return nil, newAPIError(http.StatusBadRequest, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
		}
		if len(sel) == 0 {
			sel = splitSel(str)
		}
		return nums, nil
	}
	var e *apiError
	switch dt, st := q.Get("$deltatoken"), q.Get("$skiptoken"); {
	case dt == "latest":
		link := fresh + "?$deltatoken=" + s.encodeToken(tokUsersDelta, []uint64{gen, uint64(unixSec(rc.now)), seq}, strings.Join(sel, ","))
		s.t.mu.RUnlock()
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": usersContext(base, sel), "value": []any{}, "@odata.deltaLink": link})
		return
	case dt != "":
		var nums []uint64
		if nums, e = check(dt, tokUsersDelta, 3); e == nil {
			since = nums[2]
		}
	case st != "":
		var nums []uint64
		if nums, e = check(st, tokUsersNext, 5); e == nil {
			since, seq, offset = nums[2], nums[3], nums[4]
		}
	}
	var vals []any
	var next string
	if e == nil {
		var changed []*user
		for _, u := range s.t.users {
			if uint64(u.seq) > since {
				changed = append(changed, u)
			}
		}
		end := min(len(changed), int(offset)+usersDefaultPage)
		for _, u := range changed[min(int(offset), end):end] {
			var m map[string]any
			if m, e = projectUser(u, sel); e != nil {
				break
			}
			vals = append(vals, m)
		}
		if end < len(changed) {
			next = fresh + "?$skiptoken=" + s.encodeToken(tokUsersNext,
				[]uint64{gen, uint64(unixSec(rc.now)), since, seq, uint64(end)}, strings.Join(sel, ","))
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	body := map[string]any{"@odata.context": usersContext(base, sel), "value": vals}
	if vals == nil {
		body["value"] = []any{}
	}
	if next != "" {
		body["@odata.nextLink"] = next
	} else {
		body["@odata.deltaLink"] = fresh + "?$deltatoken=" + s.encodeToken(tokUsersDelta,
			[]uint64{gen, uint64(unixSec(rc.now)), seq}, strings.Join(sel, ","))
	}
	writeJSON(w, http.StatusOK, body)
}
