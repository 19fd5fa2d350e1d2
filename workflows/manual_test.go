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
)

func targets(n int) []Target {
	out := make([]Target, n)
	for i := range out {
		out[i] = Target{UserID: fmt.Sprintf("u%02d", i), App: "onedrive"}
	}
	return out
}

func TestManualBackupSlidingWindow(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(BackupWorkflow)
	running, peak := 0, 0
	var ids []string
	env.OnWorkflow(BackupWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in BackupInput) (activities.SnapshotSummary, error) {
		running++
		peak = max(peak, running)
		ids = append(ids, workflow.GetInfo(ctx).WorkflowExecution.ID)
		workflow.Sleep(ctx, time.Minute)
		running--
		if in.UserID == "u03" {
			return activities.SnapshotSummary{State: "failed", Error: "ekey unavailable: keeper unreachable"}, nil
		}
		if in.UserID == "u04" {
			return activities.SnapshotSummary{SnapshotID: 4, State: "partial", ItemsChanged: 1}, nil
		}
		return activities.SnapshotSummary{SnapshotID: 1, State: "complete", ItemsChanged: 2}, nil
	})
	env.ExecuteWorkflow(ManualBackupWorkflow, FanOutInput{TenantID: "t1", Targets: targets(12), Window: 3, Trigger: "manual"})
	require.NoError(t, env.GetWorkflowError())
	var sum FanOutSummary
	require.NoError(t, env.GetWorkflowResult(&sum))
	assert.Equal(t, 3, peak, "never more children than the window")
	assert.Equal(t, 12, sum.Total)
	assert.Equal(t, 10, sum.Complete)
	assert.Equal(t, 1, sum.Partial)
	assert.Equal(t, 1, sum.Failed)
	require.Len(t, sum.Failures, 1)
	assert.Equal(t, "u03", sum.Failures[0].UserID)
	assert.Contains(t, sum.Failures[0].Error, "ekey unavailable")
	assert.EqualValues(t, 21, sum.Items)
	assert.Contains(t, ids, "backup/t1/u00/onedrive", "children use the user-app's fixed ID")
}

func TestManualBackupContinuesAsNew(t *testing.T) {
	old := continueAfter
	continueAfter = 4
	defer func() { continueAfter = old }()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(BackupWorkflow)
	env.OnWorkflow(BackupWorkflow, mock.Anything, mock.Anything).Return(activities.SnapshotSummary{State: "complete", ItemsChanged: 1}, nil)
	env.ExecuteWorkflow(ManualBackupWorkflow, FanOutInput{TenantID: "t1", Targets: targets(10), Window: 2})
	err := env.GetWorkflowError()
	require.Error(t, err)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	var next FanOutInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.Len(t, next.Targets, 6, "the rest is carried over")
	assert.Equal(t, 4, next.Summary.Complete, "with the summary so far")
	assert.Equal(t, 10, next.Summary.Total)
	assert.Equal(t, "t1", next.TenantID)
}

func TestRestoreNamesItsFolderAndRecordsTheJob(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	start := time.Date(2026, 11, 21, 23, 45, 10, 0, time.UTC)
	env.SetStartTime(start)
	var got activities.RestoreInput
	var finished activities.FinishJobInput
	env.OnActivity(a.PrepareRestore, mock.Anything, mock.Anything).Return(activities.RestorePlan{JobID: 3, SnapshotID: 9, TargetUserID: "u2", Items: 4}, nil)
	env.OnActivity(a.RestoreItems, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RestoreInput) (activities.RestoreResult, error) {
		got = in
		return activities.RestoreResult{Restored: 3, Failed: 1, Folder: in.Request.FolderName}, nil
	})
	env.OnActivity(a.FinishJob, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishJobInput) error {
		finished = in
		return nil
	})
	env.ExecuteWorkflow(RestoreWorkflow, activities.RestoreRequest{TenantID: "t1", UserID: "u1", App: "onedrive", Mode: activities.ModeFolder, Conflict: "skip"})
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, "Holdfast Restore 2026-11-21 23-45-10", got.Request.FolderName)
	assert.Equal(t, "partial", finished.State, "a restore with a failed item is partial")
	assert.EqualValues(t, 3, finished.Items)
}
