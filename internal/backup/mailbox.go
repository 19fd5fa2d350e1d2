package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/mailitem"
)

// Mailbox backs up one container of an Exchange Online mailbox
// (Config.ContainerID and Kind say which, as MailboxContainers listed it).
type Mailbox struct {
	Config
	Graph  graphapi.Exchange
	UserID string
	Kind   string // a mailitem.Container* kind
	// RecoverableItems includes the Recoverable Items deletions and purges
	// folders (a profile option).
	RecoverableItems bool
}

// Container is a unit of a backup, run by its own activity.
type Container struct {
	ID   string
	Kind string
	Name string
}

// Recoverable Items subfolders a profile may include. The others (Audits,
// Calendar Logging, DiscoveryHolds, SubstrateHolds, Versions) hold the
// service's own records and copies kept for holds: never backed up.
var recoverableFolders = []string{"recoverableitemsdeletions", "recoverableitemspurges"}

// hierarchy is a mailbox's folders as catalog items, and the containers
// that hold their items.
type hierarchy struct {
	items      []catalog.ItemVersion
	containers []Container
}

// MailboxContainers lists what a mailbox backup runs: the hierarchy
// (folder items) first, then one container per folder, calendar, contact
// folder and archive folder.
func MailboxContainers(ctx context.Context, g graphapi.Exchange, userID string, recoverable bool) ([]Container, error) {
	h, err := readHierarchy(ctx, g, userID, recoverable)
	if err != nil {
		return nil, err
	}
	return append([]Container{{ID: mailitem.HierarchyID, Kind: mailitem.ContainerHierarchy, Name: "Folders"}}, h.containers...), nil
}

func readHierarchy(ctx context.Context, g graphapi.Exchange, userID string, recoverable bool) (hierarchy, error) {
	var h hierarchy
	folder := func(id, parent, name, kind string, meta mailitem.Folder) {
		m, _ := json.Marshal(meta)
		h.items = append(h.items, catalog.ItemVersion{ItemID: id, ContainerID: mailitem.HierarchyID, ParentID: parent,
			Name: name, Kind: kind, Meta: string(m)})
	}

	mail, err := g.MailFolders(ctx, userID)
	if err != nil {
		return h, fmt.Errorf("mail folders: %w", err)
	}
	for _, f := range mail {
		meta := mailitem.Folder{WellKnownName: f.WellKnownName, Hidden: f.Hidden}
		if f.WellKnownName == "msgfolderroot" || f.ParentID == "" {
			folder(f.ID, "", "Mail", mailitem.KindRoot, meta)
			continue
		}
		folder(f.ID, f.ParentID, f.DisplayName, mailitem.KindMailFolder, meta)
		h.containers = append(h.containers, Container{ID: f.ID, Kind: mailitem.ContainerMail, Name: f.DisplayName})
	}

	if recoverable {
		folder(mailitem.RecoverableID, "", "Recoverable Items", mailitem.KindRoot, mailitem.Folder{})
		for _, name := range recoverableFolders {
			f, err := g.WellKnownFolder(ctx, userID, name)
			if err != nil {
				if errors.Is(err, graphapi.ErrNotFound) {
					continue
				}
				return h, fmt.Errorf("recoverable items: %w", err)
			}
			folder(f.ID, mailitem.RecoverableID, f.DisplayName, mailitem.KindMailFolder,
				mailitem.Folder{WellKnownName: name, Hidden: f.Hidden})
			h.containers = append(h.containers, Container{ID: f.ID, Kind: mailitem.ContainerMail, Name: f.DisplayName})
		}
	}

	cals, err := g.Calendars(ctx, userID)
	if err != nil {
		return h, fmt.Errorf("calendars: %w", err)
	}
	folder(mailitem.CalendarsID, "", "Calendars", mailitem.KindRoot, mailitem.Folder{})
	for _, c := range cals {
		wk := ""
		if c.IsDefault {
			wk = "calendar"
		}
		folder(c.ID, mailitem.CalendarsID, c.Name, mailitem.KindCalendar, mailitem.Folder{WellKnownName: wk})
		h.containers = append(h.containers, Container{ID: c.ID, Kind: mailitem.ContainerCalendar, Name: c.Name})
	}

	cfs, err := g.ContactFolders(ctx, userID)
	if err != nil {
		return h, fmt.Errorf("contact folders: %w", err)
	}
	for _, f := range cfs {
		parent := f.ParentID
		if f.WellKnownName == "contacts" {
			parent = ""
		}
		folder(f.ID, parent, f.DisplayName, mailitem.KindContactFolder, mailitem.Folder{WellKnownName: f.WellKnownName})
		h.containers = append(h.containers, Container{ID: f.ID, Kind: mailitem.ContainerContacts, Name: f.DisplayName})
	}

	_, archive, err := g.MailboxIDs(ctx, userID)
	if err != nil {
		return h, fmt.Errorf("mailbox settings: %w", err)
	}
	if archive == "" {
		return h, nil
	}
	afs, err := g.ArchiveFolders(ctx, archive)
	if err != nil {
		return h, fmt.Errorf("archive folders: %w", err)
	}
	folder(mailitem.ArchiveID, "", "Archive", mailitem.KindRoot, mailitem.Folder{})
	known := make(map[string]bool, len(afs))
	for _, f := range afs {
		known[f.ID] = true
	}
	for _, f := range afs {
		parent := mailitem.ArchivePrefix + f.ParentID
		if !known[f.ParentID] {
			parent = mailitem.ArchiveID // below the top of the archive
		}
		id := mailitem.ArchivePrefix + f.ID
		folder(id, parent, f.DisplayName, mailitem.KindArchiveFolder, mailitem.Folder{WellKnownName: f.WellKnownName})
		h.containers = append(h.containers, Container{ID: id, Kind: mailitem.ContainerArchive, Name: f.DisplayName})
	}
	return h, nil
}

// Run backs up the container from cursor from (the zero Cursor for a new
// run) and records it as finished in the snapshot.
func (m *Mailbox) Run(ctx context.Context, from Cursor) (Result, error) {
	r := newRunner(&m.Config, from)
	var err error
	switch m.Kind {
	case mailitem.ContainerHierarchy:
		err = (&folderRun{runner: r, m: m}).run(ctx)
	case mailitem.ContainerMail:
		err = (&messageRun{runner: r, m: m}).run(ctx)
	case mailitem.ContainerCalendar:
		err = (&calendarRun{runner: r, m: m}).run(ctx)
	case mailitem.ContainerContacts:
		err = (&contactRun{runner: r, m: m}).run(ctx)
	case mailitem.ContainerArchive:
		err = (&archiveRun{runner: r, m: m}).run(ctx)
	default:
		err = fmt.Errorf("unknown mailbox container kind %q", m.Kind)
	}
	return r.result(ctx, err)
}

// full runs a container that has no delta query: every run enumerates it
// in full, and the commit closes what it did not see.
func (r *runner) full(ctx context.Context, what string, list func(ctx context.Context) error) error {
	r.cur = Cursor{Started: true, Full: true}
	return r.loop(ctx, what, func(ctx context.Context, _ string) (string, string, error) {
		return "", "", list(ctx)
	})
}

// folderRun records the mailbox's folders.
type folderRun struct {
	*runner
	m *Mailbox
}

func (r *folderRun) run(ctx context.Context) error {
	return r.full(ctx, "mailbox folders", func(ctx context.Context) error {
		h, err := readHierarchy(ctx, r.m.Graph, r.m.UserID, r.m.RecoverableItems)
		if err != nil {
			return err
		}
		ids := make([]string, len(h.items))
		for i, it := range h.items {
			ids[i] = it.ItemID
		}
		current, err := r.Catalog.CurrentVersions(ctx, r.Key, ids)
		if err != nil {
			return err
		}
		for _, it := range h.items {
			r.cur.Items++
			prev, known := current[it.ItemID]
			if known && prev.Name == it.Name && prev.ParentID == it.ParentID && prev.Kind == it.Kind && prev.Meta == it.Meta {
				r.unchanged(it.ItemID)
				continue
			}
			r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: it})
		}
		return nil
	})
}
