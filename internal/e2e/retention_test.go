package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphsim"
	"github.com/holdfast/holdfast/internal/schedules"
	"github.com/holdfast/holdfast/workflows"
)

// TestRetention backs up four users twice (with a day of changes between),
// makes the early snapshots look eight years old, puts one user on legal
// hold and marks another deleted, then runs `holdfast retention run`:
// the old snapshots of the active users and everything of the deleted one
// expire and are gone from listings and restores; their item versions,
// chunk index entries and packs are freed (counted in the vault
// directory); the held user's snapshots and content stay; the newest
// snapshot of every active user still downloads byte for byte; the audit
// log has the hold, the expiries and the run. It also checks that a
// backup waits while GC holds the tenant's lease, that lifting the hold
// lets the next run expire the held data, and the daily schedule.
func TestRetention(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testRetention(t, false) })
	t.Run("postgres", func(t *testing.T) { testRetention(t, true) })
}

// eightYears is past OneDrive's fixed seven-year retention.
const eightYears = 8 * 365 * 24 * time.Hour

// packFiles lists the pack objects of the tenant in the vault directory
// (fileblob keeps attributes beside each object in a .attrs file).
func (h *harness) packFiles() map[string]int64 {
	h.t.Helper()
	root := filepath.Join(h.cfg.Home, "vault", "tenants", h.info.TenantID, "packs")
	out := map[string]int64{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() && !strings.HasSuffix(p, ".attrs") && len(fi.Name()) == 64 {
			out[fi.Name()] = fi.Size()
		}
		return nil
	})
	require.NoError(h.t, err)
	return out
}

// ageSnapshot moves a snapshot's times eight years back.
func ageSnapshot(h *harness, id int64) {
	h.t.Helper()
	_, err := h.store.DB().Exec(h.store.DB().Rebind(`UPDATE snapshots SET started_at = started_at - ?, finished_at = finished_at - ?
		WHERE id = ?`), eightYears.Milliseconds(), eightYears.Milliseconds(), id)
	require.NoError(h.t, err)
}

func (h *harness) snapshotsOf(userID string) []catalog.Snapshot {
	h.t.Helper()
	snaps, err := h.store.Snapshots(h.ctx, catalog.SnapshotFilter{UserApp: catalog.UserApp{UserID: userID, App: "onedrive"}, IncludeExpired: true})
	require.NoError(h.t, err)
	return snaps
}

func (h *harness) countRows(query string, args ...any) int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.store.DB().Get(&n, h.store.DB().Rebind(query), args...))
	return n
}

// download writes a user's snapshot (0: the newest) as a ZIP and returns
// its files, path → sha256.
func (h *harness) download(u graphsim.UserInfo, snapshot int64) map[string]string {
	h.t.Helper()
	path := filepath.Join(h.t.TempDir(), "dl.zip")
	args := []string{"download", "--user", u.UPN, "-o", path}
	if snapshot != 0 {
		args = append(args, "--snapshot", fmt.Sprint(snapshot))
	}
	h.mustCLI(args...)
	files, _ := zipFiles(h.t, path, u.UPN+"/onedrive")
	return files
}

func testRetention(t *testing.T, postgres bool) {
	h := newHarness(t, harnessOptions{postgres: postgres,
		sim: graphsim.Options{Seed: 23, Users: 6, FilesPerUser: 30, FileSizeMean: 16 << 10, FileSizeMax: 512 << 10}})
	h.startWorker(nil)
	h.addTenant()
	var users []graphsim.UserInfo // four people with a OneDrive
	for _, u := range h.sim.Users() {
		if u.Kind == "user" && u.DriveID != "" && len(users) < 4 {
			users = append(users, u)
		}
	}
	require.Len(t, users, 4)
	alice, bob, carol, dave := users[0], users[1], users[2], users[3]
	h.mustCLI("user", "add", "--apps", "onedrive", alice.UPN, bob.UPN, carol.UPN, dave.UPN)
	h.mustCLI("backup", "now", "--wait")
	bobThen := h.sha256Files(bob.ID)

	// A day of changes for alice and bob, then everyone's second backup.
	_, err := h.sim.Mutate(graphsim.MutateRequest{Seed: 3, Users: []string{alice.ID, bob.ID}, Creates: 2, Updates: 4, Deletes: 3})
	require.NoError(t, err)
	h.mustCLI("backup", "now", "--wait")

	// Make the early snapshots look old: every snapshot but each user's
	// newest finished eight years ago — alice's newest too (it stays: she
	// is active), and all of dave's, who has left
	// the company (`holdfast user delete`: his backups stay until
	// retention ends them).
	// Moving started_at/finished_at back is all "old" means to retention.
	newest := map[string]catalog.Snapshot{}
	var wantExpired, bobOld []int64
	for _, u := range users {
		snaps := h.snapshotsOf(u.ID)
		require.GreaterOrEqual(t, len(snaps), 2, "%s has an old and a new snapshot", u.UPN)
		newest[u.ID] = snaps[0]
		for _, s := range snaps {
			require.Equal(t, catalog.StateComplete, s.State, "%s: %s", u.UPN, s.Error)
			if s.ID == snaps[0].ID && u.ID != dave.ID {
				if u.ID == alice.ID {
					ageSnapshot(h, s.ID)
				}
				continue
			}
			ageSnapshot(h, s.ID)
			if u.ID == bob.ID {
				bobOld = append(bobOld, s.ID)
			} else {
				wantExpired = append(wantExpired, s.ID)
			}
		}
	}
	h.mustCLI("user", "delete", dave.UPN)
	out := h.mustCLI("hold", "add", bob.UPN, "--reason", "case 2033-17")
	assert.Contains(t, out, "legal hold")

	packsBefore := h.packFiles()
	versionsBefore := h.countRows(`SELECT COUNT(*) FROM item_versions`)
	chunksBefore := h.countRows(`SELECT COUNT(*) FROM chunks`)
	require.Positive(t, h.countRows(`SELECT COUNT(*) FROM item_versions WHERE user_id = ?`, dave.ID))

	var rep activities.RetentionReport
	decodeJSON(t, h.mustCLI("retention", "run", "--wait", "--json"), &rep)
	t.Logf("retention: %+v", rep)
	assert.ElementsMatch(t, wantExpired, rep.ExpiredIDs)
	assert.Equal(t, len(wantExpired), rep.SnapshotsExpired)
	assert.Equal(t, len(bobOld), rep.KeptHeld, "the held user's old snapshots")
	assert.Equal(t, 1, rep.KeptNewest, "alice's newest: old, but she is active")
	assert.Equal(t, 2, rep.KeptYoung, "bob's and carol's newest")
	assert.Zero(t, rep.Refused)
	assert.Equal(t, "e2e-admin", rep.RequestedBy)
	assert.Equal(t, 1, rep.DeltaResets, "dave has no snapshot left")

	// Item versions, index entries and packs were freed, and the counts
	// in the report are what happened.
	assert.Positive(t, rep.VersionsRemoved)
	assert.Equal(t, versionsBefore-int(rep.VersionsRemoved), h.countRows(`SELECT COUNT(*) FROM item_versions`))
	assert.Zero(t, h.countRows(`SELECT COUNT(*) FROM item_versions WHERE user_id = ?`, dave.ID), "nothing of dave's remains")
	g := rep.GC
	require.True(t, g.Ran, g.Deferred)
	assert.Positive(t, g.ChunksFreed)
	assert.Equal(t, chunksBefore-int(g.ChunksFreed), h.countRows(`SELECT COUNT(*) FROM chunks`))
	assert.Positive(t, g.PacksDeleted, "dave's packs held nothing anyone else references")
	packsAfter := h.packFiles()
	assert.Len(t, packsAfter, len(packsBefore)-int(g.PacksDeleted), "pack objects in the vault directory")
	var freed int64
	for id, size := range packsBefore {
		if _, ok := packsAfter[id]; !ok {
			freed += size
		}
	}
	assert.Equal(t, g.BytesFreed, freed)
	assert.EqualValues(t, len(packsAfter), g.PacksLeft)
	assert.Zero(t, g.OrphanPacksDeleted)

	// Expired snapshots are gone from the listing and cannot be restored
	// or downloaded; the held user's are all there.
	var listed []catalog.Snapshot
	decodeJSON(t, h.mustCLI("backup", "list", "--json", "--limit", "1000"), &listed)
	shown := map[int64]bool{}
	for _, s := range listed {
		shown[s.ID] = true
	}
	for _, id := range wantExpired {
		assert.False(t, shown[id], "expired snapshot %d listed", id)
	}
	for _, id := range bobOld {
		assert.True(t, shown[id], "held snapshot %d listed", id)
	}
	aliceOld := h.snapshotsOf(alice.ID)[1]
	require.Equal(t, catalog.StateExpired, aliceOld.State)
	_, err = h.cli("restore", "--user", alice.UPN, "--snapshot", fmt.Sprint(aliceOld.ID))
	assert.ErrorContains(t, err, "expired")
	_, err = h.cli("download", "--user", alice.UPN, "--snapshot", fmt.Sprint(aliceOld.ID), "-o", filepath.Join(t.TempDir(), "x.zip"))
	assert.ErrorContains(t, err, "expired")
	_, err = h.cli("download", "--user", dave.UPN, "-o", filepath.Join(t.TempDir(), "dave.zip"))
	assert.ErrorContains(t, err, "no usable snapshot", "nothing of dave's can be downloaded")

	// The held user's old snapshot still reads back as it was, and the
	// newest snapshot of every active user is intact.
	assert.Equal(t, bobThen, h.download(bob, bobOld[len(bobOld)-1]), "bob's held snapshot, byte for byte")
	for _, u := range []graphsim.UserInfo{alice, bob, carol} {
		assert.Equal(t, h.sha256Files(u.ID), h.download(u, 0), "%s: the newest snapshot, byte for byte", u.UPN)
	}
	assert.Contains(t, h.mustCLI("verify", fmt.Sprint(newest[alice.ID].ID)), "0 bad")

	// While GC holds the tenant's lease a backup waits (its activity
	// retries), and goes ahead once the lease is released.
	t.Run("backups wait for GC", func(t *testing.T) {
		_, err := h.store.AcquireGCLease(h.ctx, h.info.TenantID, "e2e-gc", 10*time.Minute)
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			_, err := h.cli("backup", "now", "--user", carol.UPN, "--wait")
			done <- err
		}()
		time.Sleep(3 * time.Second)
		assert.Equal(t, newest[carol.ID].ID, h.latest(carol.ID).ID, "no snapshot opened under the GC lease")
		require.NoError(t, h.store.ReleaseLease(h.ctx, h.info.TenantID, catalog.LeaseGC, "e2e-gc"))
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(2 * time.Minute):
			t.Fatal("the backup did not go ahead after the lease was released")
		}
		snap := h.latest(carol.ID)
		assert.Greater(t, snap.ID, newest[carol.ID].ID)
		assert.Equal(t, catalog.StateComplete, snap.State)
	})

	// Lifting the hold lets the next run expire bob's old snapshots.
	var holds []catalog.Hold
	decodeJSON(t, h.mustCLI("hold", "list", "--json"), &holds)
	require.Len(t, holds, 1)
	assert.Equal(t, bob.ID, holds[0].UserID)
	assert.Equal(t, "case 2033-17", holds[0].Reason)
	h.mustCLI("hold", "remove", bob.UPN)
	var rep2 activities.RetentionReport
	decodeJSON(t, h.mustCLI("retention", "run", "--wait", "--json"), &rep2)
	assert.ElementsMatch(t, bobOld, rep2.ExpiredIDs)
	assert.Zero(t, rep2.KeptHeld)
	assert.Positive(t, rep2.GC.ChunksFreed, "bob's changed files are freed now")
	assert.Equal(t, h.sha256Files(bob.ID), h.download(bob, 0))

	// The audit log (`holdfast audit`) lists the hold, each expiry and
	// both runs.
	var log []struct{ Actor, Action, Object, Before, After string }
	decodeJSON(t, h.mustCLI("audit", "--json"), &log)
	byAction := map[string][]struct{ Actor, Action, Object, Before, After string }{}
	for _, e := range log {
		byAction[e.Action] = append(byAction[e.Action], e)
	}
	require.Len(t, byAction["hold.add"], 1)
	assert.Equal(t, "e2e-admin", byAction["hold.add"][0].Actor)
	assert.Contains(t, byAction["hold.add"][0].After, "case 2033-17")
	require.Len(t, byAction["hold.remove"], 1)
	assert.Equal(t, "e2e-admin", byAction["hold.remove"][0].Actor)
	require.Len(t, byAction["retention.run"], 2)
	for _, e := range byAction["retention.run"] {
		assert.Equal(t, "retention", e.Actor)
	}
	assert.Contains(t, byAction["retention.run"][0].After, fmt.Sprintf(`"SnapshotsExpired":%d`, len(wantExpired)))
	expiredLogged := map[string]bool{}
	for _, e := range byAction["snapshot.expire"] {
		assert.Equal(t, "retention", e.Actor)
		for _, u := range users {
			if strings.Contains(e.Object, u.ID) {
				expiredLogged[u.UPN] = true
			}
		}
	}
	assert.Equal(t, map[string]bool{alice.UPN: true, bob.UPN: true, carol.UPN: true, dave.UPN: true}, expiredLogged)

	// The daily schedule: created once, kept as it is, and its action
	// runs RetentionWorkflow.
	t.Run("schedule", func(t *testing.T) {
		require.NoError(t, schedules.EnsureRetention(h.ctx, h.temporal, h.info.TenantID))
		require.NoError(t, schedules.EnsureRetention(h.ctx, h.temporal, h.info.TenantID), "idempotent")
		handle := h.temporal.ScheduleClient().GetHandle(h.ctx, workflows.RetentionScheduleID(h.info.TenantID))
		desc, err := handle.Describe(h.ctx)
		require.NoError(t, err)
		require.Len(t, desc.Schedule.Spec.Intervals, 1)
		assert.Equal(t, 24*time.Hour, desc.Schedule.Spec.Intervals[0].Every)
		require.NoError(t, handle.Trigger(h.ctx, client.ScheduleTriggerOptions{}))
		var wid, rid string
		require.Eventually(t, func() bool {
			d, err := handle.Describe(h.ctx)
			if err != nil || len(d.Info.RecentActions) == 0 {
				return false
			}
			wid, rid = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID, d.Info.RecentActions[0].StartWorkflowResult.FirstExecutionRunID
			return true
		}, time.Minute, 200*time.Millisecond)
		assert.True(t, strings.HasPrefix(wid, workflows.RetentionWorkflowID(h.info.TenantID)), wid)
		var rep3 activities.RetentionReport
		require.NoError(t, h.temporal.GetWorkflow(h.ctx, wid, rid).Get(h.ctx, &rep3))
		assert.Zero(t, rep3.SnapshotsExpired, "nothing left to expire")
		assert.True(t, rep3.GC.Ran)
		assert.Empty(t, rep3.RequestedBy, "scheduled")
		require.NoError(t, handle.Delete(h.ctx))
	})
}
