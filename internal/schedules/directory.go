package schedules

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/workflows"
)

// DirectorySyncEvery is how often mapping rules are applied to the
// directory's changes.
const DirectorySyncEvery = 15 * time.Minute

// DirectoryScheduleID names a tenant's directory-sync schedule.
func DirectoryScheduleID(tenantID string) string { return "directory-sync/" + tenantID }

// EnsureDirectorySync creates the tenant's directory-sync schedule if it
// does not exist.
func EnsureDirectorySync(ctx context.Context, c client.Client, tenantID string) error {
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   DirectoryScheduleID(tenantID),
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: DirectorySyncEvery}}},
		Action: &client.ScheduleWorkflowAction{ID: workflows.DirectorySyncWorkflowID(tenantID), Workflow: workflows.DirectorySyncWorkflow,
			Args: []any{activities.DirectorySyncInput{TenantID: tenantID}}, TaskQueue: workflows.TaskQueue},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    "applies directory mapping rules",
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil
	}
	return err
}
