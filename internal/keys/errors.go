package keys

import (
	"context"
	"errors"
	"strings"

	"gocloud.dev/gcerrors"
)

// ErrUnavailable is wrapped by every error that means "the ekey cannot be
// used": the keeper is unreachable, refuses, holds another KEK, or the
// wrapped key is corrupt. Backups treat it as non-retryable.
var ErrUnavailable = errors.New("ekey unavailable")

// unavailableError is a one-line "ekey unavailable: <why>: <cause>" that
// matches both ErrUnavailable and its cause with errors.Is/As.
type unavailableError struct {
	msg   string
	cause error
}

func (e *unavailableError) Error() string   { return e.msg }
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }

// unavailable builds the error; cause may be nil. The cause's text is
// flattened to one line because drivers sometimes return multi-line errors.
func unavailable(why string, cause error) error {
	msg := ErrUnavailable.Error() + ": " + why
	if cause != nil {
		msg += ": " + oneLine(cause.Error())
	}
	return &unavailableError{msg: msg, cause: cause}
}

// keeperFailure describes why a keeper call failed, distinguishing "cannot
// reach" from "refuses" so an operator knows where to look.
func keeperFailure(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return unavailable("keeper unreachable while trying to "+op, err)
	}
	switch gcerrors.Code(err) {
	case gcerrors.PermissionDenied:
		return unavailable("keeper refused to "+op+" (permission denied)", err)
	case gcerrors.NotFound:
		return unavailable("keeper cannot "+op+": KEK not found", err)
	case gcerrors.DeadlineExceeded, gcerrors.Canceled, gcerrors.ResourceExhausted, gcerrors.Internal:
		return unavailable("keeper unreachable while trying to "+op, err)
	default:
		return unavailable("keeper refused to "+op+" (wrong KEK or corrupt wrapped key?)", err)
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
