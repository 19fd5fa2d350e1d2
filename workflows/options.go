package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// Activity option sets. Catalog-only steps are short and retried briefly;
// steps that move data heartbeat and are retried for as long as the
// service keeps throttling, resuming from their heartbeat each time.
var (
	shortActivity = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 10, NonRetryableErrorTypes: activities.NonRetryableErrorTypes},
	}
	// prepareActivity may wait out retention's garbage collection (it asks
	// to be retried every 30 s while GC holds the tenant).
	prepareActivity = workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 6 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, NonRetryableErrorTypes: activities.NonRetryableErrorTypes},
	}
	dataActivity = workflow.ActivityOptions{
		StartToCloseTimeout:    24 * time.Hour,
		ScheduleToCloseTimeout: 7 * 24 * time.Hour, // a week of throttling still finishes
		HeartbeatTimeout:       30 * time.Second,   // a dead worker's activity moves on within half a minute
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 10 * time.Minute, NonRetryableErrorTypes: activities.NonRetryableErrorTypes},
	}
)

func withShort(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, shortActivity)
}

func withData(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, dataActivity)
}
