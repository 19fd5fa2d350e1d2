package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// BackupInput names the user-app to back up.
type BackupInput struct {
	TenantID string
	UserID   string
	App      string
	Trigger  string // manual | scheduled | initial
}

// BackupProgress is what the progress query returns.
type BackupProgress struct {
	Phase          string // preparing | listing | backing up | committing | done | failed
	SnapshotID     int64
	Containers     int
	ContainersDone int
	Items          int64
	BytesNew       int64
}

// maxParallelContainers bounds the containers of one user-app backed up at
// once (Exchange allows 4 concurrent requests per mailbox; more parallel
// folders would only queue behind that limit).
const maxParallelContainers = 4

// BackupWorkflow backs up one user-app: prepare (ekey, snapshot), list
// containers, back each up, commit. Its ID is BackupWorkflowID, so one
// runs per user-app at a time. A container that fails leaves the snapshot
// partial, not lost; only when every container fails does the snapshot
// fail.
func BackupWorkflow(ctx workflow.Context, in BackupInput) (activities.SnapshotSummary, error) {
	progress := BackupProgress{Phase: "preparing"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (BackupProgress, error) { return progress, nil }); err != nil {
		return activities.SnapshotSummary{}, err
	}
	short, data := withShort(ctx), withData(ctx)

	var prep activities.PrepareBackupResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, prepareActivity), a.PrepareBackup, activities.PrepareBackupInput(in)).Get(ctx, &prep); err != nil {
		progress.Phase = "failed"
		return activities.SnapshotSummary{State: "failed", Error: message(err)}, err
	}
	progress.SnapshotID = prep.SnapshotID
	fail := func(err error) (activities.SnapshotSummary, error) {
		progress.Phase = "failed"
		// Record the failure even if the workflow is being cancelled.
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = workflow.ExecuteActivity(withShort(dctx), a.FailSnapshot,
			activities.FailSnapshotInput{SnapshotID: prep.SnapshotID, Reason: message(err)}).Get(dctx, nil)
		return activities.SnapshotSummary{SnapshotID: prep.SnapshotID, State: "failed", Error: message(err)}, err
	}

	progress.Phase = "listing"
	var containers []activities.Container
	if err := workflow.ExecuteActivity(short, a.ListContainers, activities.SnapshotRef{SnapshotID: prep.SnapshotID}).Get(ctx, &containers); err != nil {
		return fail(err)
	}
	progress.Phase, progress.Containers = "backing up", len(containers)

	var bytesNew int64
	var failed []error
	sem := workflow.NewSemaphore(ctx, maxParallelContainers)
	wg := workflow.NewWaitGroup(ctx)
	for _, c := range containers {
		if err := sem.Acquire(ctx, 1); err != nil {
			return fail(err)
		}
		wg.Add(1)
		workflow.Go(ctx, func(gctx workflow.Context) {
			defer wg.Done()
			defer sem.Release(1)
			var res activities.ContainerResult
			err := workflow.ExecuteActivity(data, a.BackupContainer,
				activities.ContainerInput{SnapshotID: prep.SnapshotID, ContainerID: c.ID}).Get(gctx, &res)
			if err != nil {
				failed = append(failed, fmt.Errorf("%s %s: %w", c.Kind, c.Name, err))
				_ = workflow.ExecuteActivity(withShort(gctx), a.FailContainer, activities.FailContainerInput{
					SnapshotID: prep.SnapshotID, ContainerID: c.ID, Reason: message(err)}).Get(gctx, nil)
				return
			}
			progress.ContainersDone++
			progress.Items += res.Items
			progress.BytesNew += res.BytesNew
			bytesNew += res.BytesNew
		})
	}
	wg.Wait(ctx)
	if ctx.Err() != nil {
		return fail(temporal.NewCanceledError())
	}
	if len(failed) > 0 && len(failed) == len(containers) {
		return fail(errors.Join(failed...))
	}

	progress.Phase = "committing"
	var sum activities.SnapshotSummary
	if err := workflow.ExecuteActivity(short, a.CommitSnapshot, activities.CommitInput{SnapshotID: prep.SnapshotID, BytesNew: bytesNew}).Get(ctx, &sum); err != nil {
		return fail(err)
	}
	progress.Phase = "done"
	return sum, nil
}

// message is an error's text without the SDK's wrapping, for people.
func message(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled"
	}
	return err.Error()
}
