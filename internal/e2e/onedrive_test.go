package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphsim"
)

// TestOneDrive walks the whole product on OneDrive: register a tenant, add
// users (their first backups start by themselves), back up, change the
// drives, back up incrementally, then restore (new folder, original
// location under each conflict policy, another user, a point in time) and
// download — checking everything against the simulator's manifest.
func TestOneDrive(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testOneDrive(t, false) })
	t.Run("postgres", func(t *testing.T) { testOneDrive(t, true) })
}

func testOneDrive(t *testing.T, postgres bool) {
	h := newHarness(t, harnessOptions{postgres: postgres,
		sim: graphsim.Options{Seed: 11, Users: 4, FilesPerUser: 80, FileSizeMean: 24 << 10, FileSizeMax: 6 << 20}})
	h.startWorker(nil)
	h.addTenant()

	obrien := h.userWith("'")
	var others []graphsim.UserInfo
	for _, u := range h.sim.Users() {
		if u.ID != obrien.ID {
			others = append(others, u)
		}
	}
	alice, bob, carol := others[0], others[1], others[2]
	out := h.mustCLI("user", "add", "--apps", "onedrive", alice.UPN, bob.UPN, carol.Mail, obrien.UPN)
	assert.Contains(t, out, "first backup running")
	h.mustCLI("backup", "now", "--wait") // joins the first backups, or runs after them

	full := map[string]catalog.Snapshot{}
	for _, u := range []graphsim.UserInfo{alice, bob, carol, obrien} {
		snap := h.latest(u.ID)
		require.Equal(t, catalog.StateComplete, snap.State, "%s: %s", u.UPN, snap.Error)
		wantFiles, wantFolders := h.manifestFiles(u.ID)
		gotFiles, gotFolders := h.snapshotFiles(snap)
		assert.Equal(t, wantFiles, gotFiles, "%s: the snapshot holds every file as the service has it", u.UPN)
		assert.Equal(t, wantFolders, gotFolders, "%s: and every folder, empty ones too", u.UPN)
		full[u.ID] = snap
	}
	t.Run("verify", func(t *testing.T) {
		out := h.mustCLI("verify", fmt.Sprint(full[alice.ID].ID))
		assert.Contains(t, out, "0 bad")
	})

	before := h.sha256Files(alice.ID)
	beforeFiles, beforeFolders := h.manifestFiles(alice.ID)
	time.Sleep(1100 * time.Millisecond) // so the point in time below falls between the snapshots
	between := time.Now()
	time.Sleep(1100 * time.Millisecond)

	res, err := h.sim.Mutate(graphsim.MutateRequest{Seed: 5, Users: []string{alice.ID, bob.ID},
		Creates: 3, Updates: 3, Deletes: 2, Moves: 2, Renames: 2})
	require.NoError(t, err)
	require.NotEmpty(t, res.Changes)

	t.Run("incremental", func(t *testing.T) {
		h.sim.ResetCounters()
		h.mustCLI("backup", "now", "--user", alice.UPN, "--user", bob.UPN, "--wait")
		requests := h.sim.Counters().Served
		for _, u := range []graphsim.UserInfo{alice, bob} {
			snap := h.latest(u.ID)
			require.Equal(t, catalog.StateComplete, snap.State)
			require.Greater(t, snap.ID, full[u.ID].ID)
			wantFiles, wantFolders := h.manifestFiles(u.ID)
			gotFiles, gotFolders := h.snapshotFiles(snap)
			assert.Equal(t, wantFiles, gotFiles, u.UPN)
			assert.Equal(t, wantFolders, gotFolders, u.UPN)
			assert.Positive(t, snap.ItemsChanged)
			assert.Less(t, snap.ItemsChanged, full[u.ID].ItemsTotal/2, "an incremental writes only what changed")
		}
		// Each change costs at most one download; each drive a delta page
		// or two; the rest is tokens and lookups.
		limit := int64(len(res.Changes) + 2*2 + 10)
		assert.LessOrEqual(t, requests, limit, "Graph requests of the incremental run")
		t.Logf("incremental after %d changes: %d Graph requests", len(res.Changes), requests)

		// The first snapshot still reads as it was.
		gotFiles, _ := h.snapshotFiles(full[alice.ID])
		assert.Equal(t, beforeFiles, gotFiles)
	})

	t.Run("restore into a new folder", func(t *testing.T) {
		out := h.mustCLI("restore", "--user", alice.UPN, "--snapshot", fmt.Sprint(full[alice.ID].ID))
		assert.Contains(t, out, "Holdfast Restore")
		folders := h.restoreFolders(alice.ID)
		require.Len(t, folders, 1)
		files, dirs := h.manifestFiles(alice.ID)
		assert.Equal(t, beforeFiles, under(files, folders[0]), "the restored tree is the snapshot's")
		for d := range beforeFolders {
			assert.True(t, dirs[folders[0]+"/"+d], "folder %s restored (empty ones too)", d)
		}
	})

	t.Run("restore to the original location", func(t *testing.T) {
		snap := fmt.Sprint(full[alice.ID].ID)
		afterMutation := h.sha256Files(alice.ID)

		out := h.mustCLI("restore", "--user", alice.UPN, "--snapshot", snap, "--to", "original", "--conflict", "skip", "--json")
		var r struct{ Restored, Skipped, Failed int64 }
		decodeJSON(t, out, &r)
		now := h.sha256Files(alice.ID)
		for p, sum := range before {
			require.Contains(t, now, p, "skip brings back what was deleted, moved or renamed")
			if old, existed := afterMutation[p]; existed {
				assert.Equal(t, old, now[p], "skip leaves existing files alone: %s", p)
			} else {
				assert.Equal(t, sum, now[p], p)
			}
		}
		assert.Positive(t, r.Skipped)
		assert.Positive(t, r.Restored)
		assert.Zero(t, r.Failed)

		// Replace puts the snapshot's content back everywhere.
		h.mustCLI("restore", "--user", alice.UPN, "--snapshot", snap, "--to", "original", "--conflict", "replace")
		now = h.sha256Files(alice.ID)
		for p, sum := range before {
			assert.Equal(t, sum, now[p], "replace: %s", p)
		}

		// Rename keeps the current file and puts the old one beside it.
		var target string
		for p := range before {
			if !strings.Contains(p, "Holdfast Restore") {
				target = p
				break
			}
		}
		h.mustCLI("restore", "--user", alice.UPN, "--snapshot", snap, "--path", target, "--to", "original", "--conflict", "rename")
		ext := filepath.Ext(target)
		copy := strings.TrimSuffix(target, ext) + " 1" + ext
		now = h.sha256Files(alice.ID)
		assert.Equal(t, before[target], now[target])
		assert.Equal(t, before[target], now[copy], "renamed copy %s", copy)
	})

	t.Run("restore to another user", func(t *testing.T) {
		var folder string
		for d := range beforeFolders {
			if !strings.Contains(d, "/") && len(under(beforeFiles, d)) > 0 {
				folder = d
				break
			}
		}
		require.NotEmpty(t, folder)
		h.mustCLI("restore", "--user", alice.UPN, "--snapshot", fmt.Sprint(full[alice.ID].ID), "--path", "/"+folder, "--to-user", carol.UPN)
		folders := h.restoreFolders(carol.ID)
		require.Len(t, folders, 1)
		files, _ := h.manifestFiles(carol.ID)
		assert.Equal(t, under(beforeFiles, folder), under(files, folders[0]+"/"+folder))
	})

	t.Run("download", func(t *testing.T) {
		zipPath := filepath.Join(t.TempDir(), "alice.zip")
		out := h.mustCLI("download", "--user", alice.UPN, "--snapshot", fmt.Sprint(full[alice.ID].ID), "-o", zipPath)
		assert.Contains(t, out, "wrote")
		files, folders := zipFiles(t, zipPath, alice.UPN+"/onedrive")
		assert.Equal(t, before, files, "every file, byte for byte")
		for d := range beforeFolders {
			assert.True(t, folders[d], "folder %s in the ZIP", d)
		}
		_, err := h.cli("download", "--user", alice.UPN, "-o", zipPath)
		assert.ErrorContains(t, err, "exists", "an existing file is not overwritten")
	})

	t.Run("point in time", func(t *testing.T) {
		zipPath := filepath.Join(t.TempDir(), "then.zip")
		h.mustCLI("download", "--user", alice.UPN, "--at", between.Format(time.RFC3339), "-o", zipPath)
		files, _ := zipFiles(t, zipPath, alice.UPN+"/onedrive")
		assert.Equal(t, before, files, "the newest snapshot at that time is the full one")
	})

	t.Run("listings", func(t *testing.T) {
		var snaps []catalog.Snapshot
		decodeJSON(t, h.mustCLI("backup", "list", "--json"), &snaps)
		assert.GreaterOrEqual(t, len(snaps), len(full)+2, "a full backup per user and two incrementals")
		out := h.mustCLI("backup", "show", strconv.FormatInt(full[alice.ID].ID, 10))
		assert.Contains(t, out, "complete")
		out = h.mustCLI("user", "list")
		assert.Contains(t, out, obrien.UPN)
		var audit []catalog.AuditEntry
		audit, err := h.store.AuditLog(h.ctx, time.Time{})
		require.NoError(t, err)
		actions := map[string]int{}
		for _, e := range audit {
			actions[e.Action]++
			assert.Equal(t, "e2e-admin", e.Actor)
		}
		assert.Positive(t, actions["restore.start"])
		assert.Positive(t, actions["export.finish"])
	})
}
