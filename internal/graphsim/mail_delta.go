package graphsim

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Outlook delta queries (https://learn.microsoft.com/graph/delta-query-messages,
// api/message-delta, mailfolder-delta, contact-delta, contactfolder-delta, event-delta):
//
//   - the first call without a token enumerates; later calls follow @odata.nextLink
//     ($skiptoken) until an @odata.deltaLink ($deltatoken); links are on this server and use
//     the service's mailFolders('<id>') form;
//   - Prefer: odata.maxpagesize=N (or $top) sets the page size (default 10, at most 1000) and
//     is echoed in Preference-Applied; $select is kept in the tokens;
//   - an incremental round reports removed items first, as
//     {"@odata.type":"#microsoft.graph.message","id":…,"@removed":{"reason":"deleted"}} (a
//     message moved out of the folder is "deleted" from that folder), then new and changed
//     items in their current state;
//   - a walk only reports changes made before it started; later ones come in the next round;
//   - tokens minted before an invalidation (admin API), older than DeltaTokenMaxAge, or from a
//     previous run get 410 Gone, code SyncStateNotFound (or the code given to the
//     invalidation), with a Location header that starts a full sync. The service documents
//     Outlook token expiry as "a 40X-series error with error codes such as syncStateNotFound",
//     and 410 with Location for resets.

const (
	deltaMessages uint64 = iota + 1
	deltaMailFolders
	deltaContacts
	deltaContactFolders
	deltaCalendarView
)

const outlookDeltaDefaultPage = 10

// odState is the position of an Outlook delta walk.
type odState struct {
	what, container uint64
	since, upto     uint32
	phase           int   // 0: removals, 1: items
	cursor          int64 // last key reported in the phase
	page            int
	sel             string
	extra           [2]int64 // calendarView: start and end (unix seconds)
}

// outlookPage reads Prefer: odata.maxpagesize and $top.
func outlookPage(r *http.Request, def int) (int, bool) {
	n, explicit := def, false
	if t := r.URL.Query().Get("$top"); t != "" {
		if v, err := strconv.Atoi(t); err == nil && v > 0 {
			n, explicit = v, true
		}
	}
	for _, p := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(p, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.EqualFold(k, "odata.maxpagesize") {
				if m, err := strconv.Atoi(strings.Trim(v, `"`)); err == nil && m > 0 {
					n, explicit = m, true
				}
			}
		}
	}
	return min(n, mailMaxPage), explicit
}

func (s *Server) encodeOD(kind byte, mb *mailbox, st *odState, now time.Time) string {
	return s.encodeToken(kind, []uint64{st.what, uint64(mb.no), uint64(mb.tokenGen), uint64(unixSec(now)), st.container,
		uint64(st.since), uint64(st.upto), uint64(st.phase), uint64(st.cursor + 1), uint64(st.page),
		uint64(st.extra[0]), uint64(st.extra[1])}, st.sel)
}

func (s *Server) syncStateError(mb *mailbox, fresh string) *apiError {
	code := mb.resyncCode
	if code == "" {
		code = "SyncStateNotFound"
	}
	return newAPIError(http.StatusGone, code, "The sync state is not found. The delta token has expired or is no longer valid; start a full synchronization again.").
		withInner(code).withHeader("Location", fresh)
}

// decodeOD reads $deltatoken/$skiptoken into st (caller holds the lock). It reports whether a
// token was given.
func (s *Server) decodeOD(r *http.Request, rc *reqCtx, mb *mailbox, st *odState, fresh string) (bool, *apiError) {
	q := r.URL.Query()
	dt, sk := q.Get("$deltatoken"), q.Get("$skiptoken")
	tok, kind := dt, tokOutlookDelta
	if sk != "" {
		tok, kind = sk, tokOutlookNext
	}
	if tok == "" {
		return false, nil
	}
	nums, sel, ok := s.decodeToken(tok, kind)
	if !ok || len(nums) < 12 {
		return true, s.syncStateError(mb, fresh)
	}
	if nums[0] != st.what || int32(nums[1]) != mb.no || nums[4] != st.container {
		return true, errBadRequest("The state token does not belong to this collection.")
	}
	if uint32(nums[2]) != mb.tokenGen || rc.now.Sub(fromUnix(uint32(nums[3]))) > s.opts.DeltaTokenMaxAge {
		return true, s.syncStateError(mb, fresh)
	}
	if st.sel == "" {
		st.sel = sel
	}
	st.since, st.upto = uint32(nums[5]), uint32(nums[6])
	st.phase, st.cursor = int(nums[7]), int64(nums[8])-1
	if _, explicit := outlookPage(r, 0); !explicit {
		st.page = int(nums[9])
	}
	st.extra = [2]int64{int64(nums[10]), int64(nums[11])}
	if kind == tokOutlookDelta {
		// A new round: everything changed since the last one ended.
		st.since, st.upto, st.phase, st.cursor = st.upto, mb.seq, 0, -1
	}
	return true, nil
}

// dEntry is one candidate of a delta page, ordered by key within its phase.
type dEntry struct {
	key int64
	idx int32
	day int32
	rm  bool // a removal
}

// pageEntries takes up to st.page entries from the removals and then the items after the
// cursor, advancing st; more reports whether entries remain.
func pageEntries(rem, items []dEntry, st *odState) (out []dEntry, more bool) {
	for st.phase <= 1 {
		list := rem
		if st.phase == 1 {
			list = items
		}
		i := sort.Search(len(list), func(i int) bool { return list[i].key > st.cursor })
		for ; i < len(list); i++ {
			if len(out) == st.page {
				return out, true
			}
			out = append(out, list[i])
			st.cursor = list[i].key
		}
		if st.phase == 1 {
			break
		}
		st.phase, st.cursor = 1, -1
	}
	return out, false
}

func removedJSON(typ, id string) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph." + typ, "id": id, "@removed": map[string]any{"reason": "deleted"}}
}

// writeDeltaPage finishes a delta response.
func (s *Server) writeDeltaPage(w http.ResponseWriter, r *http.Request, rc *reqCtx, mb *mailbox, st *odState, link string, ctx string, vals []any, more bool) {
	if vals == nil {
		vals = []any{}
	}
	body := map[string]any{"@odata.context": ctx, "value": vals}
	if more {
		body["@odata.nextLink"] = link + "?$skiptoken=" + s.encodeOD(tokOutlookNext, mb, st, rc.now)
	} else {
		done := *st
		done.since = st.upto
		body["@odata.deltaLink"] = link + "?$deltatoken=" + s.encodeOD(tokOutlookDelta, mb, &done, rc.now)
	}
	if _, explicit := outlookPage(r, 0); explicit {
		w.Header().Add("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(st.page))
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) serveMessageDelta(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	base := requestBase(r)
	mb := q.mb
	page, _ := outlookPage(r, outlookDeltaDefaultPage)
	st := odState{what: deltaMessages, page: page, sel: strings.Join(parseSelect(r), ","), cursor: -1}
	s.t.mu.RLock()
	f, e := s.resolveFolder(mb, q.segs[1])
	var link string
	var snaps []msgSnap
	var removed []string
	more := false
	if e == nil {
		st.container = uint64(f)
		link = base + "/v1.0/users/" + url.PathEscape(q.user.id) + "/mailFolders('" + s.folderID(mb, f) + "')/messages/delta"
		var fromToken bool
		if fromToken, e = s.decodeOD(r, rc, mb, &st, link); e == nil && !fromToken {
			st.since, st.upto, st.phase = 0, mb.seq, 1
		}
	}
	if e == nil {
		var rem, items []dEntry
		if st.since > 0 {
			for i, x := range mb.removed {
				if x.folder == f && x.seq > st.since && x.seq <= st.upto {
					rem = append(rem, dEntry{key: int64(i), idx: x.msg, rm: true})
				}
			}
		}
		for _, i := range mb.folders[f].msgs {
			if sq := mb.msg(i).seq; sq > st.since && sq <= st.upto {
				items = append(items, dEntry{key: int64(i), idx: i})
			}
		}
		var out []dEntry
		out, more = pageEntries(rem, items, &st)
		for _, d := range out {
			if d.rm {
				removed = append(removed, s.messageID(mb, d.idx))
			} else {
				snaps = append(snaps, s.snapMsg(mb, d.idx))
			}
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	o := msgOpts{sel: splitSel(st.sel), textBody: preferText(r)}
	preferTextApplied(w, o)
	vals := make([]any, 0, len(removed)+len(snaps))
	for _, id := range removed {
		vals = append(vals, removedJSON("message", id))
	}
	for i := range snaps {
		vals = append(vals, s.messageJSON(base, &snaps[i], s.content(&snaps[i]), o))
	}
	s.writeDeltaPage(w, r, rc, mb, &st, link, base+"/v1.0/$metadata#Collection(message)", vals, more)
}

func (s *Server) serveFolderDelta(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	base := requestBase(r)
	mb := q.mb
	page, _ := outlookPage(r, outlookDeltaDefaultPage)
	st := odState{what: deltaMailFolders, page: page, sel: strings.Join(parseSelect(r), ","), cursor: -1}
	link := base + "/v1.0/users/" + url.PathEscape(q.user.id) + "/mailFolders/delta"
	s.t.mu.RLock()
	fromToken, e := s.decodeOD(r, rc, mb, &st, link)
	if e == nil && !fromToken {
		st.since, st.upto, st.phase = 0, mb.seq, 1
	}
	var vals []any
	more := false
	if e == nil {
		var rem, items []dEntry
		for i, fo := range mb.folders {
			switch {
			case fo.seq <= st.since || fo.seq > st.upto:
			case fo.deleted:
				if st.since > 0 {
					rem = append(rem, dEntry{key: int64(i), idx: int32(i), rm: true})
				}
			case mb.visibleFolder(int32(i)):
				items = append(items, dEntry{key: int64(i), idx: int32(i)})
			}
		}
		var out []dEntry
		out, more = pageEntries(rem, items, &st)
		sel := splitSel(st.sel)
		for _, d := range out {
			if d.rm {
				vals = append(vals, removedJSON("mailFolder", s.folderID(mb, d.idx)))
				continue
			}
			vals = append(vals, projectOutlook(s.folderJSON(mb, d.idx), sel))
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	s.writeDeltaPage(w, r, rc, mb, &st, link, base+"/v1.0/$metadata#Collection(mailFolder)", vals, more)
}
