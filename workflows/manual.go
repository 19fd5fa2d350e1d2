package workflows

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// Target is one user-app to back up.
type Target struct {
	UserID string
	App    string
}

// FanOutInput backs up many user-apps as child BackupWorkflows.
type FanOutInput struct {
	TenantID string
	Targets  []Target // still to start
	Trigger  string
	Window   int // children running at once (default 10)
	// Carried across continue-as-new:
	Summary FanOutSummary
}

// FanOutSummary counts the outcomes of a fan-out.
type FanOutSummary struct {
	Total     int
	Complete  int
	Partial   int
	Failed    int
	Items     int64
	BytesNew  int64
	Failures  []TargetFailure // the first few, for the admin
	Snapshots []int64         // snapshot IDs, for the first few targets
}

// TargetFailure is a user-app whose backup failed.
type TargetFailure struct {
	Target
	Error string
}

// FanOutProgress is the progress query's answer.
type FanOutProgress struct {
	FanOutSummary
	Running int
	Pending int
}

const (
	defaultWindow = 10
	maxListed     = 100
)

// continueAfter bounds how many children one run starts before it
// continues as new, keeping the history far below Temporal's limits (each
// child costs about ten events; the warning threshold is 10,240). A
// variable so tests can make it small.
var continueAfter = 500

// ManualBackupWorkflow is "Backup now" for a selection of user-apps: a
// sliding window of child BackupWorkflows, each under the user-app's
// fixed ID, so a backup already running for a user-app is joined rather
// than duplicated.
func ManualBackupWorkflow(ctx workflow.Context, in FanOutInput) (FanOutSummary, error) {
	return fanOut(ctx, in, ManualBackupWorkflow)
}

// fanOut runs in.Targets through child BackupWorkflows, at most Window at
// a time, continuing as new (with the rest and the summary so far) before
// the history grows large.
func fanOut(ctx workflow.Context, in FanOutInput, self any) (FanOutSummary, error) {
	if in.Window <= 0 {
		in.Window = defaultWindow
	}
	if in.Summary.Total == 0 {
		in.Summary.Total = len(in.Targets)
	}
	sum := in.Summary
	pending := in.Targets
	running := 0
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (FanOutProgress, error) {
		return FanOutProgress{FanOutSummary: sum, Running: running, Pending: len(pending)}, nil
	}); err != nil {
		return sum, err
	}

	started, finished := 0, 0
	record := func(t Target, res activities.SnapshotSummary, err error) {
		running--
		finished++
		switch {
		case err != nil || res.State == "failed":
			sum.Failed++
			msg := res.Error
			if err != nil {
				msg = message(err)
			}
			if len(sum.Failures) < maxListed {
				sum.Failures = append(sum.Failures, TargetFailure{Target: t, Error: msg})
			}
		case res.State == "partial":
			sum.Partial++
		default:
			sum.Complete++
		}
		sum.Items += res.ItemsChanged
		sum.BytesNew += res.BytesNew
		if res.SnapshotID != 0 && len(sum.Snapshots) < maxListed {
			sum.Snapshots = append(sum.Snapshots, res.SnapshotID)
		}
	}
	start := func(t Target) {
		running++
		started++
		id := BackupWorkflowID(in.TenantID, t.UserID, t.App)
		workflow.Go(ctx, func(gctx workflow.Context) {
			cctx := workflow.WithChildOptions(gctx, workflow.ChildWorkflowOptions{
				WorkflowID:        id,
				ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			})
			var res activities.SnapshotSummary
			err := workflow.ExecuteChildWorkflow(cctx, BackupWorkflow,
				BackupInput{TenantID: in.TenantID, UserID: t.UserID, App: t.App, Trigger: in.Trigger}).Get(gctx, &res)
			if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
				// Another backup of this user-app is running: wait for it.
				err = workflow.ExecuteActivity(withData(gctx), a.AwaitBackup, activities.AwaitInput{WorkflowID: id}).Get(gctx, &res)
			}
			record(t, res, err)
		})
	}

	for len(pending) > 0 || running > 0 {
		for running < in.Window && len(pending) > 0 && started < continueAfter {
			start(pending[0])
			pending = pending[1:]
		}
		if running == 0 {
			break
		}
		seen := finished
		if err := workflow.Await(ctx, func() bool { return finished > seen }); err != nil {
			return sum, err
		}
	}
	if len(pending) > 0 {
		return sum, workflow.NewContinueAsNewError(ctx, self, FanOutInput{TenantID: in.TenantID, Targets: pending,
			Trigger: in.Trigger, Window: in.Window, Summary: sum})
	}
	return sum, nil
}
