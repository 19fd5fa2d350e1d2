package graphsim

import (
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func collectUsers(t *testing.T, c *client, first string) []map[string]any {
	t.Helper()
	var out []map[string]any
	next := first
	for pages := 0; next != ""; pages++ {
		require.Less(t, pages, 100)
		st, body := c.getJSON(next)
		require.Equal(t, http.StatusOK, st, "%v", body)
		for _, v := range body["value"].([]any) {
			out = append(out, v.(map[string]any))
		}
		next, _ = body["@odata.nextLink"].(string)
	}
	return out
}

func TestUsersListPagingSelectFilter(t *testing.T) {
	s := startSim(t, Options{Users: 7, FilesPerUser: 1})
	c := authed(t, s)

	all := collectUsers(t, c, "/users?$top=2&$select=id,userPrincipalName")
	require.Len(t, all, 7+specialAccounts)
	var upns []string
	for _, u := range all {
		require.Len(t, u, 2, "only the selected properties")
		upns = append(upns, u["userPrincipalName"].(string))
	}
	require.Contains(t, upns, "o'brien@contoso.com")
	want := []string{}
	for _, u := range s.Users() {
		want = append(want, u.UPN)
	}
	sort.Strings(upns)
	sort.Strings(want)
	require.Equal(t, want, upns)

	st, body := c.getJSON("/users?$top=1000")
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "Request_UnsupportedQuery", errCode(body))

	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"mail eq 'o''brien@contoso.com'", []string{"o'brien@contoso.com"}},
		{"userPrincipalName eq 'ZOE.ANGSTROM@contoso.com'", []string{"zoe.angstrom@contoso.com"}},
		{"startswith(displayName,'Zo')", []string{"zoe.angstrom@contoso.com"}},
		{"mail in ('li.lei@contoso.com', 'adele.vance@contoso.com')", []string{"adele.vance@contoso.com", "li.lei@contoso.com"}},
		{"(mail eq 'li.lei@contoso.com' or mail eq 'nobody@contoso.com') and accountEnabled eq true", []string{"li.lei@contoso.com"}},
	} {
		got := collectUsers(t, c, "/users?$filter="+url.QueryEscape(tc.filter))
		var g []string
		for _, u := range got {
			g = append(g, u["userPrincipalName"].(string))
		}
		require.ElementsMatch(t, tc.want, g, tc.filter)
	}
	st, body = c.getJSON("/users?$filter=" + url.QueryEscape("foo eq 'x'"))
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "Request_UnsupportedQuery", errCode(body))
}

func TestUserGet(t *testing.T) {
	s := startSim(t, Options{Users: 5, FilesPerUser: 1})
	c := authed(t, s)
	u := obrien(s)
	for _, p := range []string{"/users/" + u.ID, "/users/o%27brien%40contoso.com", "/users/O'Brien@contoso.com"} {
		st, body := c.getJSON(p)
		require.Equal(t, http.StatusOK, st, p)
		require.Equal(t, u.ID, body["id"], p)
		require.Equal(t, "Seán O'Brien", body["displayName"])
	}
	st, body := c.getJSON("/users/nobody%40contoso.com")
	require.Equal(t, http.StatusNotFound, st)
	require.Equal(t, "Request_ResourceNotFound", errCode(body))

	var names []string
	for _, x := range s.Users() {
		names = append(names, x.DisplayName)
	}
	require.Contains(t, names, "Zoë Ångström")
	require.Contains(t, names, "李雷")
}

func TestUsersDelta(t *testing.T) {
	s := startSim(t, Options{Users: 5, FilesPerUser: 1})
	c := authed(t, s)
	for _, form := range []string{"/users/delta", "/users/delta()", "/users/microsoft.graph.delta()"} {
		st, body := c.getJSON(form + "?$select=displayName,mail")
		require.Equal(t, http.StatusOK, st, form)
		require.Len(t, body["value"], 5+specialAccounts)
		require.NotEmpty(t, body["@odata.deltaLink"])
		require.Nil(t, body["@odata.nextLink"])
		st, body = c.getJSON(body["@odata.deltaLink"].(string))
		require.Equal(t, http.StatusOK, st)
		require.Empty(t, body["value"], "no changes since")
	}
	st, body := c.getJSON("/users/delta?$deltatoken=latest")
	require.Equal(t, http.StatusOK, st)
	require.Empty(t, body["value"])
	require.NotEmpty(t, body["@odata.deltaLink"])
}
