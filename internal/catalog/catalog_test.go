package catalog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/catalog/catalogtest"
	"github.com/holdfast/holdfast/internal/vault"
)

const tenantID = "11111111-2222-3333-4444-555555555555"

func seedTenant(t *testing.T, s *catalog.Store) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.AddTenant(ctx, catalog.Tenant{ID: tenantID, Name: "contoso", ClientID: "app", AuthKind: "secret",
		Credential: []byte{0, 1, 2, 255}, GraphURL: "https://g/v1.0", AuthorityURL: "https://a/t", State: "connected"},
		catalog.TenantKey{KeyID: "k1", WrappedDataKey: []byte("wd"), WrappedChunkKey: []byte("wc")}))
	require.NoError(t, s.AddUser(ctx, catalog.User{TenantID: tenantID, ID: "u1", UPN: "O'Brien@contoso.com",
		Mail: "o'brien@contoso.com", DisplayName: "Seán O'Brien"}, []string{"onedrive"}))
}

func TestTenantsAndUsers(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)

		tn, err := s.Tenant(ctx, "contoso")
		require.NoError(t, err)
		assert.Equal(t, tenantID, tn.ID)
		assert.Equal(t, []byte{0, 1, 2, 255}, tn.Credential)
		_, err = s.Tenant(ctx, "fabrikam")
		assert.ErrorIs(t, err, catalog.ErrNotFound)
		err = s.AddTenant(ctx, catalog.Tenant{ID: "other", Name: "contoso"}, catalog.TenantKey{KeyID: "k"})
		assert.ErrorIs(t, err, catalog.ErrExists)

		keys, err := s.TenantKeys(ctx, tenantID)
		require.NoError(t, err)
		require.Len(t, keys, 1)
		assert.True(t, keys[0].Current)
		assert.Equal(t, []byte("wd"), keys[0].WrappedDataKey)

		u, err := s.User(ctx, tenantID, "o'brien@CONTOSO.com")
		require.NoError(t, err)
		assert.Equal(t, "u1", u.ID)
		assert.Equal(t, "Seán O'Brien", u.DisplayName)
		_, err = s.User(ctx, tenantID, "nobody@contoso.com")
		assert.ErrorIs(t, err, catalog.ErrNotFound)
		err = s.AddUser(ctx, catalog.User{TenantID: tenantID, ID: "u2", UPN: "o'brien@contoso.com"}, nil)
		assert.ErrorIs(t, err, catalog.ErrExists)

		k := catalog.UserApp{TenantID: tenantID, UserID: "u1", App: "onedrive"}
		on, err := s.AppEnabled(ctx, k)
		require.NoError(t, err)
		assert.True(t, on)
		require.NoError(t, s.SetAppEnabled(ctx, k, false))
		on, err = s.AppEnabled(ctx, k)
		require.NoError(t, err)
		assert.False(t, on)
		_, err = s.AppEnabled(ctx, catalog.UserApp{TenantID: tenantID, UserID: "u1", App: "exchange"})
		assert.ErrorIs(t, err, catalog.ErrNotFound)
	})
}

func file(id, parent, name, etag string) catalog.StagedItem {
	return catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: catalog.ItemVersion{ItemID: id, ContainerID: "d1",
		ParentID: parent, Name: name, Kind: "file", Size: int64(len(name)), ETag: etag, Content: "c:" + etag,
		Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
}

func del(id string) catalog.StagedItem {
	return catalog.StagedItem{Op: catalog.OpDelete, ItemVersion: catalog.ItemVersion{ItemID: id, ContainerID: "d1"}}
}

func names(items []catalog.ItemVersion) map[string]string {
	out := map[string]string{}
	for _, it := range items {
		out[it.ItemID] = it.Name + "@" + it.ETag
	}
	return out
}

func countVersions(t *testing.T, s *catalog.Store) int {
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT COUNT(*) FROM item_versions`))
	return n
}

// backup runs one snapshot through the catalog the way the activities do.
func backup(t *testing.T, s *catalog.Store, run, link string, reenum bool, items []catalog.StagedItem, fails []catalog.ItemFailure) catalog.Snapshot {
	t.Helper()
	ctx := context.Background()
	k := catalog.UserApp{TenantID: tenantID, UserID: "u1", App: "onedrive"}
	snap, err := s.OpenSnapshot(ctx, k, "manual", run)
	require.NoError(t, err)
	require.NoError(t, s.AddSnapshotContainer(ctx, snap.ID, "d1", "drive", "OneDrive"))
	require.NoError(t, s.StageItems(ctx, snap.ID, items, fails))
	require.NoError(t, s.FinishContainer(ctx, catalog.SnapshotContainer{SnapshotID: snap.ID, ContainerID: "d1",
		DeltaLink: link, Reenumerated: reenum, Items: int64(len(items))}))
	done, err := s.CommitSnapshot(ctx, snap.ID, 100)
	require.NoError(t, err)
	return done
}

func TestSnapshotVersionsAreIncremental(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		k := catalog.UserApp{TenantID: tenantID, UserID: "u1", App: "onedrive"}

		s1 := backup(t, s, "run1", "link1", true, []catalog.StagedItem{
			{Op: catalog.OpUpsert, ItemVersion: catalog.ItemVersion{ItemID: "root", ContainerID: "d1", Kind: "root"}},
			file("a", "root", "a.txt", "1"), file("b", "root", "b.txt", "1"), file("c", "root", "c.txt", "1"),
			file("b", "root", "b.txt", "1"), // a delta repeat: last one wins
		}, nil)
		assert.Equal(t, catalog.StateComplete, s1.State)
		assert.EqualValues(t, 4, s1.ItemsTotal)
		assert.EqualValues(t, 4, s1.ItemsChanged)
		assert.EqualValues(t, len("a.txt")+len("b.txt")+len("c.txt"), s1.BytesTotal, "content only, not folder sizes")
		assert.Equal(t, 4, countVersions(t, s))
		link, err := s.DeltaLink(ctx, k, "d1")
		require.NoError(t, err)
		assert.Equal(t, "link1", link)

		// Incremental: a changes, b goes, d arrives. Only those are written.
		s2 := backup(t, s, "run2", "link2", false, []catalog.StagedItem{
			file("a", "root", "a2.txt", "2"), del("b"), file("d", "root", "d.txt", "1"),
		}, nil)
		assert.EqualValues(t, 3, s2.ItemsChanged)
		assert.EqualValues(t, 4, s2.ItemsTotal) // root, a, c, d
		assert.Equal(t, 6, countVersions(t, s))

		at1, err := s.ItemsAt(ctx, k, s1.ID)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"root": "@", "a": "a.txt@1", "b": "b.txt@1", "c": "c.txt@1"}, names(at1))
		at2, err := s.ItemsAt(ctx, k, s2.ID)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"root": "@", "a": "a2.txt@2", "c": "c.txt@1", "d": "d.txt@1"}, names(at2))
		assert.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), at2[1].Modified)

		// A full re-enumeration closes what it did not see (c).
		s3 := backup(t, s, "run3", "link3", true, []catalog.StagedItem{
			{Op: catalog.OpSeen, ItemVersion: catalog.ItemVersion{ItemID: "root", ContainerID: "d1"}},
			{Op: catalog.OpSeen, ItemVersion: catalog.ItemVersion{ItemID: "a", ContainerID: "d1"}},
			{Op: catalog.OpSeen, ItemVersion: catalog.ItemVersion{ItemID: "d", ContainerID: "d1"}},
		}, nil)
		assert.EqualValues(t, 0, s3.ItemsChanged)
		at3, err := s.ItemsAt(ctx, k, s3.ID)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"root": "@", "a": "a2.txt@2", "d": "d.txt@1"}, names(at3))

		latest, err := s.LatestUsableSnapshot(ctx, k, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, s3.ID, latest.ID)
		_, err = s.LatestUsableSnapshot(ctx, k, s1.StartedAt.Add(-time.Hour))
		assert.ErrorIs(t, err, catalog.ErrNotFound)
	})
}

func TestDeltaLinkAdvancesOnlyAtCommit(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		k := catalog.UserApp{TenantID: tenantID, UserID: "u1", App: "onedrive"}
		backup(t, s, "run1", "link1", true, []catalog.StagedItem{file("a", "root", "a.txt", "1")}, nil)

		snap, err := s.OpenSnapshot(ctx, k, "manual", "run2")
		require.NoError(t, err)
		again, err := s.OpenSnapshot(ctx, k, "manual", "run2")
		require.NoError(t, err)
		assert.Equal(t, snap.ID, again.ID, "a retried PrepareBackup reuses its snapshot")
		require.NoError(t, s.AddSnapshotContainer(ctx, snap.ID, "d1", "drive", "OneDrive"))
		require.NoError(t, s.StageItems(ctx, snap.ID, []catalog.StagedItem{file("a", "root", "a.txt", "2")}, nil))
		require.NoError(t, s.FinishContainer(ctx, catalog.SnapshotContainer{SnapshotID: snap.ID, ContainerID: "d1", DeltaLink: "link2"}))
		link, err := s.DeltaLink(ctx, k, "d1")
		require.NoError(t, err)
		assert.Equal(t, "link1", link, "not committed yet")

		_, err = s.CommitSnapshot(ctx, snap.ID+1000, 0)
		assert.Error(t, err)
		require.NoError(t, s.FailSnapshot(ctx, snap.ID, "worker lost"))
		link, err = s.DeltaLink(ctx, k, "d1")
		require.NoError(t, err)
		assert.Equal(t, "link1", link, "a failed run never advances the link")
		_, err = s.CommitSnapshot(ctx, snap.ID, 0)
		assert.Error(t, err, "a failed snapshot cannot be committed")
		err = s.StageItems(ctx, snap.ID, []catalog.StagedItem{file("a", "root", "a.txt", "3")}, nil)
		assert.Error(t, err, "a failed snapshot takes no more rows")
		var staged int
		require.NoError(t, s.DB().Get(&staged, `SELECT COUNT(*) FROM staged_items`))
		assert.Zero(t, staged)

		// A new run supersedes a snapshot left running by a terminated one.
		s3, err := s.OpenSnapshot(ctx, k, "manual", "run3")
		require.NoError(t, err)
		s4, err := s.OpenSnapshot(ctx, k, "manual", "run4")
		require.NoError(t, err)
		old, err := s.Snapshot(ctx, s3.ID)
		require.NoError(t, err)
		assert.Equal(t, catalog.StateFailed, old.State)
		assert.Contains(t, old.Error, "superseded")
		assert.Equal(t, catalog.StateRunning, s4.State)
	})
}

func TestPartialSnapshotRetriesFailedItems(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		k := catalog.UserApp{TenantID: tenantID, UserID: "u1", App: "onedrive"}
		s1 := backup(t, s, "run1", "link1", true, []catalog.StagedItem{file("a", "root", "a.txt", "1")},
			[]catalog.ItemFailure{{ItemID: "x", ContainerID: "d1", Name: "x.bin", Error: "graph: 500 generalException"}})
		assert.Equal(t, catalog.StatePartial, s1.State)
		assert.EqualValues(t, 1, s1.ItemsFailed)
		fails, err := s.SnapshotFailures(ctx, s1.ID)
		require.NoError(t, err)
		require.Len(t, fails, 1)
		assert.Equal(t, "x.bin", fails[0].Name)
		retry, err := s.RetryItems(ctx, k, "d1")
		require.NoError(t, err)
		assert.Equal(t, []string{"x"}, retry)

		s2 := backup(t, s, "run2", "link2", false, []catalog.StagedItem{file("x", "root", "x.bin", "1")}, nil)
		assert.Equal(t, catalog.StateComplete, s2.State)
		retry, err = s.RetryItems(ctx, k, "d1")
		require.NoError(t, err)
		assert.Empty(t, retry)
	})
}

func TestVaultIndex(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		a, b, c := vault.ChunkID{1}, vault.ChunkID{2}, vault.ChunkID{3}
		require.NoError(t, s.AddPack(ctx, tenantID, vault.PackInfo{ID: "p1", KeyID: "k1", Size: 100, Chunks: 2},
			[]vault.IndexEntry{{ID: a, Location: vault.Location{PackID: "p1", Offset: 0, Length: 40, RawLen: 50}},
				{ID: b, Location: vault.Location{PackID: "p1", Offset: 40, Length: 60, RawLen: 70}}}))
		// A concurrent writer stored b too: the first pack keeps it.
		require.NoError(t, s.AddPack(ctx, tenantID, vault.PackInfo{ID: "p2", KeyID: "k1", Size: 60, Chunks: 1},
			[]vault.IndexEntry{{ID: b, Location: vault.Location{PackID: "p2", Offset: 0, Length: 60, RawLen: 70}}}))
		got, err := s.Lookup(ctx, tenantID, []vault.ChunkID{a, b, c})
		require.NoError(t, err)
		assert.Len(t, got, 2)
		assert.Equal(t, vault.Location{PackID: "p1", Offset: 40, Length: 60, RawLen: 70, KeyID: "k1"}, got[b])
		one, err := s.Lookup(ctx, tenantID, []vault.ChunkID{a})
		require.NoError(t, err)
		assert.Equal(t, map[vault.ChunkID]vault.Location{a: {PackID: "p1", Offset: 0, Length: 40, RawLen: 50, KeyID: "k1"}}, one)
		none, err := s.Lookup(ctx, tenantID, []vault.ChunkID{c})
		require.NoError(t, err)
		assert.Empty(t, none)
		other, err := s.Lookup(ctx, "other-tenant", []vault.ChunkID{a})
		require.NoError(t, err)
		assert.Empty(t, other)
	})
}

func TestOpenRejectsBadURL(t *testing.T) {
	_, err := catalog.Open(context.Background(), "mysql://x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unsupported database URL")
	_, err = catalog.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	require.Error(t, err)
	assert.True(t, !errors.Is(err, catalog.ErrNotFound))
}

func TestProfiles(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		p := catalog.Profile{TenantID: tenantID, ID: "sales", Apps: []string{"onedrive", "exchange"}, Interval: 12 * time.Hour,
			Retention: map[string]time.Duration{"exchange": 90 * 24 * time.Hour}, ExcludeExtensions: []string{".tmp", ".iso"},
			ExcludeFolders: []string{"/Temp", "node_modules"}, RecoverableItems: true, RestoreRoles: []string{"backup-admin"}}
		require.NoError(t, s.CreateProfile(ctx, p))
		assert.ErrorIs(t, s.CreateProfile(ctx, p), catalog.ErrExists)
		got, err := s.Profile(ctx, tenantID, "sales")
		require.NoError(t, err)
		assert.Equal(t, p.Apps, got.Apps)
		assert.Equal(t, 12*time.Hour, got.Interval)
		assert.Equal(t, 90*24*time.Hour, got.RetentionFor("exchange"))
		assert.Equal(t, catalog.OneDriveRetention, got.RetentionFor("onedrive"), "OneDrive is fixed at 7 years")
		assert.Equal(t, []string{"/Temp", "node_modules"}, got.ExcludeFolders)
		assert.True(t, got.RecoverableItems)

		got.RecoverableItems = false
		require.NoError(t, s.UpdateProfile(ctx, got))
		again, err := s.Profile(ctx, tenantID, "sales")
		require.NoError(t, err)
		assert.False(t, again.RecoverableItems)

		require.NoError(t, s.SetUserProfile(ctx, tenantID, "u1", "sales"))
		up, err := s.UserProfile(ctx, tenantID, "u1")
		require.NoError(t, err)
		assert.Equal(t, "sales", up.ID)
		assert.ErrorContains(t, s.DeleteProfile(ctx, tenantID, "sales"), "still has 1 users")
		require.NoError(t, s.SetUserProfile(ctx, tenantID, "u1", ""))
		require.NoError(t, s.DeleteProfile(ctx, tenantID, "sales"))
		_, err = s.Profile(ctx, tenantID, "sales")
		assert.ErrorIs(t, err, catalog.ErrNotFound)
	})
}

func TestExtraEncoding(t *testing.T) {
	enc := catalog.EncodeExtra(map[string]string{"photo": "v1:3:06", "json": "v1:7:05", "none": ""})
	assert.Equal(t, "json=v1:7:05 photo=v1:3:06", enc, "sorted by name, empty contents left out")
	assert.Equal(t, map[string]string{"json": "v1:7:05", "photo": "v1:3:06"}, catalog.DecodeExtra(enc))
	assert.Equal(t, []string{"v1:7:05", "v1:3:06"}, catalog.ExtraContents(enc))
	assert.Empty(t, catalog.DecodeExtra(""))
	assert.Empty(t, catalog.ExtraContents(""))
}
