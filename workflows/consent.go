package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// ConsentSignal carries the admin-consent redirect to the workflow.
const ConsentSignal = "consent-result"

// ConsentRedirect is what the consent page redirected to: either
// AdminConsent with the tenant, or an error.
type ConsentRedirect struct {
	AdminConsent bool
	TenantID     string
	Error        string
	Description  string
}

// ConsentInput starts a tenant connection.
type ConsentInput struct {
	ConnectionID string        // the consent request's state; the credential waits in the catalog
	Apps         []string      // apps to verify after consent
	VerifyUser   string        // a user whose endpoints to verify ("" to skip)
	Timeout      time.Duration // how long to wait for consent (default 24 h)
	Actor        string
}

// ConsentResult is how the connection ended.
type ConsentResult struct {
	State    string // connected | denied | timed_out
	Tenant   activities.TenantRef
	Error    string
	Verified *VerifyReport
}

// ConsentProgress is the progress query's answer.
type ConsentProgress struct {
	State  string // waiting | connecting | verifying | connected | denied | timed_out
	Tenant activities.TenantRef
}

// DefaultConsentTimeout is how long a consent request waits.
const DefaultConsentTimeout = 24 * time.Hour

// Error types of the consent workflow (the CLI reports them).
const (
	ErrTypeConsentDenied   = "ConsentDenied"
	ErrTypeConsentTimedOut = "ConsentTimedOut"
)

// ConsentWorkflowID names a tenant connection.
func ConsentWorkflowID(connectionID string) string { return "consent/" + connectionID }

// TenantConsentWorkflow connects a tenant through admin consent: it waits
// for the consent redirect (a signal), records the tenant and creates its
// ekey, then verifies the configuration. A denial is recorded and
// reported, not retried; no answer within the timeout ends it timed out.
func TenantConsentWorkflow(ctx workflow.Context, in ConsentInput) (ConsentResult, error) {
	progress := ConsentProgress{State: "waiting"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (ConsentProgress, error) { return progress, nil }); err != nil {
		return ConsentResult{}, err
	}
	if in.Timeout <= 0 {
		in.Timeout = DefaultConsentTimeout
	}
	var redirect ConsentRedirect
	got := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, ConsentSignal), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, &redirect)
		got = true
	})
	tctx, cancelTimer := workflow.WithCancel(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, in.Timeout), func(workflow.Future) {})
	sel.Select(ctx)
	cancelTimer()

	short := withShort(ctx)
	end := func(state, reason, errType string) (ConsentResult, error) {
		progress.State = state
		if err := workflow.ExecuteActivity(short, a.EndConnection, activities.EndConnectionInput{
			ConnectionID: in.ConnectionID, State: state, Reason: reason, Actor: in.Actor}).Get(ctx, nil); err != nil {
			return ConsentResult{}, err
		}
		return ConsentResult{State: state, Error: reason}, temporal.NewNonRetryableApplicationError(reason, errType, nil)
	}
	switch {
	case !got:
		return end("timed_out", fmt.Sprintf("admin consent was not given within %s", in.Timeout), ErrTypeConsentTimedOut)
	case !redirect.AdminConsent:
		reason := "admin consent was denied"
		if redirect.Error != "" {
			reason += ": " + redirect.Error
		}
		if redirect.Description != "" {
			reason += ": " + redirect.Description
		}
		return end("denied", reason, ErrTypeConsentDenied)
	}

	progress.State = "connecting"
	var tenant activities.TenantRef
	if err := workflow.ExecuteActivity(short, a.CompleteConnection, activities.CompleteConnectionInput{
		ConnectionID: in.ConnectionID, TenantID: redirect.TenantID, Actor: in.Actor}).Get(ctx, &tenant); err != nil {
		return ConsentResult{}, err
	}
	progress.Tenant = tenant

	progress.State = "verifying"
	var report VerifyReport
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "verify-config/" + tenant.ID + "/" + in.ConnectionID})
	if err := workflow.ExecuteChildWorkflow(cctx, VerifyConfigurationWorkflow,
		activities.VerifyConfigInput{TenantID: tenant.ID, UserRef: in.VerifyUser, Apps: in.Apps}).Get(ctx, &report); err != nil {
		return ConsentResult{}, err
	}
	progress.State = "connected"
	return ConsentResult{State: "connected", Tenant: tenant, Verified: &report}, nil
}

func init() { register(TenantConsentWorkflow) }
