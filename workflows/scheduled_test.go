package workflows

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
)

// pages serves a profile of n users two pages at a time.
func pages(n int) func(context.Context, activities.ProfileTargetsInput) (activities.ProfileTargetsPage, error) {
	return func(_ context.Context, in activities.ProfileTargetsInput) (activities.ProfileTargetsPage, error) {
		start := 0
		if in.After != "" {
			fmt.Sscanf(in.After, "u%03d", &start)
			start++
		}
		var p activities.ProfileTargetsPage
		for i := start; i < n && i < start+in.Limit; i++ {
			p.Targets = append(p.Targets, catalog.ProfileTarget{UserID: fmt.Sprintf("u%03d", i), App: "onedrive"})
		}
		p.Skipped = 1
		if start+in.Limit < n {
			p.Next = fmt.Sprintf("u%03d", start+in.Limit-1)
		}
		return p, nil
	}
}

func TestScheduledBackupPagesAndRecords(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(BackupWorkflow)
	running, peak := 0, 0
	env.OnActivity(a.ProfileTargets, mock.Anything, mock.Anything).Return(pages(450))
	env.OnWorkflow(BackupWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in BackupInput) (activities.SnapshotSummary, error) {
		running++
		peak = max(peak, running)
		workflow.Sleep(ctx, time.Second)
		running--
		assert.Equal(t, "scheduled", in.Trigger)
		return activities.SnapshotSummary{State: "complete"}, nil
	})
	var recorded activities.ScheduleRunInput
	env.OnActivity(a.RecordScheduleRun, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ScheduleRunInput) error {
		recorded = in
		return nil
	})
	env.ExecuteWorkflow(ScheduledBackupWorkflow, ScheduledInput{TenantID: "t1", ProfileID: "sales"})
	require.NoError(t, env.GetWorkflowError())
	var sum ScheduledSummary
	require.NoError(t, env.GetWorkflowResult(&sum))
	assert.Equal(t, 450, sum.Total)
	assert.Equal(t, 450, sum.Complete)
	assert.Equal(t, 3, sum.Skipped, "one skipped per page")
	assert.LessOrEqual(t, peak, defaultWindow)
	assert.Equal(t, 450, recorded.Complete)
	assert.Equal(t, "sales", recorded.ProfileID)
}

func TestScheduledBackupContinuesAsNewWithItsPlace(t *testing.T) {
	old := continueAfter
	continueAfter = 150
	defer func() { continueAfter = old }()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(BackupWorkflow)
	env.OnActivity(a.ProfileTargets, mock.Anything, mock.Anything).Return(pages(450))
	env.OnWorkflow(BackupWorkflow, mock.Anything, mock.Anything).Return(activities.SnapshotSummary{State: "complete"}, nil)
	env.ExecuteWorkflow(ScheduledBackupWorkflow, ScheduledInput{TenantID: "t1", ProfileID: "sales"})
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	var next ScheduledInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.Equal(t, 150, next.Summary.Complete)
	assert.Equal(t, "u199", next.After, "the next page starts after the last one read")
	assert.Len(t, next.Pending, 50, "read but not started: carried over")
	assert.False(t, next.Started.IsZero(), "the run's start is kept for its record")
}
