package graphapi

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors a Client wraps so callers can decide without parsing.
var (
	ErrNotFound       = errors.New("not found")
	ErrConflict       = errors.New("name already exists")
	ErrResyncRequired = errors.New("delta link expired: full resync required")
	ErrUnauthorized   = errors.New("not authorized")
	ErrForbidden      = errors.New("permission denied")
	ErrNoMailbox      = errors.New("the user has no Exchange Online mailbox")
)

// Error is a Graph error response, kept for its code and message (never a
// body with content in it).
type Error struct {
	Status  int
	Code    string
	Message string
	Inner   string // innerError.code, when present
}

func (e *Error) Error() string {
	s := fmt.Sprintf("graph: %d %s", e.Status, e.Code)
	if e.Inner != "" && e.Inner != e.Code {
		s += "/" + e.Inner
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is maps status codes onto the sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == 404
	case ErrNoMailbox:
		return e.Code == "MailboxNotEnabledForRESTAPI" || e.Code == "MailboxNotHostedInExchangeOnline" ||
			e.Code == "ResourceNotFound" && strings.Contains(e.Message, "mailbox")
	case ErrConflict:
		return e.Status == 409
	case ErrResyncRequired:
		return e.Status == 410 || isResyncCode(e.Code) || isResyncCode(e.Inner)
	case ErrUnauthorized:
		return e.Status == 401
	case ErrForbidden:
		return e.Status == 403
	}
	return false
}

// isResyncCode compares case-insensitively: OneDrive says
// "syncStateNotFound", Outlook "SyncStateNotFound".
func isResyncCode(c string) bool {
	switch strings.ToLower(c) {
	case "resyncrequired", "syncstatenotfound", "syncstateinvalid",
		"resyncchangesapplydifferences", "resyncchangesuploaddifferences", "resyncapplydifferences", "resyncuploaddifferences":
		return true
	}
	return false
}

// ThrottledError says the service asked us to wait longer than the client
// is willing to sleep in-line; the caller should come back after RetryAfter
// (a Temporal activity turns it into NextRetryDelay).
type ThrottledError struct {
	RetryAfter time.Duration
	Status     int // 429 or 503
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("graph: throttled (%d), retry after %s", e.Status, e.RetryAfter)
}
