package m365

import "time"

// Microsoft's published limits the client paces itself by. Each constant
// cites its source; the arithmetic is spelled out where there is some.

// SharePoint and OneDrive meter an app per tenant in resource units (RU)
// per minute, by the tenant's licence count: 1,200 RU/min for 0–1,000
// licences, 2,400 up to 5,000, 3,600 up to 15,000, 4,800 up to 50,000 and
// 6,000 above.
// https://learn.microsoft.com/sharepoint/dev/general-development/how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online
var sharePointRUPerMinute = []struct {
	maxLicences int
	ru          int
}{
	{1_000, 1_200}, {5_000, 2_400}, {15_000, 3_600}, {50_000, 4_800}, {1 << 62, 6_000},
}

// SharePointRUPerMinute is the RU budget per minute for a tenant with
// this many licences.
func SharePointRUPerMinute(licences int) int {
	for _, tier := range sharePointRUPerMinute {
		if licences <= tier.maxLicences {
			return tier.ru
		}
	}
	return sharePointRUPerMinute[len(sharePointRUPerMinute)-1].ru
}

// Resource-unit costs of requests (same source): 1 RU for a single-item
// GET, a delta call with a token, or a file download; 2 RU for multi-item
// queries (listing children, users), a delta call without a token, and any
// write.
const (
	ruSingle = 1
	ruMulti  = 2
)

// Retry and wait bounds of the client (Holdfast's choices, not
// Microsoft's): the service's Retry-After is honoured in-line up to
// maxInlineWait; a longer one is handed to Temporal as the activity's next
// retry delay, so a worker never sleeps on a request for minutes.
const (
	defaultMaxAttempts   = 5
	defaultMaxInlineWait = 30 * time.Second
	defaultRetryBase     = 500 * time.Millisecond
	defaultRetryCap      = 20 * time.Second
)

// Upload limits. Upload-session fragments must be multiples of 320 KiB
// (327,680 bytes) and smaller than 60 MiB; simple uploads are meant for
// small files, sessions for anything over 4 MB.
// https://learn.microsoft.com/graph/api/driveitem-createuploadsession
const (
	uploadFragmentUnit = 320 * 1024
	uploadFragmentSize = 32 * uploadFragmentUnit // 10 MiB per request
	simpleUploadMax    = 4 * 1024 * 1024
)

// graphScope asks for the application permissions granted to the app.
const graphScope = "https://graph.microsoft.com/.default"

// Outlook (mail, calendars, contacts, the mailbox import/export API)
// limits an app per mailbox to 4 concurrent requests, 10,000 requests in a
// 10-minute period and 150 MB of uploads (PATCH, POST, PUT bodies) in a
// 5-minute period; over any of them the service answers 429 with
// Retry-After.
// https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits
const (
	mailboxConcurrency   = 4
	mailboxRequestBudget = 10_000
	mailboxRequestWindow = 10 * time.Minute
	mailboxUploadBudget  = 150_000_000 // 150 MB (decimal: the smaller reading of "MB")
	mailboxUploadWindow  = 5 * time.Minute
	// The client spends at most a tenth of a budget at once and spreads
	// the rest over the window (Holdfast's choice; see bucket).
	mailboxBurstShare = 10
	// A request the client abandons (cancelled, body closed early) keeps
	// its slot this long: the service counts it until it notices, and
	// Microsoft documents no figure for that (Holdfast's choice).
	mailboxAbortGrace = time.Second
)

// maxRequestBody is the largest request body the client sends to a
// mailbox: Graph refuses requests over 4 MB (larger attachments go through
// upload sessions in ranges below it). The upload bucket's burst is at
// least this, so that every body is paid for at once.
// https://learn.microsoft.com/graph/api/message-post-attachments
const maxRequestBody = 4 << 20

// Large attachments go through an upload session in byte ranges that must
// each stay under 4 MB; 3.75 MiB (3,932,160 bytes) keeps every range below
// both readings of "4 MB". Sessions are for files of 3 MB to 150 MB
// (3 MiB here, which the service accepts under either reading); smaller
// ones are POSTed whole.
// https://learn.microsoft.com/graph/outlook-large-attachments
const (
	attachmentChunkSize  = 3*1024*1024 + 768*1024
	attachmentSessionMin = 3 << 20
)
