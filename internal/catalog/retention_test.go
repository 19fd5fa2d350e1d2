package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/catalog/catalogtest"
	"github.com/holdfast/holdfast/internal/vault"
)

func userApp(user string) catalog.UserApp {
	return catalog.UserApp{TenantID: tenantID, UserID: user, App: "onedrive"}
}

func addUser(t *testing.T, s *catalog.Store, id string) {
	t.Helper()
	require.NoError(t, s.AddUser(context.Background(), catalog.User{TenantID: tenantID, ID: id, UPN: id + "@contoso.com"}, []string{"onedrive"}))
}

// commit runs one snapshot of k through the catalog (drive d1, link "L").
func commit(t *testing.T, s *catalog.Store, k catalog.UserApp, run string, items []catalog.StagedItem) catalog.Snapshot {
	t.Helper()
	ctx := context.Background()
	snap, err := s.OpenSnapshot(ctx, k, "manual", run)
	require.NoError(t, err)
	require.NoError(t, s.AddSnapshotContainer(ctx, snap.ID, "d1", "drive", "OneDrive"))
	require.NoError(t, s.StageItems(ctx, snap.ID, items, nil))
	require.NoError(t, s.FinishContainer(ctx, catalog.SnapshotContainer{SnapshotID: snap.ID, ContainerID: "d1", DeltaLink: "L-" + run}))
	done, err := s.CommitSnapshot(ctx, snap.ID, 0)
	require.NoError(t, err)
	return done
}

func prune(t *testing.T, s *catalog.Store, k catalog.UserApp) (n int64, reset bool) {
	t.Helper()
	for {
		r, err := s.PruneVersions(context.Background(), k, 1) // batches of one: exercise the loop
		require.NoError(t, err)
		n += r.Versions
		reset = reset || r.Reset
		if !r.More {
			return n, reset
		}
	}
}

func versionsOf(t *testing.T, s *catalog.Store, user string) int {
	var n int
	require.NoError(t, s.DB().Get(&n, s.DB().Rebind(`SELECT COUNT(*) FROM item_versions WHERE user_id = ?`), user))
	return n
}

func ids(snaps []catalog.Snapshot) []int64 {
	out := []int64{}
	for _, s := range snaps {
		out = append(out, s.ID)
	}
	return out
}

func TestExpireAndPruneVersions(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		k := userApp("u1")

		// a changes in s2, b goes in s2, c never changes, d arrives in s3.
		s1 := commit(t, s, k, "r1", []catalog.StagedItem{file("a", "", "a.txt", "1"), file("b", "", "b.txt", "1"), file("c", "", "c.txt", "1")})
		s2 := commit(t, s, k, "r2", []catalog.StagedItem{file("a", "", "a.txt", "2"), del("b")})
		s3 := commit(t, s, k, "r3", []catalog.StagedItem{file("d", "", "d.txt", "1")})
		s4 := commit(t, s, k, "r4", nil)
		require.Equal(t, 5, versionsOf(t, s, "u1"))
		at3, err := s.ItemsAt(ctx, k, s3.ID)
		require.NoError(t, err)
		at4, err := s.ItemsAt(ctx, k, s4.ID)
		require.NoError(t, err)

		res, err := s.ExpireSnapshots(ctx, tenantID, []catalog.Expiry{{SnapshotID: s1.ID, Reason: "old"},
			{SnapshotID: s2.ID, Reason: "old"}, {SnapshotID: s4.ID, Reason: "old"}}, "retention")
		require.NoError(t, err)
		assert.Equal(t, []int64{s1.ID, s2.ID}, ids(res.Expired))
		assert.Equal(t, map[int64]string{s4.ID: "newest snapshot of an active user-app"}, res.Refused,
			"the newest of an active user-app stays, whatever the caller asks")
		assert.Empty(t, res.Reset)

		n, reset := prune(t, s, k)
		assert.EqualValues(t, 2, n, "a@1 and b@1: only the expired snapshots saw them")
		assert.False(t, reset)
		assert.Equal(t, 3, versionsOf(t, s, "u1"))
		got3, err := s.ItemsAt(ctx, k, s3.ID)
		require.NoError(t, err)
		assert.Equal(t, names(at3), names(got3), "the remaining snapshots read as before")
		got4, err := s.ItemsAt(ctx, k, s4.ID)
		require.NoError(t, err)
		assert.Equal(t, names(at4), names(got4))
		link, err := s.DeltaLink(ctx, k, "d1")
		require.NoError(t, err)
		assert.Equal(t, "L-r4", link, "the incremental chain is untouched")

		// Listings and restores no longer offer expired snapshots.
		listed, err := s.Snapshots(ctx, catalog.SnapshotFilter{UserApp: k})
		require.NoError(t, err)
		assert.Equal(t, []int64{s4.ID, s3.ID}, ids(listed))
		all, err := s.Snapshots(ctx, catalog.SnapshotFilter{UserApp: k, IncludeExpired: true})
		require.NoError(t, err)
		assert.Len(t, all, 4)
		gone, err := s.Snapshots(ctx, catalog.SnapshotFilter{UserApp: k, State: catalog.StateExpired})
		require.NoError(t, err)
		assert.Equal(t, []int64{s2.ID, s1.ID}, ids(gone))
		if pit, err := s.LatestUsableSnapshot(ctx, k, s2.FinishedAt); err == nil {
			assert.NotContains(t, []int64{s1.ID, s2.ID}, pit.ID, "a point in time never lands on an expired snapshot")
		} else {
			assert.ErrorIs(t, err, catalog.ErrNotFound)
		}
		one, err := s.Snapshot(ctx, s1.ID)
		require.NoError(t, err)
		assert.Equal(t, catalog.StateExpired, one.State)

		// Expiring again changes nothing; s3 (not the newest) may go, and
		// frees nothing: s4 sees everything it saw.
		res, err = s.ExpireSnapshots(ctx, tenantID, []catalog.Expiry{{SnapshotID: s1.ID}, {SnapshotID: s3.ID, Reason: "old"}}, "retention")
		require.NoError(t, err)
		assert.Equal(t, []int64{s3.ID}, ids(res.Expired))
		n, _ = prune(t, s, k)
		assert.Zero(t, n)

		var expiries []catalog.AuditEntry
		for _, e := range auditActions(t, s) {
			if e.Action == "snapshot.expire" {
				expiries = append(expiries, e)
			}
		}
		require.Len(t, expiries, 2, "one entry per user-app and call that expired something")
		assert.Equal(t, "retention", expiries[0].Actor)
		assert.Contains(t, expiries[0].Object, "u1")
		assert.Contains(t, expiries[0].After, `"reason":"old"`)
	})
}

func TestExpireRespectsHoldsAndInactiveUsers(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		for _, u := range []string{"held", "gone", "off"} {
			addUser(t, s, u)
		}

		// On hold: nothing goes.
		h1 := commit(t, s, userApp("held"), "h1", []catalog.StagedItem{file("x", "", "x", "1")})
		commit(t, s, userApp("held"), "h2", []catalog.StagedItem{file("x", "", "x", "2")})
		_, _, err := s.AddHold(ctx, catalog.Hold{TenantID: tenantID, UserID: "held", CreatedBy: "legal"})
		require.NoError(t, err)
		res, err := s.ExpireSnapshots(ctx, tenantID, []catalog.Expiry{{SnapshotID: h1.ID}}, "retention")
		require.NoError(t, err)
		assert.Empty(t, res.Expired)
		assert.Equal(t, "legal hold", res.Refused[h1.ID])

		// A deleted user: everything may expire, the newest too; the
		// delta links go with the last snapshot, so a comeback starts
		// with a full enumeration instead of building on pruned versions.
		g1 := commit(t, s, userApp("gone"), "g1", []catalog.StagedItem{file("y", "", "y", "1")})
		g2 := commit(t, s, userApp("gone"), "g2", []catalog.StagedItem{file("y", "", "y", "2"), file("z", "", "z", "1")})
		_, err = s.DB().Exec(s.DB().Rebind(`UPDATE users SET state = 'deleted' WHERE id = ?`), "gone")
		require.NoError(t, err)
		res, err = s.ExpireSnapshots(ctx, tenantID, []catalog.Expiry{{SnapshotID: g1.ID}, {SnapshotID: g2.ID}}, "retention")
		require.NoError(t, err)
		assert.Equal(t, []int64{g1.ID, g2.ID}, ids(res.Expired))
		assert.Equal(t, []catalog.UserApp{userApp("gone")}, res.Reset)
		link, err := s.DeltaLink(ctx, userApp("gone"), "d1")
		require.NoError(t, err)
		assert.Empty(t, link)
		n, _ := prune(t, s, userApp("gone"))
		assert.EqualValues(t, 3, n)
		assert.Zero(t, versionsOf(t, s, "gone"))

		// A disabled app whose backup is running right now: the old
		// snapshot may expire, but what the running backup builds on
		// (the current versions) stays until it ends.
		o1 := commit(t, s, userApp("off"), "o1", []catalog.StagedItem{file("w", "", "w", "1")})
		require.NoError(t, s.SetAppEnabled(ctx, userApp("off"), false))
		running, err := s.OpenSnapshot(ctx, userApp("off"), "manual", "o2")
		require.NoError(t, err)
		res, err = s.ExpireSnapshots(ctx, tenantID, []catalog.Expiry{{SnapshotID: o1.ID}, {SnapshotID: running.ID}}, "retention")
		require.NoError(t, err)
		assert.Equal(t, []int64{o1.ID}, ids(res.Expired))
		assert.Equal(t, "running", res.Refused[running.ID])
		assert.Empty(t, res.Reset)
		n, reset := prune(t, s, userApp("off"))
		assert.Zero(t, n, "the running snapshot sees w")
		assert.False(t, reset)
		require.NoError(t, s.FailSnapshot(ctx, running.ID, "test"))
		n, reset = prune(t, s, userApp("off"))
		assert.EqualValues(t, 1, n)
		assert.True(t, reset, "no snapshot left: the delta link goes first")
		link, err = s.DeltaLink(ctx, userApp("off"), "d1")
		require.NoError(t, err)
		assert.Empty(t, link)
	})
}

func TestRetentionPage(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s) // u1
		addUser(t, s, "u2")
		addUser(t, s, "u3")
		require.NoError(t, s.CreateProfile(ctx, catalog.Profile{TenantID: tenantID, ID: "legal", Apps: []string{"onedrive"}, Interval: time.Hour}))
		require.NoError(t, s.SetUserProfile(ctx, tenantID, "u3", "legal"))
		var u1 []catalog.Snapshot
		for _, run := range []string{"a", "b", "c", "d"} {
			u1 = append(u1, commit(t, s, userApp("u1"), run, nil))
		}
		commit(t, s, userApp("u2"), "e", nil)
		failed, err := s.OpenSnapshot(ctx, userApp("u2"), "manual", "f")
		require.NoError(t, err)
		require.NoError(t, s.FailSnapshot(ctx, failed.ID, "test"))
		u3 := commit(t, s, userApp("u3"), "g", nil)
		_, _, err = s.AddHold(ctx, catalog.Hold{TenantID: tenantID, UserID: "u3", CreatedBy: "legal"})
		require.NoError(t, err)
		_, err = s.DB().Exec(s.DB().Rebind(`UPDATE users SET state = 'deleted' WHERE id = ?`), "u2")
		require.NoError(t, err)

		// Three snapshots a page: u1 is split across two pages.
		page, next, done, err := s.RetentionPage(ctx, tenantID, catalog.RetentionCursor{}, 10, 3)
		require.NoError(t, err)
		assert.False(t, done)
		require.Len(t, page, 1)
		assert.Equal(t, "u1", page[0].UserID)
		assert.Len(t, page[0].Snapshots, 3)
		assert.Equal(t, catalog.RetentionCursor{UserID: "u1", App: "onedrive", AfterSnapshot: u1[2].ID}, next)
		assert.Equal(t, "active", page[0].UserState)
		assert.True(t, page[0].Enabled)
		assert.Equal(t, u1[3].ID, page[0].NewestComplete, "facts are about the whole user-app")
		assert.Equal(t, u1[0].FinishedAt, page[0].Snapshots[0].Taken)

		page, next, done, err = s.RetentionPage(ctx, tenantID, next, 10, 3)
		require.NoError(t, err)
		assert.False(t, done)
		require.Len(t, page, 2)
		assert.Equal(t, []catalog.SnapshotAge{{ID: u1[3].ID, State: catalog.StateComplete, Taken: u1[3].FinishedAt}}, page[0].Snapshots)
		assert.Equal(t, "u2", page[1].UserID)
		assert.Equal(t, "deleted", page[1].UserState)
		require.Len(t, page[1].Snapshots, 2)
		assert.Equal(t, catalog.StateFailed, page[1].Snapshots[1].State)
		assert.Equal(t, catalog.RetentionCursor{UserID: "u3", App: "onedrive"}, next)

		page, _, done, err = s.RetentionPage(ctx, tenantID, next, 10, 3)
		require.NoError(t, err)
		assert.True(t, done)
		require.Len(t, page, 1)
		assert.True(t, page[0].Held)
		assert.Equal(t, "legal", page[0].ProfileID)
		assert.Equal(t, u3.ID, page[0].NewestUsable)

		// Expired snapshots are not listed again.
		_, err = s.ExpireSnapshots(ctx, tenantID, []catalog.Expiry{{SnapshotID: u1[0].ID}}, "retention")
		require.NoError(t, err)
		page, _, _, err = s.RetentionPage(ctx, tenantID, catalog.RetentionCursor{}, 1, 100)
		require.NoError(t, err)
		require.Len(t, page, 1)
		assert.Len(t, page[0].Snapshots, 3)
		assert.Equal(t, u1[1].ID, page[0].Snapshots[0].ID)
	})
}

func content(size int64, ids ...vault.ChunkID) string {
	return vault.Content{Size: size, Chunks: ids}.Marshal()
}

func withContent(id, etag, c string) catalog.StagedItem {
	it := file(id, "", id, etag)
	it.Content = c
	return it
}

func TestGCQueries(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		k := userApp("u1")
		a, b, c, d := vault.ChunkID{1}, vault.ChunkID{2}, vault.ChunkID{3}, vault.ChunkID{4}
		entry := func(id vault.ChunkID, pack string, off, n int64) vault.IndexEntry {
			return vault.IndexEntry{ID: id, Location: vault.Location{PackID: pack, Offset: off, Length: n, RawLen: n}}
		}
		require.NoError(t, s.AddPack(ctx, tenantID, vault.PackInfo{ID: "p1", KeyID: "k1", Size: 200, Chunks: 2},
			[]vault.IndexEntry{entry(a, "p1", 0, 40), entry(b, "p1", 40, 60)}))
		require.NoError(t, s.AddPack(ctx, tenantID, vault.PackInfo{ID: "p2", KeyID: "k1", Size: 100, Chunks: 1},
			[]vault.IndexEntry{entry(c, "p2", 0, 70)}))
		// A concurrent writer's copy of a: dead on arrival.
		require.NoError(t, s.AddPack(ctx, tenantID, vault.PackInfo{ID: "p3", KeyID: "k1", Size: 90, Chunks: 1},
			[]vault.IndexEntry{entry(a, "p3", 0, 40)}))

		// Extra contents (a message's JSON, a contact's photo) are reachable too.
		e, f := vault.ChunkID{5}, vault.ChunkID{6}
		x := withContent("x", "1", content(40, a))
		x.Extra = catalog.EncodeExtra(map[string]string{"json": content(7, e)})
		s1 := commit(t, s, k, "r1", []catalog.StagedItem{x, withContent("y", "1", content(60, b))})
		w, err := s.GCWatermark(ctx, tenantID)
		require.NoError(t, err)
		assert.Equal(t, s1.ID+1, w, "nothing running: the next snapshot ID")
		s2 := commit(t, s, k, "r2", []catalog.StagedItem{withContent("y", "2", content(70, c))})

		var all []string
		after := catalog.VersionKey{}
		for {
			page, next, err := s.ContentPage(ctx, tenantID, after, 2)
			require.NoError(t, err)
			all = append(all, page...)
			if len(page) < 2 {
				break
			}
			after = next
		}
		assert.ElementsMatch(t, []string{content(40, a), content(7, e), content(60, b), content(70, c)}, all)

		running, err := s.OpenSnapshot(ctx, k, "manual", "r3")
		require.NoError(t, err)
		z := withContent("z", "1", content(5, d))
		z.Extra = catalog.EncodeExtra(map[string]string{"photo": content(3, f), "json": ""})
		require.NoError(t, s.StageItems(ctx, running.ID, []catalog.StagedItem{z}, nil))
		w, err = s.GCWatermark(ctx, tenantID)
		require.NoError(t, err)
		assert.Equal(t, running.ID, w, "the oldest running snapshot")
		var since []string
		require.NoError(t, s.ContentSince(ctx, tenantID, s2.ID, func(c string) error { since = append(since, c); return nil }))
		assert.ElementsMatch(t, []string{content(70, c), content(5, d), content(3, f)}, since, "versions born since, and staged items")
		rs, err := s.RunningSnapshots(ctx, tenantID)
		require.NoError(t, err)
		assert.Equal(t, []catalog.RunningSnapshot{{ID: running.ID, UserID: "u1", App: "onedrive", RunID: "r3"}}, rs)

		// The fence: no lease, or a running snapshot, deletes nothing.
		chunks, err := s.ChunkPage(ctx, tenantID, "", 10)
		require.NoError(t, err)
		require.Len(t, chunks, 3)
		assert.Equal(t, catalog.ChunkRef{ID: a.String(), PackID: "p1", Length: 40}, chunks[0])
		_, _, err = s.DeleteChunks(ctx, tenantID, catalog.Fence{Holder: "gc", Margin: time.Second}, []string{b.String()})
		assert.ErrorIs(t, err, catalog.ErrLeaseLost)
		require.NoError(t, s.FailSnapshot(ctx, running.ID, "test"))
		_, err = s.AcquireGCLease(ctx, tenantID, "gc", time.Minute)
		require.NoError(t, err)
		_, _, err = s.DeleteChunks(ctx, tenantID, catalog.Fence{Holder: "gc", Margin: 2 * time.Minute}, []string{b.String()})
		assert.ErrorIs(t, err, catalog.ErrLeaseLost, "a lease about to lapse is not enough")
		_, _, err = s.DeleteChunks(ctx, tenantID, catalog.Fence{Holder: "other", Margin: time.Second}, []string{b.String()})
		assert.ErrorIs(t, err, catalog.ErrLeaseLost)
		n, freed, err := s.DeleteChunks(ctx, tenantID, catalog.Fence{Holder: "gc", Margin: time.Second}, []string{b.String(), c.String()})
		require.NoError(t, err)
		assert.EqualValues(t, 2, n)
		assert.EqualValues(t, 60+70, freed)
		n, freed, err = s.DeleteChunks(ctx, tenantID, catalog.Fence{Holder: "gc", Margin: time.Second}, []string{b.String()})
		require.NoError(t, err)
		assert.Zero(t, n+freed, "already gone")
		chunks, err = s.ChunkPage(ctx, tenantID, a.String(), 10)
		require.NoError(t, err)
		assert.Empty(t, chunks)

		empty, err := s.EmptyPacks(ctx, tenantID, "", 10)
		require.NoError(t, err)
		assert.Equal(t, []catalog.PackRef{{ID: "p2", Size: 100}, {ID: "p3", Size: 90}}, empty)
		st, err := s.PackStats(ctx, tenantID)
		require.NoError(t, err)
		assert.Equal(t, catalog.PackStats{Packs: 3, Bytes: 390, PartlyReferenced: 1, DeadBytes: 160}, st, "p1 keeps b's bytes")
		gone, err := s.DeleteEmptyPack(ctx, tenantID, "p2")
		require.NoError(t, err)
		assert.True(t, gone)
		gone, err = s.DeleteEmptyPack(ctx, tenantID, "p1")
		require.NoError(t, err)
		assert.False(t, gone, "p1 still holds a")

		// Unindexed pack objects are remembered from when first seen.
		t0 := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)
		orphans, err := s.NoteUnindexedPacks(ctx, tenantID, []catalog.PackRef{{ID: "p1", Size: 200}, {ID: "x", Size: 7}, {ID: "y", Size: 8}}, t0)
		require.NoError(t, err)
		require.Len(t, orphans, 2)
		assert.Equal(t, "x", orphans[0].ID)
		assert.True(t, orphans[0].FirstSeen.Equal(t0))
		t1 := t0.Add(time.Hour)
		orphans, err = s.NoteUnindexedPacks(ctx, tenantID, []catalog.PackRef{{ID: "x", Size: 7}}, t1)
		require.NoError(t, err)
		require.Len(t, orphans, 1)
		assert.True(t, orphans[0].FirstSeen.Equal(t0), "first seen stays")
		indexed, err := s.PackIndexed(ctx, tenantID, "x")
		require.NoError(t, err)
		assert.False(t, indexed)
		require.NoError(t, s.ForgetOrphans(ctx, tenantID, []string{"x"}, t1))
		var notes int
		require.NoError(t, s.DB().Get(&notes, `SELECT COUNT(*) FROM gc_orphans`))
		assert.Zero(t, notes, "x was deleted; y was not seen since")
	})
}
