package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/retention"
)

func init() { register(RetentionWorkflow) }

// RetentionWorkflowID is the ID of a tenant's on-demand retention run
// (`holdfast retention run`). Scheduled runs carry the schedule's ID with
// the time appended, as Temporal names them.
func RetentionWorkflowID(tenantID string) string { return "retention/" + tenantID }

// RetentionScheduleID is the ID of a tenant's daily retention schedule.
func RetentionScheduleID(tenantID string) string { return "retention/" + tenantID }

// RetentionInput starts a retention run of a tenant. Zero options take
// the defaults.
type RetentionInput struct {
	TenantID    string
	RequestedBy string // the admin who asked, for the audit log; "" when scheduled

	MaxUserApps  int                    // user-apps per page of facts (default 200)
	MaxSnapshots int                    // snapshots per page of facts (default 1000)
	GC           activities.GCInput     // TenantID is filled in
	Carry        *RetentionContinuation // set by the run itself when it continues as new
}

// RetentionContinuation is what a run hands to its continuation.
type RetentionContinuation struct {
	Now    time.Time // the run's "now", so every page is judged at the same time
	Cursor activities.RetentionCursor
	Report activities.RetentionReport
}

// RetentionProgress is the progress query's answer.
type RetentionProgress struct {
	Phase  string // expiring | collecting garbage | done | failed
	Report activities.RetentionReport
}

// retentionPagesPerRun bounds the pages of facts one run handles before
// it continues as new (each page costs a handful of events). A variable so
// tests can make it small.
var retentionPagesPerRun = 200

// RetentionWorkflow applies retention to a tenant, then collects garbage:
//
//  1. Page through the tenant's user-apps (facts: unexpired snapshots,
//     active or not, legal hold, the profile's retention for the app).
//  2. For each page, retention.Decide — a pure function of the facts and
//     workflow.Now — chooses what to expire; ExpireSnapshots expires it
//     and deletes the item versions no remaining snapshot sees.
//  3. CollectGarbage removes chunk index entries and packs nothing
//     references (see the activity for why concurrent backups are safe).
//  4. FinishRetention writes the report to the audit log (actor
//     "retention"), also when the run fails.
//
// Payloads carry IDs and counts; a large tenant continues as new between
// pages, carrying the cursor, the run's "now" and the report so far.
func RetentionWorkflow(ctx workflow.Context, in RetentionInput) (activities.RetentionReport, error) {
	carry := in.Carry
	if carry == nil {
		now := workflow.Now(ctx).UTC()
		carry = &RetentionContinuation{Now: now,
			Report: activities.RetentionReport{TenantID: in.TenantID, RequestedBy: in.RequestedBy, Started: now}}
	}
	rep := &carry.Report
	progress := RetentionProgress{Phase: "expiring"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (RetentionProgress, error) {
		progress.Report = *rep
		return progress, nil
	}); err != nil {
		return *rep, err
	}
	short, data := withShort(ctx), withData(ctx)
	fail := func(err error) (activities.RetentionReport, error) {
		progress.Phase = "failed"
		rep.Error = message(err)
		rep.Finished = workflow.Now(ctx).UTC()
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = workflow.ExecuteActivity(withShort(dctx), a.FinishRetention, activities.FinishRetentionInput{Report: *rep}).Get(dctx, nil)
		return *rep, err
	}

	for pages := 0; ; pages++ {
		if pages == retentionPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			next := in
			next.Carry = carry
			return *rep, workflow.NewContinueAsNewError(ctx, RetentionWorkflow, next)
		}
		var page activities.RetentionPage
		if err := workflow.ExecuteActivity(short, a.LoadRetentionPage, activities.RetentionPageInput{TenantID: in.TenantID,
			Cursor: carry.Cursor, MaxUserApps: in.MaxUserApps, MaxSnapshots: in.MaxSnapshots}).Get(ctx, &page); err != nil {
			return fail(err)
		}
		plan := retention.Decide(carry.Now, page.UserApps)
		rep.UserApps += len(page.UserApps)
		rep.SnapshotsExamined += plan.Examined
		rep.KeptHeld += plan.KeptHeld
		rep.KeptNewest += plan.KeptNewest
		rep.KeptRunning += plan.KeptRunning
		rep.KeptYoung += plan.KeptYoung
		if len(plan.Expire) > 0 {
			var res activities.ExpireResult
			if err := workflow.ExecuteActivity(data, a.ExpireSnapshots, activities.ExpireInput{TenantID: in.TenantID,
				Expire: plan.Expire}).Get(ctx, &res); err != nil {
				return fail(err)
			}
			rep.SnapshotsExpired += len(res.Expired)
			for _, id := range res.Expired {
				if len(rep.ExpiredIDs) < activities.MaxListed {
					rep.ExpiredIDs = append(rep.ExpiredIDs, id)
				}
			}
			rep.Refused += res.Refused
			for _, why := range res.RefusedWhy {
				if len(rep.RefusedWhy) < maxListed {
					rep.RefusedWhy = append(rep.RefusedWhy, why)
				}
			}
			rep.VersionsRemoved += res.VersionsRemoved
			rep.DeltaResets += res.DeltaResets
		}
		carry.Cursor = page.Next
		if page.Done {
			break
		}
	}

	progress.Phase = "collecting garbage"
	gcIn := in.GC
	gcIn.TenantID = in.TenantID
	if err := workflow.ExecuteActivity(withGC(ctx, gcIn), a.CollectGarbage, gcIn).Get(ctx, &rep.GC); err != nil {
		return fail(err)
	}
	rep.Finished = workflow.Now(ctx).UTC()
	if err := workflow.ExecuteActivity(short, a.FinishRetention, activities.FinishRetentionInput{Report: *rep}).Get(ctx, nil); err != nil {
		return fail(err)
	}
	progress.Phase = "done"
	return *rep, nil
}

// withGC sets CollectGarbage's options: like a data step (heartbeats,
// retried for long), with room for the wait for running backups.
func withGC(ctx workflow.Context, in activities.GCInput) workflow.Context {
	opts := dataActivity
	wait := in.MaxWait
	if wait <= 0 {
		wait = 6 * time.Hour
	}
	opts.StartToCloseTimeout = wait + 24*time.Hour
	opts.ScheduleToCloseTimeout = 0
	opts.RetryPolicy = &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
		MaximumInterval: 10 * time.Minute, MaximumAttempts: 20, NonRetryableErrorTypes: activities.NonRetryableErrorTypes}
	return workflow.WithActivityOptions(ctx, opts)
}
