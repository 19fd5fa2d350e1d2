package graphsim

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Drive delta (https://learn.microsoft.com/graph/api/driveitem-delta), on the root only, as on
// OneDrive for Business:
//
//   - no token: the whole hierarchy, root first, parents before children, no tombstones;
//   - token=latest: an empty page with a deltaLink for "now";
//   - token=<timestamp>: changes since then (OneDrive for Business and SharePoint only);
//   - token=<deltaLink token>: every item changed since, once, in its latest state — deleted
//     ones as {"id","parentReference","deleted":{"state":"deleted"}} — plus, unless the request
//     has the deltaExcludeParent header, the parent folders of changed items.
//
// A page has @odata.nextLink xor @odata.deltaLink. The item list of a walk is fixed when the walk
// starts (kept server-side, so paging never skips an item); items that change mid-walk are
// rendered in their state at page time and reported again by the next delta. Now and then a
// page repeats the previous page's last item, as the service does; clients keep the last.
// Delta items carry no parentReference.path and no cTag, as documented for OneDrive for
// Business.
//
// A token older than DeltaTokenMaxAge, one minted before an invalidation, a walk whose state
// expired, or a token from a previous run is answered 410 Gone, code resyncRequired with the
// OneDrive specifics in innerError.code, and a Location header with a fresh full-sync URL.

const (
	deltaDefaultPage = 200
	deltaMaxPage     = 999
	walkTTL          = time.Hour
	maxWalks         = 1024 // at most ~40 MB of 10,000-item walk lists
)

type walk struct {
	list    []int32
	created time.Time
}

type walkStore struct {
	mu    sync.Mutex
	walks map[uint64]*walk
}

func (ws *walkStore) put(w *walk, now time.Time) uint64 {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.walks == nil {
		ws.walks = map[uint64]*walk{}
	}
	if len(ws.walks) >= maxWalks {
		for id, old := range ws.walks {
			if now.Sub(old.created) > walkTTL || len(ws.walks) >= maxWalks {
				delete(ws.walks, id)
			}
		}
	}
	id := rand.Uint64()
	ws.walks[id] = w
	return id
}

func (ws *walkStore) get(id uint64, now time.Time) *walk {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w := ws.walks[id]
	if w == nil || now.Sub(w.created) > walkTTL {
		return nil
	}
	return w
}

// deltaState is the decoded position of a delta request.
type deltaState struct {
	since  uint32 // report changes after this change number (0 = everything)
	upto   uint32 // the drive's change number when the walk began
	walkID uint64
	offset int
	page   int
	sel    string
}

func pageSize(r *http.Request, def int) int {
	n := def
	if t := r.URL.Query().Get("$top"); t != "" {
		if v, err := strconv.Atoi(t); err == nil && v > 0 {
			n = v
		}
	}
	for _, p := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(p, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.EqualFold(k, "odata.maxpagesize") {
				if m, err := strconv.Atoi(v); err == nil && m > 0 && m < n {
					n = m
				}
			}
		}
	}
	return min(n, deltaMaxPage)
}

func (s *Server) serveDelta(w http.ResponseWriter, r *http.Request, rc *reqCtx, at itemAddr, tok string) {
	base := requestBase(r)
	t := s.t
	t.mu.RLock()
	d, e := s.resolveDrive(at.drive)
	if e == nil {
		var idx int32
		idx, e = s.resolveItem(d, at.item)
		if e == nil && idx != 0 {
			e = errBadRequest("Delta is only supported on the root of a drive in OneDrive for Business and SharePoint.")
		}
	}
	if e != nil {
		t.mu.RUnlock()
		writeAPIError(w, rc, e)
		return
	}
	fresh := base + "/v1.0/drives/" + url.PathEscape(d.id) + "/root/delta"
	resync := func(code string) {
		t.mu.RUnlock()
		writeAPIError(w, rc, newAPIError(http.StatusGone, "resyncRequired",
			"Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd. Upload any local changes that the server doesn't know about.").
			withInner(code).withHeader("Location", fresh))
	}
	st := deltaState{page: pageSize(r, deltaDefaultPage), sel: strings.Join(parseSelect(r), ",")}
	explicitPage := r.URL.Query().Get("$top") != "" || r.Header.Get("Prefer") != ""
	switch {
	case tok == "":
		st.upto = d.seq
	case tok == "latest":
		link := s.driveDeltaLink(base, d, d.seq, st.page, st.sel, rc.now)
		t.mu.RUnlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.context":   base + "/v1.0/$metadata#Collection(driveItem)",
			"value":            []any{},
			"@odata.deltaLink": link,
		})
		return
	default:
		if ts, err := time.Parse(time.RFC3339, tok); err == nil {
			st.since, st.upto = d.seqAt(unixSec(ts)), d.seq
			break
		}
		kind := tokDriveNext
		nums, sel, ok := s.decodeToken(tok, tokDriveNext)
		if !ok {
			kind = tokDriveDelta
			nums, sel, ok = s.decodeToken(tok, tokDriveDelta)
		}
		if !ok || len(nums) < 6 {
			resync("resyncChangesApplyDifferences")
			return
		}
		drv, gen, issued, page := int32(nums[0]), uint32(nums[1]), uint32(nums[2]), int(nums[3])
		if drv != d.no {
			t.mu.RUnlock()
			writeAPIError(w, rc, errBadRequest("The delta token does not belong to this drive."))
			return
		}
		if gen != d.tokenGen {
			resync(d.resyncCode)
			return
		}
		if rc.now.Sub(fromUnix(issued)) > s.opts.DeltaTokenMaxAge {
			resync("resyncChangesApplyDifferences")
			return
		}
		if !explicitPage {
			st.page = page
		}
		if st.sel == "" {
			st.sel = sel
		}
		st.since = uint32(nums[4])
		if kind == tokDriveNext {
			if len(nums) < 8 {
				resync("resyncChangesApplyDifferences")
				return
			}
			st.upto, st.walkID, st.offset = uint32(nums[5]), nums[6], int(nums[7])
		} else {
			st.upto = d.seq
		}
	}

	var list []int32
	if st.walkID != 0 {
		wk := s.walks.get(st.walkID, rc.now)
		if wk == nil {
			resync("resyncChangesApplyDifferences")
			return
		}
		list = wk.list
	} else {
		list = s.deltaList(d, st.since, r.Header.Get("deltaExcludeParent") != "")
	}
	end := min(len(list), st.offset+st.page)
	page := list[min(st.offset, end):end]
	if st.offset > 0 && st.offset <= len(list) && mix64(uint64(st.upto), uint64(st.offset))%5 == 0 {
		page = append([]int32{list[st.offset-1]}, page...) // a repeat, as the service sometimes sends
	}
	snaps := make([]itemSnap, 0, len(page))
	for _, idx := range page {
		snaps = append(snaps, s.snap(d, idx, renderOpts{delta: true}))
	}
	body := map[string]any{"@odata.context": base + "/v1.0/$metadata#Collection(driveItem)"}
	if end < len(list) {
		if st.walkID == 0 {
			st.walkID = s.walks.put(&walk{list: list, created: rc.now}, rc.now)
		}
		body["@odata.nextLink"] = fresh + "?token=" + s.encodeToken(tokDriveNext, []uint64{
			uint64(d.no), uint64(d.tokenGen), uint64(unixSec(rc.now)), uint64(st.page),
			uint64(st.since), uint64(st.upto), st.walkID, uint64(end)}, st.sel)
	} else {
		body["@odata.deltaLink"] = s.driveDeltaLink(base, d, st.upto, st.page, st.sel, rc.now)
	}
	t.mu.RUnlock()

	s.fillHashes(snaps)
	sel := splitSel(st.sel)
	vals := make([]any, len(snaps))
	for i := range snaps {
		vals[i] = selectFields(s.render(base, &snaps[i], renderOpts{delta: true}, rc.now), sel)
	}
	body["value"] = vals
	writeJSON(w, http.StatusOK, body)
}

func splitSel(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (s *Server) driveDeltaLink(base string, d *drive, since uint32, page int, sel string, now time.Time) string {
	return base + "/v1.0/drives/" + url.PathEscape(d.id) + "/root/delta?token=" + s.encodeToken(tokDriveDelta, []uint64{
		uint64(d.no), uint64(d.tokenGen), uint64(unixSec(now)), uint64(page), uint64(since), 0}, sel)
}

// deltaList is the ordered list of items a walk reports: the live hierarchy in pre-order for a
// full enumeration; for changes since a change number, tombstones first (deepest first), then
// changed live items and (unless excludeParent) their ancestors, in pre-order.
func (s *Server) deltaList(d *drive, since uint32, excludeParent bool) []int32 {
	order := d.ensureCache().order
	if since == 0 {
		return slices.Clone(order)
	}
	var list []int32
	want := make(map[int32]bool)
	markParents := func(p int32) {
		for ; p >= 0 && !want[p] && !excludeParent; p = d.item(p).parent {
			if !d.item(p).deleted {
				want[p] = true
			}
		}
	}
	for i := d.items.n - 1; i > 0; i-- {
		if it := d.item(i); it.deleted && it.seq > since {
			list = append(list, i)
			markParents(it.parent)
		}
	}
	for _, i := range order {
		if d.item(i).seq > since {
			want[i] = true
			markParents(d.item(i).parent)
		}
	}
	for _, i := range order {
		if want[i] {
			list = append(list, i)
		}
	}
	return list
}
