package schedules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/holdfast/holdfast/workflows"
)

func TestRetentionOptions(t *testing.T) {
	o := RetentionOptions("t1")
	assert.Equal(t, "retention/t1", o.ID)
	require.Len(t, o.Spec.Intervals, 1)
	assert.Equal(t, 24*time.Hour, o.Spec.Intervals[0].Every, "daily")
	assert.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, o.Overlap, "a long run makes the next one skip")
	act, ok := o.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	assert.Equal(t, workflows.TaskQueue, act.TaskQueue)
	assert.Equal(t, workflows.RetentionWorkflowID("t1"), act.ID)
	require.Len(t, act.Args, 1)
	assert.Equal(t, workflows.RetentionInput{TenantID: "t1"}, act.Args[0])
}
