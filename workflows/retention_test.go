package workflows

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/retention"
)

var retentionNow = time.Date(2033, 6, 1, 2, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func aged(id int64, state string, age time.Duration) retention.Snapshot {
	return retention.Snapshot{ID: id, State: state, Taken: retentionNow.Add(-age)}
}

// retentionMocks records what the retention activities were asked.
type retentionMocks struct {
	expireErr error // what ExpireSnapshots fails with, if set

	calls    calls
	expired  []retention.Expiry
	gc       []activities.GCInput
	finished []activities.RetentionReport
}

func (m *retentionMocks) install(env *testsuite.TestWorkflowEnvironment, gc activities.GCResult) {
	env.OnActivity(a.ExpireSnapshots, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ExpireInput) (activities.ExpireResult, error) {
		m.calls.add("expire")
		if m.expireErr != nil {
			return activities.ExpireResult{}, m.expireErr
		}
		m.expired = append(m.expired, in.Expire...)
		var res activities.ExpireResult
		for _, e := range in.Expire {
			res.Expired = append(res.Expired, e.SnapshotID)
		}
		res.VersionsRemoved = int64(10 * len(in.Expire))
		return res, nil
	})
	env.OnActivity(a.CollectGarbage, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.GCInput) (activities.GCResult, error) {
		m.calls.add("gc")
		m.gc = append(m.gc, in)
		return gc, nil
	})
	env.OnActivity(a.FinishRetention, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishRetentionInput) error {
		m.calls.add("finish")
		m.finished = append(m.finished, in.Report)
		return nil
	})
}

func (m *retentionMocks) expiredIDs() []int64 {
	out := []int64{}
	for _, e := range m.expired {
		out = append(out, e.SnapshotID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestRetentionChoices runs RetentionWorkflow over one page of facts that
// covers every rule: per-app retention, legal holds, the newest snapshot
// of an active user-app, deleted users, users without a profile, failed
// and running snapshots.
func TestRetentionChoices(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(retentionNow)
	seven := catalog.OneDriveRetention
	page := activities.RetentionPage{Done: true, UserApps: []retention.UserApp{
		// OneDrive, fixed at seven years: the old one goes, the newest stays.
		{UserID: "alice", App: "onedrive", Active: true, Retention: seven, NewestComplete: 2, NewestUsable: 2,
			Snapshots: []retention.Snapshot{aged(1, catalog.StateComplete, 8*365*day), aged(2, catalog.StateComplete, 8*365*day)}},
		// The same user's Exchange, 30 days in her profile.
		{UserID: "alice", App: "exchange", Active: true, Retention: 30 * day, NewestComplete: 4, NewestUsable: 4,
			Snapshots: []retention.Snapshot{aged(3, catalog.StateComplete, 40*day), aged(4, catalog.StateComplete, 10*day),
				aged(14, catalog.StateComplete, 20*day)}},
		// On legal hold: nothing goes, however old.
		{UserID: "bob", App: "onedrive", Active: true, Held: true, Retention: seven, NewestComplete: 6, NewestUsable: 6,
			Snapshots: []retention.Snapshot{aged(5, catalog.StateComplete, 9*365*day), aged(6, catalog.StateComplete, 8*365*day)}},
		// Deleted: the data still expires, the newest snapshot too.
		{UserID: "carol", App: "onedrive", Active: false, Retention: seven, NewestComplete: 8, NewestUsable: 8,
			Snapshots: []retention.Snapshot{aged(7, catalog.StateComplete, 9*365*day), aged(8, catalog.StateComplete, 8*365*day)}},
		// No profile: the default retention.
		{UserID: "dave", App: "exchange", Active: true, NewestComplete: 10, NewestUsable: 10,
			Snapshots: []retention.Snapshot{aged(9, catalog.StateComplete, catalog.DefaultRetention+day), aged(10, catalog.StateComplete, day)}},
		// Failed snapshots have nothing to keep; running ones are not done.
		{UserID: "erin", App: "exchange", Active: true, Retention: 30 * day, NewestComplete: 11, NewestUsable: 11,
			Snapshots: []retention.Snapshot{aged(11, catalog.StateComplete, 40*day), aged(12, catalog.StateFailed, 40*day),
				aged(13, catalog.StateRunning, 40*day)}},
	}}
	var m retentionMocks
	env.OnActivity(a.LoadRetentionPage, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RetentionPageInput) (activities.RetentionPage, error) {
		m.calls.add("load")
		assert.Equal(t, "t1", in.TenantID)
		return page, nil
	})
	m.install(env, activities.GCResult{Ran: true, ChunksFreed: 7, PacksDeleted: 2, BytesFreed: 1 << 20})
	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{TenantID: "t1", RequestedBy: "admin"})
	require.NoError(t, env.GetWorkflowError())
	var rep activities.RetentionReport
	require.NoError(t, env.GetWorkflowResult(&rep))

	assert.Equal(t, []int64{1, 3, 7, 8, 9, 12}, m.expiredIDs())
	for _, e := range m.expired {
		if e.SnapshotID == 3 {
			assert.Contains(t, e.Reason, "30 days", "per-app retention")
			assert.Equal(t, "exchange", e.App)
		}
		if e.SnapshotID == 12 {
			assert.Contains(t, e.Reason, "failed")
		}
	}
	assert.Equal(t, []string{"load", "expire", "gc", "finish"}, m.calls.log, "expiry, then GC, then the audit")
	assert.Equal(t, 14, rep.SnapshotsExamined)
	assert.Equal(t, 6, rep.SnapshotsExpired)
	assert.Equal(t, 2, rep.KeptHeld)
	assert.Equal(t, 2, rep.KeptNewest, "alice's OneDrive and erin's Exchange; the others' newest are young")
	assert.Equal(t, 1, rep.KeptRunning)
	assert.Equal(t, 3, rep.KeptYoung)
	assert.EqualValues(t, 60, rep.VersionsRemoved)
	assert.Equal(t, "admin", rep.RequestedBy)
	assert.True(t, rep.Started.Equal(retentionNow))
	assert.EqualValues(t, 2, rep.GC.PacksDeleted)
	require.Len(t, m.gc, 1)
	assert.Equal(t, "t1", m.gc[0].TenantID)
	require.Len(t, m.finished, 1)
	assert.Equal(t, rep, m.finished[0], "the audit log gets the report")
}

// pagedFacts serves three pages of one old snapshot each (plus a newest
// to keep), keyed by the cursor.
func pagedFacts(env *testsuite.TestWorkflowEnvironment, m *retentionMocks) {
	pages := map[string]activities.RetentionPage{}
	for i, u := range []string{"u1", "u2", "u3"} {
		p := activities.RetentionPage{UserApps: []retention.UserApp{{UserID: u, App: "onedrive", Active: true, Retention: day,
			NewestComplete: int64(10*i + 2), NewestUsable: int64(10*i + 2),
			Snapshots: []retention.Snapshot{aged(int64(10*i+1), catalog.StateComplete, 2*day), aged(int64(10*i+2), catalog.StateComplete, 2*day)}}}}
		if i == 2 {
			// Young at the first run's now, old a month later.
			p.UserApps[0].Snapshots = append(p.UserApps[0].Snapshots, aged(23, catalog.StateComplete, 12*time.Hour))
		}
		if i < 2 {
			p.Next = activities.RetentionCursor{UserID: []string{"u2", "u3"}[i], App: "onedrive"}
		} else {
			p.Done = true
		}
		from := ""
		if i > 0 {
			from = u
		}
		pages[from] = p
	}
	env.OnActivity(a.LoadRetentionPage, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RetentionPageInput) (activities.RetentionPage, error) {
		m.calls.add("load:" + in.Cursor.UserID)
		return pages[in.Cursor.UserID], nil
	})
}

func TestRetentionPagesAndContinuesAsNew(t *testing.T) {
	old := retentionPagesPerRun
	retentionPagesPerRun = 2
	defer func() { retentionPagesPerRun = old }()

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(retentionNow)
	var m retentionMocks
	pagedFacts(env, &m)
	m.install(env, activities.GCResult{Ran: true})
	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{TenantID: "t1"})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	var next RetentionInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Carry)
	assert.Equal(t, activities.RetentionCursor{UserID: "u3", App: "onedrive"}, next.Carry.Cursor, "the cursor is carried over")
	assert.True(t, next.Carry.Now.Equal(retentionNow), "and the run's now: every page is judged at the same time")
	assert.Equal(t, 2, next.Carry.Report.SnapshotsExpired, "with the report so far")
	assert.Equal(t, []string{"load:", "expire", "load:u2", "expire"}, m.calls.log, "no GC before every page is done")

	// The continuation, started a day later, finishes with the same now.
	env2 := s.NewTestWorkflowEnvironment()
	env2.SetStartTime(retentionNow.Add(30 * day))
	var m2 retentionMocks
	pagedFacts(env2, &m2)
	m2.install(env2, activities.GCResult{Ran: true, PacksDeleted: 1})
	env2.ExecuteWorkflow(RetentionWorkflow, next)
	require.NoError(t, env2.GetWorkflowError())
	var rep activities.RetentionReport
	require.NoError(t, env2.GetWorkflowResult(&rep))
	assert.Equal(t, []int64{21}, m2.expiredIDs(), "judged at the first run's now: 23 is still young")
	assert.Equal(t, 1, rep.KeptYoung)
	assert.Equal(t, 3, rep.SnapshotsExpired)
	assert.Equal(t, []int64{1, 11, 21}, rep.ExpiredIDs)
	assert.Equal(t, 3, rep.KeptNewest)
	assert.EqualValues(t, 1, rep.GC.PacksDeleted)
}

func TestRetentionFailureIsAudited(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(retentionNow)
	m := retentionMocks{expireErr: temporal.NewNonRetryableApplicationError("catalog unavailable", activities.ErrTypeInvalidRequest, nil)}
	pagedFacts(env, &m)
	m.install(env, activities.GCResult{})
	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{TenantID: "t1"})
	require.Error(t, env.GetWorkflowError())
	assert.NotContains(t, m.calls.log, "gc", "no GC after a failed expiry")
	require.Len(t, m.finished, 1)
	assert.Equal(t, "catalog unavailable", m.finished[0].Error)
}

func TestRetentionReportsDeferredGC(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(retentionNow)
	var m retentionMocks
	env.OnActivity(a.LoadRetentionPage, mock.Anything, mock.Anything).Return(activities.RetentionPage{Done: true}, nil)
	m.install(env, activities.GCResult{Deferred: "garbage collection deferred to the next run: backups are running"})
	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{TenantID: "t1", GC: activities.GCInput{MaxWait: time.Hour}})
	require.NoError(t, env.GetWorkflowError())
	var rep activities.RetentionReport
	require.NoError(t, env.GetWorkflowResult(&rep))
	assert.False(t, rep.GC.Ran)
	assert.Contains(t, rep.GC.Deferred, "backups are running")
	assert.Equal(t, []string{"gc", "finish"}, m.calls.log, "nothing to expire: straight to GC")
	assert.Equal(t, time.Hour, m.gc[0].MaxWait)
}

func TestRetentionIDs(t *testing.T) {
	assert.Equal(t, "retention/t1", RetentionWorkflowID("t1"))
	assert.Equal(t, "retention/t1", RetentionScheduleID("t1"))
	// activities.backupWorkflowID (used to find the run of a stuck
	// snapshot) copies this format.
	assert.Equal(t, "backup/t1/u1/onedrive", BackupWorkflowID("t1", "u1", "onedrive"))
}
