package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/holdfast/holdfast/activities"
)

const tid = "0f2e7c4a-8d11-4c3e-9a51-6b2d3e4f5a6b"

func passing(name string) activities.CheckResult {
	return activities.CheckResult{Name: name, Passed: true}
}

func consentEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *[]activities.EndConnectionInput) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(VerifyConfigurationWorkflow)
	ended := &[]activities.EndConnectionInput{}
	env.OnActivity(a.EndConnection, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EndConnectionInput) error {
		*ended = append(*ended, in)
		return nil
	})
	env.OnActivity(a.CompleteConnection, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CompleteConnectionInput) (activities.TenantRef, error) {
		return activities.TenantRef{ID: in.TenantID, Name: "contoso"}, nil
	})
	env.OnActivity(a.CheckAppAuth, mock.Anything, mock.Anything).Return(passing("app authentication"), nil)
	env.OnActivity(a.CheckUser, mock.Anything, mock.Anything).Return(activities.UserCheck{CheckResult: passing("user exists"), UserID: "u1"}, nil)
	env.OnActivity(a.CheckMailbox, mock.Anything, mock.Anything).Return(passing("mailbox reachable"), nil)
	env.OnActivity(a.CheckDrive, mock.Anything, mock.Anything).Return(passing("drive present"), nil)
	return env, ended
}

func TestConsentApproved(t *testing.T) {
	env, ended := consentEnv(t)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ConsentSignal, ConsentRedirect{AdminConsent: true, TenantID: tid})
	}, 3*time.Minute)
	env.ExecuteWorkflow(TenantConsentWorkflow, ConsentInput{ConnectionID: "c1", Apps: []string{"onedrive", "exchange"}, VerifyUser: "a@contoso.com"})
	require.NoError(t, env.GetWorkflowError())
	var res ConsentResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, "connected", res.State)
	assert.Equal(t, tid, res.Tenant.ID)
	require.NotNil(t, res.Verified)
	assert.True(t, res.Verified.Passed)
	assert.Len(t, res.Verified.Checks, 4)
	assert.Empty(t, *ended)
}

func TestConsentDeniedIsRecordedNotRetried(t *testing.T) {
	env, ended := consentEnv(t)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ConsentSignal, ConsentRedirect{Error: "access_denied", Description: "AADSTS65004: User declined to consent to access the app."})
	}, time.Minute)
	env.ExecuteWorkflow(TenantConsentWorkflow, ConsentInput{ConnectionID: "c1"})
	err := env.GetWorkflowError()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.Equal(t, ErrTypeConsentDenied, app.Type())
	assert.Contains(t, err.Error(), "AADSTS65004")
	require.Len(t, *ended, 1)
	assert.Equal(t, "denied", (*ended)[0].State)
	env.AssertNotCalled(t, "CompleteConnection", mock.Anything, mock.Anything)
}

func TestConsentTimesOut(t *testing.T) {
	env, ended := consentEnv(t)
	env.ExecuteWorkflow(TenantConsentWorkflow, ConsentInput{ConnectionID: "c1", Timeout: 2 * time.Hour})
	err := env.GetWorkflowError()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.Equal(t, ErrTypeConsentTimedOut, app.Type())
	require.Len(t, *ended, 1)
	assert.Equal(t, "timed_out", (*ended)[0].State)
	assert.Contains(t, (*ended)[0].Reason, "2h0m0s")
}

func TestVerifyReportsEveryFailingCheck(t *testing.T) {
	in := activities.VerifyConfigInput{TenantID: tid, UserRef: "a@contoso.com", Apps: []string{"onedrive", "exchange"}}
	cases := map[string]struct {
		failing string
		want    []string // check: passed/failed/skipped
	}{
		"bad secret or missing permission": {"app authentication", []string{"app authentication:failed", "user exists:skipped", "drive present:skipped", "mailbox reachable:skipped"}},
		"unknown user":                     {"user exists", []string{"app authentication:passed", "user exists:failed", "drive present:skipped", "mailbox reachable:skipped"}},
		"no mailbox":                       {"mailbox reachable", []string{"app authentication:passed", "user exists:passed", "drive present:passed", "mailbox reachable:failed"}},
		"no drive":                         {"drive present", []string{"app authentication:passed", "user exists:passed", "drive present:failed", "mailbox reachable:passed"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			result := func(n string) activities.CheckResult {
				if n == c.failing {
					return activities.CheckResult{Name: n, Code: "SomeGraphCode", Detail: "graph: 404 SomeGraphCode: explained"}
				}
				return passing(n)
			}
			env.OnActivity(a.CheckAppAuth, mock.Anything, mock.Anything).Return(result("app authentication"), nil)
			env.OnActivity(a.CheckUser, mock.Anything, mock.Anything).Return(activities.UserCheck{CheckResult: result("user exists"), UserID: "u1"}, nil)
			env.OnActivity(a.CheckMailbox, mock.Anything, mock.Anything).Return(result("mailbox reachable"), nil)
			env.OnActivity(a.CheckDrive, mock.Anything, mock.Anything).Return(result("drive present"), nil)
			env.ExecuteWorkflow(VerifyConfigurationWorkflow, activities.VerifyConfigInput{TenantID: in.TenantID, UserRef: in.UserRef, Apps: []string{"onedrive", "exchange"}})
			require.NoError(t, env.GetWorkflowError())
			var r VerifyReport
			require.NoError(t, env.GetWorkflowResult(&r))
			assert.False(t, r.Passed)
			var got []string
			for _, ch := range r.Checks {
				state := "failed"
				switch {
				case ch.Skipped:
					state = "skipped"
				case ch.Passed:
					state = "passed"
				}
				got = append(got, ch.Name+":"+state)
				if ch.Name == c.failing {
					assert.Equal(t, "SomeGraphCode", ch.Code, "Graph's code is reported")
				}
			}
			assert.Equal(t, c.want, got)
		})
	}
}
