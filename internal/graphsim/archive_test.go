package graphsim

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestArchiveImportExport(t *testing.T) {
	s := startSim(t, Options{Users: 3, FilesPerUser: 5, MessagesPerMailbox: 40})
	c := authed(t, s)
	u := obrien(s)
	require.NotEmpty(t, u.ArchiveMailboxID)
	st, ex := c.getJSON(ubase(u) + "/settings/exchange")
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, u.MailboxID, ex["primaryMailboxId"])
	require.Equal(t, u.ArchiveMailboxID, ex["archiveMailboxId"])
	require.Regexp(t, `^MBX:[0-9a-f]{8}@[0-9a-f]{8}$`, ex["primaryMailboxId"])
	zoe := userByUPN(t, s, "zoe.angstrom@contoso.com")
	require.Empty(t, zoe.ArchiveMailboxID, "not everyone has an archive")
	_, zex := c.getJSON(ubase(zoe) + "/settings/exchange")
	require.NotContains(t, zex, "archiveMailboxId")

	// The archive's folders and items, paged.
	ab := "/admin/exchange/mailboxes/" + url.PathEscape(u.ArchiveMailboxID)
	folders, _ := c.walk(ab + "/folders?$top=2")
	names := map[string]map[string]any{}
	for _, f := range folders {
		require.Equal(t, "#microsoft.graph.mailboxFolder", f["@odata.type"])
		require.Equal(t, "IPF.Note", f["type"])
		names[f["displayName"].(string)] = f
	}
	require.Contains(t, names, "Inbox")
	require.Equal(t, "inbox", names["Inbox"]["wellKnownName"])
	sub, _ := c.walk(ab + "/folders/" + url.PathEscape(names["Inbox"]["id"].(string)) + "/childFolders")
	require.NotEmpty(t, sub)

	man, err := s.MailManifest(u.UPN)
	require.NoError(t, err)
	want := map[string]MailEntry{}
	for _, e := range man {
		if strings.HasPrefix(e.Folder, "Archive:/") {
			want[e.ID] = e
		}
	}
	require.NotEmpty(t, want, "the manifest includes the archive")
	got := map[string]bool{}
	var walkFolder func(id, path string)
	walkFolder = func(id, path string) {
		items, _ := c.walk(ab + "/folders/" + url.PathEscape(id) + "/items?$top=3")
		for _, it := range items {
			require.Equal(t, "#microsoft.graph.mailboxItem", it["@odata.type"])
			e, ok := want[it["id"].(string)]
			require.True(t, ok, "item %v is in the manifest", it["id"])
			require.Equal(t, "Archive:/"+path, e.Folder)
			require.NotEmpty(t, it["changeKey"])
			require.Greater(t, it["size"].(float64), 0.0)
			got[it["id"].(string)] = true
		}
		kids, _ := c.walk(ab + "/folders/" + url.PathEscape(id) + "/childFolders")
		for _, k := range kids {
			walkFolder(k["id"].(string), path+"/"+k["displayName"].(string))
		}
	}
	for name, f := range names {
		walkFolder(f["id"].(string), name)
	}
	require.Len(t, got, len(want), "folders/items reach every archived message")

	// exportItems: at most 20; the data is the item (here: its MIME, hashed in the manifest).
	var itemIDs []string
	for id := range want {
		itemIDs = append(itemIDs, id)
	}
	st, body := c.sendJSON(http.MethodPost, ab+"/exportItems", map[string]any{"itemIds": make([]string, 21)})
	require.Equal(t, http.StatusBadRequest, st)
	exportIDs := append(itemIDs[:min(3, len(itemIDs))], "EDSVrdi3lRAAD45b7RAAAxxxxxxxxxxxxxxxxxxx=")
	st, body = c.sendJSON(http.MethodPost, ab+"/exportItems", map[string]any{"itemIds": exportIDs})
	require.Equal(t, http.StatusOK, st, "%v", body)
	vals := body["value"].([]any)
	require.Len(t, vals, len(exportIDs))
	var data []byte
	for i, v := range vals {
		m := v.(map[string]any)
		require.Equal(t, exportIDs[i], m["itemId"])
		if i == len(vals)-1 {
			require.NotNil(t, m["error"], "an unknown ID gets an error entry")
			continue
		}
		data, err = base64.StdEncoding.DecodeString(m["data"].(string))
		require.NoError(t, err)
		props, mimeData, ok := parseExportHeader(data)
		require.True(t, ok, "the export carries the item's properties")
		require.Equal(t, want[exportIDs[i]].MIMESHA256, sum(mimeData))
		require.Equal(t, want[exportIDs[i]].Received, fromUnix(props.received))
		_, err = mail.ReadMessage(bytes.NewReader(mimeData))
		require.NoError(t, err)
	}
	exported := want[exportIDs[len(exportIDs)-2]]

	// Import what was exported into the primary mailbox's Inbox, through a pre-authenticated URL.
	pb := "/admin/exchange/mailboxes/" + url.PathEscape(u.MailboxID)
	st, sess := c.sendJSON(http.MethodPost, pb+"/createImportSession", nil)
	require.Equal(t, http.StatusCreated, st, "%v", sess)
	importURL := sess["importUrl"].(string)
	require.Contains(t, importURL, "authtoken=")
	imp := map[string]any{"FolderId": "inbox", "Mode": "create", "Data": base64.StdEncoding.EncodeToString(data)}
	st, body = c.sendJSON(http.MethodPost, importURL, imp, "Authorization", "Bearer "+c.token)
	require.Equal(t, http.StatusUnauthorized, st, "no Authorization on the import URL")
	c2 := newClient(t, s)
	st, res := c2.sendJSON(http.MethodPost, importURL, imp)
	require.Equal(t, http.StatusOK, st, "%v", res)
	require.NotEmpty(t, res["itemId"])
	require.NotEmpty(t, res["changeKey"])
	inboxItems, _ := c.walk(pb + "/folders/inbox/items?$top=100")
	require.True(t, ids(inboxItems)[res["itemId"].(string)])
	primary, err := s.MailManifest(u.ID)
	require.NoError(t, err)
	var imported int
	for _, e := range primary {
		if e.Folder == "Inbox" && e.InternetMessageID == exported.InternetMessageID {
			imported++
			require.Equal(t, exported.Received, e.Received, "the import gives back the received time")
			require.Equal(t, exported.Sent, e.Sent)
			require.Equal(t, exported.IsRead, e.IsRead)
			require.Equal(t, exported.Flag, e.Flag)
		}
	}
	require.Equal(t, 1, imported)
	// update mode needs the matching change key.
	imp["Mode"], imp["ItemId"], imp["ChangeKey"] = "update", res["itemId"], "stale"
	st, _ = c2.sendJSON(http.MethodPost, importURL, imp)
	require.Equal(t, http.StatusConflict, st)
	imp["ChangeKey"] = res["changeKey"]
	st, res2 := c2.sendJSON(http.MethodPost, importURL, imp)
	require.Equal(t, http.StatusOK, st, "%v", res2)
	require.Equal(t, res["itemId"], res2["itemId"])
	require.NotEqual(t, res["changeKey"], res2["changeKey"])

	// The import/export API needs MailboxItem.ImportExport.All.
	s.SetConsent(true, []string{"Mail.ReadWrite", "User.Read.All"})
	c.token = c.secretToken()
	st, body = c.getJSON(ab + "/folders")
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, "ErrorAccessDenied", errCode(body))
	st, _ = c.getJSON("/admin/exchange/mailboxes/MBX:00000000@00000000/folders")
	require.Equal(t, http.StatusNotFound, st)
}

func TestArchiveFolderCreate(t *testing.T) {
	s := startSim(t, Options{Users: 3, FilesPerUser: 5, MessagesPerMailbox: 10})
	c := authed(t, s)
	u := obrien(s)
	ab := "/admin/exchange/mailboxes/" + url.PathEscape(u.ArchiveMailboxID)

	st, top := c.sendJSON(http.MethodPost, ab+"/folders", map[string]any{"displayName": "Restored", "type": "IPF.Note"})
	require.Equal(t, http.StatusCreated, st, "%v", top)
	require.Equal(t, "#microsoft.graph.mailboxFolder", top["@odata.type"])
	require.Equal(t, "Restored", top["displayName"])
	st, sub := c.sendJSON(http.MethodPost, ab+"/folders/"+url.PathEscape(top["id"].(string))+"/childFolders",
		map[string]any{"displayName": "2019", "type": "IPF.Note"})
	require.Equal(t, http.StatusCreated, st, "%v", sub)
	require.Equal(t, top["id"], sub["parentFolderId"])
	kids, _ := c.walk(ab + "/folders/" + url.PathEscape(top["id"].(string)) + "/childFolders")
	require.True(t, ids(kids)[sub["id"].(string)])

	st, body := c.sendJSON(http.MethodPost, ab+"/folders", map[string]any{"displayName": "restored", "type": "IPF.Note"})
	require.Equal(t, http.StatusConflict, st)
	require.Equal(t, "ErrorFolderExists", errCode(body))
	st, _ = c.sendJSON(http.MethodPost, ab+"/folders", map[string]any{"displayName": "No type"})
	require.Equal(t, http.StatusBadRequest, st)

	// Creating folders takes MailboxFolder.ReadWrite.All.
	s.SetConsent(true, []string{"MailboxItem.ImportExport.All"})
	c.token = c.secretToken()
	st, body = c.sendJSON(http.MethodPost, ab+"/folders", map[string]any{"displayName": "Other", "type": "IPF.Note"})
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, "ErrorAccessDenied", errCode(body))
}
