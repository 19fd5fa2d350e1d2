package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/config"
	"github.com/holdfast/holdfast/internal/export"
	"github.com/holdfast/holdfast/internal/graphsim"
	"github.com/holdfast/holdfast/internal/mailitem"
	"github.com/holdfast/holdfast/internal/tree"
)

// latestApp is the newest snapshot of one of a user's apps.
func (h *harness) latestApp(userID, app string) catalog.Snapshot {
	h.t.Helper()
	snaps, err := h.store.Snapshots(h.ctx, catalog.SnapshotFilter{UserApp: catalog.UserApp{UserID: userID, App: app}, Limit: 1})
	require.NoError(h.t, err)
	require.NotEmpty(h.t, snaps, "user %s has a %s snapshot", userID, app)
	return snaps[0]
}

// mailbox is a mailbox as compared: messages by ID (folder and MIME
// hash), folders, events and contacts.
type mailbox struct {
	messages map[string]string // ID → "folder|sha256" ("" sha for archive items)
	folders  map[string]bool
	events   map[string]string // ID → "calendar|subject"
	contacts map[string]string // ID → "folder|display name"
}

// simMailbox is graphsim's truth, in the snapshot's folder naming.
func (h *harness) simMailbox(userID string, recoverable bool) mailbox {
	h.t.Helper()
	mb := mailbox{messages: map[string]string{}, folders: map[string]bool{}, events: map[string]string{}, contacts: map[string]string{}}
	keep := func(folder string) bool {
		if strings.HasPrefix(folder, "Archive:/Recoverable Items") {
			return false // the import/export API lists the folders below the archive's top only
		}
		if strings.HasPrefix(folder, "Recoverable Items") {
			return recoverable && (folder == "Recoverable Items" || folder == "Recoverable Items/Deletions" || folder == "Recoverable Items/Purges")
		}
		return true
	}
	msgs, err := h.sim.MailManifest(userID)
	require.NoError(h.t, err)
	for _, m := range msgs {
		if !keep(m.Folder) {
			continue
		}
		if rest, ok := strings.CutPrefix(m.Folder, "Archive:/"); ok {
			mb.messages[mailitem.ArchivePrefix+m.ID] = "Archive/" + rest + "|"
			continue
		}
		mb.messages[m.ID] = mailPath(m.Folder) + "|" + m.MIMESHA256
	}
	folders, err := h.sim.MailFolderManifest(userID)
	require.NoError(h.t, err)
	for _, f := range folders {
		if keep(f) {
			mb.folders[mailPath(f)] = true
		}
	}
	evs, err := h.sim.EventManifest(userID)
	require.NoError(h.t, err)
	for _, e := range evs {
		mb.events[e.ID] = e.Calendar + "|" + e.Subject
	}
	cs, err := h.sim.ContactManifest(userID)
	require.NoError(h.t, err)
	for _, c := range cs {
		mb.contacts[c.ID] = c.Folder + "|" + c.DisplayName
	}
	return mb
}

// mailPath maps graphsim's folder paths to the snapshot's tree.
func mailPath(folder string) string {
	switch {
	case strings.HasPrefix(folder, "Recoverable Items"):
		return folder
	case strings.HasPrefix(folder, "Archive:/"):
		return "Archive/" + strings.TrimPrefix(folder, "Archive:/")
	}
	return "Mail/" + folder
}

// snapMailbox is what a snapshot holds, in the same form.
func (h *harness) snapMailbox(snap catalog.Snapshot) mailbox {
	h.t.Helper()
	items, err := h.store.ItemsAt(h.ctx, snap.Key(), snap.ID)
	require.NoError(h.t, err)
	tr := tree.Build(items)
	require.Zero(h.t, tr.Orphans, "every item of snapshot %d hangs in the tree", snap.ID)
	mb := mailbox{messages: map[string]string{}, folders: map[string]bool{}, events: map[string]string{}, contacts: map[string]string{}}
	tree.Walk(tr.Root, func(n *tree.Node) {
		switch n.Kind {
		case mailitem.KindMailFolder, mailitem.KindArchiveFolder:
			mb.folders[n.Path] = true
		case mailitem.KindRoot:
			if n.Name == "Recoverable Items" {
				mb.folders[n.Path] = true
			}
		case mailitem.KindMessage, mailitem.KindArchiveItem:
			mb.messages[n.ItemID] = n.Parent.Path + "|" + strings.TrimPrefix(n.Hash, "sha256:")
		case mailitem.KindEvent:
			mb.events[n.ItemID] = n.Parent.Name + "|" + n.Name
		case mailitem.KindContact:
			folder := n.Parent.Path
			mb.contacts[n.ItemID] = folder + "|" + n.Name
		}
	})
	return mb
}

func (h *harness) assertMailbox(want, got mailbox, who string) {
	h.t.Helper()
	assert.Equal(h.t, want.messages, got.messages, "%s: every message, in its folder, with the MIME the service served", who)
	assert.Equal(h.t, want.folders, got.folders, "%s: every folder, empty ones included", who)
	assert.Equal(h.t, want.events, got.events, "%s: every event", who)
	assert.Equal(h.t, want.contacts, got.contacts, "%s: every contact", who)
}

// mailFacts are what a restore must give back of a message.
type mailFacts struct {
	Subject, From      string
	Sent, Received     time.Time
	IsRead, IsDraft    bool
	Flag, Importance   string
	Categories         []string
	To                 []string
	Attachments        string
	BodyHTML, BodyText bool
}

func factsOf(m graphsim.MailEntry) mailFacts {
	return mailFacts{Subject: m.Subject, From: m.From, Sent: m.Sent.UTC(), Received: m.Received.UTC(), IsRead: m.IsRead,
		IsDraft: m.IsDraft, Flag: m.Flag, Importance: m.Importance, Categories: m.Categories, To: m.To,
		Attachments: attachmentTree(m.Attachments)}
}

// attachmentTree renders an attachment tree for comparison: kinds,
// names, sizes and content at every level, item attachments by their
// item's subject and own attachments.
func attachmentTree(atts []graphsim.AttachmentEntry) string {
	var parts []string
	for _, a := range atts {
		s := fmt.Sprintf("%s:%s:%s", a.Kind, a.Name, a.ContentType)
		switch a.Kind {
		case "file":
			s += fmt.Sprintf(":%d:%s:inline=%v", a.Size, a.SHA256, a.IsInline)
		case "reference":
			s += ":" + a.SourceURL
		case "item":
			if a.Item != nil {
				s += fmt.Sprintf(":[%s %s]", a.Item.Subject, attachmentTree(a.Item.Attachments))
			}
		}
		parts = append(parts, s)
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}

// byMessageID indexes a manifest by folder and Internet message ID.
func byMessageID(entries []graphsim.MailEntry) map[string]graphsim.MailEntry {
	out := map[string]graphsim.MailEntry{}
	for _, m := range entries {
		out[m.Folder+"|"+m.InternetMessageID] = m
	}
	return out
}

func TestExchange(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 21, Users: 3, FilesPerUser: 1,
		MessagesPerMailbox: 40, EventsPerMailbox: 8, ContactsPerMailbox: 6}})
	h.startWorker(nil)
	h.addTenant()
	h.mustCLI("profile", "create", "mail", "--apps", "exchange", "--recoverable-items")

	// Every kind of mailbox: users (one whose address begins with an
	// apostrophe), shared, room, equipment.
	var boxes []graphsim.UserInfo
	kinds := map[string]bool{}
	for _, u := range h.sim.Users() {
		if u.Kind != "none" {
			boxes = append(boxes, u)
			kinds[u.Kind] = true
		}
	}
	require.Equal(t, map[string]bool{"user": true, "shared": true, "room": true, "equipment": true}, kinds)
	obrien := h.userWith("'")
	args := []string{"user", "add", "--profile", "mail"}
	for _, u := range boxes {
		args = append(args, u.UPN)
	}
	h.mustCLI(args...)
	h.mustCLI("backup", "now", "--wait")

	full := map[string]catalog.Snapshot{}
	for _, u := range boxes {
		snap := h.latestApp(u.ID, "exchange")
		require.Equal(t, catalog.StateComplete, snap.State, "%s: %s", u.UPN, snap.Error)
		h.assertMailbox(h.simMailbox(u.ID, true), h.snapMailbox(snap), u.UPN)
		full[u.ID] = snap
	}
	var alice graphsim.UserInfo
	for _, u := range boxes {
		if u.Kind == "user" && u.ID != obrien.ID {
			alice = u
			break
		}
	}
	before, err := h.sim.MailManifest(alice.ID)
	require.NoError(t, err)
	beforeFolders, err := h.sim.MailFolderManifest(alice.ID)
	require.NoError(t, err)
	beforeEvents, err := h.sim.EventManifest(alice.ID)
	require.NoError(t, err)
	beforeContacts, err := h.sim.ContactManifest(alice.ID)
	require.NoError(t, err)

	t.Run("show lists folders", func(t *testing.T) {
		out := h.mustCLI("backup", "show", fmt.Sprint(full[alice.ID].ID))
		assert.Contains(t, out, "Mail/Inbox")
		assert.Contains(t, out, "Calendars/")
		assert.Contains(t, out, "Recoverable Items/")
	})

	t.Run("verify", func(t *testing.T) {
		out := h.mustCLI("verify", fmt.Sprint(full[alice.ID].ID))
		assert.Contains(t, out, "0 bad")
	})

	// What every mailbox held at the full backup, for the restores below.
	fullManifest := map[string][]graphsim.MailEntry{}
	var ids []string
	for _, u := range boxes {
		fullManifest[u.ID], err = h.sim.MailManifest(u.ID)
		require.NoError(t, err)
		ids = append(ids, u.ID)
	}

	res, err := h.sim.Mutate(graphsim.MutateRequest{Seed: 9, Users: ids,
		Mail:     &graphsim.ItemMutation{Creates: 3, Updates: 3, Deletes: 2, Moves: 2, FolderCreates: 1, FolderRenames: 1, FolderDeletes: 1},
		Events:   &graphsim.ItemMutation{Creates: 1, Updates: 2, Deletes: 1},
		Contacts: &graphsim.ItemMutation{Creates: 1, Updates: 1, Deletes: 1}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Changes)

	t.Run("incremental", func(t *testing.T) {
		h.mustCLI("backup", "now", "--wait")
		for _, u := range boxes {
			snap := h.latestApp(u.ID, "exchange")
			require.Equal(t, catalog.StateComplete, snap.State, snap.Error)
			require.Greater(t, snap.ID, full[u.ID].ID)
			h.assertMailbox(h.simMailbox(u.ID, true), h.snapMailbox(snap), u.UPN)
			assert.Positive(t, snap.ItemsChanged)
			assert.Less(t, snap.ItemsChanged, full[u.ID].ItemsTotal/2, "an incremental writes only what changed")
		}
	})

	t.Run("restore into a new folder", func(t *testing.T) {
		out := h.mustCLI("restore", "--user", alice.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(full[alice.ID].ID))
		assert.Contains(t, out, "Holdfast Restore")
		now, err := h.sim.MailManifest(alice.ID)
		require.NoError(t, err)
		var restoreFolder string
		for _, m := range now {
			if strings.HasPrefix(m.Folder, "Holdfast Restore ") {
				restoreFolder, _, _ = strings.Cut(m.Folder, "/")
				break
			}
		}
		require.NotEmpty(t, restoreFolder)
		got := byMessageID(now)
		for _, m := range before {
			if strings.HasPrefix(m.Folder, "Recoverable Items/") && m.Folder != "Recoverable Items/Deletions" && m.Folder != "Recoverable Items/Purges" {
				continue
			}
			folder := restoreFolder + "/" + m.Folder
			if rest, ok := strings.CutPrefix(m.Folder, "Archive:/"); ok {
				folder = "Archive:/" + restoreFolder + "/" + rest
			}
			r, ok := got[folder+"|"+m.InternetMessageID]
			if !assert.True(t, ok, "message %q restored into %s", m.Subject, folder) {
				continue
			}
			assert.Equal(t, factsOf(m), factsOf(r), "restored message %q in %s (%s): not a draft, same dates, flags, read state, attachment tree", m.Subject, m.Folder, m.InternetMessageID)
		}
		folders, err := h.sim.MailFolderManifest(alice.ID)
		require.NoError(t, err)
		for _, f := range beforeFolders {
			if strings.HasPrefix(f, "Recoverable Items/") && f != "Recoverable Items/Deletions" && f != "Recoverable Items/Purges" ||
				strings.HasPrefix(f, "Archive:/Recoverable Items") {
				continue
			}
			want := restoreFolder + "/" + f
			if rest, ok := strings.CutPrefix(f, "Archive:/"); ok {
				want = "Archive:/" + restoreFolder + "/" + rest
			}
			assert.Contains(t, folders, want, "folder %s recreated (empty ones too)", f)
		}

		evs, err := h.sim.EventManifest(alice.ID)
		require.NoError(t, err)
		restored := map[string]graphsim.EventEntry{}
		for _, e := range evs {
			if strings.HasPrefix(e.Calendar, restoreFolder) {
				restored[strings.TrimPrefix(e.Calendar, restoreFolder+" - ")+"|"+e.Subject+"|"+e.Start.UTC().String()] = e
			}
		}
		for _, e := range beforeEvents {
			r, ok := restored[e.Calendar+"|"+e.Subject+"|"+e.Start.UTC().String()]
			if !assert.True(t, ok, "event %q restored", e.Subject) {
				continue
			}
			assert.Equal(t, e.End.UTC(), r.End.UTC(), e.Subject)
			assert.Equal(t, e.IsAllDay, r.IsAllDay, e.Subject)
			assert.Equal(t, e.Recurrence, r.Recurrence, e.Subject)
			assert.Equal(t, e.Exceptions, r.Exceptions, "%s: exceptions", e.Subject)
			assert.Equal(t, e.Cancelled, r.Cancelled, "%s: cancelled occurrences", e.Subject)
			assert.Equal(t, attachmentTree(e.Attachments), attachmentTree(r.Attachments), e.Subject)
		}

		cs, err := h.sim.ContactManifest(alice.ID)
		require.NoError(t, err)
		rc := map[string]graphsim.ContactEntry{}
		for _, c := range cs {
			if strings.Contains(c.Folder, restoreFolder) {
				rc[c.DisplayName] = c
			}
		}
		for _, c := range beforeContacts {
			r, ok := rc[c.DisplayName]
			if !assert.True(t, ok, "contact %q restored", c.DisplayName) {
				continue
			}
			assert.Equal(t, c.Emails, r.Emails, c.DisplayName)
			assert.Equal(t, c.Phones, r.Phones, c.DisplayName)
			assert.Equal(t, c.PhotoSHA256, r.PhotoSHA256, "%s: photo", c.DisplayName)
		}
	})

	t.Run("restore to the original folders", func(t *testing.T) {
		out := h.mustCLI("restore", "--user", alice.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(full[alice.ID].ID),
			"--path", "Mail", "--to", "original", "--conflict", "skip", "--json")
		var r struct{ Restored, Skipped, Failed int64 }
		decodeJSON(t, out, &r)
		assert.Positive(t, r.Skipped, "messages still there are skipped")
		assert.Positive(t, r.Restored, "deleted and moved messages come back")
		assert.Zero(t, r.Failed)
		now, err := h.sim.MailManifest(alice.ID)
		require.NoError(t, err)
		got := byMessageID(now)
		for _, m := range before {
			if strings.Contains(m.Folder, ":/") || strings.HasPrefix(m.Folder, "Recoverable Items") {
				continue
			}
			_, ok := got[m.Folder+"|"+m.InternetMessageID]
			assert.True(t, ok, "message %q is back in %s", m.Subject, m.Folder)
		}
		// Again: everything is there now.
		out = h.mustCLI("restore", "--user", alice.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(full[alice.ID].ID),
			"--path", "Mail", "--to", "original", "--conflict", "skip", "--json")
		decodeJSON(t, out, &r)
		assert.Zero(t, r.Restored)
	})

	t.Run("download", func(t *testing.T) {
		zipPath := filepath.Join(t.TempDir(), "mail.zip")
		h.mustCLI("download", "--user", alice.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(full[alice.ID].ID), "-o", zipPath)
		entries, files := readZip(t, zipPath)
		for _, m := range before {
			if strings.HasPrefix(m.Folder, "Archive:/") || strings.HasPrefix(m.Folder, "Recoverable Items/") &&
				m.Folder != "Recoverable Items/Deletions" && m.Folder != "Recoverable Items/Purges" {
				continue
			}
			e, ok := entries[m.ID]
			if !assert.True(t, ok, "message %q in the download", m.Subject) {
				continue
			}
			assert.True(t, strings.HasSuffix(e.Path, ".eml"), e.Path)
			assert.Equal(t, m.MIMESHA256, files[e.Path], "%s is byte-identical to what the service served", e.Path)
		}
		var ics, vcf int
		for p := range files {
			switch {
			case strings.HasSuffix(p, ".ics"):
				ics++
			case strings.HasSuffix(p, ".vcf"):
				vcf++
			}
		}
		assert.Positive(t, ics, "calendars as .ics")
		assert.Positive(t, vcf, "contacts as .vcf")

		// As mbox, filtered by subject.
		subject := before[0].Subject
		mboxPath := filepath.Join(t.TempDir(), "mbox.zip")
		h.mustCLI("download", "--user", alice.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(full[alice.ID].ID),
			"--mbox", "--subject", subject, "-o", mboxPath)
		entries, files = readZip(t, mboxPath)
		for _, m := range before {
			e, ok := entries[m.ID]
			chosen := strings.Contains(strings.ToLower(m.Subject), strings.ToLower(subject)) && !strings.HasPrefix(m.Folder, "Archive:/") &&
				(!strings.HasPrefix(m.Folder, "Recoverable Items/") || m.Folder == "Recoverable Items/Deletions" || m.Folder == "Recoverable Items/Purges")
			assert.Equal(t, chosen, ok, "%q chosen by --subject", m.Subject)
			if ok {
				assert.True(t, strings.HasSuffix(e.Path, ".mbox"), e.Path)
			}
		}
	})

	t.Run("every kind of mailbox restores and downloads", func(t *testing.T) {
		for _, u := range boxes {
			if u.Kind == "user" {
				continue
			}
			before := fullManifest[u.ID]
			h.mustCLI("restore", "--user", u.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(full[u.ID].ID))
			now, err := h.sim.MailManifest(u.ID)
			require.NoError(t, err)
			restored := map[string]graphsim.MailEntry{}
			for _, m := range now {
				folder := strings.TrimPrefix(m.Folder, "Archive:/")
				if top, rest, ok := strings.Cut(folder, "/"); ok && strings.HasPrefix(top, "Holdfast Restore ") {
					if strings.HasPrefix(m.Folder, "Archive:/") {
						rest = "Archive:/" + rest
					}
					restored[rest+"|"+m.InternetMessageID] = m
				}
			}
			zipPath := filepath.Join(t.TempDir(), u.Kind+".zip")
			h.mustCLI("download", "--user", u.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(full[u.ID].ID), "-o", zipPath)
			entries, sums := readZip(t, zipPath)
			require.NotEmpty(t, before, u.Kind)
			for _, m := range before {
				if strings.HasPrefix(m.Folder, "Recoverable Items/") && m.Folder != "Recoverable Items/Deletions" && m.Folder != "Recoverable Items/Purges" {
					continue
				}
				r, ok := restored[m.Folder+"|"+m.InternetMessageID]
				if assert.True(t, ok, "%s: %q restored", u.Kind, m.Subject) {
					assert.Equal(t, factsOf(m), factsOf(r), "%s: %q", u.Kind, m.Subject)
				}
				if !strings.HasPrefix(m.Folder, "Archive:/") {
					assert.Equal(t, m.MIMESHA256, sums[entries[m.ID].Path], "%s: %q downloaded as served", u.Kind, m.Subject)
				}
			}
		}
	})

	t.Run("restore into another mailbox", func(t *testing.T) {
		_, err := h.cli("restore", "--user", alice.UPN, "--app", "exchange", "--to-user", obrien.UPN)
		require.Error(t, err, "the profile does not allow cross-user restores")
		h.mustCLI("profile", "update", "mail", "--allow-cross-user-restore")
		h.mustCLI("restore", "--user", alice.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(full[alice.ID].ID),
			"--path", "Mail/Inbox", "--to-user", obrien.UPN)
		now, err := h.sim.MailManifest(obrien.ID)
		require.NoError(t, err)
		var n int
		for _, m := range now {
			if strings.HasPrefix(m.Folder, "Holdfast Restore ") && strings.HasSuffix(m.Folder, "/Inbox") {
				n++
			}
		}
		var want int
		for _, m := range before {
			if m.Folder == "Inbox" {
				want++
			}
		}
		assert.Equal(t, want, n, "alice's inbox restored into o'brien's mailbox")
	})
}

// readZip reads a download's manifest (item ID → entry) and its files'
// SHA-256 by path.
func readZip(t *testing.T, path string) (map[string]export.ManifestEntry, map[string]string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	entries := map[string]export.ManifestEntry{}
	files := map[string]string{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		if strings.HasSuffix(f.Name, export.ManifestName) {
			var list []export.ManifestEntry
			require.NoError(t, json.Unmarshal(b, &list))
			for _, e := range list {
				require.Empty(t, e.Error, e.Path)
				entries[e.ItemID] = e
			}
			continue
		}
		sum := sha256.Sum256(b)
		files[f.Name] = hex.EncodeToString(sum[:])
	}
	return entries, files
}

// TestImportedCorpus runs a corpus of hard messages — an address that
// begins with an apostrophe, ISO-8859-1, inline images, message/rfc822
// three levels deep, a 400-character subject, S/MIME — through backup,
// restore and download.
func TestImportedCorpus(t *testing.T) {
	const email = "corpus.user@contoso.com"
	src := filepath.Join(repoRoot(), "internal", "e2e", "testdata", "corpus")
	dir := t.TempDir()
	files := map[string][]byte{} // Message-ID → bytes
	require.NoError(t, os.CopyFS(filepath.Join(dir, email, "mail"), os.DirFS(src)))
	require.NoError(t, filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			return err
		}
		files[m.Header.Get("Message-ID")] = b
		return nil
	}))

	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 3, Users: 1, FilesPerUser: 1, MessagesPerMailbox: 2, ImportDir: dir}})
	h.startWorker(nil)
	h.addTenant()
	u := h.userWith("corpus.user")
	h.mustCLI("user", "add", "--apps", "exchange", u.UPN)
	h.mustCLI("backup", "now", "--wait")
	snap := h.latestApp(u.ID, "exchange")
	require.Equal(t, catalog.StateComplete, snap.State, snap.Error)

	all, err := h.sim.MailManifest(u.ID)
	require.NoError(t, err)
	var corpus []graphsim.MailEntry
	for _, m := range all {
		if b, ok := files[m.InternetMessageID]; ok {
			require.Equal(t, sha256Hex(b), m.MIMESHA256, "graphsim serves the imported bytes")
			corpus = append(corpus, m)
		}
	}
	require.Len(t, corpus, len(files))

	t.Run("download is byte-identical", func(t *testing.T) {
		zipPath := filepath.Join(t.TempDir(), "corpus.zip")
		h.mustCLI("download", "--user", u.UPN, "--app", "exchange", "-o", zipPath)
		entries, sums := readZip(t, zipPath)
		for _, m := range corpus {
			e, ok := entries[m.ID]
			require.True(t, ok, m.Subject)
			assert.Equal(t, sha256Hex(files[m.InternetMessageID]), sums[e.Path], e.Path)
			assert.LessOrEqual(t, len(path.Base(e.Path)), 255, "file names are cut to what file systems take")
		}
	})

	t.Run("restore gives every message back", func(t *testing.T) {
		h.mustCLI("restore", "--user", u.UPN, "--app", "exchange")
		now, err := h.sim.MailManifest(u.ID)
		require.NoError(t, err)
		restored := map[string]graphsim.MailEntry{}
		for _, m := range now {
			if strings.HasPrefix(m.Folder, "Holdfast Restore ") {
				_, rest, _ := strings.Cut(m.Folder, "/")
				restored[rest+"|"+m.InternetMessageID] = m
			}
		}
		for _, m := range corpus {
			r, ok := restored[m.Folder+"|"+m.InternetMessageID]
			if assert.True(t, ok, "%q restored into %s", m.Subject, m.Folder) {
				assert.Equal(t, factsOf(m), factsOf(r), m.Subject)
				assert.Equal(t, m.BodySHA256, r.BodySHA256, "%s: the body", m.Subject)
			}
		}
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestMailboxThrottling backs mailboxes up against Outlook's limits made
// small (a budget of 150 requests per 30-second window, 4 concurrent
// requests, slow responses): the backups meet 429s, wait as told, finish
// with every item, and never have more than 4 requests in flight to a
// mailbox.
func TestMailboxThrottling(t *testing.T) {
	const scale, window = 0.015, 0.05 // 150 requests per 30 s
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 8, Users: 2, FilesPerUser: 1, MessagesPerMailbox: 40,
		EventsPerMailbox: 4, ContactsPerMailbox: 4, SharedMailboxes: 1, RoomMailboxes: -1, EquipmentMailboxes: -1,
		ThrottleScale: scale, OutlookWindowScale: window, MailboxLatency: 20 * time.Millisecond}})
	// The worker paces at the budget the window scale implies (per 10
	// minutes): its bursts still run into the short window's limit.
	h.startWorker(func(c *config.Config) { c.MailboxRequestsPer10Min = int(10000 * scale / window) })
	h.addTenant()
	var boxes []graphsim.UserInfo
	args := []string{"user", "add", "--apps", "exchange"}
	for _, u := range h.sim.Users() {
		if u.Kind == "user" || u.Kind == "shared" {
			boxes = append(boxes, u)
			args = append(args, u.UPN)
		}
	}
	h.mustCLI(args...)
	h.mustCLI("backup", "now", "--wait")
	for _, u := range boxes {
		snap := h.latestApp(u.ID, "exchange")
		require.Equal(t, catalog.StateComplete, snap.State, "%s: %s", u.UPN, snap.Error)
		h.assertMailbox(h.simMailbox(u.ID, false), h.snapMailbox(snap), u.UPN)
	}
	c := h.sim.Counters()
	t.Logf("served %d requests, %d answered 429; peak %d in flight to one mailbox", c.Served, c.Throttled, c.MaxMailboxConcurrency)
	assert.Positive(t, c.Throttled, "the budget was small enough to be hit")
	assert.LessOrEqual(t, c.MaxMailboxConcurrency, 4, "never more than 4 requests in flight to one mailbox")
	assert.Equal(t, 4, c.MaxMailboxConcurrency, "and the 4 were used")
}
