package graphsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Helpers for the Exchange tests.

func ubase(u UserInfo) string { return "/users/" + url.PathEscape(u.UPN) }

func userByUPN(t testing.TB, s *Server, upn string) UserInfo {
	t.Helper()
	for _, u := range s.Users() {
		if strings.EqualFold(u.UPN, upn) {
			return u
		}
	}
	t.Fatalf("no user %s", upn)
	return UserInfo{}
}

func firstOfKind(t testing.TB, s *Server, kind string) UserInfo {
	t.Helper()
	for _, u := range s.Users() {
		if u.Kind == kind {
			return u
		}
	}
	t.Fatalf("no %s mailbox", kind)
	return UserInfo{}
}

// walk follows @odata.nextLink until @odata.deltaLink (or the end of a collection) and
// returns every value and the delta link.
func (c *client) walk(first string, hdr ...string) ([]map[string]any, string) {
	c.t.Helper()
	var out []map[string]any
	next := first
	for pages := 0; ; pages++ {
		require.Less(c.t, pages, 1000)
		st, body := c.getJSON(next, hdr...)
		require.Equal(c.t, http.StatusOK, st, "%s: %v", next, body)
		for _, v := range body["value"].([]any) {
			out = append(out, v.(map[string]any))
		}
		if n, ok := body["@odata.nextLink"].(string); ok {
			next = n
			continue
		}
		dl, _ := body["@odata.deltaLink"].(string)
		return out, dl
	}
}

// folderPaths maps every mail folder's display path (below the mailbox top) to its ID, from
// mailFolders/delta.
func (c *client) folderPaths(u UserInfo) map[string]string {
	c.t.Helper()
	all, _ := c.walk(ubase(u)+"/mailFolders/delta", "Prefer", "odata.maxpagesize=50")
	byID := map[string]map[string]any{}
	for _, f := range all {
		byID[f["id"].(string)] = f
	}
	out := map[string]string{}
	for id, f := range byID {
		path := f["displayName"].(string)
		for p := byID[f["parentFolderId"].(string)]; p != nil; p = byID[p["parentFolderId"].(string)] {
			path = p["displayName"].(string) + "/" + path
		}
		out[path] = id
	}
	return out
}

func ids(vals []map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, v := range vals {
		out[v["id"].(string)] = true
	}
	return out
}
