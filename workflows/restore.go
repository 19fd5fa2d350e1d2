package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// RestoreProgress is the progress query's answer.
type RestoreProgress struct {
	Phase string
	Plan  activities.RestorePlan
}

// RestoreFolderPrefix starts the name of the folder a restore creates
// (followed by the workflow's start time, in a form OneDrive accepts: no
// colons).
const RestoreFolderPrefix = "Holdfast Restore "

// RestoreWorkflow restores items of a snapshot (or of the newest snapshot
// at a point in time): checked first, then written, then recorded.
func RestoreWorkflow(ctx workflow.Context, req activities.RestoreRequest) (activities.RestoreResult, error) {
	progress := RestoreProgress{Phase: "preparing"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (RestoreProgress, error) { return progress, nil }); err != nil {
		return activities.RestoreResult{}, err
	}
	if req.Mode == activities.ModeFolder && req.FolderName == "" {
		req.FolderName = RestoreFolderPrefix + workflow.GetInfo(ctx).WorkflowStartTime.UTC().Format("2006-01-02 15-04-05")
	}
	short := withShort(ctx)
	var plan activities.RestorePlan
	if err := workflow.ExecuteActivity(short, a.PrepareRestore, req).Get(ctx, &plan); err != nil {
		return activities.RestoreResult{}, err
	}
	progress.Phase, progress.Plan = "restoring", plan

	var res activities.RestoreResult
	err := workflow.ExecuteActivity(withData(ctx), a.RestoreItems, activities.RestoreInput{JobID: plan.JobID, Request: req, Plan: plan}).Get(ctx, &res)
	finish := activities.FinishJobInput{JobID: plan.JobID, State: "complete", Items: res.Restored, Bytes: res.Bytes,
		Skipped: res.Skipped, Failed: res.Failed, Target: res.Folder, Actor: req.Actor}
	switch {
	case err != nil:
		finish.State, finish.Error = "failed", message(err)
	case res.Failed > 0:
		finish.State = "partial"
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if ferr := workflow.ExecuteActivity(withShort(dctx), a.FinishJob, finish).Get(dctx, nil); ferr != nil && err == nil {
		err = ferr
	}
	progress.Phase = finish.State
	return res, err
}
