// Package schedules creates the Temporal Schedules Holdfast runs on: they
// are visible, pausable and triggerable in the Temporal UI and CLI
// (`temporal schedule list|describe|toggle|trigger`).
package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/holdfast/holdfast/workflows"
)

// Retention runs once a day, at RetentionOffset past midnight UTC plus up
// to RetentionJitter, so the tenants of one installation do not all start
// their garbage collection at the same moment.
const (
	RetentionEvery  = 24 * time.Hour
	RetentionOffset = 2 * time.Hour // 02:00 UTC: after most tenants' business day
	RetentionJitter = time.Hour
)

// EnsureRetention creates the tenant's daily retention schedule if it does
// not exist (an existing one is left as the admin may have paused or
// changed it). Each run starts RetentionWorkflow on workflows.TaskQueue;
// a run still going when the next is due makes that one skip (overlap
// SKIP), and a missed day is not caught up beyond one run.
func EnsureRetention(ctx context.Context, c client.Client, tenantID string) error {
	if tenantID == "" {
		return errors.New("schedules: no tenant")
	}
	_, err := c.ScheduleClient().Create(ctx, RetentionOptions(tenantID))
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the retention schedule of tenant %s: %w", tenantID, err)
	}
	return nil
}

// RetentionOptions is the tenant's retention schedule.
func RetentionOptions(tenantID string) client.ScheduleOptions {
	return client.ScheduleOptions{
		ID: workflows.RetentionScheduleID(tenantID),
		Spec: client.ScheduleSpec{
			Intervals: []client.ScheduleIntervalSpec{{Every: RetentionEvery, Offset: RetentionOffset}},
			Jitter:    RetentionJitter,
		},
		Action: &client.ScheduleWorkflowAction{
			ID:        workflows.RetentionWorkflowID(tenantID),
			Workflow:  workflows.RetentionWorkflow,
			Args:      []any{workflows.RetentionInput{TenantID: tenantID}},
			TaskQueue: workflows.TaskQueue,
		},
		Overlap:       enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: RetentionEvery,
		Note:          "Holdfast: expire snapshots past retention, then collect garbage",
	}
}
