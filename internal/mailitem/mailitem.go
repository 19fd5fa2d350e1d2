// Package mailitem says how Exchange Online items are recorded: the kinds
// of catalog items and containers a mailbox backup makes, and the JSON the
// catalog (Meta) and the vault keep for each. Backup writes these; restore
// and download read them.
//
// What could identify a person's correspondence beyond what a mail client
// shows in a folder list — bodies, recipients, attachments — goes to the
// vault, encrypted; the catalog keeps only what browsing, selection and
// change detection need.
package mailitem

import (
	"encoding/json"
	"time"
)

// Catalog item kinds.
const (
	// KindRoot is a top folder of the mailbox tree: "Mail" (msgfolderroot),
	// "Recoverable Items", "Calendars", "Contacts", "Archive".
	KindRoot          = "mailroot"
	KindMailFolder    = "mailfolder"
	KindCalendar      = "calendar"
	KindContactFolder = "contactfolder"
	KindArchiveFolder = "archivefolder"

	KindMessage     = "message"
	KindEvent       = "event"
	KindContact     = "contact"
	KindArchiveItem = "archiveitem"
)

// Leaf says whether a catalog item kind of any app holds content rather
// than other items.
func Leaf(kind string) bool {
	switch kind {
	case KindMessage, KindEvent, KindContact, KindArchiveItem:
		return true
	}
	return false
}

// Container kinds: each is backed up by its own activity.
const (
	// ContainerHierarchy holds the folder items (all kinds above) and is
	// enumerated in full each run, so renames, moves and deletions of
	// folders, empty ones included, are tracked.
	ContainerHierarchy = "mailbox"
	ContainerMail      = "mailfolder"
	ContainerCalendar  = "calendar"
	ContainerContacts  = "contactfolder"
	ContainerArchive   = "archivefolder"
)

// HierarchyID is the ID of the hierarchy container.
const HierarchyID = "mailbox"

// IDs of the top folders that have no Graph ID of their own.
const (
	RecoverableID = "root:recoverable"
	CalendarsID   = "root:calendars"
	ArchiveID     = "root:archive"
)

// ArchivePrefix marks archive folder and item IDs (the import/export API
// names them in its own ID space).
const ArchivePrefix = "archive/"

// Folder is a folder item's Meta.
type Folder struct {
	WellKnownName string `json:"wellKnownName,omitempty"`
	Hidden        bool   `json:"hidden,omitempty"`
}

// Message is a message item's Meta. The item's Content is the message's
// MIME exactly as the service served it; its extra contents are the
// message's Graph JSON (ExtraJSON: every property — recipients, body,
// categories, importance, flag…) and its attachment tree
// (ExtraAttachments: []Attachment as JSON), kept apart so a change of read
// state or flag stores only the JSON again.
type Message struct {
	InternetMessageID string    `json:"internetMessageId,omitempty"`
	From              string    `json:"from,omitempty"`
	Received          time.Time `json:"received"`
	Sent              time.Time `json:"sent"`
	IsRead            bool      `json:"isRead,omitempty"`
	IsDraft           bool      `json:"isDraft,omitempty"`
	Flag              string    `json:"flag,omitempty"` // notFlagged, flagged, complete
	HasAttachments    bool      `json:"hasAttachments,omitempty"`
	Attachments       int       `json:"attachments,omitempty"` // all levels
}

// Names of a message's extra contents.
const (
	ExtraJSON        = "json"
	ExtraAttachments = "attachments"
	ExtraPhoto       = "photo" // a contact's photo
)

// Attachment is one node of an attachment tree.
type Attachment struct {
	Kind        string `json:"kind"` // graphapi.AttachmentFile, …Item, …Reference
	Name        string `json:"name"`
	ContentType string `json:"contentType,omitempty"`
	Size        int64  `json:"size"`
	IsInline    bool   `json:"isInline,omitempty"`
	// Content is a file attachment's bytes. The tree is one vault
	// content, so a file travels inside it; chunk deduplication still
	// stores an attachment sent to many only about once.
	Content []byte `json:"content,omitempty"`
	// ItemType and Item (Graph JSON) describe an item attachment's item;
	// Children are its own attachments.
	ItemType string          `json:"itemType,omitempty"`
	Item     json.RawMessage `json:"item,omitempty"`
	Children []Attachment    `json:"children,omitempty"`
	// Raw is the attachment's Graph JSON without content or item.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// Event is an event item's Meta. The item's Content is a Series.
type Event struct {
	ICalUID string    `json:"iCalUId,omitempty"`
	Type    string    `json:"type"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// Exceptions and Cancelled count the series' modified and cancelled
	// occurrences.
	Exceptions int `json:"exceptions,omitempty"`
	Cancelled  int `json:"cancelled,omitempty"`
}

// Series is an event's stored form: the event (a single event or a series
// master) with what a series needs to come back as it was.
type Series struct {
	Event json.RawMessage `json:"event"`
	// Attachments of the event (a tree as for messages, file contents in
	// the vault).
	Attachments []Attachment `json:"attachments,omitempty"`
	// Exceptions are the modified occurrences, each with its original
	// start and its own attachments.
	Exceptions []Exception `json:"exceptions,omitempty"`
	// Occurrences are the original starts of every occurrence the series
	// had in [From, To) — exceptions included; an occurrence the restored
	// series has in that range but is not listed here was cancelled.
	Occurrences []time.Time `json:"occurrences,omitempty"`
	From        time.Time   `json:"from,omitzero"`
	To          time.Time   `json:"to,omitzero"`
}

// Exception is a modified occurrence of a series.
type Exception struct {
	OriginalStart time.Time       `json:"originalStart"`
	Event         json.RawMessage `json:"event"`
	Attachments   []Attachment    `json:"attachments,omitempty"`
}

// Contact is a contact item's Meta. The item's Content is the contact's
// Graph JSON; its photo, if it has one, is the extra content ExtraPhoto.
type Contact struct {
	PhotoType string `json:"photoType,omitempty"`
}

// ArchiveItem is an archive item's Meta. The item's Content is the data
// the import/export API exported (opaque, imported back as is).
type ArchiveItem struct {
	Type string `json:"type,omitempty"`
}
