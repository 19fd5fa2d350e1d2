// Package graphapi holds the small interfaces and plain types through which
// Holdfast reads from and writes to a Microsoft 365 tenant.
//
// internal/m365 implements them over msgraph-sdk-go and MSAL; everything
// else (activities, tests, the benchmark fetcher) depends only on this
// package, so it never waits for the Graph SDK to compile.
package graphapi

import (
	"context"
	"io"
	"time"
)

// Conn is what is needed to reach one tenant. Secret and CertPEM are
// plaintext credentials: they live in memory only and never travel in
// workflow payloads or logs.
type Conn struct {
	TenantID     string
	ClientID     string
	Secret       string // client secret, or ""
	CertPEM      []byte // certificate + private key (PEM), or nil
	GraphURL     string // e.g. https://graph.microsoft.com/v1.0
	AuthorityURL string // e.g. https://login.microsoftonline.com/<tenant>
	CAFile       string // extra CA bundle for a private endpoint (the simulator); "" = system roots
}

// Factory hands out one Client per tenant; clients are shared so that the
// token cache and the throttle state cover everything the worker does for
// that tenant.
type Factory interface {
	Client(ctx context.Context, c Conn) (Client, error)
}

// Client is everything Holdfast does with one tenant.
type Client interface {
	Directory
	Drives
	Mailboxes
	Exchange
	// Roles returns the application permissions the tenant granted the app
	// (the "roles" claim of its token).
	Roles(ctx context.Context) ([]string, error)
}

// Directory reads Entra ID.
type Directory interface {
	// User returns one user by object ID or user principal name.
	User(ctx context.Context, idOrUPN string) (User, error)
	// Users lists every user of the tenant.
	Users(ctx context.Context) ([]User, error)
	// UsersDelta fetches one page of directory changes (link "" starts a
	// full enumeration). Removed users come back with Removed set.
	UsersDelta(ctx context.Context, link string) (DeltaPage[User], error)
	// GroupByName finds a group by display name (ErrNotFound if none).
	GroupByName(ctx context.Context, name string) (Group, error)
	// GroupMembers lists a group's user members.
	GroupMembers(ctx context.Context, groupID string) ([]User, error)
}

// Group is a directory group.
type Group struct {
	ID          string
	DisplayName string
}

// Mailboxes reads Exchange Online mailboxes.
type Mailboxes interface {
	// MailboxKind returns the kind of a user's mailbox (MailboxUser,
	// MailboxShared, MailboxRoom, MailboxEquipment, or the service's other
	// userPurpose values); ErrNoMailbox when the user has none.
	MailboxKind(ctx context.Context, userID string) (string, error)
	// CheckMailbox reads the user's Inbox: it works when the mailbox exists
	// and the app may read mail.
	CheckMailbox(ctx context.Context, userID string) error
}

// Mailbox kinds (Graph's mailboxSettings.userPurpose).
const (
	MailboxUser      = "user"
	MailboxShared    = "shared"
	MailboxRoom      = "room"
	MailboxEquipment = "equipment"
)

// User is a directory user.
type User struct {
	ID          string
	UPN         string
	Mail        string
	DisplayName string
	Department  string
	Enabled     bool
	Removed     bool // a users/delta tombstone
}

// Drives reads and writes OneDrive (and, later, SharePoint document libraries).
type Drives interface {
	// UserDrive returns a user's OneDrive; ErrNotFound if it is not provisioned.
	UserDrive(ctx context.Context, userID string) (Drive, error)
	// DriveDelta fetches one page of changes. link is "" for a full
	// enumeration, or a nextLink/deltaLink from an earlier page. It returns
	// an error wrapping ErrResyncRequired when the service expired the link.
	DriveDelta(ctx context.Context, driveID, link string) (DeltaPage[DriveItem], error)
	// DriveItem returns one item's current metadata (ErrNotFound if gone).
	DriveItem(ctx context.Context, driveID, itemID string) (DriveItem, error)
	// ItemByPath returns the item at a path relative to the drive root ("a/b.txt").
	ItemByPath(ctx context.Context, driveID, path string) (DriveItem, error)
	// Children lists a folder's children.
	Children(ctx context.Context, driveID, itemID string) ([]DriveItem, error)
	// Download streams a file's content, through its pre-authenticated
	// download URL when it has a fresh one, else through /content.
	Download(ctx context.Context, driveID string, item DriveItem) (io.ReadCloser, error)
	// CreateFolder creates a folder under parentID. With ConflictFail an
	// existing folder of that name is returned as ErrConflict.
	CreateFolder(ctx context.Context, driveID, parentID, name string, c Conflict) (DriveItem, error)
	// Upload writes a file of the given size under parentID, with an
	// upload session when it is large. ConflictFail returns ErrConflict.
	Upload(ctx context.Context, driveID, parentID, name string, size int64, r io.Reader, c Conflict) (DriveItem, error)
}

// Drive is a OneDrive or document library.
type Drive struct {
	ID        string
	Name      string
	DriveType string
	RootID    string
}

// ItemKind says what a drive item is.
type ItemKind string

const (
	KindRoot    ItemKind = "root"
	KindFolder  ItemKind = "folder"
	KindFile    ItemKind = "file"
	KindPackage ItemKind = "package" // e.g. a OneNote notebook: folder-like, has children
)

// DriveItem is a file, folder or package as Graph reports it.
type DriveItem struct {
	ID           string
	Name         string
	ParentID     string
	Kind         ItemKind
	PackageType  string // "oneNote" for notebooks
	Size         int64
	Created      time.Time
	Modified     time.Time
	ETag         string
	CTag         string
	MimeType     string
	QuickXorHash string // base64, as Graph reports it
	SHA256Hash   string // hex, when the service provides it
	DownloadURL  string // short-lived and pre-authenticated; never persisted
	Deleted      bool   // a delta tombstone
}

// DeltaPage is one page of a delta query. Exactly one of NextLink and
// DeltaLink is set.
type DeltaPage[T any] struct {
	Items     []T
	NextLink  string
	DeltaLink string
}

// Conflict is what a write does when the name is taken.
type Conflict string

const (
	ConflictFail    Conflict = "fail"
	ConflictRename  Conflict = "rename"
	ConflictReplace Conflict = "replace"
)
