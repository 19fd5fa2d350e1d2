package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// DownloadProgress is the progress query's answer.
type DownloadProgress struct {
	Phase string
	Plan  activities.ExportPlan
}

// DownloadWorkflow writes selected items of a snapshot as a ZIP into the
// blob store under exports/, for the CLI (or anyone with the bucket) to
// fetch.
func DownloadWorkflow(ctx workflow.Context, req activities.ExportRequest) (activities.ExportResult, error) {
	progress := DownloadProgress{Phase: "preparing"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (DownloadProgress, error) { return progress, nil }); err != nil {
		return activities.ExportResult{}, err
	}
	var plan activities.ExportPlan
	if err := workflow.ExecuteActivity(withShort(ctx), a.PrepareExport, req).Get(ctx, &plan); err != nil {
		return activities.ExportResult{}, err
	}
	progress.Phase, progress.Plan = "writing", plan

	var res activities.ExportResult
	err := workflow.ExecuteActivity(withData(ctx), a.BuildExport, activities.ExportInput{Request: req, Plan: plan}).Get(ctx, &res)
	finish := activities.FinishJobInput{JobID: plan.JobID, State: "complete", Items: res.Files, Bytes: res.Size,
		Failed: res.Failed, Target: res.BlobKey, Actor: req.Actor}
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

// VerifyWorkflow re-reads a snapshot from the vault and reports what does
// not decrypt or match.
func VerifyWorkflow(ctx workflow.Context, in activities.VerifyInput) (activities.VerifyResult, error) {
	var res activities.VerifyResult
	err := workflow.ExecuteActivity(withData(ctx), a.VerifySnapshot, in).Get(ctx, &res)
	return res, err
}
