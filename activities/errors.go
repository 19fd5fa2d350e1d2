package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/keys"
)

// Application error types. Workflows list the non-retryable ones in their
// retry policies; the CLI shows the message.
const (
	ErrTypeEkeyUnavailable = "EkeyUnavailable" // the KEK keeper is missing, unreachable or refuses
	ErrTypeInvalidRequest  = "InvalidRequest"  // bad input: retrying cannot help
	ErrTypeNotFound        = "NotFound"        // a tenant, user, snapshot... does not exist
	ErrTypeDisabled        = "Disabled"        // the user or app is not protected
	ErrTypeGraphAuth       = "GraphAuthFailed" // the tenant's credentials are rejected
	ErrTypeGraphForbidden  = "GraphForbidden"  // the app lacks a permission
	ErrTypeThrottled       = "Throttled"       // retried after the service's Retry-After
	ErrTypePolicyRefused   = "PolicyRefused"   // the admin's role may not do this under the data-privacy policy
	ErrTypeGCRunning       = "GCRunning"       // retention's garbage collection holds the tenant: retried
)

// NonRetryableErrorTypes are the types no retry can fix.
var NonRetryableErrorTypes = []string{ErrTypeEkeyUnavailable, ErrTypeInvalidRequest, ErrTypeNotFound,
	ErrTypeDisabled, ErrTypeGraphAuth, ErrTypeGraphForbidden, ErrTypePolicyRefused}

func nonRetryable(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, nil)
}

// classify turns an error from internal/ into what Temporal should do with
// it. The ApplicationError is returned unwrapped, as the SDK expects.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr
	}
	var throttled *graphapi.ThrottledError
	switch {
	case errors.As(err, &throttled):
		// Come back when the service said, not on our own backoff.
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeThrottled,
			temporal.ApplicationErrorOptions{NextRetryDelay: throttled.RetryAfter})
	case errors.Is(err, keys.ErrUnavailable):
		return nonRetryable(ErrTypeEkeyUnavailable, err)
	case errors.Is(err, graphapi.ErrUnauthorized):
		return nonRetryable(ErrTypeGraphAuth, err)
	case errors.Is(err, graphapi.ErrForbidden):
		return nonRetryable(ErrTypeGraphForbidden, err)
	case errors.Is(err, catalog.ErrNotFound):
		return nonRetryable(ErrTypeNotFound, err)
	}
	return err
}
