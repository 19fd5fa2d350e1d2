package graphsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type deltaWalk struct {
	items     map[string]map[string]any // last occurrence wins, as clients must do
	seen      int                       // items received, repeats included
	pages     int
	deltaLink string
}

func walkDelta(t *testing.T, c *client, start string, hdr ...string) deltaWalk {
	t.Helper()
	w := deltaWalk{items: map[string]map[string]any{}}
	next := start
	for next != "" {
		require.Less(t, w.pages, 10000)
		st, body := c.getJSON(next, hdr...)
		require.Equal(t, http.StatusOK, st, "%v", body)
		w.pages++
		nl, hasNext := body["@odata.nextLink"].(string)
		dl, hasDelta := body["@odata.deltaLink"].(string)
		require.True(t, hasNext != hasDelta, "exactly one of nextLink and deltaLink")
		for _, v := range body["value"].([]any) {
			it := v.(map[string]any)
			w.items[it["id"].(string)] = it
			w.seen++
		}
		next, w.deltaLink = nl, dl
	}
	return w
}

// paths resolves each live item's path from parentReference.id and names.
func (w deltaWalk) paths(t *testing.T) map[string]string {
	out := map[string]string{}
	var resolve func(id string) string
	resolve = func(id string) string {
		if p, ok := out[id]; ok {
			return p
		}
		it, ok := w.items[id]
		require.True(t, ok, "parent %s not returned by delta", id)
		if _, root := it["root"]; root {
			out[id] = ""
			return ""
		}
		parent := it["parentReference"].(map[string]any)["id"].(string)
		p := resolve(parent) + "/" + it["name"].(string)
		out[id] = p
		return p
	}
	for id, it := range w.items {
		if _, del := it["deleted"]; !del {
			resolve(id)
		}
	}
	return out
}

func TestDeltaFullWalkMatchesManifest(t *testing.T) {
	s := startSim(t, Options{Users: 3, FilesPerUser: 150})
	c := authed(t, s)
	u := obrien(s)
	w := walkDelta(t, c, driveBase(u)+"/root/delta?$top=37")
	require.Greater(t, w.pages, 4)
	require.Greater(t, w.seen, len(w.items), "some items are repeated across pages")

	man, err := s.Manifest(u.UPN)
	require.NoError(t, err)
	paths := w.paths(t)
	require.Len(t, paths, len(man)+1, "every item plus the root")
	byPath := map[string]map[string]any{}
	for id, p := range paths {
		byPath[p] = w.items[id]
	}
	var sawNotebook, sawZero, sawBig, sawSection bool
	for _, e := range man {
		it, ok := byPath[e.Path]
		require.True(t, ok, "delta is missing %s", e.Path)
		require.Equal(t, e.ID, it["id"])
		require.EqualValues(t, e.Size, it["size"].(float64)*boolf(!e.Folder), e.Path)
		require.Nil(t, it["cTag"], "no cTag in delta on OneDrive for Business")
		pr := it["parentReference"].(map[string]any)
		require.Nil(t, pr["path"], "no parentReference.path in delta")
		require.Equal(t, u.DriveID, pr["driveId"])
		switch {
		case e.Package == "oneNote":
			sawNotebook = true
			require.Equal(t, map[string]any{"type": "oneNote"}, it["package"])
		case e.Folder:
			require.NotNil(t, it["folder"], e.Path)
		default:
			f := it["file"].(map[string]any)
			h := f["hashes"].(map[string]any)
			require.Equal(t, strings.ToUpper(e.SHA256), h["sha256Hash"], e.Path)
			require.Equal(t, e.QuickXorHash, h["quickXorHash"], e.Path)
			require.NotEmpty(t, it["@microsoft.graph.downloadUrl"])
			sawZero = sawZero || e.Size == 0
			sawBig = sawBig || e.Size >= 1<<20
			sawSection = sawSection || strings.HasSuffix(e.Path, ".one")
		}
	}
	require.True(t, sawNotebook && sawZero && sawBig && sawSection)
	require.Contains(t, w.deltaLink, s.Info().GraphURL+"/drives/b%21")
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestDeltaPathFormsAndPaging(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 30})
	c := authed(t, s)
	u := obrien(s)
	escDrive := strings.ReplaceAll(url.PathEscape(u.DriveID), "!", "%21")
	forms := []string{
		"/drives/" + escDrive + "/root/delta",
		"/drives/" + escDrive + "/root/delta()",
		"/drives/" + escDrive + "/root/microsoft.graph.delta()",
		"/drives/" + escDrive + "/items/root/delta()",
		"/drives/" + escDrive + "/items/root/microsoft.graph.delta",
		"/users/o%27brien%40contoso.com/drive/root/delta",
		"/users/" + u.ID + "/drive/root/delta()",
	}
	var want int
	for i, f := range forms {
		resp := c.rawPath(http.MethodGet, f, nil)
		st, body := decodeResp(t, resp)
		require.Equal(t, http.StatusOK, st, "%s: %v", f, body)
		n := len(body["value"].([]any))
		if i == 0 {
			want = n
		}
		require.Equal(t, want, n, f)
	}
	// Page size: default 200, $top up to 999, Prefer: odata.maxpagesize.
	st, body := c.getJSON(driveBase(u)+"/root/delta", "Prefer", "odata.maxpagesize=5")
	require.Equal(t, http.StatusOK, st)
	require.Len(t, body["value"], 5)
	next := body["@odata.nextLink"].(string)
	require.True(t, strings.HasPrefix(next, s.Info().GraphURL+"/drives/b%21"), next)
	st, body = c.getJSON(next) // the page size travels in the link
	require.Equal(t, http.StatusOK, st)
	require.LessOrEqual(t, len(body["value"].([]any)), 6)

	// The token can also be passed as a function parameter.
	tok, err := url.Parse(next)
	require.NoError(t, err)
	st, _ = decodeResp(t, c.rawPath(http.MethodGet, "/drives/"+escDrive+"/items/root/delta(token='"+tok.Query().Get("token")+"')", nil))
	require.Equal(t, http.StatusOK, st)

	// $select travels in the links too.
	st, body = c.getJSON(driveBase(u) + "/root/delta?$select=id,name&$top=3")
	require.Equal(t, http.StatusOK, st)
	st, body = c.getJSON(body["@odata.nextLink"].(string))
	require.Equal(t, http.StatusOK, st)
	for _, v := range body["value"].([]any) {
		require.Len(t, v.(map[string]any), 2, "%v", v)
	}

	st, body = c.getJSON(driveBase(u) + "/root/delta?token=latest")
	require.Equal(t, http.StatusOK, st)
	require.Empty(t, body["value"])
	require.NotEmpty(t, body["@odata.deltaLink"])
	require.Nil(t, body["@odata.nextLink"])

	st, body = c.getJSON(driveBase(u) + "/items/" + firstFolderID(t, c, u) + "/delta")
	require.Equal(t, http.StatusBadRequest, st, "delta only on the root: %v", body)
}

func firstFolderID(t *testing.T, c *client, u UserInfo) string {
	st, body := c.getJSON(driveBase(u) + "/root:/Documents")
	require.Equal(t, http.StatusOK, st)
	return body["id"].(string)
}

func TestDeltaIncrementalAfterMutation(t *testing.T) {
	s := startSim(t, Options{Users: 3, FilesPerUser: 80})
	c := authed(t, s)
	u := obrien(s)
	full := walkDelta(t, c, driveBase(u)+"/root/delta")

	res, err := s.Mutate(MutateRequest{Seed: 11, Users: []string{u.UPN}, Creates: 4, Updates: 4, Deletes: 3, Moves: 2, Renames: 2})
	require.NoError(t, err)
	require.NotEmpty(t, res.Changes)
	changed := map[string]string{} // id → last op
	for _, ch := range res.Changes {
		require.Equal(t, u.DriveID, ch.DriveID)
		changed[ch.ItemID] = ch.Op
	}

	// With deltaExcludeParent: exactly the changed items.
	inc := walkDelta(t, c, full.deltaLink, "deltaExcludeParent", "true")
	require.Len(t, inc.items, len(changed))
	for id, op := range changed {
		it, ok := inc.items[id]
		require.True(t, ok, "%s %s missing", op, id)
		_, deleted := it["deleted"]
		require.Equal(t, op == "delete", deleted, id)
		if deleted {
			require.Equal(t, map[string]any{"state": "deleted"}, it["deleted"])
			require.Nil(t, it["name"])
			require.NotEmpty(t, it["parentReference"].(map[string]any)["id"])
		}
	}
	// A timestamp token (OneDrive for Business) gives the same changes.
	ts := walkDelta(t, c, driveBase(u)+"/root/delta?token="+url.QueryEscape(seedEpoch.Add(time.Hour).Format(time.RFC3339)),
		"deltaExcludeParent", "true")
	require.Len(t, ts.items, len(changed))

	// Without it, the parents of changed items come too, and nothing else.
	inc2 := walkDelta(t, c, full.deltaLink)
	for id, it := range inc2.items {
		if _, ok := changed[id]; ok {
			continue
		}
		require.True(t, it["folder"] != nil || it["package"] != nil, "only folders are added as parents")
	}
	// Applying the changes to the full walk gives the manifest.
	state := full
	for id, it := range inc.items {
		if _, del := it["deleted"]; del {
			delete(state.items, id)
			continue
		}
		state.items[id] = it
	}
	man, err := s.Manifest(u.UPN)
	require.NoError(t, err)
	paths := state.paths(t)
	require.Len(t, paths, len(man)+1)
	for _, e := range man {
		require.Equal(t, e.Path, paths[e.ID])
	}
	// And nothing further has changed.
	again := walkDelta(t, c, inc.deltaLink)
	require.Empty(t, again.items)
}

func TestDeltaTokenExpiry(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Users: 2, FilesPerUser: 20, Clock: clk.Now, DeltaTokenMaxAge: 48 * time.Hour,
		TokenLifetime: 1000 * time.Hour})
	c := authed(t, s)
	u := obrien(s)
	w := walkDelta(t, c, driveBase(u)+"/root/delta")

	s.InvalidateDeltaTokens(u.DriveID)
	st, body := c.getJSON(w.deltaLink)
	require.Equal(t, http.StatusGone, st)
	require.Equal(t, "resyncRequired", errCode(body))
	require.Equal(t, "resyncChangesApplyDifferences", innerCode(body))

	w = walkDelta(t, c, driveBase(u)+"/root/delta")
	clk.Advance(49 * time.Hour)
	resp := c.do(http.MethodGet, w.deltaLink, nil)
	st, body = decodeResp(t, resp)
	require.Equal(t, http.StatusGone, st)
	require.True(t, strings.HasPrefix(innerCode(body), "resync"))
	loc := resp.Header.Get("Location")
	require.Equal(t, s.Info().GraphURL+"/drives/"+strings.ReplaceAll(url.PathEscape(u.DriveID), "!", "%21")+"/root/delta", loc)
	require.NotEmpty(t, walkDelta(t, c, loc).items, "Location starts a fresh full sync")

	// Nonsense and foreign tokens.
	st, _ = c.getJSON(driveBase(u) + "/root/delta?token=bm9wZQ")
	require.Equal(t, http.StatusGone, st)
}
