package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/retention"
	"github.com/holdfast/holdfast/internal/vault"
)

// Retention's activities: load the facts retention decides on, expire
// what RetentionWorkflow chose (and delete the item versions only expired
// snapshots saw), collect the garbage (chunk index entries and packs
// nothing references), and record the run in the audit log.

// RetentionActor is the audit log's actor for what retention does on its
// own.
const RetentionActor = "retention"

// RetentionCursor is where loading retention facts continues.
type RetentionCursor = catalog.RetentionCursor

// RetentionPageInput asks for the next page of retention facts.
type RetentionPageInput struct {
	TenantID     string
	Cursor       RetentionCursor
	MaxUserApps  int // default 200
	MaxSnapshots int // default 1000
}

// RetentionPage is a bounded page of facts: whole user-apps, except that
// the last may be a fragment of a user-app with very many snapshots.
type RetentionPage struct {
	UserApps []retention.UserApp
	Next     RetentionCursor
	Done     bool
}

// ExpireInput expires what retention.Decide chose for one page.
type ExpireInput struct {
	TenantID string
	Expire   []retention.Expiry
}

// ExpireResult counts what expiring one page did.
type ExpireResult struct {
	Expired         []int64  // snapshots now expired
	Refused         int      // snapshots the catalog kept after all
	RefusedWhy      []string // the first few, "snapshot N: why"
	VersionsRemoved int64    // item versions no remaining snapshot saw
	DeltaResets     int      // user-apps left without snapshots: their next backup is a full one
}

// GCInput tunes garbage collection; zero values take defaults.
type GCInput struct {
	TenantID    string
	OrphanGrace time.Duration // an unindexed pack object is deleted once this old (default 24 h)
	MaxWait     time.Duration // how long to wait for running backups to end (default 6 h)
	LeaseTTL    time.Duration // the GC lease's lifetime, renewed while GC works (default 2 min)
	Poll        time.Duration // how often to look again while backups run (default 15 s)
}

// GCResult is what garbage collection did.
type GCResult struct {
	Ran      bool   // the sweep ran (false: deferred, see Deferred)
	Deferred string // why GC did not run this time

	ChunksFreed     int64 // chunk index entries removed (nothing referenced them)
	ChunkBytesFreed int64 // their sealed size, in deleted and kept packs alike
	PacksDeleted    int64 // pack objects deleted: nothing pointed into them any more
	BytesFreed      int64 // bytes of storage given back (deleted packs, orphans included)

	OrphanPacksDeleted int64 // pack objects the index never knew, deleted after the grace period
	OrphanBytesFreed   int64
	OrphanPacksWaiting int64 // unindexed pack objects still inside the grace period

	// Packs are not rewritten: a pack with some live chunks stays whole.
	PacksPartlyReferenced int64 // packs with dead and live chunks
	DeadBytesKept         int64 // about how many of their bytes nothing references
	PacksLeft             int64 // packs in the index after the run
	BytesLeft             int64

	MoreGarbage          bool    // the run stopped at its limit: the next run frees more
	StaleSnapshotsFailed int     // running snapshots whose backup run had ended, marked failed
	MarkFalsePositives   float64 // estimated share of garbage the mark kept by mistake (collected next run)
}

// RetentionReport is what a retention run did, for the admin and the audit
// log. Lists are capped; the counts are complete.
type RetentionReport struct {
	TenantID    string
	RequestedBy string // the admin who started it by hand; "" when scheduled
	Started     time.Time
	Finished    time.Time

	UserApps          int     // user-app pages examined (a very large user-app may count twice)
	SnapshotsExamined int     // unexpired snapshots looked at
	SnapshotsExpired  int     // expired by this run
	ExpiredIDs        []int64 // the first MaxListed of them
	KeptHeld          int     // past retention, kept by a legal hold
	KeptNewest        int     // past retention, kept as the newest of an active user-app
	KeptRunning       int
	KeptYoung         int // within retention
	Refused           int // chosen, but the catalog kept them (a hold or a newer backup since)
	RefusedWhy        []string
	VersionsRemoved   int64
	DeltaResets       int // user-apps left without snapshots (their next backup is full)

	GC    GCResult
	Error string // why the run failed, if it did
}

// MaxListed caps the lists in a RetentionReport.
const MaxListed = 1000

// FinishRetentionInput records a run.
type FinishRetentionInput struct {
	Report RetentionReport
}

const (
	defaultRetentionApps  = 200
	defaultRetentionSnaps = 1000
	pruneBatch            = 1000
	gcPage                = 1000
	orphanBatch           = 500
	defaultOrphanGrace    = 24 * time.Hour
	defaultGCMaxWait      = 6 * time.Hour
	defaultLeaseTTL       = 2 * time.Minute
	defaultGCPoll         = 15 * time.Second

	// maxGarbagePerRun bounds the chunk index entries one run deletes
	// (32 bytes each in memory): a backlog is worked off over several
	// runs.
	maxGarbagePerRun = 4 << 20
)

// LoadRetentionPage loads the facts of the next user-apps: their
// unexpired snapshots, whether the user is active and the app enabled,
// held, and the retention their profile gives the app.
func (a *Activities) LoadRetentionPage(ctx context.Context, in RetentionPageInput) (RetentionPage, error) {
	maxApps, maxSnaps := in.MaxUserApps, in.MaxSnapshots
	if maxApps <= 0 {
		maxApps = defaultRetentionApps
	}
	if maxSnaps <= 0 {
		maxSnaps = defaultRetentionSnaps
	}
	facts, next, done, err := a.Catalog.RetentionPage(ctx, in.TenantID, in.Cursor, maxApps, maxSnaps)
	if err != nil {
		return RetentionPage{}, err
	}
	profiles := map[string]catalog.Profile{}
	out := RetentionPage{Next: next, Done: done}
	for _, f := range facts {
		p, ok := profiles[f.ProfileID]
		if !ok {
			p = catalog.Profile{TenantID: in.TenantID}
			if f.ProfileID != "" {
				got, err := a.Catalog.Profile(ctx, in.TenantID, f.ProfileID)
				switch {
				case err == nil:
					p = got
				case errors.Is(err, catalog.ErrNotFound):
					// A profile deleted under its users: the default applies.
				default:
					return RetentionPage{}, err
				}
			}
			profiles[f.ProfileID] = p
		}
		ua := retention.UserApp{UserID: f.UserID, App: f.App, Active: f.UserState == "active" && f.Enabled, Held: f.Held,
			Retention: p.RetentionFor(f.App), NewestComplete: f.NewestComplete, NewestUsable: f.NewestUsable}
		for _, s := range f.Snapshots {
			ua.Snapshots = append(ua.Snapshots, retention.Snapshot{ID: s.ID, State: s.State, Taken: s.Taken})
		}
		out.UserApps = append(out.UserApps, ua)
	}
	return out, nil
}

// ExpireSnapshots expires the chosen snapshots (the catalog refuses held
// ones and the newest of an active user-app, whatever it is asked) and
// deletes, user-app by user-app, the item versions no remaining snapshot
// sees. Every user-app named is pruned, so a retry finishes what an
// interrupted attempt started.
func (a *Activities) ExpireSnapshots(ctx context.Context, in ExpireInput) (ExpireResult, error) {
	exp := make([]catalog.Expiry, len(in.Expire))
	for i, e := range in.Expire {
		exp[i] = catalog.Expiry{SnapshotID: e.SnapshotID, Reason: e.Reason}
	}
	res, err := a.Catalog.ExpireSnapshots(ctx, in.TenantID, exp, RetentionActor)
	if err != nil {
		return ExpireResult{}, err
	}
	var out ExpireResult
	for _, s := range res.Expired {
		out.Expired = append(out.Expired, s.ID)
	}
	for _, e := range in.Expire {
		if why, ok := res.Refused[e.SnapshotID]; ok {
			out.Refused++
			if len(out.RefusedWhy) < 20 {
				out.RefusedWhy = append(out.RefusedWhy, fmt.Sprintf("snapshot %d: %s", e.SnapshotID, why))
			}
		}
	}
	reset := map[catalog.UserApp]bool{}
	for _, k := range res.Reset {
		reset[k] = true
	}

	hb := newHeartbeat(ctx, out.VersionsRemoved)
	defer hb.stop()
	seen := map[catalog.UserApp]bool{}
	for _, e := range in.Expire {
		k := catalog.UserApp{TenantID: in.TenantID, UserID: e.UserID, App: e.App}
		if seen[k] {
			continue
		}
		seen[k] = true
		for {
			r, err := a.Catalog.PruneVersions(ctx, k, pruneBatch)
			if err != nil {
				return ExpireResult{}, err
			}
			out.VersionsRemoved += r.Versions
			if r.Reset {
				reset[k] = true
			}
			hb.set(out.VersionsRemoved)
			if !r.More {
				break
			}
		}
	}
	out.DeltaResets = len(reset)
	return out, nil
}

// gcProgress is CollectGarbage's heartbeat: the phase, and the counts so
// far (a retry starts the work over but keeps counting).
type gcProgress struct {
	Phase  string
	Result GCResult
}

// CollectGarbage removes the chunk index entries no item version
// references, then the pack objects nothing points into any more, then
// pack objects the index never knew (older than the grace period).
//
// Safety against concurrent backups (a backup deduplicates against the
// index: it must never meet an entry GC is about to delete):
//
//  1. Mark, without blocking anyone: every chunk referenced by an item
//     version goes into a ChunkSet (false positives only keep garbage).
//     The watermark W is taken first: versions born later belong to
//     snapshots with IDs ≥ W.
//  2. List the candidates: index entries not in the set (still without
//     blocking anyone).
//  3. Wait until no snapshot of the tenant is running, and take the
//     tenant's GC lease in the same transaction. From then on no backup
//     opens a snapshot (OpenSnapshot refuses while the lease is live; the
//     backup's activity retries), so no new reference can appear.
//  4. Under the lease, mark what step 1 may have missed — versions born
//     in snapshots ≥ W and staged items — and delete the candidates still
//     unmarked, in batches. Each batch re-checks, in its own transaction,
//     that the lease is still ours and live for a margin and that nothing
//     runs; a lease that lapsed (a stalled worker) deletes nothing. The
//     lease is renewed while GC works. Backups wait only for this step,
//     whose cost is the changes since step 1 plus the garbage.
//  5. Release the lease. Pack objects with no index entry left are
//     deleted (object, then row): no reader or backup can reach them, as
//     nothing in the index points there.
//  6. Pack objects in the bucket the index does not know are noted with
//     when they were first seen, and deleted once older than the grace
//     period (a pack between its upload and its index transaction is
//     seconds old).
//
// Packs are never rewritten: a pack with any live chunk stays whole, and
// its dead bytes are reported.
func (a *Activities) CollectGarbage(ctx context.Context, in GCInput) (GCResult, error) {
	if in.OrphanGrace <= 0 {
		in.OrphanGrace = defaultOrphanGrace
	}
	if in.MaxWait <= 0 {
		in.MaxWait = defaultGCMaxWait
	}
	if in.LeaseTTL <= 0 {
		in.LeaseTTL = defaultLeaseTTL
	}
	if in.Poll <= 0 {
		in.Poll = defaultGCPoll
	}
	info := activity.GetInfo(ctx)
	holder := info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID
	var prog gcProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prog)
	}
	res := &prog.Result
	hb := newHeartbeat(ctx, prog)
	defer hb.stop()
	phase := func(p string) {
		prog.Phase = p
		hb.set(prog)
	}
	tenant := in.TenantID
	// A lease an earlier attempt of this run left behind would hold
	// backups up while this one marks: give it back first.
	if err := a.Catalog.ReleaseLease(ctx, tenant, catalog.LeaseGC, holder); err != nil {
		return *res, err
	}

	// 1. Mark.
	phase("marking")
	watermark, err := a.Catalog.GCWatermark(ctx, tenant)
	if err != nil {
		return *res, err
	}
	n, err := a.Catalog.ChunkCount(ctx, tenant)
	if err != nil {
		return *res, err
	}
	marks := retention.NewChunkSet(n + n/4)
	var after catalog.VersionKey
	for {
		contents, next, err := a.Catalog.ContentPage(ctx, tenant, after, gcPage)
		if err != nil {
			return *res, err
		}
		for _, c := range contents {
			if err := mark(marks, c); err != nil {
				return *res, err
			}
		}
		if len(contents) < gcPage {
			break
		}
		after = next
		hb.set(prog)
	}

	// 2. Candidates: index entries the mark does not hold. New entries
	// indexed from here on are left for the next run.
	phase("listing unreferenced chunks")
	var doomed []vault.ChunkID
	last := ""
	for len(doomed) < maxGarbagePerRun {
		page, err := a.Catalog.ChunkPage(ctx, tenant, last, gcPage)
		if err != nil {
			return *res, err
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			id, err := vault.ParseChunkID(c.ID)
			if err != nil || marks.Has(id[:]) {
				continue // referenced (or a row GC cannot read: left alone)
			}
			doomed = append(doomed, id)
		}
		last = page[len(page)-1].ID
		hb.set(prog)
	}
	res.MoreGarbage = len(doomed) >= maxGarbagePerRun

	// 3. Wait for a pause in backups; take the lease.
	phase("waiting for running backups")
	deferred, err := a.acquireGCLease(ctx, in, holder, res)
	if err != nil || deferred != "" {
		res.Deferred = deferred
		return *res, err
	}
	work, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopRenew := a.keepLease(work, cancel, tenant, holder, in.LeaseTTL)
	released := false
	release := func() error {
		if released {
			return nil
		}
		released = true
		stopRenew()
		return a.Catalog.ReleaseLease(context.WithoutCancel(ctx), tenant, catalog.LeaseGC, holder)
	}
	defer release()

	// 4. Under the lease: mark what step 1 may have missed, then delete
	// the candidates still unmarked, each batch inside the fence.
	phase("deleting unreferenced chunks")
	if err := a.Catalog.ContentSince(work, tenant, watermark, func(c string) error { return mark(marks, c) }); err != nil {
		return *res, leaseErr(work, err)
	}
	res.MarkFalsePositives = marks.FalsePositiveRate()
	fence := catalog.Fence{Holder: holder, Margin: in.LeaseTTL / 2}
	for start := 0; start < len(doomed); start += gcPage {
		var ids []string
		for _, id := range doomed[start:min(start+gcPage, len(doomed))] {
			if !marks.Has(id[:]) {
				ids = append(ids, id.String())
			}
		}
		if len(ids) == 0 {
			continue
		}
		n, bytes, err := a.Catalog.DeleteChunks(work, tenant, fence, ids)
		if err != nil {
			return *res, leaseErr(work, err)
		}
		res.ChunksFreed += n
		res.ChunkBytesFreed += bytes
		hb.set(prog)
	}
	if err := release(); err != nil {
		return *res, err
	}

	// 5. Packs nothing points into.
	phase("deleting unreferenced packs")
	if err := a.deleteEmptyPacks(ctx, tenant, res, func() { hb.set(prog) }); err != nil {
		return *res, err
	}

	// 6. Packs the index never knew.
	phase("looking for unindexed packs")
	if err := a.collectOrphans(ctx, tenant, in.OrphanGrace, res, func() { hb.set(prog) }); err != nil {
		return *res, err
	}

	st, err := a.Catalog.PackStats(ctx, tenant)
	if err != nil {
		return *res, err
	}
	res.PacksPartlyReferenced, res.DeadBytesKept, res.PacksLeft, res.BytesLeft = st.PartlyReferenced, st.DeadBytes, st.Packs, st.Bytes
	res.Ran, res.Deferred = true, ""
	phase("done")
	return *res, nil
}

// mark adds the chunks of one stored content to the set. Content GC
// cannot read stops it before anything is deleted.
func mark(set *retention.ChunkSet, content string) error {
	c, err := vault.ParseContent(content)
	if err != nil {
		return nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("garbage collection stopped before deleting anything: "+
			"an item version's content cannot be read (%v)", err))
	}
	for _, id := range c.Chunks {
		set.Add(id[:])
	}
	return nil
}

// leaseErr explains a failure inside the lease: the lease's loss if that
// is what stopped the work.
func leaseErr(work context.Context, err error) error {
	if cause := context.Cause(work); cause != nil && work.Err() != nil {
		return cause
	}
	return err
}

// acquireGCLease waits (up to in.MaxWait) for a moment when no snapshot
// of the tenant runs, and takes the GC lease then. Snapshots left running
// by backup runs that have ended are failed on the way. It returns why GC
// is deferred if the moment never came.
func (a *Activities) acquireGCLease(ctx context.Context, in GCInput, holder string, res *GCResult) (deferred string, err error) {
	deadline := time.Now().Add(in.MaxWait)
	for {
		n, err := a.failEndedSnapshots(ctx, in.TenantID)
		if err != nil {
			return "", err
		}
		res.StaleSnapshotsFailed += n
		_, err = a.Catalog.AcquireGCLease(ctx, in.TenantID, holder, in.LeaseTTL)
		if err == nil {
			return "", nil
		}
		if !errors.Is(err, catalog.ErrBackupsRunning) && !errors.Is(err, catalog.ErrLeaseHeld) {
			return "", err
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("garbage collection deferred to the next run after waiting %s: %v", in.MaxWait, err), nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(in.Poll):
		}
	}
}

// keepLease renews the GC lease until stopped; if the lease is lost it
// cancels work with ErrLeaseLost as the cause.
func (a *Activities) keepLease(work context.Context, cancel context.CancelCauseFunc, tenantID, holder string, ttl time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(ttl/6, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-work.Done():
				return
			case <-t.C:
				_, err := a.Catalog.RenewLease(work, tenantID, catalog.LeaseGC, holder, ttl)
				if errors.Is(err, catalog.ErrLeaseLost) {
					cancel(err)
					return
				}
				if err != nil {
					// A passing database error: the next tick tries again, and
					// the fence stops deletes if the lease lapses meanwhile.
					a.log().Warn("renewing the GC lease", "tenant", tenantID, "err", err)
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// failEndedSnapshots marks failed the tenant's running snapshots whose
// backup workflow run has ended (terminated, timed out…): nothing will
// finish them, and GC waits for running snapshots. Only a definite answer
// from Temporal counts; a run it cannot find is left alone.
func (a *Activities) failEndedSnapshots(ctx context.Context, tenantID string) (int, error) {
	if a.Temporal == nil {
		return 0, nil
	}
	running, err := a.Catalog.RunningSnapshots(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range running {
		if r.RunID == "" {
			continue
		}
		desc, err := a.Temporal.DescribeWorkflowExecution(ctx, backupWorkflowID(tenantID, r.UserID, r.App), r.RunID)
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			continue
		}
		if err != nil {
			a.log().Warn("retention: describing a backup run", "snapshot", r.ID, "err", err)
			continue
		}
		status := desc.GetWorkflowExecutionInfo().GetStatus()
		if status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING || status == enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
			continue
		}
		if err := a.Catalog.FailSnapshot(ctx, r.ID, fmt.Sprintf("its backup run %s ended (%s) without finishing", r.RunID, status)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// backupWorkflowID is workflows.BackupWorkflowID (activities cannot import
// workflows): "backup/<tenant>/<user>/<app>", as DESIGN.md fixes it.
func backupWorkflowID(tenantID, userID, app string) string {
	return fmt.Sprintf("backup/%s/%s/%s", tenantID, userID, app)
}

// deleteEmptyPacks deletes the pack objects no index entry points into,
// then their rows.
func (a *Activities) deleteEmptyPacks(ctx context.Context, tenantID string, res *GCResult, progress func()) error {
	after := ""
	for {
		packs, err := a.Catalog.EmptyPacks(ctx, tenantID, after, gcPage)
		if err != nil {
			return err
		}
		if len(packs) == 0 {
			return nil
		}
		for _, p := range packs {
			if err := a.Vault.DeletePack(ctx, tenantID, p.ID); err != nil {
				return err
			}
			gone, err := a.Catalog.DeleteEmptyPack(ctx, tenantID, p.ID)
			if err != nil {
				return err
			}
			if gone {
				res.PacksDeleted++
				res.BytesFreed += p.Size
			}
		}
		after = packs[len(packs)-1].ID
		progress()
	}
}

// collectOrphans deletes pack objects the index has not known for the
// grace period.
func (a *Activities) collectOrphans(ctx context.Context, tenantID string, grace time.Duration, res *GCResult, progress func()) error {
	start := time.Now()
	var batch []catalog.PackRef
	var deleted []string
	flush := func() error {
		orphans, err := a.Catalog.NoteUnindexedPacks(ctx, tenantID, batch, start)
		batch = batch[:0]
		if err != nil {
			return err
		}
		for _, o := range orphans {
			if start.Sub(o.FirstSeen) < grace {
				res.OrphanPacksWaiting++
				continue
			}
			if known, err := a.Catalog.PackIndexed(ctx, tenantID, o.ID); err != nil || known {
				if err != nil {
					return err
				}
				continue
			}
			if err := a.Vault.DeletePack(ctx, tenantID, o.ID); err != nil {
				return err
			}
			deleted = append(deleted, o.ID)
			res.OrphanPacksDeleted++
			res.OrphanBytesFreed += o.Size
			res.BytesFreed += o.Size
		}
		progress()
		return nil
	}
	err := a.Vault.ListPacks(ctx, tenantID, func(id string, size int64) error {
		batch = append(batch, catalog.PackRef{ID: id, Size: size})
		if len(batch) == orphanBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	return a.Catalog.ForgetOrphans(ctx, tenantID, deleted, start)
}

// FinishRetention records a retention run in the audit log.
func (a *Activities) FinishRetention(ctx context.Context, in FinishRetentionInput) error {
	r := in.Report
	after, err := json.Marshal(r)
	if err != nil {
		return err
	}
	action := "retention.run"
	if r.Error != "" {
		action = "retention.fail"
	}
	return a.Catalog.Audit(ctx, catalog.AuditEntry{Actor: RetentionActor, Action: action, Object: "tenant " + r.TenantID, After: string(after)})
}
