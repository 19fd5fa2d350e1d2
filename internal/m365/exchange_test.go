package m365_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/graphsim"
	"github.com/holdfast/holdfast/internal/m365"
)

// exSim starts graphsim with small mailboxes (the first messages of each
// go through every template: nested item attachments, references, …).
func exSim(t *testing.T, o graphsim.Options) *graphsim.Server {
	t.Helper()
	if o.FilesPerUser == 0 {
		o.FilesPerUser = -1
	}
	if o.MessagesPerMailbox == 0 {
		o.MessagesPerMailbox = 40
	}
	if o.EventsPerMailbox == 0 {
		o.EventsPerMailbox = 12
	}
	if o.ContactsPerMailbox == 0 {
		o.ContactsPerMailbox = 10
	}
	return sim(t, o)
}

// person returns a seeded person (with an In-Place Archive if archive).
func person(t *testing.T, s *graphsim.Server, archive bool) graphsim.UserInfo {
	t.Helper()
	for _, u := range s.Users() {
		if u.Kind == "user" && (!archive || u.ArchiveMailboxID != "") {
			return u
		}
	}
	t.Fatal("no such person")
	return graphsim.UserInfo{}
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// mailFolderPaths maps folder IDs to paths below msgfolderroot ("Inbox/Projects"),
// Recoverable Items included ("Recoverable Items/Deletions"), as the mail
// manifest writes them.
func mailFolderPaths(t *testing.T, cl *m365.Client, userID string) map[string]string {
	t.Helper()
	ctx := context.Background()
	folders, err := cl.MailFolders(ctx, userID)
	require.NoError(t, err)
	byID := map[string]graphapi.MailFolder{}
	for _, f := range folders {
		byID[f.ID] = f
	}
	paths := map[string]string{}
	var path func(id string) string
	path = func(id string) string {
		f := byID[id]
		if f.WellKnownName == "msgfolderroot" || f.ID == "" {
			return ""
		}
		if p := path(f.ParentID); p != "" {
			return p + "/" + f.DisplayName
		}
		return f.DisplayName
	}
	for _, f := range folders {
		paths[f.ID] = path(f.ID)
	}
	ri, err := cl.WellKnownFolder(ctx, userID, "recoverableitemsroot")
	require.NoError(t, err)
	kids, err := cl.ChildFolders(ctx, userID, ri.ID)
	require.NoError(t, err)
	require.NotEmpty(t, kids)
	for _, k := range kids {
		paths[k.ID] = ri.DisplayName + "/" + k.DisplayName
	}
	return paths
}

// walkMessages follows a folder's message delta to the end.
func walkMessages(t *testing.T, cl *m365.Client, userID, folderID, link string) (changed map[string]graphapi.Message, removed map[string]bool, deltaLink string) {
	t.Helper()
	changed, removed = map[string]graphapi.Message{}, map[string]bool{}
	for {
		page, err := cl.MessageDelta(context.Background(), userID, folderID, link)
		require.NoError(t, err)
		for _, m := range page.Items {
			if m.Removed {
				removed[m.ID] = true
				delete(changed, m.ID)
			} else {
				changed[m.ID] = m
			}
		}
		if page.DeltaLink != "" {
			return changed, removed, page.DeltaLink
		}
		link = page.NextLink
	}
}

func TestMailFoldersMessagesMIMEAndAttachments(t *testing.T) {
	s := exSim(t, graphsim.Options{})
	cl := client(t, conn(s), m365.Options{})
	ctx := context.Background()
	u := person(t, s, true)

	primary, archive, err := cl.MailboxIDs(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.MailboxID, primary)
	assert.Equal(t, u.ArchiveMailboxID, archive)

	folders, err := cl.MailFolders(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, "msgfolderroot", folders[0].WellKnownName)
	require.Empty(t, folders[0].ParentID)
	named, hidden := map[string]graphapi.MailFolder{}, 0
	for _, f := range folders {
		if f.WellKnownName != "" {
			named[f.WellKnownName] = f
		}
		if f.Hidden {
			hidden++
		}
		assert.NotEmpty(t, f.Raw)
	}
	for _, n := range []string{"inbox", "drafts", "sentitems", "deleteditems", "junkemail", "archive", "outbox"} {
		assert.Contains(t, named, n)
	}
	assert.Positive(t, hidden, "hidden folders are part of the hierarchy")
	assert.Equal(t, "Inbox", named["inbox"].DisplayName)
	assert.Equal(t, folders[0].ID, named["inbox"].ParentID)

	kids, err := cl.ChildFolders(ctx, u.ID, named["inbox"].ID)
	require.NoError(t, err)
	var want []string
	for _, f := range folders {
		if f.ParentID == named["inbox"].ID {
			want = append(want, f.ID)
		}
	}
	var got []string
	for _, k := range kids {
		got = append(got, k.ID)
	}
	assert.ElementsMatch(t, want, got)
	assert.NotEmpty(t, got)

	_, err = cl.WellKnownFolder(ctx, u.ID, "recoverableitemsdeletions")
	require.NoError(t, err)
	_, err = cl.WellKnownFolder(ctx, u.ID, "nosuchfolder")
	assert.ErrorIs(t, err, graphapi.ErrNotFound)

	// Every folder's full delta walk is exactly the manifest's folder.
	paths := mailFolderPaths(t, cl, u.ID)
	manifest, err := s.MailManifest(u.ID)
	require.NoError(t, err)
	byPath := map[string]map[string]graphsim.MailEntry{}
	for _, e := range manifest {
		if strings.HasPrefix(e.Folder, "Archive:/") {
			continue
		}
		if byPath[e.Folder] == nil {
			byPath[e.Folder] = map[string]graphsim.MailEntry{}
		}
		byPath[e.Folder][e.ID] = e
	}
	seenPaths, messages := map[string]bool{}, map[string]graphapi.Message{}
	for id, path := range paths {
		got, removed, link := walkMessages(t, cl, u.ID, id, "")
		require.NotEmpty(t, link)
		assert.Empty(t, removed)
		w := byPath[path]
		require.Len(t, got, len(w), "folder %q", path)
		for mid, m := range got {
			e, ok := w[mid]
			require.True(t, ok, "message %s of %q is in the manifest", mid, path)
			assert.Equal(t, id, m.FolderID)
			assert.Equal(t, e.Subject, m.Subject)
			assert.Equal(t, e.InternetMessageID, m.InternetMessageID)
			assert.Equal(t, e.IsRead, m.IsRead)
			assert.Equal(t, e.IsDraft, m.IsDraft)
			assert.Equal(t, e.From, m.From)
			assert.True(t, e.Sent.Equal(m.Sent), "%s sent %v, manifest %v", mid, m.Sent, e.Sent)
			assert.True(t, e.Received.Equal(m.Received))
			assert.Equal(t, hasFileAttachments(e.Attachments), m.HasAttachments, "%s", e.Subject)
			assert.NotEmpty(t, m.ChangeKey)
			var raw struct {
				Body struct {
					Content string `json:"content"`
				} `json:"body"`
			}
			require.NoError(t, json.Unmarshal(m.Raw, &raw))
			assert.Equal(t, e.BodySHA256, sha([]byte(raw.Body.Content)), "the body comes with the delta")
			messages[mid] = m
		}
		seenPaths[path] = true
	}
	for p := range byPath {
		assert.True(t, seenPaths[p], "the folders reach %q", p)
	}

	// MIME, and the attachment trees.
	var st attStats
	for _, e := range manifest {
		if strings.HasPrefix(e.Folder, "Archive:/") {
			continue
		}
		rc, err := cl.MessageMIME(ctx, u.ID, e.ID)
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		assert.Equal(t, e.MIMESHA256, sha(b), "MIME of %q", e.Subject)
		if len(e.Attachments) > 0 {
			atts, err := cl.Attachments(ctx, u.ID, "messages/"+e.ID)
			require.NoError(t, err)
			checkAttachments(t, atts, e.Attachments, 0, &st)
		}
	}
	assert.GreaterOrEqual(t, st.maxDepth, 3, "item attachments three levels deep, a file below")
	assert.Positive(t, st.refs)
	assert.Contains(t, st.itemTypes, "message")
	assert.Contains(t, st.itemTypes, "event")
	assert.Contains(t, st.itemTypes, "contact")

	m := messages[manifest[0].ID]
	got1, err := cl.Message(ctx, u.ID, m.ID)
	require.NoError(t, err)
	assert.Equal(t, m.Subject, got1.Subject)
	assert.Contains(t, string(got1.Raw), `"body"`)
}

// hasFileAttachments is Graph's hasAttachments: inline attachments do not
// count.
func hasFileAttachments(atts []graphsim.AttachmentEntry) bool {
	for _, a := range atts {
		if !a.IsInline {
			return true
		}
	}
	return false
}

type attStats struct {
	maxDepth  int
	refs      int
	itemTypes map[string]bool
}

func checkAttachments(t *testing.T, got []graphapi.Attachment, want []graphsim.AttachmentEntry, depth int, st *attStats) {
	t.Helper()
	if st.itemTypes == nil {
		st.itemTypes = map[string]bool{}
	}
	require.Len(t, got, len(want))
	st.maxDepth = max(st.maxDepth, depth)
	for i, w := range want {
		g := got[i]
		assert.Equal(t, w.Name, g.Name)
		assert.Equal(t, w.Kind, g.Kind, w.Name)
		assert.Equal(t, w.IsInline, g.IsInline, w.Name)
		assert.NotContains(t, string(g.Raw), `"contentBytes"`)
		assert.NotContains(t, string(g.Raw), `"item"`)
		switch w.Kind {
		case graphapi.AttachmentFile:
			assert.Equal(t, w.ContentType, g.ContentType, w.Name)
			assert.EqualValues(t, w.Size, len(g.Content), w.Name)
			assert.Equal(t, w.SHA256, sha(g.Content), w.Name)
		case graphapi.AttachmentItem:
			assert.Equal(t, w.Size, g.Size)
			require.NotEmpty(t, g.Item, w.Name)
			assert.NotContains(t, string(g.Item), `"attachments"`)
			st.itemTypes[g.ItemType] = true
			if w.Item != nil && g.ItemType == "message" {
				var item struct {
					Subject string `json:"subject"`
				}
				require.NoError(t, json.Unmarshal(g.Item, &item))
				assert.Equal(t, w.Item.Subject, item.Subject)
				checkAttachments(t, g.Children, w.Item.Attachments, depth+1, st)
			}
		case graphapi.AttachmentReference:
			st.refs++
			var ref struct {
				SourceURL string `json:"sourceUrl"`
			}
			require.NoError(t, json.Unmarshal(g.Raw, &ref))
			assert.Equal(t, w.SourceURL, ref.SourceURL)
		}
	}
}

func TestMessageDeltaIncrementalAndResync(t *testing.T) {
	s := exSim(t, graphsim.Options{})
	cl := client(t, conn(s), m365.Options{})
	u := person(t, s, false)
	paths := mailFolderPaths(t, cl, u.ID)
	links := map[string]string{}
	for id := range paths {
		_, _, links[id] = walkMessages(t, cl, u.ID, id, "")
	}

	res, err := s.Mutate(graphsim.MutateRequest{Seed: 7, Users: []string{u.ID},
		Mail: &graphsim.ItemMutation{Creates: 4, Updates: 4, Deletes: 3, Moves: 3}})
	require.NoError(t, err)
	wantChanged, wantRemoved := map[string]map[string]bool{}, map[string]map[string]bool{}
	add := func(m map[string]map[string]bool, path, id string) {
		if m[path] == nil {
			m[path] = map[string]bool{}
		}
		m[path][id] = true
	}
	n := 0
	for _, c := range res.Changes {
		if c.Kind != "message" {
			continue
		}
		n++
		if c.PrevItemID != "" {
			delete(wantChanged[c.PrevPath], c.PrevItemID)
			add(wantRemoved, c.PrevPath, c.PrevItemID)
		}
		add(wantChanged, c.Path, c.ItemID)
	}
	require.Positive(t, n)
	for id, path := range paths {
		changed, removed, next := walkMessages(t, cl, u.ID, id, links[id])
		got := map[string]bool{}
		for mid := range changed {
			got[mid] = true
		}
		assert.Equal(t, len(wantChanged[path]), len(got), "changed in %q", path)
		for mid := range wantChanged[path] {
			assert.True(t, got[mid], "%s changed in %q", mid, path)
		}
		assert.Equal(t, len(wantRemoved[path]), len(removed), "removed from %q", path)
		for mid := range wantRemoved[path] {
			assert.True(t, removed[mid], "%s removed from %q", mid, path)
		}
		links[id] = next
	}

	// An expired link is ErrResyncRequired (410 SyncStateNotFound).
	require.NoError(t, s.InvalidateMailboxDeltaTokens(u.ID, ""))
	for id := range paths {
		_, err := cl.MessageDelta(context.Background(), u.ID, id, links[id])
		require.ErrorIs(t, err, graphapi.ErrResyncRequired)
		break
	}
}

func TestNoMailboxAndErrorMapping(t *testing.T) {
	s := exSim(t, graphsim.Options{})
	cl := client(t, conn(s), m365.Options{})
	ctx := context.Background()
	var none graphsim.UserInfo
	for _, u := range s.Users() {
		if u.Kind == "none" {
			none = u
		}
	}
	require.NotEmpty(t, none.ID)
	_, _, err := cl.MailboxIDs(ctx, none.ID)
	assert.ErrorIs(t, err, graphapi.ErrNoMailbox)
	_, err = cl.MailFolders(ctx, none.ID)
	assert.ErrorIs(t, err, graphapi.ErrNoMailbox)
	_, err = cl.MessageDelta(ctx, none.ID, "inbox", "")
	assert.ErrorIs(t, err, graphapi.ErrNoMailbox)
	_, err = cl.Calendars(ctx, none.ID)
	assert.ErrorIs(t, err, graphapi.ErrNoMailbox)
	_, err = cl.ContactFolders(ctx, none.ID)
	assert.ErrorIs(t, err, graphapi.ErrNoMailbox)

	// Resync codes match whatever their case, also nested.
	for _, e := range []*graphapi.Error{{Status: 400, Code: "SyncStateNotFound"}, {Status: 400, Code: "x", Inner: "syncStateNotFound"},
		{Status: 404, Code: "ResyncRequired"}} {
		assert.ErrorIs(t, e, graphapi.ErrResyncRequired, e.Error())
	}
}

func TestCreateMessagesAndAttachments(t *testing.T) {
	s := exSim(t, graphsim.Options{MessagesPerMailbox: 5})
	cl := client(t, conn(s), m365.Options{})
	ctx := context.Background()
	u := person(t, s, false)
	inbox, err := cl.WellKnownFolder(ctx, u.ID, "inbox")
	require.NoError(t, err)

	restored, err := cl.CreateMailFolder(ctx, u.ID, inbox.ID, "Restored")
	require.NoError(t, err)
	assert.Equal(t, inbox.ID, restored.ParentID)
	_, err = cl.CreateMailFolder(ctx, u.ID, inbox.ID, "restored")
	assert.ErrorIs(t, err, graphapi.ErrConflict)
	top, err := cl.CreateMailFolder(ctx, u.ID, "", "Top restored")
	require.NoError(t, err)
	root, err := cl.WellKnownFolder(ctx, u.ID, "msgfolderroot")
	require.NoError(t, err)
	assert.Equal(t, root.ID, top.ParentID)

	// A received (non-draft) message with its original dates and read state.
	sent, recv := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC), time.Date(2019, 3, 4, 5, 7, 8, 0, time.UTC)
	msg := fmt.Sprintf(`{"subject":"Quarterly numbers","body":{"contentType":"html","content":"<p>Hi</p>"},
		"from":{"emailAddress":{"name":"Ann","address":"ann@example.com"}},
		"toRecipients":[{"emailAddress":{"address":%q}}],
		"internetMessageId":"<q1@example.com>",
		"singleValueExtendedProperties":[{"id":"Integer 0x0E07","value":"1"},
			{"id":"SystemTime 0x0039","value":%q},{"id":"SystemTime 0x0E06","value":%q}]}`,
		u.Mail, sent.Format(time.RFC3339), recv.Format(time.RFC3339))
	m, err := cl.CreateMessage(ctx, u.ID, restored.ID, json.RawMessage(msg))
	require.NoError(t, err)
	check := func(m graphapi.Message) {
		assert.False(t, m.IsDraft)
		assert.True(t, m.IsRead)
		assert.True(t, sent.Equal(m.Sent), "sent %v", m.Sent)
		assert.True(t, recv.Equal(m.Received), "received %v", m.Received)
		assert.Equal(t, "ann@example.com", m.From)
		assert.Equal(t, restored.ID, m.FolderID)
	}
	check(m)

	// Attachments: a small file, a reference, a message with its own file
	// (a level of the tree), and files through upload sessions.
	small := []byte("hello, attachment")
	nestedFile := []byte("deep file")
	require.NoError(t, cl.AddAttachment(ctx, u.ID, "messages/"+m.ID, json.RawMessage(fmt.Sprintf(
		`{"@odata.type":"#microsoft.graph.fileAttachment","name":"a.txt","contentType":"text/plain","contentBytes":%q}`,
		b64(small)))))
	require.NoError(t, cl.AddAttachment(ctx, u.ID, "messages/"+m.ID, json.RawMessage(
		`{"@odata.type":"#microsoft.graph.referenceAttachment","name":"plan.docx","sourceUrl":"https://contoso-my.sharepoint.com/plan.docx","providerType":"oneDriveBusiness","permission":"view","isFolder":false}`)))
	require.NoError(t, cl.AddAttachment(ctx, u.ID, "messages/"+m.ID, json.RawMessage(fmt.Sprintf(
		`{"@odata.type":"#microsoft.graph.itemAttachment","name":"Forwarded","item":{"@odata.type":"#microsoft.graph.message",
		"subject":"Inner","body":{"contentType":"text","content":"inner"},"from":{"emailAddress":{"address":"b@example.com"}},
		"attachments":[{"@odata.type":"#microsoft.graph.fileAttachment","name":"deep.txt","contentType":"text/plain","contentBytes":%q}]}}`,
		b64(nestedFile)))))
	big := make([]byte, 10<<20)
	rand.Read(big)
	require.NoError(t, cl.UploadAttachment(ctx, u.ID, "messages/"+m.ID, "big.bin", "application/octet-stream", int64(len(big)), false, bytes.NewReader(big)))
	mid := make([]byte, 100<<10)
	rand.Read(mid)
	require.NoError(t, cl.UploadAttachment(ctx, u.ID, "messages/"+m.ID, "photo.png", "image/png", int64(len(mid)), true, bytes.NewReader(mid)))

	atts, err := cl.Attachments(ctx, u.ID, "messages/"+m.ID)
	require.NoError(t, err)
	require.Len(t, atts, 5)
	byName := map[string]graphapi.Attachment{}
	for _, a := range atts {
		byName[a.Name] = a
	}
	assert.Equal(t, small, byName["a.txt"].Content)
	assert.Equal(t, graphapi.AttachmentReference, byName["plan.docx"].Kind)
	fw := byName["Forwarded"]
	assert.Equal(t, graphapi.AttachmentItem, fw.Kind)
	assert.Equal(t, "message", fw.ItemType)
	require.Len(t, fw.Children, 1)
	assert.Equal(t, nestedFile, fw.Children[0].Content)
	assert.Equal(t, sha(big), sha(byName["big.bin"].Content), "10 MB through an upload session")
	assert.EqualValues(t, len(big), byName["big.bin"].Size)
	assert.Equal(t, mid, byName["photo.png"].Content)
	assert.True(t, byName["photo.png"].IsInline)

	again, err := cl.Message(ctx, u.ID, m.ID)
	require.NoError(t, err)
	check(again)
	assert.True(t, again.HasAttachments)

	require.NoError(t, cl.DeleteMessage(ctx, u.ID, m.ID))
	_, err = cl.Message(ctx, u.ID, m.ID)
	assert.ErrorIs(t, err, graphapi.ErrNotFound, "a deleted message moves (and gets a new ID)")
}

func b64(b []byte) string {
	out, _ := json.Marshal(b)
	return strings.Trim(string(out), `"`)
}

func TestCalendarsEventsAndInstances(t *testing.T) {
	s := exSim(t, graphsim.Options{})
	cl := client(t, conn(s), m365.Options{})
	ctx := context.Background()
	u := person(t, s, false)

	cals, err := cl.Calendars(ctx, u.ID)
	require.NoError(t, err)
	manifest, err := s.EventManifest(u.ID)
	require.NoError(t, err)
	want := map[string]map[string]graphsim.EventEntry{}
	for _, e := range manifest {
		if want[e.Calendar] == nil {
			want[e.Calendar] = map[string]graphsim.EventEntry{}
		}
		want[e.Calendar][e.ID] = e
	}
	var def graphapi.Calendar
	all := map[string]graphapi.Event{}
	for _, c := range cals {
		if c.IsDefault {
			def = c
		}
		evs, err := cl.Events(ctx, u.ID, c.ID)
		require.NoError(t, err)
		require.Len(t, evs, len(want[c.Name]), "calendar %q", c.Name)
		for _, ev := range evs {
			w, ok := want[c.Name][ev.ID]
			require.True(t, ok, "event %q is in the manifest", ev.Subject)
			assert.Equal(t, w.Subject, ev.Subject)
			assert.Equal(t, w.ICalUID, ev.ICalUID)
			assert.True(t, w.Start.Equal(ev.Start), "%q starts %v, manifest %v", ev.Subject, ev.Start, w.Start)
			assert.True(t, w.End.Equal(ev.End), "%q ends %v, manifest %v", ev.Subject, ev.End, w.End)
			assert.Equal(t, w.Recurrence != "", ev.Type == "seriesMaster", ev.Subject)
			assert.Equal(t, len(w.Attachments) > 0, ev.HasAttachments, ev.Subject)
			all[ev.Subject] = ev
		}
	}
	require.NotEmpty(t, def.ID)
	defEvents, err := cl.Events(ctx, u.ID, "")
	require.NoError(t, err)
	assert.Len(t, defEvents, len(want[def.Name]))
	assert.True(t, all["Meeting cancelled by the organizer"].IsCancelled || anyCancelled(all), "a meeting the organizer cancelled")

	// A numbered daily series of ten with a cancelled day: nine instances.
	daily := all["Daily stand-up"]
	require.NotEmpty(t, daily.ID)
	inst, err := cl.Instances(ctx, u.ID, daily.ID, daily.Start.Add(-24*time.Hour), daily.Start.AddDate(0, 1, 0))
	require.NoError(t, err)
	assert.Len(t, inst, 9)
	for _, in := range inst {
		assert.Equal(t, daily.ID, in.SeriesMasterID)
		assert.False(t, in.OriginalStart.IsZero())
	}

	// The weekly series: one exception (moved), one cancelled occurrence.
	weekly := all["Weekly sync"]
	require.NotEmpty(t, weekly.ID)
	span := func() ([]graphapi.Event, map[string]int) {
		inst, err := cl.Instances(ctx, u.ID, weekly.ID, weekly.Start.Add(-24*time.Hour), weekly.Start.AddDate(0, 5, 0))
		require.NoError(t, err)
		types := map[string]int{}
		seen := map[time.Time]bool{}
		for _, in := range inst {
			types[in.Type]++
			assert.Equal(t, weekly.ID, in.SeriesMasterID)
			assert.False(t, seen[in.OriginalStart], "one instance per original start")
			seen[in.OriginalStart] = true
		}
		return inst, types
	}
	inst, types := span()
	assert.Equal(t, 1, types["exception"])
	assert.Equal(t, len(inst)-1, types["occurrence"])
	var occ []graphapi.Event
	for _, in := range inst {
		if in.Type == "occurrence" {
			occ = append(occ, in)
		}
	}
	require.GreaterOrEqual(t, len(occ), 3)
	require.NoError(t, cl.DeleteEvent(ctx, u.ID, occ[0].ID))
	require.NoError(t, cl.UpdateEvent(ctx, u.ID, occ[1].ID, json.RawMessage(`{"subject":"Weekly sync (changed)"}`)))
	inst2, types2 := span()
	assert.Len(t, inst2, len(inst)-1, "the cancelled occurrence is absent")
	assert.Equal(t, 2, types2["exception"])
	for _, in := range inst2 {
		assert.False(t, in.OriginalStart.Equal(occ[0].OriginalStart))
	}

	// Writers.
	cal, err := cl.CreateCalendar(ctx, u.ID, "Restored calendar")
	require.NoError(t, err)
	_, err = cl.CreateCalendar(ctx, u.ID, "Restored calendar")
	assert.ErrorIs(t, err, graphapi.ErrConflict)
	ev, err := cl.CreateEvent(ctx, u.ID, cal.ID, json.RawMessage(`{"subject":"Review",
		"start":{"dateTime":"2025-06-02T09:00:00","timeZone":"Pacific Standard Time"},
		"end":{"dateTime":"2025-06-02T10:00:00","timeZone":"Pacific Standard Time"}}`))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 6, 2, 16, 0, 0, 0, time.UTC), ev.Start, "read back in UTC")
	assert.Equal(t, time.Date(2025, 6, 2, 17, 0, 0, 0, time.UTC), ev.End)
	require.NoError(t, cl.AddAttachment(ctx, u.ID, "events/"+ev.ID, json.RawMessage(fmt.Sprintf(
		`{"@odata.type":"#microsoft.graph.fileAttachment","name":"agenda.txt","contentType":"text/plain","contentBytes":%q}`, b64([]byte("agenda"))))))
	big := make([]byte, 4<<20)
	rand.Read(big)
	require.NoError(t, cl.UploadAttachment(ctx, u.ID, "events/"+ev.ID, "deck.pptx", "", int64(len(big)), false, bytes.NewReader(big)))
	atts, err := cl.Attachments(ctx, u.ID, "events/"+ev.ID)
	require.NoError(t, err)
	require.Len(t, atts, 2)
	assert.Equal(t, []byte("agenda"), atts[0].Content)
	assert.Equal(t, sha(big), sha(atts[1].Content))
	evs, err := cl.Events(ctx, u.ID, cal.ID)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.True(t, evs[0].HasAttachments)
}

func anyCancelled(evs map[string]graphapi.Event) bool {
	for _, e := range evs {
		if e.IsCancelled {
			return true
		}
	}
	return false
}

func TestContactsAndPhotos(t *testing.T) {
	s := exSim(t, graphsim.Options{})
	cl := client(t, conn(s), m365.Options{})
	ctx := context.Background()
	u := person(t, s, false)

	folders, err := cl.ContactFolders(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, "contacts", folders[0].WellKnownName)
	require.Empty(t, folders[0].ParentID)
	byID := map[string]graphapi.ContactFolder{}
	for _, f := range folders {
		byID[f.ID] = f
	}
	var path func(id string) string
	path = func(id string) string {
		f := byID[id]
		if f.ParentID == "" {
			return f.DisplayName
		}
		return path(f.ParentID) + "/" + f.DisplayName
	}
	manifest, err := s.ContactManifest(u.ID)
	require.NoError(t, err)
	want := map[string]map[string]graphsim.ContactEntry{}
	for _, e := range manifest {
		if want[e.Folder] == nil {
			want[e.Folder] = map[string]graphsim.ContactEntry{}
		}
		want[e.Folder][e.ID] = e
	}
	var gotPaths []string
	links := map[string]string{}
	photos, noPhoto := 0, ""
	for _, f := range folders {
		p := path(f.ID)
		gotPaths = append(gotPaths, p)
		got, link := walkContacts(t, cl, u.ID, f.ID, "")
		links[f.ID] = link
		require.Len(t, got, len(want[p]), "folder %q", p)
		for id, c := range got {
			w, ok := want[p][id]
			require.True(t, ok, "contact %s of %q", id, p)
			assert.Equal(t, w.DisplayName, c.DisplayName)
			assert.Equal(t, f.ID, c.FolderID)
			rc, err := cl.ContactPhoto(ctx, u.ID, id)
			if !w.HasPhoto {
				assert.ErrorIs(t, err, graphapi.ErrNotFound)
				noPhoto = id
				continue
			}
			require.NoError(t, err)
			b, _ := io.ReadAll(rc)
			rc.Close()
			assert.Equal(t, w.PhotoSHA256, sha(b))
			photos++
		}
	}
	assert.Positive(t, photos)
	assert.NotEmpty(t, noPhoto)
	for p := range want {
		assert.Contains(t, gotPaths, p)
	}
	assert.Contains(t, gotPaths, "Contacts/Vendors/Archive (empty)")
	def, _ := walkContacts(t, cl, u.ID, "", "")
	assert.Len(t, def, len(want["Contacts"]), "folder \"\" is the default Contacts folder")

	// Writers, and the incremental delta that sees them.
	f, err := cl.CreateContactFolder(ctx, u.ID, "Restored")
	require.NoError(t, err)
	_, err = cl.CreateContactFolder(ctx, u.ID, "Restored")
	assert.ErrorIs(t, err, graphapi.ErrConflict)
	c, err := cl.CreateContact(ctx, u.ID, f.ID, json.RawMessage(`{"displayName":"Pat Lee","givenName":"Pat","surname":"Lee",
		"emailAddresses":[{"address":"pat@example.com","name":"Pat Lee"}]}`))
	require.NoError(t, err)
	assert.Equal(t, "Pat Lee", c.DisplayName)
	photo := []byte("\xff\xd8\xff\xe0 not really a jpeg")
	require.NoError(t, cl.SetContactPhoto(ctx, u.ID, c.ID, "image/jpeg", photo))
	rc, err := cl.ContactPhoto(ctx, u.ID, c.ID)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, photo, b)
	d, err := cl.CreateContact(ctx, u.ID, "", json.RawMessage(`{"displayName":"Dana"}`))
	require.NoError(t, err)
	changed, _ := walkContacts(t, cl, u.ID, folders[0].ID, links[folders[0].ID])
	assert.Contains(t, changed, d.ID)
	require.NoError(t, cl.DeleteContact(ctx, u.ID, d.ID))
	page, err := cl.ContactDelta(ctx, u.ID, folders[0].ID, links[folders[0].ID])
	require.NoError(t, err)
	var removed []string
	for _, it := range page.Items {
		if it.Removed {
			removed = append(removed, it.ID)
		}
	}
	assert.Contains(t, removed, d.ID)
}

func walkContacts(t *testing.T, cl *m365.Client, userID, folderID, link string) (map[string]graphapi.Contact, string) {
	t.Helper()
	out := map[string]graphapi.Contact{}
	for {
		page, err := cl.ContactDelta(context.Background(), userID, folderID, link)
		require.NoError(t, err)
		for _, c := range page.Items {
			if c.Removed {
				delete(out, c.ID)
			} else {
				out[c.ID] = c
			}
		}
		if page.DeltaLink != "" {
			return out, page.DeltaLink
		}
		link = page.NextLink
	}
}

func TestArchiveFoldersItemsExportImport(t *testing.T) {
	s := exSim(t, graphsim.Options{MessagesPerMailbox: 100})
	cl := client(t, conn(s), m365.Options{})
	ctx := context.Background()
	u := person(t, s, true)
	_, archive, err := cl.MailboxIDs(ctx, u.ID)
	require.NoError(t, err)
	require.NotEmpty(t, archive)

	folders, err := cl.ArchiveFolders(ctx, archive)
	require.NoError(t, err)
	byID := map[string]graphapi.MailFolder{}
	for _, f := range folders {
		byID[f.ID] = f
	}
	var path func(id string) string
	path = func(id string) string {
		f := byID[id]
		if f.ParentID == "" {
			return f.DisplayName
		}
		return path(f.ParentID) + "/" + f.DisplayName
	}
	manifest, err := s.MailManifest(u.ID)
	require.NoError(t, err)
	want := map[string]graphsim.MailEntry{}
	for _, e := range manifest {
		if strings.HasPrefix(e.Folder, "Archive:/") {
			want[e.ID] = e
		}
	}
	require.NotEmpty(t, want)
	var ids []string
	for _, f := range folders {
		items, err := cl.ArchiveItems(ctx, archive, f.ID)
		require.NoError(t, err)
		assert.Equal(t, f.TotalItems, len(items))
		for _, it := range items {
			e, ok := want[it.ID]
			require.True(t, ok, "item %s is in the manifest", it.ID)
			assert.Equal(t, "Archive:/"+path(f.ID), e.Folder)
			assert.Equal(t, f.ID, it.FolderID)
			assert.Positive(t, it.Size)
			assert.NotEmpty(t, it.ChangeKey)
			ids = append(ids, it.ID)
		}
	}
	assert.Len(t, ids, len(want), "folders and items reach every archived message")

	// More than 20 IDs take more than one call.
	sort.Strings(ids)
	require.Greater(t, len(ids), 20)
	ask := ids[:min(25, len(ids))]
	data, err := cl.ExportItems(ctx, archive, ask)
	require.NoError(t, err)
	require.Len(t, data, len(ask))
	for id, b := range data {
		assert.Equal(t, want[id].MIMESHA256, sha(exportedMIME(b)), "export of %s", id)
	}
	_, err = cl.ExportItems(ctx, archive, []string{"not an item ID"})
	var ge *graphapi.Error
	require.ErrorAs(t, err, &ge, "a per-item failure is an error")

	// Import into a new folder of the archive.
	restored, err := cl.CreateArchiveFolder(ctx, archive, "", "Restored")
	require.NoError(t, err)
	_, err = cl.CreateArchiveFolder(ctx, archive, "", "Restored")
	assert.ErrorIs(t, err, graphapi.ErrConflict)
	sub, err := cl.CreateArchiveFolder(ctx, archive, restored.ID, "2019")
	require.NoError(t, err)
	assert.Equal(t, restored.ID, sub.ParentID)
	var imported []string
	for _, id := range ask[:3] {
		newID, err := cl.ImportItem(ctx, archive, sub.ID, data[id])
		require.NoError(t, err)
		imported = append(imported, newID)
	}
	items, err := cl.ArchiveItems(ctx, archive, sub.ID)
	require.NoError(t, err)
	var got []string
	for _, it := range items {
		got = append(got, it.ID)
	}
	assert.ElementsMatch(t, imported, got)
	back, err := cl.ExportItems(ctx, archive, imported)
	require.NoError(t, err)
	for i, id := range imported {
		assert.Equal(t, data[ask[i]], back[id], "import takes back what export gave")
	}
	after, err := cl.ArchiveFolders(ctx, archive)
	require.NoError(t, err)
	assert.Len(t, after, len(folders)+2)
}

// exportedMIME is the MIME in graphsim's export data: the service's data is
// an opaque FastTransfer stream; graphsim's is the item's MIME, after a
// line of the properties MIME lacks when it has one.
func exportedMIME(data []byte) []byte {
	if bytes.HasPrefix(data, []byte("GRAPHSIM-")) {
		if _, rest, ok := bytes.Cut(data, []byte("\r\n")); ok {
			return rest
		}
	}
	return data
}

// TestMailboxConcurrency runs sixteen goroutines against one mailbox whose
// every request takes 50 ms: the service must never see more than four in
// flight, and none is refused.
func TestMailboxConcurrency(t *testing.T) {
	s := exSim(t, graphsim.Options{MessagesPerMailbox: 30})
	cl := client(t, conn(s), m365.Options{})
	ctx := context.Background()
	u := person(t, s, false)
	manifest, err := s.MailManifest(u.ID)
	require.NoError(t, err)
	s.SetThrottleScale(1) // Outlook's limits enforced (the budgets are far away)
	s.SetMailboxLatency(50 * time.Millisecond)
	s.ResetCounters()

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	start := time.Now()
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < len(manifest); i += 16 {
				e := manifest[i]
				if strings.HasPrefix(e.Folder, "Archive:/") {
					continue
				}
				rc, err := cl.MessageMIME(ctx, u.ID, e.ID)
				if err != nil {
					errs <- err
					return
				}
				time.Sleep(5 * time.Millisecond) // a slow reader keeps its slot
				io.Copy(io.Discard, rc)
				rc.Close()
				if _, err := cl.Message(ctx, u.ID, e.ID); err != nil {
					errs <- err
					return
				}
			}
			if _, err := cl.Calendars(ctx, u.ID); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	c := s.Counters()
	peak := c.MailboxPeakConcurrency[u.ID]
	t.Logf("peak %d in flight, %s", peak, time.Since(start))
	assert.LessOrEqual(t, peak, 4, "never more than four requests in flight per mailbox")
	assert.GreaterOrEqual(t, peak, 3, "the four slots are used")
	assert.Zero(t, c.Throttled, "no 429 MailboxConcurrency")
}

// TestMailboxRequestBudget runs graphsim and the client's mailbox limiter
// on a clock 300 times faster than real time, with Outlook's budget scaled
// to 100 requests per 10 minutes: 160 requests from 16 goroutines go
// through without a 429 (the client keeps a 5% margin for the time between
// its count and the service's), where an unpaced client is throttled.
func TestMailboxRequestBudget(t *testing.T) {
	const speed = 300
	clk := m365.NewScaledClock(speed)
	s := exSim(t, graphsim.Options{MessagesPerMailbox: 5, Clock: clk.Now, TokenLifetime: 10000 * time.Hour, ThrottleScale: 0.01})
	ctx := context.Background()
	people := []graphsim.UserInfo{}
	for _, u := range s.Users() {
		if u.Kind == "user" {
			people = append(people, u)
		}
	}
	require.GreaterOrEqual(t, len(people), 2)

	burst := func(cl *m365.Client, userID string) (int, error) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		done := 0
		for g := range 16 {
			wg.Go(func() {
				for i := g; i < 160; i += 16 {
					_, err := cl.WellKnownFolder(ctx, userID, "inbox")
					mu.Lock()
					if err == nil {
						done++
					} else if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		return done, firstErr
	}

	paced := client(t, conn(s), m365.Options{MailboxRequestsPer10Min: 95})
	m365.SetMailboxClock(paced, clk)
	s.ResetCounters()
	start := time.Now()
	done, err := burst(paced, people[0].ID)
	require.NoError(t, err)
	assert.Equal(t, 160, done)
	c := s.Counters()
	t.Logf("paced: %d requests in %s (%s on the clock), %d throttled", done, time.Since(start), time.Duration(float64(time.Since(start))*speed), c.Throttled)
	assert.Zero(t, c.Throttled, "no 429")

	unpaced := client(t, conn(s), m365.Options{MailboxRequestsPer10Min: -1})
	s.ResetCounters()
	_, err = burst(unpaced, people[1].ID)
	var throttled *graphapi.ThrottledError
	assert.True(t, errors.As(err, &throttled), "an unpaced client runs into the budget: %v", err)
	assert.Positive(t, s.Counters().Throttled)
}

// TestMailboxUploadBudget uploads 18 MiB of attachments to one mailbox
// whose upload budget is scaled to 15 MiB per 5 minutes (on a clock 200
// times faster than real time): the client spreads the uploads instead of
// being refused.
func TestMailboxUploadBudget(t *testing.T) {
	clk := m365.NewScaledClock(200)
	s := exSim(t, graphsim.Options{MessagesPerMailbox: 5, Clock: clk.Now, TokenLifetime: 10000 * time.Hour, ThrottleScale: 0.1})
	ctx := context.Background()
	u := person(t, s, false)
	cl := client(t, conn(s), m365.Options{MailboxUploadBytesPer5Min: 15_000_000})
	m365.SetMailboxClock(cl, clk)
	drafts, err := cl.WellKnownFolder(ctx, u.ID, "drafts")
	require.NoError(t, err)
	m, err := cl.CreateMessage(ctx, u.ID, drafts.ID, json.RawMessage(`{"subject":"Big files"}`))
	require.NoError(t, err)
	s.ResetCounters()
	content := make([]byte, 6<<20)
	rand.Read(content)
	for i := range 3 {
		require.NoError(t, cl.UploadAttachment(ctx, u.ID, "messages/"+m.ID, fmt.Sprintf("f%d.bin", i), "", int64(len(content)), false, bytes.NewReader(content)))
	}
	assert.Zero(t, s.Counters().Throttled, "no 429 IncomingBytes: %+v", s.Counters().ByEndpoint)
	atts, err := cl.Attachments(ctx, u.ID, "messages/"+m.ID)
	require.NoError(t, err)
	require.Len(t, atts, 3)
	for _, a := range atts {
		assert.Equal(t, sha(content), sha(a.Content))
	}

	// Unpaced, the same uploads run into the budget.
	unpaced := client(t, conn(s), m365.Options{MailboxUploadBytesPer5Min: -1})
	m2, err := unpaced.CreateMessage(ctx, u.ID, drafts.ID, json.RawMessage(`{"subject":"Big files, unpaced"}`))
	require.NoError(t, err)
	for i := range 3 {
		if err = unpaced.UploadAttachment(ctx, u.ID, "messages/"+m2.ID, fmt.Sprintf("f%d.bin", i), "", int64(len(content)), false, bytes.NewReader(content)); err != nil {
			break
		}
	}
	var throttled *graphapi.ThrottledError
	assert.ErrorAs(t, err, &throttled)
}
