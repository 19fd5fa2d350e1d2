package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/backup"
)

var in = BackupInput{TenantID: "t1", UserID: "u1", App: "onedrive", Trigger: "manual"}

type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, s)
}

// happyPath mocks every activity of a two-drive backup.
func happyPath(env *testsuite.TestWorkflowEnvironment, c *calls) {
	env.OnActivity(a.PrepareBackup, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.PrepareBackupInput) (activities.PrepareBackupResult, error) {
		c.add("prepare")
		return activities.PrepareBackupResult{SnapshotID: 7}, nil
	})
	env.OnActivity(a.ListContainers, mock.Anything, activities.SnapshotRef{SnapshotID: 7}).Return(
		[]activities.Container{{ID: "d1", Kind: "drive"}, {ID: "d2", Kind: "drive"}}, nil)
	env.OnActivity(a.CommitSnapshot, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CommitInput) (activities.SnapshotSummary, error) {
		c.add("commit")
		state := "complete"
		return activities.SnapshotSummary{SnapshotID: in.SnapshotID, State: state, BytesNew: in.BytesNew}, nil
	})
	env.OnActivity(a.FailSnapshot, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FailSnapshotInput) error {
		c.add("fail:" + in.Reason)
		return nil
	})
	env.OnActivity(a.FailContainer, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FailContainerInput) error {
		c.add("failcontainer:" + in.ContainerID)
		return nil
	})
}

func TestBackupCommitsAfterEveryContainer(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	c := &calls{}
	happyPath(env, c)
	env.OnActivity(a.BackupContainer, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ContainerInput) (activities.ContainerResult, error) {
		c.add("container:" + in.ContainerID)
		return activities.ContainerResult{Items: 10, BytesNew: 100}, nil
	})
	env.ExecuteWorkflow(BackupWorkflow, in)
	require.NoError(t, env.GetWorkflowError())
	var res activities.SnapshotSummary
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, "complete", res.State)
	assert.EqualValues(t, 200, res.BytesNew)
	require.Len(t, c.log, 4)
	assert.Equal(t, "prepare", c.log[0])
	assert.ElementsMatch(t, []string{"container:d1", "container:d2"}, c.log[1:3])
	assert.Equal(t, "commit", c.log[3], "the commit (and so the delta links) comes after every container")
}

func TestBackupRetriesAndHonoursRetryAfter(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	c := &calls{}
	happyPath(env, c)
	var attempts []time.Time
	env.OnActivity(a.BackupContainer, mock.Anything, activities.ContainerInput{SnapshotID: 7, ContainerID: "d1"}).Return(
		func(ctx context.Context, _ activities.ContainerInput) (activities.ContainerResult, error) {
			attempts = append(attempts, env.Now())
			switch len(attempts) {
			case 1:
				return activities.ContainerResult{}, errors.New("connection reset by peer")
			case 2:
				return activities.ContainerResult{}, temporal.NewApplicationErrorWithOptions("throttled", activities.ErrTypeThrottled,
					temporal.ApplicationErrorOptions{NextRetryDelay: 3 * time.Minute})
			}
			return activities.ContainerResult{Items: 1}, nil
		})
	env.OnActivity(a.BackupContainer, mock.Anything, activities.ContainerInput{SnapshotID: 7, ContainerID: "d2"}).Return(activities.ContainerResult{}, nil)
	env.ExecuteWorkflow(BackupWorkflow, in)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, attempts, 3)
	assert.Less(t, attempts[1].Sub(attempts[0]), time.Minute, "an ordinary failure is retried on the policy's backoff")
	assert.GreaterOrEqual(t, attempts[2].Sub(attempts[1]), 3*time.Minute, "a throttled attempt waits for the service's Retry-After")
}

func TestBackupResumesFromHeartbeat(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	c := &calls{}
	happyPath(env, c)
	var resumedFrom []backup.Cursor
	env.OnActivity(a.BackupContainer, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.ContainerInput) (activities.ContainerResult, error) {
		var cur backup.Cursor
		if activity.HasHeartbeatDetails(ctx) {
			require.NoError(t, activity.GetHeartbeatDetails(ctx, &cur))
		}
		if in.ContainerID != "d1" {
			return activities.ContainerResult{}, nil
		}
		resumedFrom = append(resumedFrom, cur)
		if cur.Link == "" {
			activity.RecordHeartbeat(ctx, backup.Cursor{Started: true, Link: "page-3", Items: 600})
			return activities.ContainerResult{}, errors.New("worker lost")
		}
		return activities.ContainerResult{Items: cur.Items + 100}, nil
	})
	env.ExecuteWorkflow(BackupWorkflow, in)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, resumedFrom, 2)
	assert.Equal(t, "page-3", resumedFrom[1].Link, "the retry starts at the last durable page")
	assert.EqualValues(t, 600, resumedFrom[1].Items)
}

func TestBackupWithAFailedContainerIsPartial(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	c := &calls{}
	happyPath(env, c)
	env.OnActivity(a.BackupContainer, mock.Anything, activities.ContainerInput{SnapshotID: 7, ContainerID: "d1"}).Return(
		activities.ContainerResult{}, temporal.NewNonRetryableApplicationError("no access", activities.ErrTypeGraphForbidden, nil))
	env.OnActivity(a.BackupContainer, mock.Anything, activities.ContainerInput{SnapshotID: 7, ContainerID: "d2"}).Return(activities.ContainerResult{Items: 5}, nil)
	env.ExecuteWorkflow(BackupWorkflow, in)
	require.NoError(t, env.GetWorkflowError())
	assert.Contains(t, c.log, "failcontainer:d1")
	assert.Contains(t, c.log, "commit", "the other container is kept")
	assert.NotContains(t, c.log, "fail:no access")
}

func TestBackupFailsWhenEveryContainerFails(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	c := &calls{}
	happyPath(env, c)
	env.OnActivity(a.BackupContainer, mock.Anything, mock.Anything).Return(
		activities.ContainerResult{}, temporal.NewNonRetryableApplicationError("gone", activities.ErrTypeNotFound, nil))
	env.ExecuteWorkflow(BackupWorkflow, in)
	require.Error(t, env.GetWorkflowError())
	assert.NotContains(t, c.log, "commit", "nothing is committed, so no delta link advances")
	assert.Contains(t, c.log[len(c.log)-1], "fail:")
}

func TestBackupWithoutEkeyFailsAtOnce(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	tries := 0
	env.OnActivity(a.PrepareBackup, mock.Anything, mock.Anything).Return(func(context.Context, activities.PrepareBackupInput) (activities.PrepareBackupResult, error) {
		tries++
		return activities.PrepareBackupResult{}, temporal.NewNonRetryableApplicationError(
			"ekey unavailable: keeper refused to decrypt the data key", activities.ErrTypeEkeyUnavailable, nil)
	})
	env.ExecuteWorkflow(BackupWorkflow, in)
	err := env.GetWorkflowError()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ekey unavailable")
	assert.Equal(t, 1, tries, "not retried")
	env.AssertNotCalled(t, "ListContainers", mock.Anything, mock.Anything)
}
