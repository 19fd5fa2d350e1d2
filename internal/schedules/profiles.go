package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/holdfast/holdfast/workflows"
)

// ProfileScheduleID names the Temporal Schedule of a profile.
func ProfileScheduleID(tenantID, profileID string) string {
	return fmt.Sprintf("profile/%s/%s", tenantID, profileID)
}

// ProfileSpec is the schedule of a profile's backups.
func profileSchedule(tenantID, profileID string, every time.Duration) (client.ScheduleSpec, *client.ScheduleWorkflowAction) {
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	action := &client.ScheduleWorkflowAction{
		ID:        fmt.Sprintf("scheduled-backup/%s/%s", tenantID, profileID), // Temporal appends the run's time
		Workflow:  workflows.ScheduledBackupWorkflow,
		Args:      []any{workflows.ScheduledInput{TenantID: tenantID, ProfileID: profileID}},
		TaskQueue: workflows.TaskQueue,
	}
	return spec, action
}

// EnsureProfile creates the profile's schedule, or updates its interval
// if it exists. Runs that would overlap a running one are skipped: the
// user-apps' own workflows already serialise backups.
func EnsureProfile(ctx context.Context, c client.Client, tenantID, profileID string, every time.Duration) error {
	id := ProfileScheduleID(tenantID, profileID)
	spec, action := profileSchedule(tenantID, profileID, every)
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: id, Spec: spec, Action: action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, Note: "backups of profile " + profileID})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return err
	}
	return c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec, s.Action = &spec, action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		}})
}

// DeleteProfile removes a profile's schedule (gone already is fine).
func DeleteProfile(ctx context.Context, c client.Client, tenantID, profileID string) error {
	err := c.ScheduleClient().GetHandle(ctx, ProfileScheduleID(tenantID, profileID)).Delete(ctx)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil
	}
	return err
}
