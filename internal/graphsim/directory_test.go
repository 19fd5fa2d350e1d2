package graphsim

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMailboxKinds(t *testing.T) {
	s := startSim(t, Options{Users: 3, FilesPerUser: 5, MessagesPerMailbox: 10})
	c := authed(t, s)
	kinds := map[string]UserInfo{}
	for _, u := range s.Users() {
		if _, ok := kinds[u.Kind]; !ok {
			kinds[u.Kind] = u
		}
		require.NotEmpty(t, u.Department)
	}
	require.Len(t, kinds, 5, "user, shared, room, equipment and none")
	for kind, u := range kinds {
		st, j := c.getJSON(ubase(u) + "?$select=accountEnabled,department,mail")
		require.Equal(t, http.StatusOK, st)
		require.Equal(t, u.Department, j["department"])
		switch kind {
		case "shared", "room", "equipment":
			require.Equal(t, false, j["accountEnabled"], "sign-in blocked")
		default:
			require.Equal(t, true, j["accountEnabled"])
		}
		if kind == "none" {
			require.Nil(t, j["mail"])
			require.Empty(t, u.MailboxID)
			for _, p := range []string{"/messages", "/mailFolders", "/mailFolders/inbox/messages/delta", "/calendar", "/contacts",
				"/mailboxSettings", "/settings/exchange", "/calendarView/delta?" + viewRange} {
				st, body := c.getJSON(ubase(u) + p)
				require.Equal(t, http.StatusNotFound, st, p)
				require.Equal(t, "MailboxNotEnabledForRESTAPI", errCode(body), p)
			}
			continue
		}
		st, ms := c.getJSON(ubase(u) + "/mailboxSettings")
		require.Equal(t, http.StatusOK, st)
		require.Equal(t, kind, ms["userPurpose"])
		// Shared and resource mailboxes are backed up like any other: mail, calendar, contacts.
		vals, _ := c.walk(ubase(u) + "/mailFolders/inbox/messages/delta")
		require.NotEmpty(t, vals, kind)
		st, _ = c.getJSON(ubase(u) + "/calendarView/delta?" + viewRange)
		require.Equal(t, http.StatusOK, st)
	}
	st, body := c.getJSON("/users/nobody%40contoso.com/messages")
	require.Equal(t, http.StatusNotFound, st)
	require.Equal(t, "ErrorInvalidUser", errCode(body))
	st, _ = c.getJSON("/users?$filter=" + url.QueryEscape("accountEnabled eq false"))
	require.Equal(t, http.StatusOK, st)
	disabled := collectUsers(t, c, "/users?$filter="+url.QueryEscape("accountEnabled eq false"))
	require.Len(t, disabled, 3)
	sales := collectUsers(t, c, "/users?$filter="+url.QueryEscape("department eq 'Sales'")+"&$select=department")
	require.NotEmpty(t, sales)
}

func TestGroupsAndAddUser(t *testing.T) {
	s := startSim(t, Options{Users: 6, FilesPerUser: 5, MessagesPerMailbox: 10})
	c := authed(t, s)

	all := collectUsers(t, c, "/groups?$top=2")
	require.Len(t, all, 4)
	var names []string
	for _, g := range all {
		names = append(names, g["displayName"].(string))
	}
	require.Equal(t, []string{"All Staff", "Sales Team", "Legal Hold", "Project Alpha"}, names)
	got := collectUsers(t, c, "/groups?$filter="+url.QueryEscape("displayName eq 'Legal Hold'"))
	require.Len(t, got, 1)
	legal := got[0]
	require.Equal(t, false, legal["mailEnabled"])
	require.Equal(t, true, legal["securityEnabled"])
	require.Len(t, collectUsers(t, c, "/groups?$filter="+url.QueryEscape("startswith(displayName,'s')")), 1)
	st, g := c.getJSON("/groups/" + legal["id"].(string))
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "Legal Hold", g["displayName"])
	st, body := c.getJSON("/groups/00000000-0000-0000-0000-000000000000")
	require.Equal(t, http.StatusNotFound, st)
	require.Equal(t, "Request_ResourceNotFound", errCode(body))

	allStaff := all[0]["id"].(string)
	members := collectUsers(t, c, "/groups/"+allStaff+"/members?$top=2")
	require.Len(t, members, 6, "All Staff: every person")
	for _, m := range members {
		require.Equal(t, "#microsoft.graph.user", m["@odata.type"])
		require.NotEmpty(t, m["userPrincipalName"])
	}

	// Groups delta.
	_, gl := c.walk("/groups/delta")
	require.NotEmpty(t, gl)

	// AddUser: shows up in users/delta as a change, joins its groups, gets a mailbox.
	_, ul := c.walk("/users/delta")
	var ui UserInfo
	require.Equal(t, http.StatusCreated, c.admin("POST", "/users", map[string]any{"upn": "new.hire@contoso.com",
		"display_name": "New Hire", "department": "Legal", "groups": []string{"Legal Hold", allStaff}, "mailbox": "user", "drive": true, "archive": true}, &ui))
	require.Equal(t, "new.hire@contoso.com", ui.UPN)
	require.Equal(t, "user", ui.Kind)
	require.Equal(t, "Legal", ui.Department)
	require.NotEmpty(t, ui.MailboxID)
	require.NotEmpty(t, ui.ArchiveMailboxID)
	require.NotEmpty(t, ui.DriveID)
	vals, _ := c.walk(ul)
	require.Len(t, vals, 1)
	require.Equal(t, ui.ID, vals[0]["id"])
	require.Equal(t, "New Hire", vals[0]["displayName"])
	members = collectUsers(t, c, "/groups/"+legal["id"].(string)+"/members")
	require.Contains(t, ids(members), ui.ID)
	gvals, _ := c.walk(gl)
	require.Len(t, gvals, 2, "both groups changed")
	st, _ = c.getJSON("/users/" + ui.ID + "/mailFolders/inbox/messages")
	require.Equal(t, http.StatusOK, st)
	st, ex := c.getJSON("/users/" + ui.ID + "/settings/exchange")
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, ui.ArchiveMailboxID, ex["archiveMailboxId"])

	room, err := s.AddUser(AddUserRequest{UPN: "room2@contoso.com", Mailbox: "room"})
	require.NoError(t, err)
	require.Empty(t, room.DriveID)
	st, body = c.getJSON("/users/room2%40contoso.com/drive")
	require.Equal(t, http.StatusNotFound, st, "%v", body)
	_, ms := c.getJSON("/users/room2%40contoso.com/mailboxSettings")
	require.Equal(t, "room", ms["userPurpose"])
	nomail, err := s.AddUser(AddUserRequest{UPN: "contractor@contoso.com", Mailbox: "none"})
	require.NoError(t, err)
	require.Equal(t, "none", nomail.Kind)
	st, body = c.getJSON("/users/contractor%40contoso.com/messages")
	require.Equal(t, "MailboxNotEnabledForRESTAPI", errCode(body))
	_, err = s.AddUser(AddUserRequest{UPN: "new.hire@contoso.com"})
	require.Error(t, err)
	require.Equal(t, http.StatusBadRequest, c.admin("POST", "/users", map[string]any{"upn": "x@contoso.com", "mailbox": "castle"}, nil))
	require.Equal(t, http.StatusBadRequest, c.admin("POST", "/users", map[string]any{"upn": "y@contoso.com", "groups": []string{"No Such Group"}}, nil))

	// Groups need Group.Read.All or Directory.Read.All.
	s.SetConsent(true, []string{"User.Read.All"})
	c.token = c.secretToken()
	st, body = c.getJSON("/groups")
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, "Authorization_RequestDenied", errCode(body))
}
