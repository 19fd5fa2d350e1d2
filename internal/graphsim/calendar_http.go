package graphsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Calendar handlers (https://learn.microsoft.com/graph/api/resources/calendar, event,
// calendar-list-calendarview, event-delta, event-list-instances): calendars (list, get,
// create, rename, delete), events (list series masters and single instances, get, create with
// recurrence, update — on an occurrence it makes an exception —, delete — on an occurrence it
// cancels it), instances, calendarView and calendarView/delta (startDateTime and endDateTime
// required; occurrences and exceptions expanded; a cancelled occurrence or a deleted event
// comes back as @removed), and event attachments.
//
// Times are given in UTC unless Prefer: outlook.timezone="…" names another zone; all-day
// events keep their dates. originalStartTimeZone / originalEndTimeZone tell the zones an event
// was created in.

type evRef struct {
	holder int32 // the event record with the content (master for plain occurrences)
	master int32 // -1 unless an occurrence or exception
	day    int32 // occurrence day, -1 otherwise
}

func (s *Server) eventID(mb *mailbox, i int32) string {
	ev := mb.events[i]
	if ev.master >= 0 {
		return s.t.ids.restID(oid{mbx: mb.no, kind: oidOccurrence, a: uint32(ev.master), b: uint32(ev.origDay)})
	}
	return s.t.ids.restID(oid{mbx: mb.no, kind: oidEvent, a: uint32(i)})
}

func (s *Server) occurrenceID(mb *mailbox, master, day int32) string {
	return s.t.ids.restID(oid{mbx: mb.no, kind: oidOccurrence, a: uint32(master), b: uint32(day)})
}

func (s *Server) calendarID(mb *mailbox, c int32) string {
	return s.t.ids.restID(oid{mbx: mb.no, kind: oidCalendar, a: uint32(c)})
}

// resolveEvent finds an event, occurrence or exception; caller holds the lock.
func (s *Server) resolveEvent(mb *mailbox, key string) (int32, evRef, *apiError) {
	o, ok := s.t.ids.parseRestID(key)
	if !ok {
		return -1, evRef{}, errInvalidID()
	}
	if o.mbx != mb.no {
		return -1, evRef{}, errItemNotFound()
	}
	switch o.kind {
	case oidEvent:
		i := int32(o.a)
		if !mb.liveEvent(i) || mb.events[i].master >= 0 {
			return -1, evRef{}, errItemNotFound()
		}
		return i, evRef{holder: i, master: -1, day: -1}, nil
	case oidOccurrence:
		m, day := int32(o.a), int32(o.b)
		if !mb.liveEvent(m) || mb.events[m].c.recurrence == nil {
			return -1, evRef{}, errItemNotFound()
		}
		if !slices.Contains(mb.occurrenceDaysOf(m, day+1), day) {
			return -1, evRef{}, errItemNotFound()
		}
		ref := evRef{holder: m, master: m, day: day}
		if x := mb.exceptionOf(m, day); x >= 0 {
			ref.holder = x
		}
		return ref.holder, ref, nil
	}
	return -1, evRef{}, errItemNotFound()
}

func (s *Server) resolveCalendar(mb *mailbox, key string) (int32, *apiError) {
	if key == "" || strings.EqualFold(key, "calendar") {
		if c := mb.defaultCalendar(); c >= 0 {
			return c, nil
		}
		return -1, errItemNotFound()
	}
	o, ok := s.t.ids.parseRestID(key)
	return liveIndex(o, ok, mb, oidCalendar, mb.liveCalendar)
}

// outputTZ reads Prefer: outlook.timezone (default UTC).
func outputTZ(r *http.Request) string {
	for _, p := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(p, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.EqualFold(k, "outlook.timezone") {
				if tz := strings.Trim(v, `"`); knownTZ(tz) {
					return tz
				}
			}
		}
	}
	return "UTC"
}

func dateTimeTZ(instantOrWall time.Time, allDay bool, tz string) map[string]any {
	t := instantOrWall
	if !allDay {
		t = instantOrWall.In(tzLocation(tz))
	}
	return map[string]any{"dateTime": graphDateTime(t), "timeZone": tz}
}

func recurrenceJSON(rc *recurrence) any {
	if rc == nil {
		return nil
	}
	days := rc.daysOfWeek
	if days == nil {
		days = []string{}
	}
	end := "0001-01-01"
	if rc.rtype == "endDate" {
		end = rc.endDate.Format("2006-01-02")
	}
	fd := rc.firstDay
	if fd == "" {
		fd = "sunday"
	}
	idx := rc.index
	if idx == "" {
		idx = "first"
	}
	return map[string]any{
		"pattern": map[string]any{"type": rc.ptype, "interval": max(1, rc.interval), "month": rc.month, "dayOfMonth": rc.dayOfMonth,
			"daysOfWeek": days, "firstDayOfWeek": fd, "index": idx},
		"range": map[string]any{"type": rc.rtype, "startDate": rc.startDate.Format("2006-01-02"), "endDate": end,
			"recurrenceTimeZone": rc.tz, "numberOfOccurrences": rc.count},
	}
}

func attendeesJSON(as []attendee) []any {
	out := make([]any, 0, len(as))
	for _, a := range as {
		resp := a.response
		if resp == "" {
			resp = "none"
		}
		out = append(out, map[string]any{"type": a.kind, "status": map[string]any{"response": resp, "time": "0001-01-01T00:00:00Z"},
			"emailAddress": map[string]any{"name": a.name, "address": a.email}})
	}
	return out
}

// eventContentJSON renders the content-only part of an event.
func (s *Server) eventContentJSON(c *eventContent, tz string) map[string]any {
	st, en := eventSpan(c, -1)
	cats := c.categories
	if cats == nil {
		cats = []string{}
	}
	showAs, imp, sens := c.showAs, c.importance, c.sensitivity
	if showAs == "" {
		showAs = "busy"
	}
	if imp == "" {
		imp = "normal"
	}
	if sens == "" {
		sens = "normal"
	}
	return map[string]any{
		"subject":                    c.subject,
		"bodyPreview":                (&msgContent{html: c.body}).preview(),
		"body":                       map[string]any{"contentType": "html", "content": c.body},
		"start":                      dateTimeTZ(st, c.allDay, tz),
		"end":                        dateTimeTZ(en, c.allDay, tz),
		"originalStartTimeZone":      c.startTZ,
		"originalEndTimeZone":        c.endTZ,
		"isAllDay":                   c.allDay,
		"isCancelled":                c.isCancelled,
		"iCalUId":                    c.uid,
		"uid":                        c.uid,
		"showAs":                     showAs,
		"importance":                 imp,
		"sensitivity":                sens,
		"categories":                 cats,
		"location":                   map[string]any{"displayName": c.location, "locationType": "default", "uniqueIdType": "unknown"},
		"locations":                  []any{},
		"attendees":                  attendeesJSON(c.attendees),
		"organizer":                  emailAddr(c.organizer),
		"recurrence":                 recurrenceJSON(c.recurrence),
		"hasAttachments":             len(c.atts) > 0,
		"reminderMinutesBeforeStart": c.reminder,
		"isReminderOn":               c.reminder > 0,
		"isOnlineMeeting":            false,
		"onlineMeetingProvider":      "unknown",
		"onlineMeeting":              nil,
		"allowNewTimeProposals":      true,
		"isDraft":                    false,
		"hideAttendees":              false,
		"responseRequested":          true,
	}
}

// eventSnap is an event (or an occurrence) copied out under the lock.
type eventSnap struct {
	id, masterID string
	ev           event
	c            *eventContent
	typ          string
	day          int32
	start, end   time.Time // instants (all-day: wall dates)
	origStart    time.Time // occurrences and exceptions: where the series put them
	calID        string
	ownerMail    string
	ck           string
}

func (s *Server) snapEvent(mb *mailbox, ref evRef) eventSnap {
	ev := mb.events[ref.holder]
	sn := eventSnap{ev: *ev, c: ev.c, day: ref.day, calID: s.calendarID(mb, ev.cal), ownerMail: mb.owner.mail}
	seq := ev.seq
	switch {
	case ref.master < 0 && ev.c.recurrence != nil:
		sn.typ, sn.id = "seriesMaster", s.eventID(mb, ref.holder)
		sn.start, sn.end = eventSpan(ev.c, -1)
	case ref.master < 0:
		sn.typ, sn.id = "singleInstance", s.eventID(mb, ref.holder)
		sn.start, sn.end = eventSpan(ev.c, -1)
	default:
		sn.id, sn.masterID = s.occurrenceID(mb, ref.master, ref.day), s.eventID(mb, ref.master)
		seq = max(seq, mb.events[ref.master].seq)
		sn.origStart, _ = eventSpan(mb.events[ref.master].c, ref.day)
		if ref.holder != ref.master {
			sn.typ = "exception"
			sn.start, sn.end = eventSpan(ev.c, -1)
		} else {
			sn.typ = "occurrence"
			sn.start, sn.end = eventSpan(ev.c, ref.day)
		}
	}
	sn.ck = s.t.ids.changeKey(oid{mbx: mb.no, kind: oidEvent, a: uint32(ref.holder), b: uint32(ref.day + 1)}, seq)
	return sn
}

func (s *Server) eventJSON(sn *eventSnap, tz string) map[string]any {
	j := s.eventContentJSON(sn.c, tz)
	j["@odata.type"] = "#microsoft.graph.event"
	j["@odata.etag"] = etagOf(sn.ck)
	j["id"] = sn.id
	j["changeKey"] = sn.ck
	j["createdDateTime"] = isoTime(sn.ev.created)
	j["lastModifiedDateTime"] = isoTime(sn.ev.modified)
	j["type"] = sn.typ
	j["start"] = dateTimeTZ(sn.start, sn.c.allDay, tz)
	j["end"] = dateTimeTZ(sn.end, sn.c.allDay, tz)
	j["seriesMasterId"] = nil
	j["transactionId"] = nil
	j["occurrenceId"] = nil
	j["webLink"] = "https://outlook.office365.com/owa/?itemid=" + url.QueryEscape(sn.id) + "&exvsurl=1&path=/calendar/item"
	j["onlineMeetingUrl"] = nil
	isOrg := strings.EqualFold(sn.c.organizer.email, sn.ownerMail)
	j["isOrganizer"] = isOrg
	resp := "none"
	if isOrg {
		resp = "organizer"
	}
	j["responseStatus"] = map[string]any{"response": resp, "time": "0001-01-01T00:00:00Z"}
	if sn.masterID != "" {
		j["seriesMasterId"] = sn.masterID
		j["recurrence"] = nil
		j["originalStart"] = isoUTC(sn.origStart)
	}
	return j
}

func (s *Server) calendarJSON(mb *mailbox, i int32) map[string]any {
	c := mb.calendars[i]
	return map[string]any{
		"id":                            s.calendarID(mb, i),
		"name":                          c.name,
		"color":                         c.color,
		"hexColor":                      "",
		"isDefaultCalendar":             c.isDefault,
		"changeKey":                     s.t.ids.changeKey(oid{mbx: mb.no, kind: oidCalendar, a: uint32(i)}, c.seq),
		"canShare":                      true,
		"canViewPrivateItems":           true,
		"canEdit":                       true,
		"allowedOnlineMeetingProviders": []string{"teamsForBusiness"},
		"defaultOnlineMeetingProvider":  "teamsForBusiness",
		"isTallyingResponses":           true,
		"isRemovable":                   !c.isDefault,
		"owner":                         map[string]any{"name": mb.owner.displayName, "address": mb.owner.mail},
	}
}

func (s *Server) ctxBase(r *http.Request, q *outlookReq) string {
	return requestBase(r) + "/v1.0/$metadata#users('" + url.PathEscape(q.user.id) + "')"
}

// ---- calendars ----

func (s *Server) serveCalendarList(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	top, skip, e := pageParams(r, mailDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.RLock()
	var live []int32
	for i, c := range mb.calendars {
		if !c.deleted {
			live = append(live, int32(i))
		}
	}
	n := len(live)
	var vals []any
	for _, i := range live[min(skip, n):min(n, skip+top)] {
		vals = append(vals, projectOutlook(s.calendarJSON(mb, i), parseSelect(r)))
	}
	s.t.mu.RUnlock()
	next := ""
	if skip+top < n {
		next = nextSkipLink(r, skip+top)
	}
	writeCollection(w, s.ctxBase(r, q)+"/calendars", vals, next)
}

func (s *Server) serveCalendarGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	c, e := s.resolveCalendar(q.mb, q.segs[1])
	var j map[string]any
	if e == nil {
		j = projectOutlook(s.calendarJSON(q.mb, c), parseSelect(r))
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/calendars/$entity", j)
}

func (mb *mailbox) calendarByName(name string) int32 {
	for i, c := range mb.calendars {
		if !c.deleted && strings.EqualFold(c.name, name) {
			return int32(i)
		}
	}
	return -1
}

func (s *Server) serveCalendarCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var body struct {
		Name  string `json:"name"`
		Color string `json:"color"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	if strings.TrimSpace(body.Name) == "" {
		writeAPIError(w, rc, errInvalidRequest("The calendar name is required."))
		return
	}
	if body.Color == "" {
		body.Color = "auto"
	}
	mb := q.mb
	s.t.mu.Lock()
	var j map[string]any
	var e *apiError
	if mb.calendarByName(body.Name) >= 0 {
		e = errFolderExists()
	} else {
		j = s.calendarJSON(mb, mb.addCalendar(body.Name, body.Color, false, unixSec(rc.now)))
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusCreated, s.ctxBase(r, q)+"/calendars/$entity", j)
}

func (s *Server) serveCalendarPatch(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var body struct {
		Name  *string `json:"name"`
		Color *string `json:"color"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	c, e := s.resolveCalendar(mb, q.segs[1])
	var j map[string]any
	if e == nil {
		cal := mb.calendars[c]
		if body.Name != nil {
			if o := mb.calendarByName(*body.Name); o >= 0 && o != c {
				e = errFolderExists()
			} else {
				cal.name = *body.Name
			}
		}
		if body.Color != nil {
			cal.color = *body.Color
		}
		if e == nil {
			cal.seq = mb.bump()
			j = s.calendarJSON(mb, c)
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/calendars/$entity", j)
}

func (mb *mailbox) deleteCalendar(c int32, now uint32) {
	for i, ev := range mb.events {
		if ev.cal == c && !ev.deleted && ev.master < 0 {
			mb.deleteEvent(int32(i), now)
		}
	}
	mb.calendars[c].deleted = true
	mb.calendars[c].seq = mb.bump()
}

func (s *Server) serveCalendarDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	mb := q.mb
	s.t.mu.Lock()
	c, e := s.resolveCalendar(mb, q.segs[1])
	if e == nil {
		if mb.calendars[c].isDefault {
			e = newAPIError(http.StatusBadRequest, "ErrorCannotDeleteObject", "The default calendar cannot be deleted.")
		} else {
			mb.deleteCalendar(c, unixSec(rc.now))
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- events ----

func (s *Server) serveEventList(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	top, skip, e := pageParams(r, mailDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	tz := outputTZ(r)
	s.t.mu.RLock()
	c, e := s.resolveCalendar(mb, q.segs[1])
	var snaps []eventSnap
	n := 0
	if e == nil {
		var list []int32
		for i, ev := range mb.events {
			if !ev.deleted && ev.master < 0 && ev.cal == c {
				list = append(list, int32(i))
			}
		}
		n = len(list)
		for _, i := range list[min(skip, n):min(n, skip+top)] {
			snaps = append(snaps, s.snapEvent(mb, evRef{holder: i, master: -1, day: -1}))
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	vals := make([]any, len(snaps))
	for i := range snaps {
		vals[i] = projectOutlook(s.eventJSON(&snaps[i], tz), parseSelect(r))
	}
	next := ""
	if skip+top < n {
		next = nextSkipLink(r, skip+top)
	}
	s.preferenceTZ(w, tz)
	writeCollection(w, s.ctxBase(r, q)+"/events", vals, next)
}

func (s *Server) preferenceTZ(w http.ResponseWriter, tz string) {
	if tz != "UTC" {
		w.Header().Set("Preference-Applied", `outlook.timezone="`+tz+`"`)
	}
}

func (s *Server) serveEventGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	_, ref, e := s.resolveEvent(q.mb, q.segs[1])
	var sn eventSnap
	if e == nil {
		sn = s.snapEvent(q.mb, ref)
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	tz := outputTZ(r)
	j := projectOutlook(s.eventJSON(&sn, tz), parseSelect(r))
	if strings.Contains(strings.ToLower(r.URL.Query().Get("$expand")), "attachments") {
		j["attachments"] = s.attachmentsJSON(q.mb, oidEventAttachment, ref.holder, sn.c.atts, true)
	}
	s.preferenceTZ(w, tz)
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/events/$entity", j)
}

// timeRange reads startDateTime and endDateTime (both required).
func timeRange(r *http.Request) (time.Time, time.Time, *apiError) {
	q := r.URL.Query()
	sv, ev := q.Get("startDateTime"), q.Get("endDateTime")
	if sv == "" {
		sv = q.Get("startdatetime")
	}
	if ev == "" {
		ev = q.Get("enddatetime")
	}
	if sv == "" || ev == "" {
		return time.Time{}, time.Time{}, newAPIError(http.StatusBadRequest, "ErrorInvalidParameter",
			"This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
	}
	st, ok1 := parseGraphTime(sv)
	en, ok2 := parseGraphTime(ev)
	if !ok1 || !ok2 || !en.After(st) {
		return time.Time{}, time.Time{}, newAPIError(http.StatusBadRequest, "ErrorInvalidParameter", "Invalid StartDateTime or EndDateTime.")
	}
	return st, en, nil
}

func (s *Server) serveCalendarView(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	from, to, e := timeRange(r)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	top, skip, e := pageParams(r, mailDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	tz := outputTZ(r)
	s.t.mu.RLock()
	c, e := s.resolveCalendar(mb, q.segs[1])
	var snaps []eventSnap
	n := 0
	if e == nil {
		view := mb.view(c, from, to)
		n = len(view)
		for _, in := range view[min(skip, n):min(n, skip+top)] {
			snaps = append(snaps, s.snapEvent(mb, evRef{holder: in.ev, master: in.master, day: in.day}))
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	vals := make([]any, len(snaps))
	for i := range snaps {
		vals[i] = projectOutlook(s.eventJSON(&snaps[i], tz), parseSelect(r))
	}
	next := ""
	if skip+top < n {
		next = nextSkipLink(r, skip+top)
	}
	s.preferenceTZ(w, tz)
	writeCollection(w, s.ctxBase(r, q)+"/calendarView", vals, next)
}

func (s *Server) serveEventInstances(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	from, to, e := timeRange(r)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	tz := outputTZ(r)
	s.t.mu.RLock()
	_, ref, e := s.resolveEvent(mb, q.segs[1])
	var snaps []eventSnap
	if e == nil {
		if ref.master >= 0 || mb.events[ref.holder].c.recurrence == nil {
			if ref.master < 0 {
				sn := s.snapEvent(mb, ref)
				if sn.start.Before(to) && sn.end.After(from) {
					snaps = append(snaps, sn)
				}
			}
		} else {
			for _, in := range mb.view(mb.events[ref.holder].cal, from, to) {
				if in.master == ref.holder {
					snaps = append(snaps, s.snapEvent(mb, evRef{holder: in.ev, master: in.master, day: in.day}))
				}
			}
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	vals := make([]any, len(snaps))
	for i := range snaps {
		vals[i] = s.eventJSON(&snaps[i], tz)
	}
	writeCollection(w, s.ctxBase(r, q)+"/events('"+q.segs[1]+"')/instances", vals, "")
}

// serveCalendarViewDelta: instances in the token's window, removals first.
func (s *Server) serveCalendarViewDelta(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	base := requestBase(r)
	mb := q.mb
	tz := outputTZ(r)
	page, _ := outlookPage(r, outlookDeltaDefaultPage)
	st := odState{what: deltaCalendarView, page: page, cursor: -1}
	s.t.mu.RLock()
	c, e := s.resolveCalendar(mb, q.segs[1])
	var link string
	var snaps []eventSnap
	var removed []string
	more := false
	if e == nil {
		st.container = uint64(c)
		link = base + "/v1.0/users/" + url.PathEscape(q.user.id) + "/calendars('" + s.calendarID(mb, c) + "')/calendarView/delta"
		var fromToken bool
		if fromToken, e = s.decodeOD(r, rc, mb, &st, link); e == nil && !fromToken {
			var from, to time.Time
			if from, to, e = timeRange(r); e == nil {
				st.since, st.upto, st.phase = 0, mb.seq, 1
				st.extra = [2]int64{from.Unix(), to.Unix()}
			}
		}
	}
	if e == nil {
		from, to := time.Unix(st.extra[0], 0).UTC(), time.Unix(st.extra[1], 0).UTC()
		var rem, items []dEntry
		if st.since > 0 {
			for i, x := range mb.evRemoved {
				if x.seq <= st.since || x.seq > st.upto || mb.events[x.ev].cal != c {
					continue
				}
				switch {
				case x.day >= 0:
					rem = append(rem, dEntry{key: int64(i) << 21, idx: x.ev, day: x.day, rm: true})
				case mb.events[x.ev].c.recurrence == nil:
					rem = append(rem, dEntry{key: int64(i) << 21, idx: x.ev, day: -1, rm: true})
				default:
					days := mb.events[x.ev].c.recurrence.occurrenceDays(dayNumber(to)+2, 5000)
					for k, d := range days {
						if slices.Contains(mb.events[x.ev].cancelled, d) {
							continue
						}
						s0, e0 := eventSpan(mb.events[x.ev].c, d)
						if s0.Before(to) && e0.After(from) {
							rem = append(rem, dEntry{key: int64(i)<<21 | int64(k+1), idx: x.ev, day: d, rm: true})
						}
					}
				}
			}
		}
		for _, in := range mb.view(c, from, to) {
			if in.seq > st.since && in.seq <= st.upto {
				key := int64(in.ev)<<21 | int64(in.day+1)
				if in.master >= 0 {
					key = int64(in.master)<<21 | int64(in.day+1)
				}
				items = append(items, dEntry{key: key, idx: in.ev, day: in.day})
			}
		}
		slices.SortFunc(items, func(a, b dEntry) int { return int(a.key - b.key) })
		var out []dEntry
		out, more = pageEntries(rem, items, &st)
		for _, d := range out {
			switch {
			case d.rm && d.day >= 0:
				removed = append(removed, s.occurrenceID(mb, d.idx, d.day))
			case d.rm:
				removed = append(removed, s.eventID(mb, d.idx))
			default:
				ref := evRef{holder: d.idx, master: -1, day: d.day}
				if d.day >= 0 {
					ref.master = int32(d.key >> 21)
				}
				snaps = append(snaps, s.snapEvent(mb, ref))
			}
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	vals := make([]any, 0, len(removed)+len(snaps))
	for _, id := range removed {
		vals = append(vals, removedJSON("event", id))
	}
	for i := range snaps {
		vals = append(vals, s.eventJSON(&snaps[i], tz))
	}
	s.writeDeltaPage(w, r, rc, mb, &st, link, base+"/v1.0/$metadata#Collection(event)", vals, more)
}

// ---- event create / update / delete ----

type dtIn struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type eventInput struct {
	Subject   *string
	Body      *struct{ ContentType, Content string }
	Start     *dtIn
	End       *dtIn
	IsAllDay  *bool
	Location  *struct{ DisplayName string }
	Attendees *[]struct {
		Type         string
		EmailAddress struct{ Name, Address string }
	}
	Organizer   *recipIn
	Categories  *[]string
	ShowAs      *string
	Importance  *string
	Sensitivity *string
	IsCancelled *bool
	Reminder    *int `json:"reminderMinutesBeforeStart"`
	Recurrence  *struct {
		Pattern struct {
			Type           string
			Interval       int
			Month          int
			DayOfMonth     int
			DaysOfWeek     []string
			FirstDayOfWeek string
			Index          string
		}
		Range struct {
			Type                string
			StartDate           string
			EndDate             string
			RecurrenceTimeZone  string
			NumberOfOccurrences int
		}
	}
	Attachments []json.RawMessage
}

func parseDT(d *dtIn) (time.Time, string, *apiError) {
	t, ok := parseGraphTime(strings.TrimSuffix(d.DateTime, "Z"))
	if !ok {
		return time.Time{}, "", errBadRequest("Invalid dateTime '" + d.DateTime + "'.")
	}
	tz := d.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	if !knownTZ(tz) {
		return time.Time{}, "", newAPIError(http.StatusBadRequest, "TimeZoneNotSupportedException", "A valid TimeZone value must be specified. The following TimeZone value is not supported: '"+tz+"'.")
	}
	return localTime(t), tz, nil
}

// apply merges input into content (for create, c starts empty).
func (in *eventInput) apply(c *eventContent, now time.Time) *apiError {
	if in.Subject != nil {
		c.subject = *in.Subject
	}
	if in.Body != nil {
		c.body = in.Body.Content
		if !strings.EqualFold(in.Body.ContentType, "html") {
			c.body = "<html><body><p>" + strings.ReplaceAll(htmlEscape(in.Body.Content), "\n", "<br>") + "</p></body></html>"
		}
	}
	if in.Start != nil {
		t, tz, e := parseDT(in.Start)
		if e != nil {
			return e
		}
		c.start, c.startTZ = t, tz
	}
	if in.End != nil {
		t, tz, e := parseDT(in.End)
		if e != nil {
			return e
		}
		c.end, c.endTZ = t, tz
	}
	if in.IsAllDay != nil {
		c.allDay = *in.IsAllDay
	}
	if in.Location != nil {
		c.location = in.Location.DisplayName
	}
	if in.Attendees != nil {
		c.attendees = nil
		for _, a := range *in.Attendees {
			kind := strings.ToLower(a.Type)
			if kind == "" {
				kind = "required"
			}
			c.attendees = append(c.attendees, attendee{addr: addr{a.EmailAddress.Name, a.EmailAddress.Address}, kind: kind, response: "none"})
		}
	}
	if in.Organizer != nil {
		c.organizer = in.Organizer.addr()
	}
	if in.Categories != nil {
		c.categories = *in.Categories
	}
	if in.ShowAs != nil {
		c.showAs = *in.ShowAs
	}
	if in.Importance != nil {
		c.importance = *in.Importance
	}
	if in.Sensitivity != nil {
		c.sensitivity = *in.Sensitivity
	}
	if in.IsCancelled != nil {
		c.isCancelled = *in.IsCancelled
	}
	if in.Reminder != nil {
		c.reminder = *in.Reminder
	}
	if in.Recurrence != nil {
		p, rg := in.Recurrence.Pattern, in.Recurrence.Range
		switch p.Type {
		case "daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly":
		default:
			return errBadRequest("Invalid recurrence pattern type '" + p.Type + "'.")
		}
		sd, err := time.Parse("2006-01-02", rg.StartDate)
		if err != nil {
			return errBadRequest("The recurrence range needs a startDate (YYYY-MM-DD).")
		}
		rc := &recurrence{ptype: p.Type, interval: max(1, p.Interval), month: p.Month, dayOfMonth: p.DayOfMonth,
			daysOfWeek: p.DaysOfWeek, index: p.Index, firstDay: p.FirstDayOfWeek, rtype: rg.Type, startDate: sd,
			count: rg.NumberOfOccurrences, tz: rg.RecurrenceTimeZone}
		switch rg.Type {
		case "endDate":
			if rc.endDate, err = time.Parse("2006-01-02", rg.EndDate); err != nil {
				return errBadRequest("The recurrence range needs an endDate (YYYY-MM-DD).")
			}
		case "numbered":
			if rc.count < 1 {
				return errBadRequest("The recurrence range needs numberOfOccurrences.")
			}
		case "noEnd":
		default:
			return errBadRequest("Invalid recurrence range type '" + rg.Type + "'.")
		}
		if rc.tz == "" {
			rc.tz = c.startTZ
		}
		c.recurrence = rc
	}
	for _, raw := range in.Attachments {
		a, e := parseAttachment(raw, now, 0)
		if e != nil {
			return e
		}
		a.no = nextOrdinal(c.atts) + 1
		c.atts = append(c.atts, a)
	}
	if c.start.IsZero() || c.end.IsZero() {
		return errBadRequest("An event needs a start and an end.")
	}
	if c.allDay && (c.start.Hour() != 0 || c.start.Minute() != 0 || c.end.Hour() != 0 || c.end.Minute() != 0) {
		return newAPIError(http.StatusBadRequest, "ErrorPropertyValidationFailure", "An all-day event must start and end at midnight.")
	}
	if s0, e0 := eventSpan(c, -1); e0.Before(s0) {
		return newAPIError(http.StatusBadRequest, "ErrorPropertyValidationFailure", "The end of an event cannot be before its start.")
	}
	return nil
}

func parseEventInput(raw json.RawMessage) (*eventContent, *apiError) {
	var in eventInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, errBadRequest("Invalid event: " + err.Error())
	}
	c := &eventContent{showAs: "busy", importance: "normal", sensitivity: "normal", uid: newEventUID()}
	if e := in.apply(c, time.Now().UTC()); e != nil {
		return nil, e
	}
	return c, nil
}

func newEventUID() string {
	id := newMessageID()
	return "040000008200E00074C5B7101A82E00800000000" + strings.Trim(id[1:25], "<>@")
}

func (s *Server) serveEventCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		writeAPIError(w, rc, errBadRequest("Could not read the request body."))
		return
	}
	var in eventInput
	if err := json.Unmarshal(raw, &in); err != nil {
		writeAPIError(w, rc, errBadRequest("Invalid JSON in request body: "+err.Error()))
		return
	}
	mb := q.mb
	c := &eventContent{showAs: "busy", importance: "normal", sensitivity: "normal", reminder: 15, uid: newEventUID(),
		organizer: addr{mb.owner.displayName, mb.owner.mail}}
	if e := in.apply(c, rc.now.UTC()); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	if c.recurrence != nil && c.recurrence.startDate.IsZero() {
		c.recurrence.startDate = dayDate(dayNumber(c.start))
	}
	s.t.mu.Lock()
	cal, e := s.resolveCalendar(mb, q.segs[1])
	var sn eventSnap
	if e == nil {
		i := mb.addEvent(cal, c, unixSec(rc.now))
		sn = s.snapEvent(mb, evRef{holder: i, master: -1, day: -1})
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusCreated, s.ctxBase(r, q)+"/events/$entity", s.eventJSON(&sn, outputTZ(r)))
}

func (s *Server) serveEventPatch(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	var in eventInput
	if e := readJSONBody(r, &in); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	now := unixSec(rc.now)
	s.t.mu.Lock()
	holder, ref, e := s.resolveEvent(mb, q.segs[1])
	var sn eventSnap
	if e == nil {
		cur := mb.events[holder]
		c := *cur.c
		if ref.master >= 0 && holder == ref.master {
			// The first change to an occurrence makes it an exception.
			c.recurrence = nil
			c.start, c.end = shiftToDay(c.start, c.end, ref.day)
			c.atts = nil
		}
		c.atts = append([]*attContent(nil), c.atts...)
		if in.Recurrence != nil && ref.master >= 0 {
			e = errBadRequest("An occurrence cannot have its own recurrence.")
		} else {
			e = in.apply(&c, rc.now.UTC())
		}
		if e == nil {
			if ref.master >= 0 && holder == ref.master {
				x := mb.addEvent(cur.cal, &c, now)
				mb.events[x].master, mb.events[x].origDay = ref.master, ref.day
				mb.touchEvent(ref.master, now)
				ref.holder = x
			} else {
				cur.c = &c
				mb.touchEvent(holder, now)
			}
			sn = s.snapEvent(mb, ref)
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/events/$entity", s.eventJSON(&sn, outputTZ(r)))
}

func shiftToDay(s, e time.Time, day int32) (time.Time, time.Time) {
	shift := dayDate(day).Sub(time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC))
	return s.Add(shift), e.Add(shift)
}

func (s *Server) serveEventDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	mb := q.mb
	s.t.mu.Lock()
	holder, ref, e := s.resolveEvent(mb, q.segs[1])
	if e == nil {
		if ref.master >= 0 {
			mb.cancelOccurrence(ref.master, ref.day, unixSec(rc.now))
		} else {
			mb.deleteEvent(holder, unixSec(rc.now))
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- event attachments ----

func (s *Server) eventAttachment(mb *mailbox, evKey, attKey string) (int32, *eventContent, int, *apiError) {
	holder, _, e := s.resolveEvent(mb, evKey)
	if e != nil {
		return -1, nil, 0, e
	}
	o, ok := s.t.ids.parseRestID(attKey)
	if !ok {
		return -1, nil, 0, errInvalidID()
	}
	if o.kind != oidEventAttachment || o.mbx != mb.no || int32(o.a) != holder {
		return -1, nil, 0, errItemNotFound()
	}
	return holder, mb.events[holder].c, int(o.b), nil
}

func (s *Server) serveEventAttachmentList(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	holder, _, e := s.resolveEvent(q.mb, q.segs[1])
	var c *eventContent
	if e == nil {
		c = q.mb.events[holder].c
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	exp := expandItem(r)
	vals := make([]any, 0, len(c.atts))
	for i, a := range c.atts {
		vals = append(vals, s.attachmentJSON(q.mb, oidEventAttachment, holder, i, a, true, exp))
	}
	writeCollection(w, s.ctxBase(r, q)+"/events('"+q.segs[1]+"')/attachments", vals, "")
}

func (s *Server) serveEventAttachmentGet(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	holder, c, ord, e := s.eventAttachment(q.mb, q.segs[1], q.segs[3])
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	a, pos := findAtt(c.atts, ord)
	if a == nil {
		writeAPIError(w, rc, errItemNotFound())
		return
	}
	writeEntity(w, http.StatusOK, s.ctxBase(r, q)+"/events('"+q.segs[1]+"')/attachments/$entity",
		s.attachmentJSON(q.mb, oidEventAttachment, holder, pos, a, true, expandItem(r)))
}

func (s *Server) serveEventAttachmentValue(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	s.t.mu.RLock()
	_, c, ord, e := s.eventAttachment(q.mb, q.segs[1], q.segs[3])
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	a, _ := findAtt(c.atts, ord)
	if a == nil {
		writeAPIError(w, rc, errItemNotFound())
		return
	}
	s.writeAttachmentValue(w, rc, a)
}

func (s *Server) serveEventAttachmentCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		writeAPIError(w, rc, errBadRequest("Could not read the request body."))
		return
	}
	a, e := parseAttachment(json.RawMessage(raw), rc.now.UTC(), 0)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	holder, _, e := s.resolveEvent(mb, q.segs[1])
	var pos int
	if e == nil {
		ev := mb.events[holder]
		c := *ev.c
		a.no = nextOrdinal(c.atts) + 1
		c.atts = append(append([]*attContent(nil), c.atts...), a)
		pos = len(c.atts) - 1
		ev.c = &c
		mb.touchEvent(holder, unixSec(rc.now))
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusCreated, s.ctxBase(r, q)+"/events('"+q.segs[1]+"')/attachments/$entity",
		s.attachmentJSON(mb, oidEventAttachment, holder, pos, a, false, false))
}

func (s *Server) serveEventAttachmentDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	mb := q.mb
	s.t.mu.Lock()
	holder, c, ord, e := s.eventAttachment(mb, q.segs[1], q.segs[3])
	if e == nil {
		if _, pos := findAtt(c.atts, ord); pos < 0 {
			e = errItemNotFound()
		} else {
			nc := *c
			nc.atts = nil
			for i, a := range c.atts {
				if i != pos {
					cp := *a
					cp.no = attOrdinal(a, i) + 1
					nc.atts = append(nc.atts, &cp)
				}
			}
			mb.events[holder].c = &nc
			mb.touchEvent(holder, unixSec(rc.now))
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
