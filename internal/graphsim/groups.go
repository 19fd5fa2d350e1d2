package graphsim

import (
	"net/http"
	"strconv"
	"strings"
)

// Groups (https://learn.microsoft.com/graph/api/group-list, group-get, group-list-members,
// group-delta): Microsoft 365 groups with user members, paging with $top (default 100, max
// 999) and $skiptoken, $select, the users' $filter subset over displayName, mail,
// mailNickname, description and id, and /groups/delta ($deltatoken, $skiptoken, latest).
// Directory objects: not charged against any throttling budget.

type group struct {
	id          string
	displayName string
	description string
	nickname    string
	unified     bool
	security    bool
	members     []*user
	created     uint32
	seq         uint32
}

var groupFilterProps = map[string]func(*group) string{
	"id":           func(g *group) string { return g.id },
	"displayname":  func(g *group) string { return g.displayName },
	"description":  func(g *group) string { return g.description },
	"mailnickname": func(g *group) string { return g.nickname },
	"mail":         func(g *group) string { return g.mail() },
}

func (g *group) mail() string {
	if !g.unified {
		return ""
	}
	return g.nickname + "@" + seedDomain
}

func (t *tenant) addGroup(display, desc, nick string, unified bool, now uint32) *group {
	g := &group{id: t.ids.guid("group", strings.ToLower(nick)), displayName: display, description: desc,
		nickname: nick, unified: unified, security: !unified, created: now}
	t.groups = append(t.groups, g)
	t.touchGroup(g)
	return g
}

func (t *tenant) touchGroup(g *group) {
	t.groupsSeq++
	g.seq = t.groupsSeq
}

func (t *tenant) groupByID(id string) *group {
	for _, g := range t.groups {
		if strings.EqualFold(g.id, id) {
			return g
		}
	}
	return nil
}

func (t *tenant) groupByName(name string) *group {
	for _, g := range t.groups {
		if strings.EqualFold(g.displayName, name) || strings.EqualFold(g.id, name) || strings.EqualFold(g.nickname, name) {
			return g
		}
	}
	return nil
}

// seedGroups adds "All Staff" (every person), "Sales Team" and "Legal Hold" (by department),
// then project groups with a few members each.
func (t *tenant) seedGroups(n int) {
	now := unixSec(seedEpoch) - 300*86400
	var people []*user
	for _, u := range t.users {
		if u.kind == mbxUser {
			people = append(people, u)
		}
	}
	defs := []struct {
		display, desc, nick string
		unified             bool
		member              func(i int, u *user) bool
	}{
		{"All Staff", "Everyone at Contoso", "allstaff", true, func(int, *user) bool { return true }},
		{"Sales Team", "Sales and account management", "salesteam", true, func(i int, u *user) bool { return u.department == "Sales" || i%4 == 1 }},
		{"Legal Hold", "Custodians under litigation hold", "legalhold", false, func(i int, u *user) bool { return u.department == "Legal" || i == 1 }},
		{"Project Alpha", "Project Alpha team", "projectalpha", true, func(i int, u *user) bool { return i%3 == 0 }},
		{"Engineering", "Engineering department", "engineering", true, func(i int, u *user) bool { return u.department == "Engineering" }},
		{"Finance", "Finance department", "finance", false, func(i int, u *user) bool { return u.department == "Finance" }},
	}
	for i := range n {
		d := defs[i%len(defs)]
		nick := d.nick
		if i >= len(defs) {
			nick += strconv.Itoa(i / len(defs))
		}
		g := t.addGroup(d.display, d.desc, nick, d.unified, now)
		for j, u := range people {
			if d.member(j, u) {
				g.members = append(g.members, u)
			}
		}
	}
}

func groupProps(g *group) map[string]any {
	types := []string{}
	if g.unified {
		types = []string{"Unified"}
	}
	var mail any
	if m := g.mail(); m != "" {
		mail = m
	}
	return map[string]any{
		"id":              g.id,
		"displayName":     g.displayName,
		"description":     g.description,
		"mail":            mail,
		"mailEnabled":     g.unified,
		"mailNickname":    g.nickname,
		"securityEnabled": g.security,
		"groupTypes":      types,
		"visibility":      "Private",
		"createdDateTime": isoTime(g.created),
		"proxyAddresses":  []string{},
	}
}

func projectMap(all map[string]any, sel []string, typ string) (map[string]any, *apiError) {
	if len(sel) == 0 {
		return all, nil
	}
	out := make(map[string]any, len(sel)+1)
	for _, f := range sel {
		found := false
		for k, v := range all {
			if strings.EqualFold(k, f) {
				out[k], found = v, true
			}
		}
		if !found {
			return nil, newAPIError(http.StatusBadRequest, "Request_BadRequest",
				"Could not find a property named '"+f+"' on type 'microsoft.graph."+typ+"'.")
		}
	}
	return out, nil
}

func parsePage(r *http.Request, def int) (int, *apiError) {
	top := def
	if t := r.URL.Query().Get("$top"); t != "" {
		v, err := strconv.Atoi(t)
		if err != nil || v < 1 || v > usersMaxPage {
			return 0, newAPIError(http.StatusBadRequest, "Request_UnsupportedQuery",
				"Invalid page size specified: '"+t+"'. Must be between 1 and 999 inclusive.")
		}
		top = v
	}
	return top, nil
}

func (s *Server) serveGroupsList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	base := requestBase(r)
	q := r.URL.Query()
	sel := parseSelect(r)
	filter := q.Get("$filter")
	top, e := parsePage(r, usersDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
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
	var keep pred[*group]
	if filter != "" {
		unifiedOnly := strings.Contains(strings.ReplaceAll(filter, " ", ""), "groupTypes/any(c:ceq'Unified')")
		if unifiedOnly {
			keep = func(g *group) bool { return g.unified }
		} else if keep, e = parseFilter(filter, groupFilterProps); e != nil {
			writeAPIError(w, rc, e)
			return
		}
	}
	s.t.mu.RLock()
	var matched []*group
	for _, g := range s.t.groups {
		if keep == nil || keep(g) {
			matched = append(matched, g)
		}
	}
	end := min(len(matched), offset+top)
	vals := make([]any, 0, max(0, end-offset))
	for _, g := range matched[min(offset, end):end] {
		var m map[string]any
		if m, e = projectMap(groupProps(g), sel, "group"); e != nil {
			break
		}
		vals = append(vals, m)
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	body := map[string]any{"@odata.context": base + "/v1.0/$metadata#groups", "value": vals}
	if strings.EqualFold(q.Get("$count"), "true") {
		body["@odata.count"] = len(matched)
	}
	if end < len(matched) {
		tok := s.encodeToken(tokSkip, []uint64{uint64(end), uint64(top)}, filter+"\x00"+strings.Join(sel, ","))
		body["@odata.nextLink"] = base + "/v1.0/groups?$skiptoken=" + tok
	}
	writeJSON(w, http.StatusOK, body)
}

func groupNotFound(id string) *apiError {
	return newAPIError(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

func (s *Server) serveGroup(w http.ResponseWriter, r *http.Request, rc *reqCtx, id string) {
	s.t.mu.RLock()
	g := s.t.groupByID(id)
	var body map[string]any
	e := groupNotFound(id)
	if g != nil {
		body, e = projectMap(groupProps(g), parseSelect(r), "group")
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	body["@odata.context"] = requestBase(r) + "/v1.0/$metadata#groups/$entity"
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) serveGroupMembers(w http.ResponseWriter, r *http.Request, rc *reqCtx, id string) {
	base := requestBase(r)
	sel := parseSelect(r)
	top, e := parsePage(r, usersDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	offset := 0
	if st := r.URL.Query().Get("$skiptoken"); st != "" {
		nums, str, ok := s.decodeToken(st, tokSkip)
		if !ok || len(nums) < 2 {
			writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "Request_BadRequest", "Invalid $skiptoken."))
			return
		}
		offset, top, sel = int(nums[0]), int(nums[1]), splitSel(str)
	}
	s.t.mu.RLock()
	g := s.t.groupByID(id)
	if g == nil {
		s.t.mu.RUnlock()
		writeAPIError(w, rc, groupNotFound(id))
		return
	}
	end := min(len(g.members), offset+top)
	vals := make([]any, 0, max(0, end-offset))
	for _, u := range g.members[min(offset, end):end] {
		var m map[string]any
		if m, e = projectUser(u, sel); e != nil {
			break
		}
		m["@odata.type"] = "#microsoft.graph.user"
		vals = append(vals, m)
	}
	n := len(g.members)
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	body := map[string]any{"@odata.context": base + "/v1.0/$metadata#directoryObjects", "value": vals}
	if end < n {
		body["@odata.nextLink"] = base + "/v1.0/groups/" + g.id + "/members?$skiptoken=" +
			s.encodeToken(tokSkip, []uint64{uint64(end), uint64(top)}, strings.Join(sel, ","))
	}
	writeJSON(w, http.StatusOK, body)
}

// serveGroupsDelta mirrors users/delta: changed groups since the token, 7-day tokens.
func (s *Server) serveGroupsDelta(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	base := requestBase(r)
	q := r.URL.Query()
	sel := parseSelect(r)
	fresh := base + "/v1.0/groups/delta()"
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	gen, seq := uint64(s.t.groupsGen), uint64(s.t.groupsSeq)
	var since, offset uint64
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
	link := func(n uint64) string {
		return fresh + "?$deltatoken=" + s.encodeToken(tokGroupsDelta, []uint64{gen, uint64(unixSec(rc.now)), n}, strings.Join(sel, ","))
	}
	var e *apiError
	switch dt, st := q.Get("$deltatoken"), q.Get("$skiptoken"); {
	case dt == "latest":
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": base + "/v1.0/$metadata#groups", "value": []any{}, "@odata.deltaLink": link(seq)})
		return
	case dt != "":
		var nums []uint64
		if nums, e = check(dt, tokGroupsDelta, 3); e == nil {
			since = nums[2]
		}
	case st != "":
		var nums []uint64
		if nums, e = check(st, tokGroupsNext, 5); e == nil {
			since, seq, offset = nums[2], nums[3], nums[4]
		}
	}
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	var changed []*group
	for _, g := range s.t.groups {
		if uint64(g.seq) > since {
			changed = append(changed, g)
		}
	}
	end := min(len(changed), int(offset)+usersDefaultPage)
	vals := []any{}
	for _, g := range changed[min(int(offset), end):end] {
		m, e := projectMap(groupProps(g), sel, "group")
		if e != nil {
			writeAPIError(w, rc, e)
			return
		}
		vals = append(vals, m)
	}
	body := map[string]any{"@odata.context": base + "/v1.0/$metadata#groups", "value": vals}
	if end < len(changed) {
		body["@odata.nextLink"] = fresh + "?$skiptoken=" + s.encodeToken(tokGroupsNext,
			[]uint64{gen, uint64(unixSec(rc.now)), since, seq, uint64(end)}, strings.Join(sel, ","))
	} else {
		body["@odata.deltaLink"] = link(seq)
	}
	writeJSON(w, http.StatusOK, body)
}
