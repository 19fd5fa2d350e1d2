package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// ScheduledInput is what a profile's Temporal Schedule starts; the other
// fields carry the run across continue-as-new.
type ScheduledInput struct {
	TenantID  string
	ProfileID string

	After   string   // next page of the profile's users starts after this user ID
	Done    bool     // every page has been read
	Pending []Target // read but not started yet
	Summary FanOutSummary
	Skipped int
	Started time.Time
}

// ScheduledSummary is how a scheduled run went.
type ScheduledSummary struct {
	FanOutSummary
	Skipped int // user-apps disabled, or users removed from protection
}

// targetsPage is how many users a run reads from the catalog at a time.
const targetsPage = 200

// ScheduledBackupWorkflow backs up a profile's users: it pages through
// their enabled user-apps and runs them as child BackupWorkflows with a
// sliding window, under the user-apps' fixed IDs (a manual backup in
// progress is joined, not duplicated), continuing as new before its history
// grows large, and records a summary of the run.
func ScheduledBackupWorkflow(ctx workflow.Context, in ScheduledInput) (ScheduledSummary, error) {
	if in.Started.IsZero() {
		in.Started = workflow.Now(ctx)
	}
	f := newFanOut(ctx, in.TenantID, "scheduled", 0, in.Summary)
	f.pending = in.Pending
	if err := f.progress(ctx); err != nil {
		return ScheduledSummary{}, err
	}
	short := withShort(ctx)
	for {
		if len(f.pending) == 0 && !in.Done {
			var page activities.ProfileTargetsPage
			if err := workflow.ExecuteActivity(short, a.ProfileTargets, activities.ProfileTargetsInput{
				TenantID: in.TenantID, ProfileID: in.ProfileID, After: in.After, Limit: targetsPage}).Get(ctx, &page); err != nil {
				return ScheduledSummary{}, err
			}
			for _, t := range page.Targets {
				f.pending = append(f.pending, Target{UserID: t.UserID, App: t.App})
			}
			f.sum.Total += len(page.Targets)
			in.Skipped += page.Skipped
			in.After, in.Done = page.Next, page.Next == ""
		}
		if err := f.run(ctx); err != nil {
			return ScheduledSummary{}, err
		}
		if len(f.pending) == 0 && in.Done {
			break
		}
		if f.full() || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			next := in
			next.Pending, next.Summary = f.pending, f.sum
			return ScheduledSummary{}, workflow.NewContinueAsNewError(ctx, ScheduledBackupWorkflow, next)
		}
	}
	sum := ScheduledSummary{FanOutSummary: f.sum, Skipped: in.Skipped}
	if err := workflow.ExecuteActivity(short, a.RecordScheduleRun, activities.ScheduleRunInput{TenantID: in.TenantID,
		ProfileID: in.ProfileID, Started: in.Started, Complete: sum.Complete, Partial: sum.Partial, Failed: sum.Failed,
		Skipped: sum.Skipped}).Get(ctx, nil); err != nil {
		return sum, err
	}
	return sum, nil
}

func init() { register(ScheduledBackupWorkflow) }
