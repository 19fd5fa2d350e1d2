package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
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

// Config is what every container backup needs.
type Config struct {
	Catalog     *catalog.Store
	Session     *vault.Session
	Key         catalog.UserApp
	Snapshot    int64
	ContainerID string

	// Concurrency bounds parallel fetches within the container (default 8).
	Concurrency int
	// Downloads, when set, bounds fetches across every container the
	// worker is backing up: each holds a slot while it streams into the
	// vault, which bounds the worker's memory.
	Downloads *semaphore.Weighted
	// FlushBytes is how much new content may wait in the vault session
	// before it is uploaded and its items staged (default 32 MiB). It
	// bounds the work a crash can cost.
	FlushBytes int64
	// FlushEvery bounds the time between durable steps (default 30 s).
	FlushEvery time.Duration
	// Progress receives the cursor each time it becomes durable.
	Progress func(Cursor)
	Log      *slog.Logger
}

func (c *Config) defaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.FlushBytes <= 0 {
		c.FlushBytes = 32 << 20
	}
	if c.FlushEvery <= 0 {
		c.FlushEvery = 30 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// itemAttempts is how often one item is tried before it is recorded as
// failed (the Graph client retries each request too), with itemPause
// times the attempt number between tries.
const itemAttempts = 3

var itemPause = time.Second

// runner is the machinery every container backup shares: the cursor,
// items waiting for their pack, failures, durable steps.
type runner struct {
	*Config
	cur       Cursor
	pending   []catalog.StagedItem // durable in the vault once flushed
	failures  []catalog.ItemFailure
	newBytes  int64 // content stored since the last flush
	lastFlush time.Time
	mu        sync.Mutex
}

func newRunner(c *Config, from Cursor) *runner {
	c.defaults()
	return &runner{Config: c, cur: from, lastFlush: time.Now()}
}

// begin sets a new run's cursor at the container's committed delta link
// (none: a full enumeration).
func (r *runner) begin(ctx context.Context) error {
	if r.cur.Started {
		return nil
	}
	link, err := r.Catalog.DeltaLink(ctx, r.Key, r.ContainerID)
	if err != nil {
		return err
	}
	r.cur = Cursor{Started: true, Link: link, Full: link == ""}
	return nil
}

// pageFunc fetches and processes the page at link, returning the next
// page's link or, at the end, the delta link to keep.
type pageFunc func(ctx context.Context, link string) (next, delta string, err error)

// loop pages through the container from the cursor. An expired delta link
// starts a full enumeration; the commit then closes whatever it did not see.
func (r *runner) loop(ctx context.Context, what string, page pageFunc) error {
	resyncs := 0
	for {
		next, delta, err := page(ctx, r.cur.Link)
		if errors.Is(err, graphapi.ErrResyncRequired) {
			if r.cur.Link == "" || resyncs > 2 {
				return fmt.Errorf("%s: full enumeration refused: %w", what, err)
			}
			resyncs++
			r.Log.Info("delta link expired, enumerating in full", "container", what)
			r.cur.Link, r.cur.Full = "", true
			continue
		}
		if err != nil {
			return err
		}
		if next != "" {
			if r.due() {
				if err := r.flush(ctx, next); err != nil {
					return err
				}
			} else {
				r.cur.Link = next
			}
			continue
		}
		if err := r.flush(ctx, delta); err != nil {
			return err
		}
		return r.Catalog.FinishContainer(ctx, catalog.SnapshotContainer{SnapshotID: r.Snapshot,
			ContainerID: r.ContainerID, Reenumerated: r.cur.Full, DeltaLink: delta,
			Items: r.cur.Items, Bytes: r.cur.BytesNew})
	}
}

// result ends a run: on error it saves what is complete (it makes the
// retry cheaper) and returns the error.
func (r *runner) result(ctx context.Context, err error) (Result, error) {
	if err != nil {
		if ferr := r.flush(context.WithoutCancel(ctx), r.cur.Link); ferr != nil {
			r.Log.Warn("saving progress failed", "container", r.ContainerID, "err", ferr)
		}
		return Result{}, err
	}
	return Result{Items: r.cur.Items, Changed: r.cur.Changed, Failed: r.cur.Failed,
		BytesNew: r.cur.BytesNew, Reenumerated: r.cur.Full}, nil
}

// due says whether enough is waiting to make it durable now.
func (r *runner) due() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.newBytes >= r.FlushBytes || len(r.pending) >= 5000 || time.Since(r.lastFlush) >= r.FlushEvery
}

// flush uploads the session's pack, stages what waited for it, and reports
// next as the cursor: everything before it is now durable.
func (r *runner) flush(ctx context.Context, next string) error {
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

func (r *runner) stage(s catalog.StagedItem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, s)
	if s.Op != catalog.OpSeen {
		r.cur.Changed++
	}
}

// unchanged notes an item a full enumeration saw unchanged.
func (r *runner) unchanged(id string) {
	if r.cur.Full {
		r.stage(catalog.StagedItem{Op: catalog.OpSeen, ItemVersion: catalog.ItemVersion{ItemID: id, ContainerID: r.ContainerID}})
	}
}

// removed stages the deletion of a known item.
func (r *runner) removed(id string) {
	r.stage(catalog.StagedItem{Op: catalog.OpDelete, ItemVersion: catalog.ItemVersion{ItemID: id, ContainerID: r.ContainerID}})
}

// counted adds content fetched and stored.
func (r *runner) counted(n int64) {
	r.mu.Lock()
	r.newBytes += n
	r.cur.BytesNew += n
	r.mu.Unlock()
}

// attempt runs one item's fetch up to itemAttempts times. Failures that are
// the item's own are recorded (name and why) and the run goes on; failures
// of the run (throttling, auth, the vault, cancellation) stop it. retry,
// if set, refreshes what the next attempt works from.
func (r *runner) attempt(ctx context.Context, id, name string, fetch func() error, retry func()) error {
	var lastErr error
	for n := 1; n <= itemAttempts; n++ {
		err := fetch()
		if err == nil || errors.Is(err, graphapi.ErrNotFound) {
			// Gone since the page was read: the next delta says so.
			return nil
		}
		if fatal(ctx, err) {
			return err
		}
		lastErr = err
		if n < itemAttempts {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(n) * itemPause):
			}
			if retry != nil {
				retry()
			}
		}
	}
	r.Log.Warn("item failed", "container", r.ContainerID, "item", id, "err", lastErr)
	r.mu.Lock()
	r.failures = append(r.failures, catalog.ItemFailure{ItemID: id, ContainerID: r.ContainerID, Name: name, Error: lastErr.Error()})
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

// store streams body into the vault, telling a broken download (the
// item's problem) from a broken vault (the run's).
func (r *runner) store(ctx context.Context, body io.Reader) (vault.Content, error) {
	src := &sourceReader{r: body}
	content, err := r.Session.Store(ctx, src)
	if err != nil {
		if src.err != nil {
			return vault.Content{}, src.err
		}
		return vault.Content{}, &storeError{err}
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

// latest keeps the last of each item a delta page lists (a delta may list
// an item more than once; the last one is current), in first-seen order,
// and returns the catalog's current versions of them.
func latest[T any](ctx context.Context, r *runner, items []T, id func(T) string) ([]T, map[string]catalog.ItemVersion, error) {
	last := make(map[string]int, len(items))
	var order []string
	for i, it := range items {
		k := id(it)
		if _, seen := last[k]; !seen {
			order = append(order, k)
		}
		last[k] = i
	}
	out := make([]T, len(order))
	for i, k := range order {
		out[i] = items[last[k]]
	}
	current, err := r.Catalog.CurrentVersions(ctx, r.Key, order)
	return out, current, err
}
