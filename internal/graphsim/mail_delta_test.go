package graphsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// deltaRound reads one round of a folder's message delta: the IDs reported as changed and as
// removed, and the next delta link.
func (c *client) deltaRound(link string, hdr ...string) (changed, removed map[string]bool, next string) {
	c.t.Helper()
	vals, next := c.walk(link, hdr...)
	changed, removed = map[string]bool{}, map[string]bool{}
	for _, v := range vals {
		if _, ok := v["@removed"]; ok {
			require.Equal(c.t, map[string]any{"reason": "deleted"}, v["@removed"])
			removed[v["id"].(string)] = true
		} else {
			changed[v["id"].(string)] = true
		}
	}
	return changed, removed, next
}

func TestMessageDeltaFullAndIncremental(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 60})
	c := authed(t, s)
	u := obrien(s)
	b := ubase(u)
	paths := c.folderPaths(u)
	man, err := s.MailManifest(u.UPN)
	require.NoError(t, err)

	// A full walk of every folder (and Recoverable Items by well-known name) is the manifest.
	links := map[string]string{} // folder ID → delta link
	walked := map[string]string{}
	page := "odata.maxpagesize=7"
	for path, fid := range paths {
		first := b + "/mailFolders/" + url.PathEscape(fid) + "/messages/delta"
		if path == "Inbox" {
			resp := c.do(http.MethodGet, first+"?$select=subject,isRead", nil, "Prefer", page)
			require.Equal(t, "odata.maxpagesize=7", resp.Header.Get("Preference-Applied"))
			st, body := decodeResp(t, resp)
			require.Equal(t, http.StatusOK, st)
			require.Len(t, body["value"], 7)
			for _, v := range body["value"].([]any) {
				for k := range v.(map[string]any) {
					require.Contains(t, []string{"@odata.type", "@odata.etag", "id", "subject", "isRead"}, k, "$select")
				}
			}
			next := body["@odata.nextLink"].(string)
			require.Contains(t, next, "$skiptoken=")
			require.True(t, strings.HasPrefix(next, c.info.GraphURL))
		}
		vals, dl := c.walk(first, "Prefer", page)
		require.Contains(t, dl, "$deltatoken=")
		links[fid] = dl
		for _, v := range vals {
			require.NotContains(t, walked, v["id"], "each message once")
			walked[v["id"].(string)] = path
		}
	}
	for _, wk := range []string{"recoverableitemsdeletions", "recoverableitemspurges"} {
		_, f := c.getJSON(b + "/mailFolders/" + wk)
		vals, dl := c.walk(b+"/mailFolders/"+wk+"/messages/delta", "Prefer", page)
		links[f["id"].(string)] = dl
		paths["Recoverable Items/"+f["displayName"].(string)] = f["id"].(string)
		for _, v := range vals {
			walked[v["id"].(string)] = "Recoverable Items/" + f["displayName"].(string)
		}
	}
	want := map[string]string{}
	for _, e := range man {
		if !strings.HasPrefix(e.Folder, "Archive:") {
			want[e.ID] = e.Folder
		}
	}
	require.Equal(t, want, walked, "a full delta walk of every folder is the manifest")
	// No changes: empty rounds.
	for fid, dl := range links {
		ch, rm, next := c.deltaRound(dl)
		require.Empty(t, ch, fid)
		require.Empty(t, rm, fid)
		links[fid] = next
	}
	st, fbody := c.getJSON(b + "/mailFolders/delta")
	require.Equal(t, http.StatusOK, st)
	_, folderLink := c.walk(b+"/mailFolders/delta", "Prefer", "odata.maxpagesize=50")
	_ = fbody

	// A day of activity; the next round reports exactly what changed, per folder.
	res, err := s.Mutate(MutateRequest{Seed: 9, Users: []string{u.UPN},
		Mail: &ItemMutation{Creates: 4, Updates: 4, Deletes: 4, Moves: 3, FolderCreates: 1, FolderRenames: 1}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Changes)
	pathsAfter := c.folderPaths(u)
	for _, wk := range []string{"recoverableitemsdeletions", "recoverableitemspurges"} {
		_, f := c.getJSON(b + "/mailFolders/" + wk)
		pathsAfter["Recoverable Items/"+f["displayName"].(string)] = f["id"].(string)
	}
	wantChanged, wantRemoved := map[string]map[string]bool{}, map[string]map[string]bool{}
	add := func(m map[string]map[string]bool, fid, id string) {
		if m[fid] == nil {
			m[fid] = map[string]bool{}
		}
		m[fid][id] = true
	}
	ops := map[string]int{}
	var newFolder, renamed string
	for _, ch := range res.Changes {
		require.Equal(t, u.UPN, ch.User)
		ops[ch.Kind+"."+ch.Op]++
		switch ch.Kind {
		case "message":
			// Message changes come before folder changes, so their paths are the old ones.
			fid := paths[ch.Path]
			if fid == "" {
				fid = pathsAfter[ch.Path]
			}
			add(wantChanged, fid, ch.ItemID)
			if ch.PrevItemID != "" {
				require.NotEqual(t, ch.PrevItemID, ch.ItemID, "a moved message has a new ID")
				add(wantRemoved, paths[ch.PrevPath], ch.PrevItemID)
			}
		case "mailFolder":
			switch ch.Op {
			case "create":
				newFolder = ch.ItemID
			case "rename":
				renamed = ch.ItemID
			}
		}
	}
	require.Equal(t, 4, ops["message.create"])
	require.Equal(t, 4, ops["message.update"])
	require.Equal(t, 4, ops["message.delete"]+ops["message.soft_delete"])
	require.Equal(t, 3, ops["message.move"])
	for fid, dl := range links {
		ch, rm, _ := c.deltaRound(dl, "Prefer", "odata.maxpagesize=3")
		require.Equal(t, len(wantChanged[fid]), len(ch), "changed in %s", fid)
		for id := range wantChanged[fid] {
			require.True(t, ch[id], "changed %s in %s", id, fid)
		}
		require.Equal(t, len(wantRemoved[fid]), len(rm), "removed in %s", fid)
		for id := range wantRemoved[fid] {
			require.True(t, rm[id], "removed %s from %s", id, fid)
		}
	}
	require.NotEmpty(t, newFolder)
	st, _ = c.getJSON(b + "/mailFolders/" + url.PathEscape(newFolder) + "/messages/delta")
	require.Equal(t, http.StatusOK, st, "a new folder starts its own delta")
	// mailFolders/delta reports the new and the renamed folder.
	fch, _, _ := c.deltaRound(folderLink)
	require.True(t, fch[newFolder])
	require.True(t, fch[renamed])

	// Invalidated tokens: 410 SyncStateNotFound with a Location that starts over.
	_, _, someLink := c.deltaRound(links[paths["Inbox"]])
	require.NoError(t, s.InvalidateMailboxDeltaTokens(u.UPN, ""))
	st, body := c.getJSON(someLink)
	require.Equal(t, http.StatusGone, st)
	require.Equal(t, "SyncStateNotFound", errCode(body))
	resp := c.do(http.MethodGet, someLink, nil)
	loc := resp.Header.Get("Location")
	readAll(t, resp)
	require.NotEmpty(t, loc)
	vals, _ := c.walk(loc)
	require.NotEmpty(t, vals)
	st, _ = c.getJSON(strings.Replace(someLink, "$deltatoken=", "$deltatoken=x", 1))
	require.Equal(t, http.StatusGone, st, "a garbled token is gone too")
	require.Equal(t, http.StatusOK, c.admin("POST", "/delta/invalidate", map[string]any{"user": u.UPN, "code": "SyncStateInvalid"}, nil))
	st, body = c.getJSON(loc)
	require.Equal(t, http.StatusOK, st, "a fresh link is not a token")
	_, dl := c.walk(loc)
	require.NoError(t, s.InvalidateMailboxDeltaTokens(u.UPN, "SyncStateInvalid"))
	st, body = c.getJSON(dl)
	require.Equal(t, http.StatusGone, st)
	require.Equal(t, "SyncStateInvalid", errCode(body))
}
