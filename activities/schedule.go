package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/holdfast/holdfast/internal/catalog"
)

// ProfileTargetsInput pages through a profile's user-apps.
type ProfileTargetsInput struct {
	TenantID  string
	ProfileID string
	After     string // user ID the previous page ended at
	Limit     int
}

// ProfileTargetsPage is one page of a profile's user-apps.
type ProfileTargetsPage struct {
	Targets []catalog.ProfileTarget
	Skipped int    // user-apps disabled, or users removed from protection
	Next    string // "" after the last page
}

// ProfileTargets lists the next page of a profile's enabled user-apps.
func (a *Activities) ProfileTargets(ctx context.Context, in ProfileTargetsInput) (ProfileTargetsPage, error) {
	if in.Limit <= 0 {
		in.Limit = 200
	}
	targets, skipped, next, err := a.Catalog.ProfileTargets(ctx, in.TenantID, in.ProfileID, in.After, in.Limit)
	if err != nil {
		return ProfileTargetsPage{}, classify(err)
	}
	return ProfileTargetsPage{Targets: targets, Skipped: skipped, Next: next}, nil
}

// ScheduleRunInput is a scheduled run's outcome.
type ScheduleRunInput struct {
	TenantID, ProfileID string
	Started             time.Time
	Complete, Partial   int
	Failed, Skipped     int
}

// RecordScheduleRun stores a scheduled run's summary.
func (a *Activities) RecordScheduleRun(ctx context.Context, in ScheduleRunInput) error {
	return a.Catalog.RecordScheduleRun(ctx, catalog.ScheduleRun{ID: activity.GetInfo(ctx).WorkflowExecution.ID,
		TenantID: in.TenantID, ProfileID: in.ProfileID, StartedMS: in.Started.UnixMilli(), Complete: int64(in.Complete),
		Partial: int64(in.Partial), Failed: int64(in.Failed), Skipped: int64(in.Skipped)})
}
