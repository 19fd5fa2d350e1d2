package graphapi

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

// Exchange reads and writes Exchange Online mailboxes: mail, calendars,
// contacts, Recoverable Items and the In-Place Archive.
//
// Items travel as the service's own JSON (Raw) next to the few fields the
// engine decides on, so a backup keeps every property Graph returned and a
// restore can give them back.
type Exchange interface {
	// MailboxIDs returns the user's primary and In-Place Archive mailbox
	// IDs (archive "" when there is none), for the import/export API.
	MailboxIDs(ctx context.Context, userID string) (primary, archive string, err error)

	// MailFolders returns the whole folder hierarchy below msgfolderroot,
	// hidden folders included, and msgfolderroot itself (WellKnownName
	// "msgfolderroot", ParentID "").
	MailFolders(ctx context.Context, userID string) ([]MailFolder, error)
	// WellKnownFolder returns a folder by well-known name (inbox,
	// recoverableitemsdeletions, …); ErrNotFound if the mailbox has none.
	WellKnownFolder(ctx context.Context, userID, name string) (MailFolder, error)
	// ChildFolders lists a folder's direct subfolders.
	ChildFolders(ctx context.Context, userID, folderID string) ([]MailFolder, error)
	// MessageDelta fetches one page of a folder's message changes (link ""
	// starts a full enumeration; errors wrap ErrResyncRequired when the
	// service expired the link).
	MessageDelta(ctx context.Context, userID, folderID, link string) (DeltaPage[Message], error)
	// Message returns one message with its body.
	Message(ctx context.Context, userID, messageID string) (Message, error)
	// MessageMIME streams the message's RFC 5322 form (/$value).
	MessageMIME(ctx context.Context, userID, messageID string) (io.ReadCloser, error)

	// Attachments lists the attachments of a message or event
	// (parent "messages/{id}" or "events/{id}"), item attachments expanded
	// with their own attachments to any depth and file contents inline.
	Attachments(ctx context.Context, userID, parent string) ([]Attachment, error)

	// Calendars lists the user's calendars.
	Calendars(ctx context.Context, userID string) ([]Calendar, error)
	// Events lists a calendar's series masters and single events (not
	// occurrences).
	Events(ctx context.Context, userID, calendarID string) ([]Event, error)
	// Instances lists the occurrences and exceptions of a series in a
	// range (cancelled occurrences are absent).
	Instances(ctx context.Context, userID, eventID string, start, end time.Time) ([]Event, error)

	// ContactFolders lists the contact folders: the default Contacts
	// folder (WellKnownName "contacts") and every folder below it.
	ContactFolders(ctx context.Context, userID string) ([]ContactFolder, error)
	// ContactDelta fetches one page of a contact folder's changes.
	ContactDelta(ctx context.Context, userID, folderID, link string) (DeltaPage[Contact], error)
	// ContactPhoto streams a contact's photo; ErrNotFound when it has none.
	ContactPhoto(ctx context.Context, userID, contactID string) (io.ReadCloser, error)

	// ArchiveFolders lists an archive mailbox's folders (the import/export
	// API), ParentID linking them.
	ArchiveFolders(ctx context.Context, mailboxID string) ([]MailFolder, error)
	// ArchiveItems lists a folder's items of the import/export API.
	ArchiveItems(ctx context.Context, mailboxID, folderID string) ([]ArchiveItem, error)
	// ExportItems exports up to 20 items: their opaque data, by item ID.
	ExportItems(ctx context.Context, mailboxID string, itemIDs []string) (map[string][]byte, error)

	ExchangeWriter
}

// ExchangeWriter writes to a mailbox (restores).
type ExchangeWriter interface {
	// CreateMailFolder creates a folder under parentID ("" for the top of
	// the mailbox); a taken name is ErrConflict.
	CreateMailFolder(ctx context.Context, userID, parentID, name string) (MailFolder, error)
	// CreateMessage creates a message in a folder from Graph message JSON
	// (with singleValueExtendedProperties to make it a non-draft with its
	// original dates).
	CreateMessage(ctx context.Context, userID, folderID string, message json.RawMessage) (Message, error)
	// DeleteMessage deletes a message (a restore replacing it).
	DeleteMessage(ctx context.Context, userID, messageID string) error
	// AddAttachment adds an attachment (Graph attachment JSON: file of up
	// to 3 MB, item with its embedded item, or reference) to a message or
	// event (parent as for Attachments).
	AddAttachment(ctx context.Context, userID, parent string, attachment json.RawMessage) error
	// UploadAttachment adds a large file attachment through an upload
	// session (whose URL is pre-authenticated).
	UploadAttachment(ctx context.Context, userID, parent, name, contentType string, size int64, isInline bool, r io.Reader) error

	// CreateCalendar creates a calendar; a taken name is ErrConflict.
	CreateCalendar(ctx context.Context, userID, name string) (Calendar, error)
	// CreateEvent creates an event (Graph event JSON) in a calendar.
	CreateEvent(ctx context.Context, userID, calendarID string, event json.RawMessage) (Event, error)
	// UpdateEvent patches an event or occurrence (making it an exception).
	UpdateEvent(ctx context.Context, userID, eventID string, patch json.RawMessage) error
	// DeleteEvent deletes an event, or cancels an occurrence.
	DeleteEvent(ctx context.Context, userID, eventID string) error

	// CreateContactFolder creates a folder below the default Contacts
	// folder; a taken name is ErrConflict.
	CreateContactFolder(ctx context.Context, userID, name string) (ContactFolder, error)
	// CreateContact creates a contact (Graph contact JSON) in a folder
	// ("" for the default Contacts folder).
	CreateContact(ctx context.Context, userID, folderID string, contact json.RawMessage) (Contact, error)
	// DeleteContact deletes a contact (a restore replacing it).
	DeleteContact(ctx context.Context, userID, contactID string) error
	// SetContactPhoto sets a contact's photo.
	SetContactPhoto(ctx context.Context, userID, contactID, contentType string, photo []byte) error

	// ImportItem writes an item exported with ExportItems into a folder of
	// the import/export API.
	ImportItem(ctx context.Context, mailboxID, folderID string, data []byte) (string, error)
	// CreateArchiveFolder creates a folder in the import/export API.
	CreateArchiveFolder(ctx context.Context, mailboxID, parentID, name string) (MailFolder, error)
}

// MailFolder is a mail folder (or, from the import/export API, an archive
// folder).
type MailFolder struct {
	ID            string
	ParentID      string
	DisplayName   string
	WellKnownName string // when the service names it (inbox, sentitems, …)
	Hidden        bool
	TotalItems    int
	Raw           json.RawMessage
}

// Message is a mail message as a delta page or GET reports it.
type Message struct {
	ID                string
	FolderID          string
	ChangeKey         string
	InternetMessageID string
	Subject           string
	From              string
	Received          time.Time
	Sent              time.Time
	IsRead            bool
	IsDraft           bool
	HasAttachments    bool
	Removed           bool // a delta tombstone (deleted from, or moved out of, the folder)
	Raw               json.RawMessage
}

// Attachment kinds.
const (
	AttachmentFile      = "file"
	AttachmentItem      = "item"
	AttachmentReference = "reference"
)

// Attachment is a message's or event's attachment.
type Attachment struct {
	ID          string
	Kind        string // AttachmentFile, AttachmentItem, AttachmentReference
	Name        string
	ContentType string
	Size        int64
	IsInline    bool
	Content     []byte // file attachments: the bytes
	// ItemType is "message", "event" or "contact" for item attachments;
	// Item is the item's JSON and Children its own attachments.
	ItemType string
	Item     json.RawMessage
	Children []Attachment
	Raw      json.RawMessage // the attachment's JSON without content or item
}

// Calendar is a calendar of a mailbox.
type Calendar struct {
	ID        string
	Name      string
	IsDefault bool
	Raw       json.RawMessage
}

// Event is a calendar item: a single event, a series master, or (from
// Instances) an occurrence or exception.
type Event struct {
	ID             string
	Type           string // singleInstance, seriesMaster, occurrence, exception
	SeriesMasterID string
	ChangeKey      string
	ICalUID        string
	Subject        string
	Start          time.Time // UTC
	End            time.Time
	OriginalStart  time.Time // occurrences and exceptions
	HasAttachments bool
	IsCancelled    bool
	Raw            json.RawMessage
}

// ContactFolder is a contact folder.
type ContactFolder struct {
	ID            string
	ParentID      string
	DisplayName   string
	WellKnownName string // "contacts" for the default folder
	Raw           json.RawMessage
}

// Contact is a contact as a delta page reports it.
type Contact struct {
	ID          string
	FolderID    string
	ChangeKey   string
	DisplayName string
	Removed     bool
	Raw         json.RawMessage
}

// ArchiveItem is an item of the import/export API.
type ArchiveItem struct {
	ID        string
	FolderID  string
	ChangeKey string
	Type      string
	Size      int64
	Created   time.Time
	Modified  time.Time
	Raw       json.RawMessage
}
