package activities

import "time"

// Inputs and results of the activities. They carry IDs, names and counts —
// never content, credentials, keys or delta links (those stay in the
// catalog), because Temporal stores payloads in its history in plaintext.

// PrepareBackupInput starts a snapshot of one user-app.
type PrepareBackupInput struct {
	TenantID string
	UserID   string
	App      string
	Trigger  string // manual | scheduled | initial
}

// PrepareBackupResult names the opened snapshot.
type PrepareBackupResult struct {
	SnapshotID int64
}

// SnapshotRef names a snapshot.
type SnapshotRef struct {
	SnapshotID int64
}

// Container is one unit of a user-app backed up by one activity (a drive;
// later a mail folder, a calendar...).
type Container struct {
	ID   string
	Kind string
	Name string
}

// ContainerInput backs up one container of a snapshot.
type ContainerInput struct {
	SnapshotID  int64
	ContainerID string
}

// ContainerResult counts what one container's backup did.
type ContainerResult struct {
	Items        int64 // items the service reported
	Changed      int64 // versions written
	Failed       int64 // items that could not be backed up
	BytesNew     int64 // content bytes fetched
	Reenumerated bool  // the delta link had expired; the container was enumerated in full
}

// FailContainerInput records a container that could not be backed up.
type FailContainerInput struct {
	SnapshotID  int64
	ContainerID string
	Reason      string
}

// CommitInput commits a snapshot.
type CommitInput struct {
	SnapshotID int64
	BytesNew   int64
}

// SnapshotSummary is a committed (or failed) snapshot.
type SnapshotSummary struct {
	SnapshotID   int64
	State        string
	ItemsTotal   int64
	ItemsChanged int64
	ItemsFailed  int64
	BytesTotal   int64
	BytesNew     int64
	Error        string // why a failed snapshot failed
}

// FailSnapshotInput ends a snapshot as failed.
type FailSnapshotInput struct {
	SnapshotID int64
	Reason     string
}

// AwaitInput names a running workflow to wait for.
type AwaitInput struct {
	WorkflowID string
}

// Restore modes: where restored items go.
const (
	ModeOriginal = "original" // the same paths in the target user's drive
	ModeFolder   = "folder"   // under a new "Holdfast Restore <time>" folder
)

// Selection picks items of a snapshot: by path (a folder selects its
// subtree) and/or by item ID. Empty selects everything.
type Selection struct {
	Paths   []string
	ItemIDs []string
	// Filters of mail: messages received in [Since, Until), whose sender
	// address contains Sender and subject contains Subject
	// (case-insensitive). With any of them only messages are chosen, and
	// the folders on the way to them.
	Since, Until time.Time `json:",omitzero"`
	Sender       string    `json:",omitempty"`
	Subject      string    `json:",omitempty"`
}

// RestoreRequest is what an admin asked to restore.
type RestoreRequest struct {
	TenantID     string
	UserID       string
	App          string
	SnapshotID   int64     // 0: the newest usable snapshot at At
	At           time.Time // point in time; zero means now
	Selection    Selection
	TargetUserID string // "" = the same user
	Mode         string // ModeOriginal | ModeFolder
	Conflict     string // skip | rename | replace
	FolderName   string // for ModeFolder; set by the workflow from its clock
	Actor        string
}

// RestorePlan is a prepared restore.
type RestorePlan struct {
	JobID        int64
	SnapshotID   int64
	TargetUserID string
	Items        int64
	Bytes        int64
}

// RestoreInput runs a prepared restore.
type RestoreInput struct {
	JobID   int64
	Request RestoreRequest
	Plan    RestorePlan
}

// RestoreResult counts a restore.
type RestoreResult struct {
	Restored int64
	Skipped  int64
	Failed   int64
	Bytes    int64
	Folder   string   // the restore folder, for ModeFolder
	Failures []string // "path: why" for the first few failed items
}

// ExportRequest is what an admin asked to download.
type ExportRequest struct {
	TenantID   string
	UserID     string
	App        string
	SnapshotID int64
	At         time.Time
	Selection  Selection
	Mbox       bool // exchange: a .mbox per mail folder instead of .eml files
	Actor      string
}

// ExportPlan is a prepared download.
type ExportPlan struct {
	JobID      int64
	SnapshotID int64
	Items      int64
	Bytes      int64
	BlobKey    string // where the ZIP will be written in the blob store
}

// ExportInput builds a prepared download.
type ExportInput struct {
	Request ExportRequest
	Plan    ExportPlan
}

// ExportResult describes a written ZIP.
type ExportResult struct {
	BlobKey string
	Size    int64
	Files   int64
	Failed  int64
}

// FinishJobInput ends a restore or download job.
type FinishJobInput struct {
	JobID   int64
	State   string
	Items   int64
	Bytes   int64
	Skipped int64
	Failed  int64
	Target  string
	Error   string
	Actor   string
}

// VerifyInput verifies a snapshot.
type VerifyInput struct {
	SnapshotID int64
}

// VerifyResult reports a verification.
type VerifyResult struct {
	Items    int64 // files read
	Bad      int64 // files that failed
	Bytes    int64
	Problems []string // one line per item that failed: its path and why
}
