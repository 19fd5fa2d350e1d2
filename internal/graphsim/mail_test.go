package graphsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var restIDShape = regexp.MustCompile(`^AAMk[A-Za-z0-9_-]{60,}=*$`)

func TestMailFolders(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 40})
	c := authed(t, s)
	u := obrien(s)
	b := ubase(u)

	top, _ := c.walk(b + "/mailFolders")
	var names []string
	for _, f := range top {
		require.Equal(t, false, f["isHidden"])
		names = append(names, f["displayName"].(string))
		require.Regexp(t, restIDShape, f["id"])
	}
	for _, n := range []string{"Inbox", "Drafts", "Sent Items", "Deleted Items", "Junk Email", "Archive", "Outbox", "O'Reilly & Partners", "Résumés – 2025", "Empty folder"} {
		require.Contains(t, names, n)
	}
	require.NotContains(t, names, "Recoverable Items", "not listed under msgfolderroot")
	require.NotContains(t, names, "Conversation Action Settings", "hidden folders need includeHiddenFolders")
	hidden, _ := c.walk(b + "/mailFolders?includeHiddenFolders=true")
	require.Greater(t, len(hidden), len(top))

	// Well-known names work wherever an ID does.
	for name, display := range map[string]string{"inbox": "Inbox", "sentitems": "Sent Items", "deleteditems": "Deleted Items",
		"drafts": "Drafts", "junkemail": "Junk Email", "archive": "Archive", "msgfolderroot": "Top of Information Store",
		"recoverableitemsdeletions": "Deletions", "recoverableitemspurges": "Purges", "INBOX": "Inbox"} {
		st, f := c.getJSON(b + "/mailFolders/" + name)
		require.Equal(t, http.StatusOK, st, name)
		require.Equal(t, display, f["displayName"], name)
	}
	st, inbox := c.getJSON(b + "/mailFolders/inbox")
	require.Equal(t, http.StatusOK, st)
	inboxID := inbox["id"].(string)
	// Percent-encoded (as the SDK sends it) and parenthesized (as delta links have it) forms.
	resp := c.rawPath(http.MethodGet, "/users/"+url.PathEscape(u.ID)+"/mailFolders/"+strings.ReplaceAll(inboxID, "=", "%3D"), nil)
	st, f := decodeResp(t, resp)
	require.Equal(t, http.StatusOK, st, "%v", f)
	require.Equal(t, inboxID, f["id"])
	st, f = c.getJSON(b + "/mailFolders('" + inboxID + "')")
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "Inbox", f["displayName"])

	// childFolders, an empty nested folder.
	kids, _ := c.walk(b + "/mailFolders/inbox/childFolders")
	byName := map[string]map[string]any{}
	for _, k := range kids {
		byName[k["displayName"].(string)] = k
		require.Equal(t, inboxID, k["parentFolderId"])
	}
	require.Contains(t, byName, "Projects")
	sub, _ := c.walk(b + "/mailFolders/" + byName["Projects"]["id"].(string) + "/childFolders")
	var empty map[string]any
	for _, x := range sub {
		if x["displayName"] == "Empty subfolder" {
			empty = x
		}
	}
	require.NotNil(t, empty)
	require.EqualValues(t, 0, empty["totalItemCount"])
	require.EqualValues(t, 0, empty["childFolderCount"])

	// The hierarchy from mailFolders/delta has parentFolderId; Recoverable Items is not in it.
	paths := c.folderPaths(u)
	require.Contains(t, paths, "Inbox/Projects/Empty subfolder")
	for p := range paths {
		require.NotContains(t, p, "Recoverable Items")
	}

	// Errors.
	st, body := c.getJSON(b + "/mailFolders/not-an-id")
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "ErrorInvalidIdMalformed", errCode(body))
	other := userByUPN(t, s, "adele.vance@contoso.com")
	st, body = c.getJSON(ubase(other) + "/mailFolders/" + inboxID)
	require.Equal(t, http.StatusNotFound, st, "another mailbox's folder ID")
	require.Equal(t, "ErrorItemNotFound", errCode(body))

	// Create, duplicate, child, move, rename, delete.
	st, nf := c.sendJSON(http.MethodPost, b+"/mailFolders", map[string]any{"displayName": "Holdfast Restore"})
	require.Equal(t, http.StatusCreated, st, "%v", nf)
	st, body = c.sendJSON(http.MethodPost, b+"/mailFolders", map[string]any{"displayName": "holdfast restore"})
	require.Equal(t, http.StatusConflict, st)
	require.Equal(t, "ErrorFolderExists", errCode(body))
	st, child := c.sendJSON(http.MethodPost, b+"/mailFolders/"+nf["id"].(string)+"/childFolders", map[string]any{"displayName": "Inbox"})
	require.Equal(t, http.StatusCreated, st)
	require.Equal(t, nf["id"], child["parentFolderId"])
	st, body = c.sendJSON(http.MethodPost, b+"/mailFolders/"+nf["id"].(string)+"/childFolders", map[string]any{"displayName": "Inbox"})
	require.Equal(t, http.StatusConflict, st)
	st, moved := c.sendJSON(http.MethodPost, b+"/mailFolders/"+child["id"].(string)+"/move", map[string]any{"destinationId": "msgfolderroot"})
	require.Equal(t, http.StatusConflict, st, "the top already has an Inbox: %v", moved)
	require.Equal(t, "ErrorFolderExists", errCode(moved))
	st, _ = c.sendJSON(http.MethodPatch, b+"/mailFolders/"+child["id"].(string), map[string]any{"displayName": "Restored Inbox"})
	require.Equal(t, http.StatusOK, st)
	st, moved = c.sendJSON(http.MethodPost, b+"/mailFolders/"+child["id"].(string)+"/move", map[string]any{"destinationId": "inbox"})
	require.Equal(t, http.StatusCreated, st, "%v", moved)
	require.Equal(t, inboxID, moved["parentFolderId"])
	st, body = c.sendJSON(http.MethodPost, b+"/mailFolders/inbox/move", map[string]any{"destinationId": nf["id"]})
	require.Equal(t, http.StatusBadRequest, st, "well-known folders stay")
	resp = c.do(http.MethodDelete, b+"/mailFolders/"+nf["id"].(string), nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	readAll(t, resp)
	_, gone := c.getJSON(b + "/mailFolders/" + nf["id"].(string))
	st, del := c.getJSON(b + "/mailFolders/deleteditems")
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, del["id"], gone["parentFolderId"], "a deleted folder goes to Deleted Items")
	resp = c.do(http.MethodPost, b+"/mailFolders/"+nf["id"].(string)+"/permanentDelete", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	readAll(t, resp)
	st, _ = c.getJSON(b + "/mailFolders/" + nf["id"].(string))
	require.Equal(t, http.StatusNotFound, st, "permanentDelete removes it")
}

// mimeTree walks a MIME entity and reports the deepest message/rfc822 nesting and the
// content types seen.
func mimeTree(t *testing.T, raw []byte, depth int, seen map[string]int) int {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	return walkEntity(t, textprotoHeader(m.Header), m.Body, depth, seen)
}

func textprotoHeader(h mail.Header) map[string][]string { return h }

func walkEntity(t *testing.T, h map[string][]string, body io.Reader, depth int, seen map[string]int) int {
	ct := ""
	if v := h["Content-Type"]; len(v) > 0 {
		ct = v[0]
	}
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	require.NoError(t, err, ct)
	seen[mt]++
	deepest := depth
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			deepest = max(deepest, walkEntity(t, p.Header, p, depth, seen))
		}
	case mt == "message/rfc822":
		inner, err := io.ReadAll(body)
		require.NoError(t, err)
		deepest = max(deepest, mimeTree(t, inner, depth+1, seen))
	default:
		_, _ = io.Copy(io.Discard, body)
	}
	return deepest
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func TestMessagesMIMEAndAttachments(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 30})
	c := authed(t, s)
	u := obrien(s)
	b := ubase(u)
	man, err := s.MailManifest(u.UPN)
	require.NoError(t, err)
	require.NotEmpty(t, man)
	maxDepth := 0
	var sawSMIME, sawCharset, sawLong, sawApos, sawRef, sawInline, sawItems bool
	for _, e := range man {
		if strings.HasPrefix(e.Folder, "Archive:") {
			continue
		}
		st, j := c.getJSON(b + "/messages/" + url.PathEscape(e.ID))
		require.Equal(t, http.StatusOK, st, "%s %v", e.Folder, j)
		require.Equal(t, e.Subject, j["subject"])
		require.Equal(t, e.InternetMessageID, j["internetMessageId"])
		require.Equal(t, e.IsRead, j["isRead"])
		require.Equal(t, e.IsDraft, j["isDraft"])
		require.Equal(t, e.BodySHA256, sum([]byte(j["body"].(map[string]any)["content"].(string))), "body hash %s %q", e.Folder, e.Subject)

		resp := c.do(http.MethodGet, b+"/messages/"+url.PathEscape(e.ID)+"/$value", nil)
		raw := readAll(t, resp)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, e.MIMESHA256, sum(raw), "$value is what the manifest hashed")
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		require.Equal(t, e.InternetMessageID, msg.Header.Get("Message-ID"))
		subj, err := wordDecoder.DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, e.Subject, subj, "RFC 2047 subject round-trips")
		from, err := (&mail.AddressParser{WordDecoder: wordDecoder}).Parse(msg.Header.Get("From"))
		require.NoError(t, err)
		require.Equal(t, e.From, from.Address)
		for _, line := range strings.Split(string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))]), "\r\n") {
			require.LessOrEqual(t, len(line), 998)
		}
		seen := map[string]int{}
		maxDepth = max(maxDepth, mimeTree(t, raw, 0, seen))
		ct := msg.Header.Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "application/pkcs7-mime"):
			sawSMIME = true
			require.Len(t, e.Attachments, 1)
			require.Equal(t, "smime.p7m", e.Attachments[0].Name)
		case strings.Contains(string(raw), `charset="shift_jis"`) || strings.Contains(string(raw), `charset="iso-8859-1"`):
			sawCharset = true
		}
		sawLong = sawLong || len(e.Subject) > 300
		sawApos = sawApos || strings.HasPrefix(e.From, "'")
		sawInline = sawInline || seen["multipart/related"] > 0
		for _, a := range e.Attachments {
			sawRef = sawRef || a.Kind == "reference"
			sawItems = sawItems || (a.Kind == "item" && a.ContentType == "text/vcard")
		}
	}
	require.GreaterOrEqual(t, maxDepth, 3, "message/rfc822 three levels deep")
	require.True(t, sawSMIME && sawCharset && sawLong && sawApos && sawRef && sawInline && sawItems,
		"smime %v charset %v long %v apostrophe %v reference %v inline %v items %v", sawSMIME, sawCharset, sawLong, sawApos, sawRef, sawInline, sawItems)

	// Attachments of a message with files: list, get, $value.
	var withFiles, nested MailEntry
	for _, e := range man {
		for _, a := range e.Attachments {
			if a.Kind == "file" && !a.IsInline && e.Attachments[0].Name != "smime.p7m" && withFiles.ID == "" && !strings.HasPrefix(e.Folder, "Archive:") {
				withFiles = e
			}
			if a.Kind == "item" && a.Item != nil && len(a.Item.Attachments) > 0 && !strings.HasPrefix(e.Folder, "Archive:") {
				nested = e
			}
		}
	}
	require.NotEmpty(t, withFiles.ID)
	atts, _ := c.walk(b + "/messages/" + url.PathEscape(withFiles.ID) + "/attachments")
	require.Len(t, atts, len(withFiles.Attachments))
	for i, a := range atts {
		want := withFiles.Attachments[i]
		require.Equal(t, want.Name, a["name"])
		if a["@odata.type"] != "#microsoft.graph.fileAttachment" {
			continue
		}
		data, err := base64.StdEncoding.DecodeString(a["contentBytes"].(string))
		require.NoError(t, err)
		require.Equal(t, want.SHA256, sum(data))
		resp := c.do(http.MethodGet, b+"/messages/"+url.PathEscape(withFiles.ID)+"/attachments/"+url.PathEscape(a["id"].(string))+"/$value", nil)
		require.Equal(t, want.SHA256, sum(readAll(t, resp)))
	}

	// Item attachments nest; $expand=microsoft.graph.itemattachment/item gives each level.
	require.NotEmpty(t, nested.ID)
	atts, _ = c.walk(b + "/messages/" + url.PathEscape(nested.ID) + "/attachments?$expand=microsoft.graph.itemattachment/item")
	var item map[string]any
	for _, a := range atts {
		if a["@odata.type"] == "#microsoft.graph.itemAttachment" {
			item = a["item"].(map[string]any)
			resp := c.do(http.MethodGet, b+"/messages/"+url.PathEscape(nested.ID)+"/attachments/"+url.PathEscape(a["id"].(string))+"/$value", nil)
			inner := readAll(t, resp)
			require.Equal(t, "message/rfc822", resp.Header.Get("Content-Type"))
			require.GreaterOrEqual(t, mimeTree(t, inner, 0, map[string]int{}), 1)
		}
	}
	require.NotNil(t, item)
	levels := 0
	for item != nil {
		levels++
		var next map[string]any
		for _, a := range item["attachments"].([]any) {
			am := a.(map[string]any)
			if it, ok := am["item"].(map[string]any); ok {
				next = it
			} else if am["@odata.type"] == "#microsoft.graph.fileAttachment" {
				require.NotEmpty(t, am["contentBytes"], "nested files carry their bytes")
			}
		}
		item = next
	}
	require.Equal(t, 3, levels)

	// A reference attachment has no bytes of its own.
	for _, e := range man {
		for i, a := range e.Attachments {
			if a.Kind != "reference" || strings.HasPrefix(e.Folder, "Archive:") {
				continue
			}
			atts, _ := c.walk(b + "/messages/" + url.PathEscape(e.ID) + "/attachments")
			ra := atts[i]
			require.Equal(t, "#microsoft.graph.referenceAttachment", ra["@odata.type"])
			require.Equal(t, a.SourceURL, ra["sourceUrl"])
			require.Equal(t, "oneDriveBusiness", ra["providerType"])
			st, _ := c.getJSON(b + "/messages/" + url.PathEscape(e.ID) + "/attachments/" + url.PathEscape(ra["id"].(string)) + "/$value")
			require.Equal(t, http.StatusBadRequest, st)
		}
	}
}

func TestMessageCreateJSONAndMIME(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 15})
	c := authed(t, s)
	u := obrien(s)
	b := ubase(u)

	// JSON with PidTagMessageFlags (read, not unsent) and the original dates: not a draft.
	msg := map[string]any{
		"subject":      "Restored: Q3 numbers",
		"body":         map[string]any{"contentType": "html", "content": "<p>Numbers attached.</p>"},
		"from":         map[string]any{"emailAddress": map[string]any{"name": "Zoë Müller", "address": "zoe.muller@example.de"}},
		"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"name": "Seán O'Brien", "address": u.Mail}}},
		"categories":   []string{"Blue category"},
		"flag":         map[string]any{"flagStatus": "flagged"},
		"singleValueExtendedProperties": []any{
			map[string]any{"id": "Integer 0x0E07", "value": "1"},
			map[string]any{"id": "SystemTime 0x0039", "value": "2023-03-01T10:00:00Z"},
			map[string]any{"id": "SystemTime 0x0E06", "value": "2023-03-01T10:05:00Z"},
		},
	}
	st, m := c.sendJSON(http.MethodPost, b+"/mailFolders/inbox/messages", msg)
	require.Equal(t, http.StatusCreated, st, "%v", m)
	require.Equal(t, false, m["isDraft"])
	require.Equal(t, true, m["isRead"])
	require.Equal(t, "2023-03-01T10:00:00Z", m["sentDateTime"])
	require.Equal(t, "2023-03-01T10:05:00Z", m["receivedDateTime"])
	require.Equal(t, []any{"Blue category"}, m["categories"])
	require.Equal(t, "flagged", m["flag"].(map[string]any)["flagStatus"])
	st, inbox := c.getJSON(b + "/mailFolders/inbox")
	require.Equal(t, inbox["id"], m["parentFolderId"])
	st, x := c.getJSON(b + "/messages/" + url.PathEscape(m["id"].(string)) + "?$expand=" + url.QueryEscape("singleValueExtendedProperties($filter=id eq 'Integer 0x0E07')"))
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, []any{map[string]any{"id": "Integer 0xe07", "value": "1"}}, x["singleValueExtendedProperties"])

	resp := c.do(http.MethodGet, b+"/messages/"+url.PathEscape(m["id"].(string)), nil, "Prefer", `outlook.body-content-type="text"`)
	require.Equal(t, `outlook.body-content-type="text"`, resp.Header.Get("Preference-Applied"))
	_, tb := decodeResp(t, resp)
	require.Equal(t, map[string]any{"contentType": "text", "content": "Numbers attached."}, tb["body"])

	// Unread, not a draft.
	msg["singleValueExtendedProperties"] = []any{map[string]any{"id": "Integer 0x0E07", "value": "0"}}
	st, m2 := c.sendJSON(http.MethodPost, b+"/messages", msg)
	require.Equal(t, http.StatusCreated, st)
	require.Equal(t, false, m2["isDraft"])
	require.Equal(t, false, m2["isRead"])

	// Without extended properties: a draft, in Drafts.
	delete(msg, "singleValueExtendedProperties")
	st, d := c.sendJSON(http.MethodPost, b+"/messages", msg)
	require.Equal(t, http.StatusCreated, st)
	require.Equal(t, true, d["isDraft"])
	_, drafts := c.getJSON(b + "/mailFolders/drafts")
	require.Equal(t, drafts["id"], d["parentFolderId"])

	// MIME (text/plain, base64): always a draft; /$value gives back the exact bytes.
	eml := "From: =?utf-8?B?Wm/DqyBNw7xsbGVy?= <zoe.muller@example.de>\r\nTo: " + u.Mail + "\r\n" +
		"Subject: =?iso-8859-1?Q?R=E9union_=E0_Gen=E8ve?=\r\nDate: Tue, 04 Mar 2025 09:15:00 +0100\r\n" +
		"Message-ID: <restore-1@example.de>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 cr=E8me.\r\n"
	resp = c.do(http.MethodPost, b+"/mailFolders/inbox/messages", strings.NewReader(base64.StdEncoding.EncodeToString([]byte(eml))), "Content-Type", "text/plain")
	st, mm := decodeResp(t, resp)
	require.Equal(t, http.StatusCreated, st, "%v", mm)
	require.Equal(t, true, mm["isDraft"], "MIME always creates a draft")
	require.Equal(t, "Réunion à Genève", mm["subject"])
	require.Equal(t, "<restore-1@example.de>", mm["internetMessageId"])
	require.Equal(t, "Café crème.\r\n", mm["body"].(map[string]any)["content"])
	resp = c.do(http.MethodGet, b+"/messages/"+url.PathEscape(mm["id"].(string))+"/$value", nil)
	require.Equal(t, eml, string(readAll(t, resp)))
	resp = c.do(http.MethodPost, b+"/messages", strings.NewReader("!!not base64!!"), "Content-Type", "text/plain")
	st, body := decodeResp(t, resp)
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "ErrorMimeContentInvalidBase64String", errCode(body))

	// PATCH: read state and flags on any message; content on drafts only.
	st, p := c.sendJSON(http.MethodPatch, b+"/messages/"+url.PathEscape(m["id"].(string)), map[string]any{"isRead": false, "flag": map[string]any{"flagStatus": "complete"}})
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, false, p["isRead"])
	require.NotEqual(t, m["changeKey"], p["changeKey"])
	st, body = c.sendJSON(http.MethodPatch, b+"/messages/"+url.PathEscape(m["id"].(string)), map[string]any{"subject": "x"})
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "ErrorInvalidPropertyUpdateSentMessage", errCode(body))
	st, p = c.sendJSON(http.MethodPatch, b+"/messages/"+url.PathEscape(d["id"].(string)), map[string]any{"subject": "Edited draft"})
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "Edited draft", p["subject"])

	// Copy leaves the original; move gives a new ID; delete goes to Deleted Items.
	st, cp := c.sendJSON(http.MethodPost, b+"/messages/"+url.PathEscape(m2["id"].(string))+"/copy", map[string]any{"destinationId": "junkemail"})
	require.Equal(t, http.StatusCreated, st)
	require.NotEqual(t, m2["id"], cp["id"])
	st, _ = c.getJSON(b + "/messages/" + url.PathEscape(m2["id"].(string)))
	require.Equal(t, http.StatusOK, st)
	st, mv := c.sendJSON(http.MethodPost, b+"/messages/"+url.PathEscape(m["id"].(string))+"/move", map[string]any{"destinationId": "archive"})
	require.Equal(t, http.StatusCreated, st)
	require.NotEqual(t, m["id"], mv["id"])
	st, _ = c.getJSON(b + "/messages/" + url.PathEscape(m["id"].(string)))
	require.Equal(t, http.StatusNotFound, st)
	resp = c.do(http.MethodDelete, b+"/messages/"+url.PathEscape(mv["id"].(string)), nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	readAll(t, resp)
	man, err := s.MailManifest(u.UPN)
	require.NoError(t, err)
	found := false
	for _, e := range man {
		if e.Subject == "Restored: Q3 numbers" && e.Folder == "Deleted Items" {
			found = true
			require.Equal(t, time.Date(2023, 3, 1, 10, 0, 0, 0, time.UTC), e.Sent)
		}
	}
	require.True(t, found)

	// Writes need Mail.ReadWrite.
	s.SetConsent(true, []string{"Mail.Read", "User.Read.All"})
	c.token = c.secretToken()
	st, _ = c.getJSON(b + "/mailFolders/inbox/messages?$top=1")
	require.Equal(t, http.StatusOK, st)
	st, body = c.sendJSON(http.MethodPost, b+"/messages", msg)
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, "ErrorAccessDenied", errCode(body))
	s.SetConsent(true, []string{"User.Read.All"})
	c.token = c.secretToken()
	st, _ = c.getJSON(b + "/mailFolders")
	require.Equal(t, http.StatusForbidden, st)
}

func TestAttachmentsNestedAndUploadSession(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 15})
	c := authed(t, s)
	u := obrien(s)
	b := ubase(u)
	nonDraft := []any{map[string]any{"id": "Integer 0x0E07", "value": "1"}}
	st, m := c.sendJSON(http.MethodPost, b+"/mailFolders/inbox/messages", map[string]any{
		"subject": "Level 0", "body": map[string]any{"contentType": "text", "content": "top"},
		"singleValueExtendedProperties": nonDraft})
	require.Equal(t, http.StatusCreated, st)
	mid := url.PathEscape(m["id"].(string))

	// Rebuild a tree level by level: a file, then a message holding a message holding a file.
	file := []byte("quarterly numbers\n")
	st, fa := c.sendJSON(http.MethodPost, b+"/messages/"+mid+"/attachments", map[string]any{
		"@odata.type": "#microsoft.graph.fileAttachment", "name": "numbers.txt", "contentType": "text/plain",
		"contentBytes": base64.StdEncoding.EncodeToString(file)})
	require.Equal(t, http.StatusCreated, st, "%v", fa)
	st, ia := c.sendJSON(http.MethodPost, b+"/messages/"+mid+"/attachments", map[string]any{
		"@odata.type": "#microsoft.graph.itemAttachment", "name": "Level 1",
		"item": map[string]any{"@odata.type": "#microsoft.graph.message", "subject": "Level 1",
			"body": map[string]any{"contentType": "text", "content": "one"},
			"from": map[string]any{"emailAddress": map[string]any{"address": "a@example.com"}},
			"attachments": []any{map[string]any{"@odata.type": "#microsoft.graph.itemAttachment", "name": "Level 2",
				"item": map[string]any{"subject": "Level 2", "body": map[string]any{"contentType": "text", "content": "two"},
					"attachments": []any{map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "deep.bin",
						"contentBytes": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 3})}}}}}}})
	require.Equal(t, http.StatusCreated, st, "%v", ia)
	st, ra := c.sendJSON(http.MethodPost, b+"/messages/"+mid+"/attachments", map[string]any{
		"@odata.type": "#microsoft.graph.referenceAttachment", "name": "Plan.docx",
		"sourceUrl": "https://contoso-my.sharepoint.com/personal/x/Documents/Plan.docx", "providerType": "oneDriveBusiness", "permission": "edit"})
	require.Equal(t, http.StatusCreated, st, "%v", ra)

	resp := c.do(http.MethodGet, b+"/messages/"+mid+"/$value", nil)
	raw := readAll(t, resp)
	require.Equal(t, 2, mimeTree(t, raw, 0, map[string]int{}), "two message/rfc822 levels below the message")
	man, err := s.MailManifest(u.UPN)
	require.NoError(t, err)
	var e MailEntry
	for _, x := range man {
		if x.Subject == "Level 0" {
			e = x
		}
	}
	require.Len(t, e.Attachments, 3)
	require.Equal(t, sum(file), e.Attachments[0].SHA256)
	require.Equal(t, "Level 1", e.Attachments[1].Item.Subject)
	require.Equal(t, "Level 2", e.Attachments[1].Item.Attachments[0].Item.Subject)
	require.Equal(t, "deep.bin", e.Attachments[1].Item.Attachments[0].Item.Attachments[0].Name)
	require.Equal(t, "reference", e.Attachments[2].Kind)
	require.Equal(t, sum(raw), e.MIMESHA256)

	// Large attachments go through an upload session whose URL must not get Authorization.
	st, body := c.sendJSON(http.MethodPost, b+"/messages/"+mid+"/attachments/createUploadSession",
		map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": "small.bin", "size": 1000}})
	require.Equal(t, http.StatusBadRequest, st, "under 3 MB: POST the attachment instead")
	size := 4<<20 + 500000
	big := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	st, sess := c.sendJSON(http.MethodPost, b+"/messages/"+mid+"/attachments/createUploadSession",
		map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": "big.bin", "size": size, "contentType": "application/octet-stream"}})
	require.Equal(t, http.StatusCreated, st, "%v", sess)
	up := sess["uploadUrl"].(string)
	require.Contains(t, up, "authtoken=")
	require.Equal(t, []any{"0-"}, sess["nextExpectedRanges"])
	put := func(from, to int, auth bool) *http.Response {
		req, err := http.NewRequest(http.MethodPut, up, bytes.NewReader(big[from:to]))
		require.NoError(t, err)
		req.Header.Set("Content-Range", "bytes "+itoa(from)+"-"+itoa(to-1)+"/"+itoa(size))
		req.Header.Set("Content-Type", "application/octet-stream")
		if auth {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.hc.Do(req)
		require.NoError(t, err)
		return resp
	}
	resp = put(0, 2<<20, true)
	st, body = decodeResp(t, resp)
	require.Equal(t, http.StatusUnauthorized, st, "the upload URL is pre-authenticated")
	resp = put(0, 4<<20+1000, false)
	readAll(t, resp)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "ranges over 4 MB")
	resp = put(0, 2<<20, false)
	st, body = decodeResp(t, resp)
	require.Equal(t, http.StatusOK, st, "%v", body)
	require.Equal(t, []any{itoa(2 << 20)}, body["nextExpectedRanges"])
	resp = put(2<<20, size, false)
	readAll(t, resp)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	loc := resp.Header.Get("Location")
	i := strings.Index(loc, "Attachments('")
	require.Greater(t, i, 0, loc)
	attID := strings.TrimSuffix(loc[i+len("Attachments('"):], "')")
	resp = c.do(http.MethodGet, b+"/messages/"+mid+"/attachments/"+url.PathEscape(attID)+"/$value", nil)
	require.Equal(t, sum(big), sum(readAll(t, resp)))
	st, a := c.getJSON(b + "/messages/" + mid + "/attachments/" + url.PathEscape(attID) + "?$select=name,size")
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "big.bin", a["name"])
	require.EqualValues(t, size, a["size"])
	require.True(t, slices.ContainsFunc(mustAttachments(t, s, u, "Level 0"), func(x AttachmentEntry) bool { return x.Name == "big.bin" && x.SHA256 == sum(big) }))

	// Delete an attachment; the others keep their IDs.
	resp = c.do(http.MethodDelete, b+"/messages/"+mid+"/attachments/"+url.PathEscape(fa["id"].(string)), nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	readAll(t, resp)
	st, _ = c.getJSON(b + "/messages/" + mid + "/attachments/" + url.PathEscape(attID))
	require.Equal(t, http.StatusOK, st)
}

func mustAttachments(t *testing.T, s *Server, u UserInfo, subject string) []AttachmentEntry {
	man, err := s.MailManifest(u.UPN)
	require.NoError(t, err)
	for _, e := range man {
		if e.Subject == subject {
			return e.Attachments
		}
	}
	t.Fatalf("no message %q", subject)
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
