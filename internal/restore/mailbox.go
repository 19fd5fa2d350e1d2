package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/mailitem"
	"github.com/holdfast/holdfast/internal/tree"
)

// Mailbox restores nodes of an Exchange snapshot into a mailbox: messages
// as the non-drafts they were, with their dates, read state, flags and
// attachment trees; folders as they were, empty and deleted ones
// included; calendars with their series' exceptions and cancellations;
// contacts with their photos; archive items into the In-Place Archive.
type Mailbox struct {
	Graph  graphapi.Exchange
	Open   Opener
	UserID string // destination mailbox
	// Folder, when set, is the name of a new folder (and, for calendars
	// and contact folders, the prefix of new ones) the nodes are restored
	// under; "" restores to their original places.
	Folder string
	// Policy decides about an item already at the destination: a message
	// with the same Internet message ID, an event with the same subject and
	// start, a contact with the same name and address.
	Policy      Policy
	Concurrency int // parallel item writes (default 4, the mailbox's limit)
	Resumed     bool
	Progress    func(done int, so Result)
	Log         *slog.Logger
}

// maxInlineAttachment is the largest file attachment added in one request
// (https://learn.microsoft.com/graph/outlook-large-attachments: "under
// 3 MB"); larger ones go through an upload session.
const maxInlineAttachment = 3 << 20

// Run restores nodes[start:] (pre-order, as tree.Select returns).
func (m *Mailbox) Run(ctx context.Context, nodes []*tree.Node, start int) (Result, error) {
	if m.Concurrency <= 0 {
		m.Concurrency = 4
	}
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	r := &mailRestorer{Mailbox: m, tracker: newTracker(len(nodes), start, m.Progress, m.Log),
		dest: map[string]string{}, children: map[string][]graphapi.MailFolder{}, present: map[string]map[string][]string{}}
	return r.walk(ctx, nodes, start, m.Concurrency,
		func(ctx context.Context, n *tree.Node) error {
			_, err := r.container(ctx, n)
			return err
		},
		func(ctx context.Context, n *tree.Node) (string, error) { return r.container(ctx, n.Parent) },
		func(ctx context.Context, n *tree.Node, dest string) (bool, error) {
			out, err := r.item(ctx, n, dest)
			return out == skipped, err
		})
}

type mailRestorer struct {
	*Mailbox
	*tracker
	mu       sync.Mutex
	dest     map[string]string                // source container node ID → destination ID
	children map[string][]graphapi.MailFolder // destination mail folder → its subfolders
	// present holds, per destination container, the keys of the items
	// already there (for the conflict policy) and their IDs.
	present map[string]map[string][]string
	archive *string // the destination's archive mailbox ID, once looked up
	calList []graphapi.Calendar
	cfList  []graphapi.ContactFolder
}

// container returns the destination of a folder node (mail folder,
// calendar, contact folder, archive folder or top folder), creating it and
// any missing ancestors. Folders of the destination with the same name
// are merged into.
func (r *mailRestorer) container(ctx context.Context, n *tree.Node) (string, error) {
	if n == nil || n.Parent == nil && n.ItemID == "" {
		return "", errors.New("the item has no folder in this snapshot")
	}
	r.mu.Lock()
	id, ok := r.dest[n.ItemID]
	r.mu.Unlock()
	if ok {
		return id, nil
	}
	id, err := r.resolve(ctx, n)
	if err != nil {
		return "", fmt.Errorf("folder %q: %w", n.Path, err)
	}
	r.mu.Lock()
	r.dest[n.ItemID] = id
	r.mu.Unlock()
	return id, nil
}

func (r *mailRestorer) resolve(ctx context.Context, n *tree.Node) (string, error) {
	var meta mailitem.Folder
	_ = json.Unmarshal([]byte(n.Meta), &meta)
	switch n.Kind {
	case mailitem.KindRoot:
		return r.root(ctx, n)
	case mailitem.KindMailFolder:
		if r.Folder == "" && meta.WellKnownName != "" && !strings.HasPrefix(meta.WellKnownName, "recoverableitems") {
			f, err := r.Graph.WellKnownFolder(ctx, r.UserID, meta.WellKnownName)
			if err == nil {
				return f.ID, nil
			}
			if !errors.Is(err, graphapi.ErrNotFound) {
				return "", err
			}
		}
		parent, err := r.container(ctx, n.Parent)
		if err != nil {
			return "", err
		}
		return r.mailChild(ctx, parent, n.Name)
	case mailitem.KindCalendar:
		return r.calendar(ctx, n, meta)
	case mailitem.KindContactFolder:
		return r.contactFolder(ctx, n, meta)
	case mailitem.KindArchiveFolder:
		parent, err := r.container(ctx, n.Parent)
		if err != nil {
			return "", err
		}
		return r.archiveChild(ctx, parent, n.Name)
	}
	return "", fmt.Errorf("%s is not a folder", n.Kind)
}

// root resolves a top folder: Mail is the mailbox's top (or the new
// restore folder there), Recoverable Items a visible folder of that name
// (the service's own is not writable), Archive the archive's top.
func (r *mailRestorer) root(ctx context.Context, n *tree.Node) (string, error) {
	switch n.ItemID {
	case mailitem.CalendarsID:
		return "", nil // calendars are made one by one
	case mailitem.ArchiveID:
		if _, err := r.archiveMailbox(ctx); err != nil {
			return "", err
		}
		if r.Folder == "" {
			return "", nil // the top of the archive
		}
		return r.archiveChild(ctx, "", r.Folder)
	case mailitem.RecoverableID:
		top, err := r.mailTop(ctx)
		if err != nil {
			return "", err
		}
		return r.mailChild(ctx, top, "Recoverable Items")
	}
	return r.mailTop(ctx)
}

// mailTop is where mail goes: msgfolderroot, or the restore folder below it.
func (r *mailRestorer) mailTop(ctx context.Context) (string, error) {
	r.mu.Lock()
	id, ok := r.dest["top"]
	r.mu.Unlock()
	if ok {
		return id, nil
	}
	root, err := r.Graph.WellKnownFolder(ctx, r.UserID, "msgfolderroot")
	if err != nil {
		return "", err
	}
	id = root.ID
	if r.Folder != "" {
		if id, err = r.mailChild(ctx, root.ID, r.Folder); err != nil {
			return "", err
		}
	}
	r.mu.Lock()
	r.dest["top"] = id
	r.mu.Unlock()
	return id, nil
}

// mailChild finds or creates the mail folder name below parent.
func (r *mailRestorer) mailChild(ctx context.Context, parent, name string) (string, error) {
	find := func(refresh bool) (string, error) {
		r.mu.Lock()
		kids, ok := r.children[parent]
		r.mu.Unlock()
		if !ok || refresh {
			var err error
			if kids, err = r.Graph.ChildFolders(ctx, r.UserID, parent); err != nil {
				return "", err
			}
			r.mu.Lock()
			r.children[parent] = kids
			r.mu.Unlock()
		}
		for _, k := range kids {
			if strings.EqualFold(k.DisplayName, name) {
				return k.ID, nil
			}
		}
		return "", nil
	}
	if id, err := find(false); id != "" || err != nil {
		return id, err
	}
	f, err := r.Graph.CreateMailFolder(ctx, r.UserID, parent, name)
	if errors.Is(err, graphapi.ErrConflict) {
		if id, ferr := find(true); id != "" || ferr != nil {
			return id, ferr
		}
	}
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.children[parent] = append(r.children[parent], f)
	r.mu.Unlock()
	return f.ID, nil
}

func (r *mailRestorer) calendar(ctx context.Context, n *tree.Node, meta mailitem.Folder) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calList == nil {
		cals, err := r.Graph.Calendars(ctx, r.UserID)
		if err != nil {
			return "", err
		}
		r.calList = cals
	}
	name := n.Name
	if r.Folder != "" {
		name = r.Folder + " - " + n.Name
	}
	for _, c := range r.calList {
		if r.Folder == "" && meta.WellKnownName == "calendar" && c.IsDefault || strings.EqualFold(c.Name, name) {
			return c.ID, nil
		}
	}
	c, err := r.Graph.CreateCalendar(ctx, r.UserID, name)
	if err != nil {
		return "", err
	}
	r.calList = append(r.calList, c)
	return c.ID, nil
}

func (r *mailRestorer) contactFolder(ctx context.Context, n *tree.Node, meta mailitem.Folder) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfList == nil {
		fs, err := r.Graph.ContactFolders(ctx, r.UserID)
		if err != nil {
			return "", err
		}
		r.cfList = fs
	}
	name := n.Name
	if r.Folder != "" {
		name = r.Folder + " - " + n.Name
	}
	for _, f := range r.cfList {
		if r.Folder == "" && meta.WellKnownName == "contacts" && f.WellKnownName == "contacts" ||
			f.WellKnownName != "contacts" && strings.EqualFold(f.DisplayName, name) {
			return f.ID, nil
		}
	}
	f, err := r.Graph.CreateContactFolder(ctx, r.UserID, name)
	if err != nil {
		return "", err
	}
	r.cfList = append(r.cfList, f)
	return f.ID, nil
}

func (r *mailRestorer) archiveMailbox(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.archive != nil {
		return *r.archive, nil
	}
	_, mbx, err := r.Graph.MailboxIDs(ctx, r.UserID)
	if err != nil {
		return "", err
	}
	if mbx == "" {
		return "", fmt.Errorf("user %s has no In-Place Archive to restore archive items to", r.UserID)
	}
	r.archive = &mbx
	return mbx, nil
}

// archiveChild finds or creates an archive folder below parent ("" the top).
func (r *mailRestorer) archiveChild(ctx context.Context, parent, name string) (string, error) {
	mbx, err := r.archiveMailbox(ctx)
	if err != nil {
		return "", err
	}
	key := "archive:" + parent
	r.mu.Lock()
	kids, ok := r.children[key]
	r.mu.Unlock()
	if !ok {
		all, err := r.Graph.ArchiveFolders(ctx, mbx)
		if err != nil {
			return "", err
		}
		ids := map[string]bool{}
		for _, f := range all {
			ids[f.ID] = true
		}
		for _, f := range all {
			if f.ParentID == parent || parent == "" && !ids[f.ParentID] {
				kids = append(kids, f)
			}
		}
	}
	for _, k := range kids {
		if strings.EqualFold(k.DisplayName, name) {
			return k.ID, nil
		}
	}
	f, err := r.Graph.CreateArchiveFolder(ctx, mbx, parent, name)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.children[key] = append(kids, f)
	r.mu.Unlock()
	return f.ID, nil
}

// item restores one leaf into its destination container.
func (r *mailRestorer) item(ctx context.Context, n *tree.Node, dest string) (outcome, error) {
	switch n.Kind {
	case mailitem.KindMessage:
		return r.message(ctx, n, dest)
	case mailitem.KindEvent:
		return r.event(ctx, n, dest)
	case mailitem.KindContact:
		return r.contact(ctx, n, dest)
	case mailitem.KindArchiveItem:
		// The import/export API has no key to match items by: archive
		// items are always written.
		mbx, err := r.archiveMailbox(ctx)
		if err != nil {
			return write, err
		}
		data, err := r.read(ctx, n.Content)
		if err != nil {
			return write, err
		}
		_, err = r.Graph.ImportItem(ctx, mbx, dest, data)
		return write, err
	}
	return write, fmt.Errorf("cannot restore a %s", n.Kind)
}

// read reads a stored content into memory (item JSON, attachment trees,
// photos, archive items: bounded by the service's own item size limits).
func (r *mailRestorer) read(ctx context.Context, content string) ([]byte, error) {
	if content == "" {
		return nil, nil
	}
	rc, err := r.Open(ctx, content)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func (r *mailRestorer) extra(ctx context.Context, n *tree.Node, name string) ([]byte, error) {
	return r.read(ctx, catalog.DecodeExtra(n.Extra)[name])
}

// outcome is what the conflict policy makes of an item.
type outcome int

const (
	write   outcome = iota // restore it
	skipped                // the policy leaves it out
	already                // an interrupted attempt restored it (rename)
)

// conflict applies the policy to an item whose key the destination may
// already hold, returning, for replace, the IDs to delete first. list
// reads the destination's keys, once per destination.
func (r *mailRestorer) conflict(ctx context.Context, dest, key string, list func() (map[string][]string, error)) (outcome, []string, error) {
	if key == "" {
		return write, nil, nil
	}
	r.mu.Lock()
	have, ok := r.present[dest]
	r.mu.Unlock()
	if !ok {
		var err error
		if have, err = list(); err != nil {
			return write, nil, err
		}
		r.mu.Lock()
		r.present[dest] = have
		r.mu.Unlock()
	}
	r.mu.Lock()
	ids := have[key]
	r.mu.Unlock()
	switch {
	case len(ids) == 0:
		return write, nil, nil
	case r.Policy == Skip:
		return skipped, nil, nil
	case r.Policy == Rename && r.Resumed:
		return already, nil, nil
	case r.Policy == Replace:
		return write, ids, nil
	}
	return write, nil, nil
}

// messageKeys lists a mail folder's messages by Internet message ID.
func (r *mailRestorer) messageKeys(ctx context.Context, folder string) (map[string][]string, error) {
	out := map[string][]string{}
	link := ""
	for {
		page, err := r.Graph.MessageDelta(ctx, r.UserID, folder, link)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Items {
			if !m.Removed && m.InternetMessageID != "" {
				out[m.InternetMessageID] = append(out[m.InternetMessageID], m.ID)
			}
		}
		if page.NextLink == "" {
			return out, nil
		}
		link = page.NextLink
	}
}
