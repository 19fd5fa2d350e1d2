// Package backup runs the backup of one container — here a OneDrive — into
// the vault and the catalog: it follows the container's delta query,
// fetches what changed, stores it, and stages the new item versions for the
// snapshot's commit.
//
// Progress is made durable in steps: content first goes into the vault
// session, and only after the session's pack is uploaded (Flush) are the
// items staged in the catalog and the cursor (the delta page link to
// continue from) reported. A run that dies is resumed from the last
// reported cursor; what it repeats is deduplicated.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/quickxor"
	"github.com/holdfast/holdfast/internal/vault"
)

// Cursor is where a container's backup stands: safe to put in a Temporal
// heartbeat (a page link and counts, no content, no credentials).
type Cursor struct {
	Started     bool   // the run has begun (Link "" then means a full enumeration)
	Link        string // the delta page to fetch next; its predecessors are staged
	Full        bool   // this run enumerates the whole container
	RetriesDone bool   // items owed by earlier runs were fetched
	Items       int64
	Changed     int64
	Failed      int64
	BytesNew    int64
}

// Result is what a finished container backup did.
type Result struct {
	Items        int64
	Changed      int64
	Failed       int64
	BytesNew     int64
	Reenumerated bool
}

// Drive backs up one drive.
type Drive struct {
	Graph    graphapi.Drives
	Catalog  *catalog.Store
	Session  *vault.Session
	Key      catalog.UserApp
	Snapshot int64
	DriveID  string
	Name     string

	// Concurrency bounds parallel downloads of this drive (default 8).
	Concurrency int
	// Downloads, when set, bounds downloads across every drive the worker
	// is backing up: each download holds a slot while it streams into the
	// vault, which bounds the worker's memory.
	Downloads *semaphore.Weighted
	// FlushBytes is how much new content may wait in the vault session
	// before it is uploaded and its items staged (default 32 MiB). It
	// bounds the work a crash can cost.
	FlushBytes int64
	// FlushEvery bounds the time between durable steps (default 30 s).
	FlushEvery time.Duration
	// Exclude leaves items out (a profile's exclusions); excluded items
	// backed up before drop out of the snapshot.
	Exclude Exclusions
	// Progress receives the cursor each time it becomes durable.
	Progress func(Cursor)
	Log      *slog.Logger
}

// itemAttempts is how often one item's download is tried before the item
// is recorded as failed (the Graph client retries each request too), with
// itemPause times the attempt number between tries.
const itemAttempts = 3

var itemPause = time.Second

func (d *Drive) defaults() {
	if d.Concurrency <= 0 {
		d.Concurrency = 8
	}
	if d.FlushBytes <= 0 {
		d.FlushBytes = 32 << 20
	}
	if d.FlushEvery <= 0 {
		d.FlushEvery = 30 * time.Second
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
}

// run holds the state of one Run.
type run struct {
	*Drive
	cur       Cursor
	pending   []catalog.StagedItem // durable in the vault once flushed
	failures  []catalog.ItemFailure
	newBytes  int64 // content stored since the last flush
	lastFlush time.Time
	tree      *folderTree // for exclusions by folder
	mu        sync.Mutex
}

// Run backs up the drive from cursor from (the zero Cursor for a new run)
// and records the container as finished in the snapshot.
func (d *Drive) Run(ctx context.Context, from Cursor) (Result, error) {
	d.defaults()
	r := &run{Drive: d, cur: from, lastFlush: time.Now()}
	if !r.cur.Started {
		link, err := d.Catalog.DeltaLink(ctx, d.Key, d.DriveID)
		if err != nil {
			return Result{}, err
		}
		r.cur = Cursor{Started: true, Link: link, Full: link == ""}
	}
	if !d.Exclude.Empty() {
		if err := r.loadTree(ctx); err != nil {
			return Result{}, err
		}
	}
	if err := r.loop(ctx); err != nil {
		// Keep what is complete: it makes the retry cheaper.
		if ferr := r.flush(context.WithoutCancel(ctx), r.cur.Link); ferr != nil {
			d.Log.Warn("saving progress failed", "drive", d.DriveID, "err", ferr)
		}
		return Result{}, err
	}
	return Result{Items: r.cur.Items, Changed: r.cur.Changed, Failed: r.cur.Failed,
		BytesNew: r.cur.BytesNew, Reenumerated: r.cur.Full}, nil
}

func (r *run) loop(ctx context.Context) error {
	if !r.cur.RetriesDone {
		if err := r.retryOwed(ctx); err != nil {
			return err
		}
		r.cur.RetriesDone = true
	}
	resyncs := 0
	for {
		page, err := r.Graph.DriveDelta(ctx, r.DriveID, r.cur.Link)
		if errors.Is(err, graphapi.ErrResyncRequired) {
			// The service forgot our place: enumerate everything again, and
			// let the commit close whatever the enumeration does not see.
			if r.cur.Link == "" || resyncs > 2 {
				return fmt.Errorf("drive %s: full enumeration refused: %w", r.DriveID, err)
			}
			resyncs++
			r.Log.Info("delta link expired, enumerating the drive in full", "drive", r.DriveID)
			r.cur.Link, r.cur.Full = "", true
			continue
		}
		if err != nil {
			return err
		}
		if err := r.page(ctx, page.Items); err != nil {
			return err
		}
		if page.NextLink != "" {
			if r.due() {
				if err := r.flush(ctx, page.NextLink); err != nil {
					return err
				}
			} else {
				r.cur.Link = page.NextLink
			}
			continue
		}
		if err := r.flush(ctx, page.DeltaLink); err != nil {
			return err
		}
		return r.Catalog.FinishContainer(ctx, catalog.SnapshotContainer{SnapshotID: r.Snapshot,
			ContainerID: r.DriveID, Reenumerated: r.cur.Full, DeltaLink: page.DeltaLink,
			Items: r.cur.Items, Bytes: r.cur.BytesNew})
	}
}

// due says whether enough is waiting to make it durable now.
func (r *run) due() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.newBytes >= r.FlushBytes || len(r.pending) >= 5000 || time.Since(r.lastFlush) >= r.FlushEvery
}

// flush uploads the session's pack, stages what waited for it, and reports
// next as the cursor: everything before it is now durable.
func (r *run) flush(ctx context.Context, next string) error {
	if err := r.Session.Flush(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	items, fails := r.pending, r.failures
	r.pending, r.failures, r.newBytes = nil, nil, 0
	r.mu.Unlock()
	if err := r.Catalog.StageItems(ctx, r.Snapshot, items, fails); err != nil {
		return err
	}
	r.cur.Link = next
	r.lastFlush = time.Now()
	if r.Progress != nil {
		r.Progress(r.cur)
	}
	return nil
}

// retryOwed fetches the items earlier runs failed: the delta link moved
// past them when those runs committed.
func (r *run) retryOwed(ctx context.Context) error {
	ids, err := r.Catalog.RetryItems(ctx, r.Key, r.DriveID)
	if err != nil || len(ids) == 0 {
		return err
	}
	var items []graphapi.DriveItem
	for _, id := range ids {
		it, err := r.Graph.DriveItem(ctx, r.DriveID, id)
		switch {
		case errors.Is(err, graphapi.ErrNotFound):
			items = append(items, graphapi.DriveItem{ID: id, Deleted: true})
		case err != nil:
			return err
		default:
			items = append(items, it)
		}
	}
	return r.page(ctx, items)
}

// page processes one page of delta items.
func (r *run) page(ctx context.Context, items []graphapi.DriveItem) error {
	// A delta may list an item more than once; the last one is current.
	last := make(map[string]int, len(items))
	ids := make([]string, 0, len(items))
	for i, it := range items {
		if _, seen := last[it.ID]; !seen {
			ids = append(ids, it.ID)
		}
		last[it.ID] = i
	}
	current, err := r.Catalog.CurrentVersions(ctx, r.Key, ids)
	if err != nil {
		return err
	}
	if r.tree != nil {
		r.learnFolders(items)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.Concurrency)
	for _, id := range ids {
		it := items[last[id]]
		prev, known := current[id]
		r.cur.Items++
		if r.tree != nil && !it.Deleted && r.excluded(it) {
			if known {
				r.stage(catalog.StagedItem{Op: catalog.OpDelete, ItemVersion: catalog.ItemVersion{ItemID: id, ContainerID: r.DriveID}})
			}
			continue
		}
		switch decide(it, prev, known) {
		case skip:
		case seen:
			if r.cur.Full {
				r.stage(catalog.StagedItem{Op: catalog.OpSeen, ItemVersion: catalog.ItemVersion{ItemID: id, ContainerID: r.DriveID}})
			}
		case remove:
			r.stage(catalog.StagedItem{Op: catalog.OpDelete, ItemVersion: catalog.ItemVersion{ItemID: id, ContainerID: r.DriveID}})
		case metadata:
			v := r.version(it)
			v.Content = prev.Content
			r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: v})
		case fetch:
			g.Go(func() error { return r.fetch(gctx, it) })
		}
	}
	return g.Wait()
}

type decision int

const (
	skip     decision = iota // nothing to record
	seen                     // unchanged; a full enumeration notes it
	remove                   // gone
	metadata                 // new metadata, same content (renamed, moved, touched)
	fetch                    // new content
)

func decide(it graphapi.DriveItem, prev catalog.ItemVersion, known bool) decision {
	switch {
	case it.Deleted:
		if known {
			return remove
		}
		return skip
	case it.Kind != graphapi.KindFile:
		if known && prev.Name == it.Name && prev.ParentID == it.ParentID && prev.Kind == string(it.Kind) {
			return seen
		}
		return metadata
	case !known || prev.Content == "" && it.Size > 0:
		return fetch
	case prev.Hash != contentHash(it) || prev.Hash == "" || prev.Size != it.Size:
		return fetch
	case prev.Name == it.Name && prev.ParentID == it.ParentID && prev.Modified.Equal(it.Modified.Truncate(time.Millisecond)):
		return seen
	}
	return metadata
}

// contentHash is the service's hash of a file, as stored in the catalog.
func contentHash(it graphapi.DriveItem) string {
	switch {
	case it.SHA256Hash != "":
		return "sha256:" + it.SHA256Hash
	case it.QuickXorHash != "":
		return "qxh:" + it.QuickXorHash
	}
	return ""
}

// itemMeta is what the catalog keeps of a drive item beyond the columns.
type itemMeta struct {
	MimeType     string `json:"mimeType,omitempty"`
	PackageType  string `json:"packageType,omitempty"`
	CTag         string `json:"cTag,omitempty"`
	QuickXorHash string `json:"quickXorHash,omitempty"`
}

func (r *run) version(it graphapi.DriveItem) catalog.ItemVersion {
	meta, _ := json.Marshal(itemMeta{MimeType: it.MimeType, PackageType: it.PackageType, CTag: it.CTag, QuickXorHash: it.QuickXorHash})
	return catalog.ItemVersion{ItemID: it.ID, ContainerID: r.DriveID, ParentID: it.ParentID, Name: it.Name,
		Kind: string(it.Kind), Size: it.Size, Created: it.Created, Modified: it.Modified,
		ETag: it.ETag, Hash: contentHash(it), Meta: string(meta)}
}

func (r *run) stage(s catalog.StagedItem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, s)
	if s.Op != catalog.OpSeen {
		r.cur.Changed++
	}
}

// fetch downloads a file into the vault, checking it against the
// service's hash. Failures that are the item's own are recorded and the
// run goes on; failures of the run (throttling, auth, cancellation) stop it.
func (r *run) fetch(ctx context.Context, it graphapi.DriveItem) error {
	var lastErr error
	for attempt := 1; attempt <= itemAttempts; attempt++ {
		content, err := r.download(ctx, it)
		if err == nil {
			v := r.version(it)
			v.Content = content.Marshal()
			r.mu.Lock()
			r.newBytes += content.Size
			r.cur.BytesNew += content.Size
			r.mu.Unlock()
			r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: v})
			return nil
		}
		if errors.Is(err, graphapi.ErrNotFound) {
			// Deleted since the delta page was read; the next delta says so.
			return nil
		}
		if fatal(ctx, err) {
			return err
		}
		lastErr = err
		if attempt < itemAttempts {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * itemPause):
			}
			// The download URL may have expired; ask for a fresh one.
			if fresh, ferr := r.Graph.DriveItem(ctx, r.DriveID, it.ID); ferr == nil {
				it = fresh
			}
		}
	}
	r.Log.Warn("item failed", "drive", r.DriveID, "item", it.ID, "err", lastErr)
	r.mu.Lock()
	r.failures = append(r.failures, catalog.ItemFailure{ItemID: it.ID, ContainerID: r.DriveID, Name: it.Name, Error: lastErr.Error()})
	r.cur.Failed++
	r.mu.Unlock()
	return nil
}

// fatal says whether an error stops the whole run rather than one item.
func fatal(ctx context.Context, err error) bool {
	var throttled *graphapi.ThrottledError
	var store *storeError
	return ctx.Err() != nil || errors.As(err, &throttled) || errors.As(err, &store) ||
		errors.Is(err, graphapi.ErrUnauthorized) || errors.Is(err, graphapi.ErrForbidden)
}

// ErrContentMismatch means the bytes received do not match the size or hash
// the service reported for the file.
var ErrContentMismatch = errors.New("downloaded content does not match the service's size or hash")

func (r *run) download(ctx context.Context, it graphapi.DriveItem) (vault.Content, error) {
	if r.Downloads != nil {
		if err := r.Downloads.Acquire(ctx, 1); err != nil {
			return vault.Content{}, err
		}
		defer r.Downloads.Release(1)
	}
	body, err := r.Graph.Download(ctx, r.DriveID, it)
	if err != nil {
		return vault.Content{}, err
	}
	defer body.Close()
	h := quickxor.New()
	src := &sourceReader{r: io.TeeReader(body, h)}
	content, err := r.Session.Store(ctx, src)
	if err != nil {
		if src.err != nil {
			return vault.Content{}, src.err // the download broke: this item's problem
		}
		return vault.Content{}, &storeError{err} // the vault broke: the run's problem
	}
	if content.Size != it.Size || (it.QuickXorHash != "" && quickxor.Base64(h) != it.QuickXorHash) {
		return vault.Content{}, fmt.Errorf("%w (got %d bytes)", ErrContentMismatch, content.Size)
	}
	return content, nil
}

// sourceReader remembers a read error of the download, to tell it apart
// from a failure of the vault.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// storeError is a failure to store content (blob upload, index): the
// vault session is unusable and the whole run must be retried.
type storeError struct{ err error }

func (e *storeError) Error() string { return "storing content: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// loadTree reads the drive's current folders, to place items by path.
func (r *run) loadTree(ctx context.Context) error {
	folders, err := r.Catalog.CurrentFolders(ctx, r.Key, r.DriveID)
	if err != nil {
		return err
	}
	r.tree = &folderTree{folders: map[string]folderNode{}}
	for _, f := range folders {
		if f.Kind == string(graphapi.KindRoot) {
			r.tree.root = f.ItemID
			continue
		}
		r.tree.folders[f.ItemID] = folderNode{name: f.Name, parent: f.ParentID}
	}
	return nil
}

// learnFolders updates the tree with a page's folders (before any item of
// the page is placed: a page may list a file before its folder).
func (r *run) learnFolders(items []graphapi.DriveItem) {
	for _, it := range items {
		switch {
		case it.Kind == graphapi.KindRoot:
			r.tree.root = it.ID
		case it.Deleted:
			delete(r.tree.folders, it.ID)
		case it.Kind != graphapi.KindFile:
			r.tree.folders[it.ID] = folderNode{name: it.Name, parent: it.ParentID}
		}
	}
}

func (r *run) excluded(it graphapi.DriveItem) bool {
	if it.Kind == graphapi.KindRoot {
		return false
	}
	p, ok := r.tree.pathOf(it.ParentID, it.Name)
	return ok && r.Exclude.Match(p, it.Kind != graphapi.KindFile)
}
