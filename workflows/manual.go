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
// than duplicated. It continues as new (with the rest and the summary so
// far) before its history grows large.
func ManualBackupWorkflow(ctx workflow.Context, in FanOutInput) (FanOutSummary, error) {
	if in.Summary.Total == 0 {
		in.Summary.Total = len(in.Targets)
	}
	f := newFanOut(ctx, in.TenantID, in.Trigger, in.Window, in.Summary)
	f.pending = in.Targets
	if err := f.progress(ctx); err != nil {
		return f.sum, err
	}
	if err := f.run(ctx); err != nil {
		return f.sum, err
	}
	if len(f.pending) > 0 {
		return f.sum, workflow.NewContinueAsNewError(ctx, ManualBackupWorkflow, FanOutInput{TenantID: in.TenantID,
			Targets: f.pending, Trigger: in.Trigger, Window: in.Window, Summary: f.sum})
	}
	return f.sum, nil
}

// fanOut runs user-app backups as child workflows, Window at a time.
type fanOut struct {
	tenantID, trigger string
	window            int
	sum               FanOutSummary
	pending           []Target
	running           int
	started, finished int
}

func newFanOut(ctx workflow.Context, tenantID, trigger string, window int, sum FanOutSummary) *fanOut {
	if window <= 0 {
		window = defaultWindow
	}
	return &fanOut{tenantID: tenantID, trigger: trigger, window: window, sum: sum}
}

// progress answers the progress query.
func (f *fanOut) progress(ctx workflow.Context) error {
	return workflow.SetQueryHandler(ctx, ProgressQuery, func() (FanOutProgress, error) {
		return FanOutProgress{FanOutSummary: f.sum, Running: f.running, Pending: len(f.pending)}, nil
	})
}

// full says whether this run has started as many children as it should
// before continuing as new.
func (f *fanOut) full() bool { return f.started >= continueAfter }

// run starts the pending targets until they are all done, or until this
// run has started continueAfter of them (the rest stay pending), and
// waits for the running ones.
func (f *fanOut) run(ctx workflow.Context) error {
	for len(f.pending) > 0 || f.running > 0 {
		for f.running < f.window && len(f.pending) > 0 && !f.full() {
			f.start(ctx, f.pending[0])
			f.pending = f.pending[1:]
		}
		if f.running == 0 {
			return nil
		}
		seen := f.finished
		if err := workflow.Await(ctx, func() bool { return f.finished > seen }); err != nil {
			return err
		}
	}
	return nil
}

func (f *fanOut) start(ctx workflow.Context, t Target) {
	f.running++
	f.started++
	id := BackupWorkflowID(f.tenantID, t.UserID, t.App)
	workflow.Go(ctx, func(gctx workflow.Context) {
		cctx := workflow.WithChildOptions(gctx, workflow.ChildWorkflowOptions{
			WorkflowID:        id,
			ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		})
		var res activities.SnapshotSummary
		err := workflow.ExecuteChildWorkflow(cctx, BackupWorkflow,
			BackupInput{TenantID: f.tenantID, UserID: t.UserID, App: t.App, Trigger: f.trigger}).Get(gctx, &res)
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			// Another backup of this user-app is running: wait for it.
			err = workflow.ExecuteActivity(withData(gctx), a.AwaitBackup, activities.AwaitInput{WorkflowID: id}).Get(gctx, &res)
		}
		f.record(t, res, err)
	})
}

func (f *fanOut) record(t Target, res activities.SnapshotSummary, err error) {
	f.running--
	f.finished++
	sum := &f.sum
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
