// Package graphsim simulates the parts of Microsoft Graph v1.0 and Entra ID that Holdfast talks
// to: the token and admin-consent endpoints MSAL and the connect flow use, users and groups,
// OneDrive (items, delta, downloads, upload sessions, $batch) and Exchange Online (mail
// folders, messages with MIME and nested attachments, calendars with recurrence, contacts,
// Recoverable Items, the In-Place Archive through the mailbox import/export API), with
// realistic throttling (SharePoint and Outlook models), expiring delta tokens and injectable
// faults. It is an independent implementation of the documented wire protocol (it never
// imports msgraph-sdk-go or MSAL), so it catches client mistakes.
//
// The tenant model (tenant.go, drive_model.go, mailbox_model.go, calendar_model.go,
// contacts_model.go, mail_content.go, seed.go, mail_seed.go, mutate.go, mail_mutate.go) is
// separate from the HTTP handlers (identity.go, users.go, groups.go, drive.go, delta.go,
// upload.go, batch.go, mail_*.go, calendar_http.go, contacts_http.go, archive.go) so that
// further surfaces (sites, teams) can be added beside them in the same style.
package graphsim

import (
	"log/slog"
	"time"
)

// Options configure a simulator. The zero value of every field selects its documented default.
type Options struct {
	Addr         string // default "127.0.0.1:0"
	StateDir     string // ca.pem, client.pem, uploaded blobs are written here; required
	Seed         int64  // drives every generated ID, name, size and byte
	Users        int    // seeded users (0 = 10; negative = none, only imported users)
	FilesPerUser int    // default 200 (0 = default; negative = none)
	FileSizeMean int64  // mean seeded file size in bytes (default 64 KiB)
	FileSizeMax  int64  // largest seeded file (default 8 MiB)
	ImportDir    string // DIR/<email>/{onedrive,mail,calendar,contacts}: that user's data

	// Exchange. Zero selects the default; negative means none.
	MessagesPerMailbox  int // seeded messages per user mailbox (default 100; shared: half, resources: a fifth)
	EventsPerMailbox    int // seeded events per mailbox (default 20)
	ContactsPerMailbox  int // seeded contacts per mailbox (default 15)
	SharedMailboxes     int // seeded shared mailboxes (default 1)
	RoomMailboxes       int // seeded room mailboxes (default 1)
	EquipmentMailboxes  int // seeded equipment mailboxes (default 1)
	UsersWithoutMailbox int // seeded users with no Exchange licence (default 1)
	Groups              int // seeded groups (default 4)
	// MailboxLatency delays every Outlook request while it counts as in flight (tests of the
	// 4-concurrent-requests rule use it to make requests overlap). 0 = none.
	MailboxLatency time.Duration

	ThrottleScale float64 // 0 = off, 1 = Microsoft's published budget
	// OutlookWindowScale shortens the Outlook limits' windows (10 minutes of requests, 5 of
	// uploads) by this factor — 0.05 makes the 10-minute window 30 s — so that tests can spend
	// a mailbox's budget and see it come back in seconds. 0 = 1 (the real windows).
	OutlookWindowScale float64
	FaultRate          float64       // 0..1 fraction of Graph/download requests that get a fault
	TokenLifetime      time.Duration // access token lifetime (default 1h)
	DeltaTokenMaxAge   time.Duration // drive delta tokens older than this get 410 (default 30 days)
	Consent            string        // "approve" (default) | "deny": what /adminconsent answers
	Unconsented        bool          // start with no granted roles, so the consent flow can be tested
	Roles              []string      // roles granted by consent; nil = DefaultRoles
	Logger             *slog.Logger  // nil = discard

	// Clock replaces time.Now (tests age tokens and delta links with it). nil = time.Now.
	Clock func() time.Time
}

// DefaultRoles are the application permissions Holdfast needs across every workload; an app
// that starts consented (or is consented through /adminconsent) is granted these.
var DefaultRoles = []string{
	"User.Read.All",
	"Directory.Read.All",
	"Group.Read.All",
	"Files.ReadWrite.All",
	"Sites.ReadWrite.All",
	"Mail.ReadWrite",
	"Calendars.ReadWrite",
	"Contacts.ReadWrite",
	"MailboxSettings.Read",
	"Team.ReadBasic.All",
	"Channel.ReadBasic.All",
	"ChannelMessage.Read.All",
	"Teamwork.Migrate.All",
	"MailboxItem.ImportExport.All",
	"MailboxFolder.ReadWrite.All", // folders of the import/export API (restores into the archive)
}

// Info describes a running simulator; it is also the JSON line graphsim prints on stdout.
type Info struct {
	GraphURL       string `json:"graph_url"`        // https://127.0.0.1:PORT/v1.0
	AuthorityURL   string `json:"authority_url"`    // https://127.0.0.1:PORT/<tenant_id>
	CAFile         string `json:"ca_file"`          // PEM of the CA that signed the server certificate
	TenantID       string `json:"tenant_id"`        // GUID
	ClientID       string `json:"client_id"`        // GUID
	ClientSecret   string `json:"client_secret"`    // accepted by the token endpoint
	ClientCertFile string `json:"client_cert_file"` // CERTIFICATE + PRIVATE KEY PEM for certificate auth
	SimURL         string `json:"sim_url"`          // https://127.0.0.1:PORT/_sim
	Domain         string `json:"domain"`           // e.g. contoso.com
}

const (
	defaultUsers         = 10
	defaultFilesPerUser  = 200
	defaultFileSizeMean  = 64 << 10
	defaultFileSizeMax   = 8 << 20
	defaultTokenLifetime = time.Hour
	defaultMessages      = 100
	defaultEvents        = 20
	defaultContacts      = 15
	// OneDrive does not document a fixed delta-token lifetime ("the upper limit is not fixed" is
	// what concepts/delta-query-overview.md says for Outlook; drive tokens are unspecified).
	// Directory tokens lived 30 days until July 2020, when they became 7 days (Microsoft 365
	// Developer Blog, "Duration of change tracking tokens for identity and education
	// resources"); 30 days is the conservative default for drives.
	defaultDeltaTokenMaxAge = 30 * 24 * time.Hour
	// Directory (users) delta tokens: seven days (same blog post and delta-query-overview.md,
	// "Token duration").
	directoryDeltaTokenMaxAge = 7 * 24 * time.Hour
)

func (o *Options) applyDefaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	switch {
	case o.Users == 0:
		o.Users = defaultUsers
	case o.Users < 0:
		o.Users = 0
	}
	switch {
	case o.FilesPerUser == 0:
		o.FilesPerUser = defaultFilesPerUser
	case o.FilesPerUser < 0:
		o.FilesPerUser = 0
	}
	if o.FileSizeMax <= 0 {
		o.FileSizeMax = defaultFileSizeMax
	}
	if o.FileSizeMean <= 0 {
		o.FileSizeMean = defaultFileSizeMean
	}
	if o.FileSizeMean > o.FileSizeMax {
		o.FileSizeMean = o.FileSizeMax
	}
	noUsers := o.Users == 0
	for _, f := range []struct {
		p   *int
		def int
	}{
		{&o.MessagesPerMailbox, defaultMessages}, {&o.EventsPerMailbox, defaultEvents},
		{&o.ContactsPerMailbox, defaultContacts}, {&o.SharedMailboxes, 1}, {&o.RoomMailboxes, 1},
		{&o.EquipmentMailboxes, 1}, {&o.UsersWithoutMailbox, 1}, {&o.Groups, 4},
	} {
		switch {
		case *f.p == 0 && !(noUsers && f.def == 1):
			*f.p = f.def
		case *f.p < 0:
			*f.p = 0
		}
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = defaultTokenLifetime
	}
	if o.DeltaTokenMaxAge <= 0 {
		o.DeltaTokenMaxAge = defaultDeltaTokenMaxAge
	}
	if o.Consent == "" {
		o.Consent = "approve"
	}
	if o.Roles == nil {
		o.Roles = append([]string(nil), DefaultRoles...)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	o.FaultRate = clamp01(o.FaultRate)
	if o.OutlookWindowScale <= 0 || o.OutlookWindowScale > 1 {
		o.OutlookWindowScale = 1
	}
	if o.ThrottleScale < 0 {
		o.ThrottleScale = 0
	}
}

func clamp01(f float64) float64 {
	switch {
	case f < 0:
		return 0
	case f > 1:
		return 1
	}
	return f
}
