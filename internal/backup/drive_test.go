package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/memblob"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/catalog/catalogtest"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/keys"
	"github.com/holdfast/holdfast/internal/quickxor"
	"github.com/holdfast/holdfast/internal/vault"
)

// fakeDrive is a drive whose delta is a fixed list of pages. It stands in
// for Graph in these unit tests of the engine; the real client is tested
// against graphsim, and the two together end to end.
type fakeDrive struct {
	graphapi.Drives
	mu        sync.Mutex
	pages     map[string]graphapi.DeltaPage[graphapi.DriveItem] // by link; "" is the full enumeration
	content   map[string][]byte
	broken    map[string]bool // downloads that always fail
	expired   map[string]bool // links answered with 410
	downloads map[string]int
}

func (f *fakeDrive) DriveDelta(_ context.Context, _ string, link string) (graphapi.DeltaPage[graphapi.DriveItem], error) {
	if f.expired[link] {
		return graphapi.DeltaPage[graphapi.DriveItem]{}, &graphapi.Error{Status: 410, Code: "resyncRequired"}
	}
	p, ok := f.pages[link]
	if !ok {
		return p, fmt.Errorf("no page %q", link)
	}
	return p, nil
}

func (f *fakeDrive) DriveItem(_ context.Context, _, id string) (graphapi.DriveItem, error) {
	for _, p := range f.pages {
		for _, it := range p.Items {
			if it.ID == id {
				return it, nil
			}
		}
	}
	return graphapi.DriveItem{}, &graphapi.Error{Status: 404}
}

func (f *fakeDrive) Download(_ context.Context, _ string, it graphapi.DriveItem) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.downloads[it.ID]++
	if f.broken[it.ID] {
		return nil, &graphapi.Error{Status: 500, Code: "generalException", Message: "the file is on fire"}
	}
	return io.NopCloser(bytes.NewReader(f.content[it.ID])), nil
}

func file(id, name string, data []byte) graphapi.DriveItem {
	h := quickxor.New()
	h.Write(data)
	return graphapi.DriveItem{ID: id, Name: name, ParentID: "root", Kind: graphapi.KindFile, Size: int64(len(data)),
		QuickXorHash: quickxor.Base64(h), Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

type env struct {
	t     *testing.T
	store *catalog.Store
	vault *vault.Vault
	keys  *keys.TenantKeys
	k     catalog.UserApp
	drive *fakeDrive
	runs  int
}

func init() { itemPause = time.Millisecond }

func newEnv(t *testing.T) *env {
	store := catalogtest.SQLite(t)
	ctx := context.Background()
	url, err := keys.NewLocalKEK()
	require.NoError(t, err)
	keeper, err := keys.OpenKeeper(ctx, url)
	require.NoError(t, err)
	w, err := keys.Generate(ctx, keeper)
	require.NoError(t, err)
	tk, err := keys.Unwrap(ctx, keeper, w)
	require.NoError(t, err)
	require.NoError(t, store.AddTenant(ctx, catalog.Tenant{ID: "t1", Name: "t1", State: "connected"},
		catalog.TenantKey{KeyID: w.KeyID, WrappedDataKey: w.DataKey, WrappedChunkKey: w.ChunkIDKey}))
	require.NoError(t, store.AddUser(ctx, catalog.User{TenantID: "t1", ID: "u1", UPN: "u1@contoso.com"}, []string{"onedrive"}))
	a := []byte("alpha content")
	b := bytes.Repeat([]byte("bravo "), 50_000)
	c := []byte("charlie")
	d := &fakeDrive{
		content:   map[string][]byte{"a": a, "b": b, "c": c},
		broken:    map[string]bool{},
		expired:   map[string]bool{},
		downloads: map[string]int{},
		pages: map[string]graphapi.DeltaPage[graphapi.DriveItem]{
			"": {Items: []graphapi.DriveItem{{ID: "root", Kind: graphapi.KindRoot}, {ID: "docs", Name: "Docs", ParentID: "root", Kind: graphapi.KindFolder},
				file("a", "a.txt", a)}, NextLink: "page2"},
			"page2":  {Items: []graphapi.DriveItem{file("b", "b.txt", b), file("c", "c.txt", c)}, DeltaLink: "delta1"},
			"delta1": {DeltaLink: "delta1"},
		},
	}
	return &env{t: t, store: store, vault: vault.New(memblob.OpenBucket(nil), store, vault.Options{}), keys: tk,
		k: catalog.UserApp{TenantID: "t1", UserID: "u1", App: "onedrive"}, drive: d}
}

// backup runs one snapshot: open, back up the drive from cursor, commit.
func (e *env) backup(from Cursor) (catalog.Snapshot, Result, error) {
	e.t.Helper()
	ctx := context.Background()
	e.runs++
	snap, err := e.store.OpenSnapshot(ctx, e.k, "manual", fmt.Sprint("run", e.runs))
	require.NoError(e.t, err)
	require.NoError(e.t, e.store.AddSnapshotContainer(ctx, snap.ID, "d1", "drive", "OneDrive"))
	d := &Drive{Graph: e.drive, Config: Config{Catalog: e.store, Session: e.vault.NewSession("t1", e.keys), Key: e.k, Snapshot: snap.ID,
		ContainerID: "d1", FlushBytes: 1}}
	res, err := d.Run(ctx, from)
	if err != nil {
		return snap, res, err
	}
	snap, err = e.store.CommitSnapshot(ctx, snap.ID, res.BytesNew)
	require.NoError(e.t, err)
	return snap, res, nil
}

func (e *env) names(snap catalog.Snapshot) map[string]bool {
	items, err := e.store.ItemsAt(context.Background(), e.k, snap.ID)
	require.NoError(e.t, err)
	out := map[string]bool{}
	for _, it := range items {
		out[it.Name] = true
	}
	return out
}

func TestFullThenIncremental(t *testing.T) {
	e := newEnv(t)
	snap, res, err := e.backup(Cursor{})
	require.NoError(t, err)
	assert.Equal(t, catalog.StateComplete, snap.State)
	assert.True(t, res.Reenumerated)
	assert.Equal(t, map[string]bool{"": true, "Docs": true, "a.txt": true, "b.txt": true, "c.txt": true}, e.names(snap))
	link, _ := e.store.DeltaLink(context.Background(), e.k, "d1")
	assert.Equal(t, "delta1", link)

	// Incremental: a renamed, c changed, b deleted. a's content is not fetched again.
	c2 := []byte("charlie, edited")
	e.drive.content["c"] = c2
	renamed := file("a", "a-renamed.txt", e.drive.content["a"])
	e.drive.pages["delta1"] = graphapi.DeltaPage[graphapi.DriveItem]{Items: []graphapi.DriveItem{renamed, file("c", "c.txt", c2),
		{ID: "b", Deleted: true}}, DeltaLink: "delta2"}
	snap2, res2, err := e.backup(Cursor{})
	require.NoError(t, err)
	assert.False(t, res2.Reenumerated)
	assert.EqualValues(t, 3, snap2.ItemsChanged)
	assert.Equal(t, 1, e.drive.downloads["a"], "a rename fetches no content")
	assert.Equal(t, 2, e.drive.downloads["c"])
	assert.Equal(t, map[string]bool{"": true, "Docs": true, "a-renamed.txt": true, "c.txt": true}, e.names(snap2))
}

func TestFailedItemMakesAPartialSnapshotAndIsRetried(t *testing.T) {
	e := newEnv(t)
	e.drive.broken["b"] = true
	snap, res, err := e.backup(Cursor{})
	require.NoError(t, err, "one bad item does not fail the backup")
	assert.Equal(t, catalog.StatePartial, snap.State)
	assert.EqualValues(t, 1, res.Failed)
	assert.Equal(t, itemAttempts, e.drive.downloads["b"])
	fails, err := e.store.SnapshotFailures(context.Background(), snap.ID)
	require.NoError(t, err)
	require.Len(t, fails, 1)
	assert.Equal(t, "b.txt", fails[0].Name)
	assert.Contains(t, fails[0].Error, "the file is on fire")
	assert.True(t, e.names(snap)["a.txt"], "the rest is kept")
	assert.False(t, e.names(snap)["b.txt"])

	// The delta link moved on, but the next run fetches b explicitly.
	delete(e.drive.broken, "b")
	snap2, _, err := e.backup(Cursor{})
	require.NoError(t, err)
	assert.Equal(t, catalog.StateComplete, snap2.State)
	assert.True(t, e.names(snap2)["b.txt"])
}

func TestCorruptDownloadIsAFailedItem(t *testing.T) {
	e := newEnv(t)
	e.drive.content["c"] = []byte("charlie but not what the service hashed")
	snap, _, err := e.backup(Cursor{})
	require.NoError(t, err)
	fails, err := e.store.SnapshotFailures(context.Background(), snap.ID)
	require.NoError(t, err)
	require.Len(t, fails, 1)
	assert.Contains(t, fails[0].Error, "does not match")
}

func TestExpiredDeltaLinkEnumeratesAgain(t *testing.T) {
	e := newEnv(t)
	_, _, err := e.backup(Cursor{})
	require.NoError(t, err)
	// While the link was expired, c vanished: only a full enumeration can tell.
	e.drive.expired["delta1"] = true
	e.drive.pages["page2"] = graphapi.DeltaPage[graphapi.DriveItem]{Items: []graphapi.DriveItem{e.drive.pages["page2"].Items[0]}, DeltaLink: "delta3"}
	snap, res, err := e.backup(Cursor{})
	require.NoError(t, err)
	assert.True(t, res.Reenumerated)
	assert.EqualValues(t, 0, snap.ItemsFailed)
	assert.False(t, e.names(snap)["c.txt"], "what the enumeration did not see is closed")
	assert.True(t, e.names(snap)["b.txt"])
	assert.Equal(t, 1, e.drive.downloads["b"], "unchanged content is not fetched again")
}

func TestResumeFromCursorSkipsDurablePages(t *testing.T) {
	e := newEnv(t)
	var cursors []Cursor
	ctx := context.Background()
	snap, err := e.store.OpenSnapshot(ctx, e.k, "manual", "run")
	require.NoError(t, err)
	require.NoError(t, e.store.AddSnapshotContainer(ctx, snap.ID, "d1", "drive", "OneDrive"))
	d := &Drive{Graph: e.drive, Config: Config{Catalog: e.store, Session: e.vault.NewSession("t1", e.keys), Key: e.k, Snapshot: snap.ID,
		ContainerID: "d1", FlushBytes: 1, Progress: func(c Cursor) { cursors = append(cursors, c) }}}
	// The first attempt dies fetching page 2.
	delete(e.drive.pages, "page2")
	_, err = d.Run(ctx, Cursor{})
	require.Error(t, err)
	require.NotEmpty(t, cursors)
	last := cursors[len(cursors)-1]
	assert.Equal(t, "page2", last.Link, "page 1 is durable: the cursor points past it")

	// The retry resumes there with a fresh session, as a retried activity does.
	e2 := newEnv(t)
	e.drive.pages["page2"] = e2.drive.pages["page2"]
	d.Session = e.vault.NewSession("t1", e.keys)
	res, err := d.Run(ctx, last)
	require.NoError(t, err)
	assert.Equal(t, 1, e.drive.downloads["a"], "page 1 is not fetched again")
	assert.EqualValues(t, 5, res.Items)
	done, err := e.store.CommitSnapshot(ctx, snap.ID, res.BytesNew)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"": true, "Docs": true, "a.txt": true, "b.txt": true, "c.txt": true}, e.names(done))
}

func TestUnauthorizedStopsTheRun(t *testing.T) {
	e := newEnv(t)
	e.drive.broken["a"] = true
	d := &fakeUnauthorized{fakeDrive: e.drive}
	ctx := context.Background()
	snap, err := e.store.OpenSnapshot(ctx, e.k, "manual", "run")
	require.NoError(t, err)
	require.NoError(t, e.store.AddSnapshotContainer(ctx, snap.ID, "d1", "drive", "OneDrive"))
	_, err = (&Drive{Graph: d, Config: Config{Catalog: e.store, Session: e.vault.NewSession("t1", e.keys), Key: e.k, Snapshot: snap.ID, ContainerID: "d1"}}).Run(ctx, Cursor{})
	assert.True(t, errors.Is(err, graphapi.ErrUnauthorized), "an auth failure is the run's, not an item's: %v", err)
}

type fakeUnauthorized struct{ *fakeDrive }

func (f *fakeUnauthorized) Download(context.Context, string, graphapi.DriveItem) (io.ReadCloser, error) {
	return nil, &graphapi.Error{Status: 401, Code: "InvalidAuthenticationToken"}
}

func TestExclusionsLeaveItemsOut(t *testing.T) {
	e := newEnv(t)
	inDocs := file("d", "report.txt", []byte("in docs"))
	inDocs.ParentID = "docs"
	e.drive.content["d"] = []byte("in docs")
	tmp := file("x", "scratch.TMP", []byte("scratch"))
	e.drive.content["x"] = []byte("scratch")
	p := e.drive.pages[""]
	p.Items = append([]graphapi.DriveItem{inDocs, tmp}, p.Items...) // a file before its folder
	e.drive.pages[""] = p

	ctx := context.Background()
	snap, err := e.store.OpenSnapshot(ctx, e.k, "manual", "run")
	require.NoError(t, err)
	require.NoError(t, e.store.AddSnapshotContainer(ctx, snap.ID, "d1", "drive", "OneDrive"))
	d := &Drive{Graph: e.drive, Config: Config{Catalog: e.store, Session: e.vault.NewSession("t1", e.keys), Key: e.k, Snapshot: snap.ID,
		ContainerID: "d1"}, Exclude: Exclusions{Extensions: []string{".tmp"}, Folders: []string{"/Docs"}}}
	res, err := d.Run(ctx, Cursor{})
	require.NoError(t, err)
	done, err := e.store.CommitSnapshot(ctx, snap.ID, res.BytesNew)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"": true, "a.txt": true, "b.txt": true, "c.txt": true}, e.names(done))
	assert.Zero(t, e.drive.downloads["d"]+e.drive.downloads["x"], "excluded content is never fetched")
}
