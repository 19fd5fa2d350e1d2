package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/holdfast/holdfast/internal/keys"
)

// Session stores content for one tenant under one data-key generation. It
// is safe for concurrent use: a backup activity stores several items at once
// through one session, and they share its pending pack.
//
// A session whose pack upload (or index update) failed is dead: every later
// Store and Flush returns that error, because Contents it already returned
// may refer to chunks that were in the lost pack. Nothing of that pack is
// indexed, so storing again in a new session (what a retried activity does)
// re-stores them.
type Session struct {
	v        *Vault
	tenantID string
	keys     *keys.TenantKeys
	sem      chan struct{} // sealing slots: Options.Concurrency
	invalid  error         // bad tenant or key ID: every call fails

	mu       sync.Mutex
	failed   error                     // sticky: a pack upload failed
	pack     *packBuilder              // pending pack; nil when empty
	pending  map[ChunkID]*pendingChunk // sealed (or being sealed) here, not yet indexed
	indexed  map[ChunkID]struct{}      // known to be indexed: saves Lookups
	inflight map[*packBuilder]struct{} // packs being uploaded

	stats sessionCounters
}

// pendingChunk is a new chunk claimed by one Store; others that meet the
// same chunk wait for appended before they return (so a Flush after their
// Store covers it).
type pendingChunk struct {
	appended chan struct{}
}

// maxIndexedCache bounds the session's cache of indexed chunk IDs
// (~64 bytes each); past it the cache restarts and Lookup answers again.
const maxIndexedCache = 1 << 16

// NewSession starts storing content for tenantID sealed with k (the
// keyring's Current generation).
func (v *Vault) NewSession(tenantID string, k *keys.TenantKeys) *Session {
	s := &Session{
		v:        v,
		tenantID: tenantID,
		keys:     k,
		sem:      make(chan struct{}, v.opts.Concurrency),
		pending:  make(map[ChunkID]*pendingChunk),
		indexed:  make(map[ChunkID]struct{}),
		inflight: make(map[*packBuilder]struct{}),
	}
	switch {
	case !validTenantID(tenantID):
		s.invalid = errBadTenant(tenantID)
	case k == nil:
		s.invalid = errors.New("vault: session has no keys")
	case !validKeyID(k.KeyID()):
		s.invalid = fmt.Errorf("vault: key ID %.70q does not fit a pack footer", k.KeyID())
	}
	return s
}

// Store splits r into content-defined chunks, skips those already stored
// (in the index, or earlier in this session), and seals the new ones into
// the pending pack, uploading it each time it reaches the pack size. Only
// the pending pack and a few chunks are in memory, never the whole stream.
//
// The returned Content is durable once a later Flush returns nil.
func (s *Session) Store(ctx context.Context, r io.Reader) (Content, error) {
	if err := s.err(); err != nil {
		return Content{}, err
	}
	ch, err := newChunker(r, s.keys.ChunkerKey())
	if err != nil {
		return Content{}, err
	}
	defer ch.Close()

	var (
		c      Content
		jobs   sync.WaitGroup
		jobMu  sync.Mutex
		jobErr error
		waits  []*pendingChunk
	)
	// finish waits for this Store's sealing jobs (they always complete: they
	// hold claims other Stores wait on) and for chunks claimed by others.
	finish := func(err error) (Content, error) {
		jobs.Wait()
		if err == nil {
			err = jobErr
		}
		for _, p := range waits {
			if err != nil {
				break
			}
			select {
			case <-p.appended:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if err == nil {
			err = s.err()
		}
		if err != nil {
			return Content{}, err
		}
		return c, nil
	}

	for {
		if err := ctx.Err(); err != nil {
			return finish(err)
		}
		if err := s.err(); err != nil {
			return finish(err)
		}
		data, err := ch.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return finish(fmt.Errorf("vault: store: read: %w", err))
		}
		id := ChunkID(s.keys.ChunkID(data))
		c.Chunks = append(c.Chunks, id)
		c.Size += int64(len(data))
		s.stats.rawBytes.Add(int64(len(data)))

		p, isNew, err := s.claim(ctx, id)
		if err != nil {
			return finish(err)
		}
		if !isNew {
			s.stats.dedupChunks.Add(1)
			if p != nil {
				waits = append(waits, p)
			}
			continue
		}
		// Take a sealing slot before the buffers, so at most Concurrency
		// chunk copies exist. Not ctx-aware: a claimed chunk must be sealed.
		s.sem <- struct{}{}
		bufs := getChunkBufs()
		bufs.load(data)
		jobs.Add(1)
		go func() {
			defer jobs.Done()
			if err := s.sealAndAppend(ctx, id, bufs, p); err != nil {
				jobMu.Lock()
				if jobErr == nil {
					jobErr = err
				}
				jobMu.Unlock()
			}
		}()
	}
	return finish(nil)
}

// claim decides whether this Store must seal chunk id (isNew) or it is
// already stored; p is set when another Store of this session holds it.
func (s *Session) claim(ctx context.Context, id ChunkID) (p *pendingChunk, isNew bool, err error) {
	s.mu.Lock()
	if _, ok := s.indexed[id]; ok {
		s.mu.Unlock()
		return nil, false, nil
	}
	if p := s.pending[id]; p != nil {
		s.mu.Unlock()
		return p, false, nil
	}
	s.mu.Unlock()

	found, err := s.v.index.Lookup(ctx, s.tenantID, []ChunkID{id})
	if err != nil {
		return nil, false, fmt.Errorf("vault: index lookup: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := found[id]; ok {
		s.rememberIndexedLocked(id)
		return nil, false, nil
	}
	// Another Store of this session may have claimed (or even flushed) it
	// while we asked the index.
	if _, ok := s.indexed[id]; ok {
		return nil, false, nil
	}
	if p := s.pending[id]; p != nil {
		return p, false, nil
	}
	p = &pendingChunk{appended: make(chan struct{})}
	s.pending[id] = p
	return p, true, nil
}

// sealAndAppend compresses and encrypts one claimed chunk, appends it to
// the pending pack and, if that fills the pack, uploads it.
func (s *Session) sealAndAppend(ctx context.Context, id ChunkID, bufs *chunkBufs, p *pendingChunk) error {
	sealed := bufs.seal(s.keys, id)
	<-s.sem // the CPU-bound part is done
	rawLen := len(bufs.payload) - 1

	s.mu.Lock()
	if s.failed == nil && s.pack == nil {
		pack, err := s.v.newPackBuilder(s.tenantID)
		if err != nil {
			s.failLocked(err)
		}
		s.pack = pack
	}
	if s.failed != nil {
		close(p.appended)
		s.mu.Unlock()
		putChunkBufs(bufs)
		return s.failed
	}
	// Take the pack's write lock before letting go of the session's, so
	// chunks are written in the order they were appended; the write itself
	// runs without blocking the session.
	pack := s.pack
	pack.wmu.Lock()
	var full bool
	if pack.size+int64(len(sealed)) >= s.v.opts.PackSize {
		s.takePackLocked()
		full = true
	}
	s.mu.Unlock()

	pack.add(id, sealed, rawLen)
	close(p.appended)
	s.stats.newChunks.Add(1)
	s.stats.newBytes.Add(int64(rawLen))
	putChunkBufs(bufs)
	var err error
	if full {
		err = s.upload(ctx, pack)
	}
	pack.wmu.Unlock()
	return err
}

// Flush uploads the pending pack and waits for uploads other Stores
// started. After it returns nil, every Content that Store returned before
// the call is durable: all its chunks are indexed. Callers record their
// catalog rows only after Flush.
func (s *Session) Flush(ctx context.Context) error {
	if s.invalid != nil {
		return s.invalid
	}
	s.mu.Lock()
	if s.failed != nil {
		s.mu.Unlock()
		return s.failed
	}
	var mine *packBuilder
	if s.pack != nil {
		mine = s.takePackLocked()
	}
	waits := make([]chan struct{}, 0, len(s.inflight))
	for p := range s.inflight {
		if p != mine {
			waits = append(waits, p.done)
		}
	}
	s.mu.Unlock()

	if mine != nil {
		mine.wmu.Lock() // after the last chunk's write
		err := s.upload(ctx, mine)
		mine.wmu.Unlock()
		if err != nil {
			return err
		}
	}
	for _, done := range waits {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.err()
}

// takePackLocked moves the pending pack to the in-flight set.
func (s *Session) takePackLocked() *packBuilder {
	p := s.pack
	s.pack = nil
	s.inflight[p] = struct{}{}
	return p
}

func (s *Session) rememberIndexedLocked(id ChunkID) {
	if len(s.indexed) >= maxIndexedCache {
		clear(s.indexed)
	}
	s.indexed[id] = struct{}{}
}

// err is the reason the session cannot store, if any.
func (s *Session) err() error {
	if s.invalid != nil {
		return s.invalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// fail makes the session dead (see Session) and forgets its claims, so
// nothing in this process takes them for stored.
func (s *Session) failLocked(err error) {
	if s.failed == nil {
		s.failed = fmt.Errorf("vault: session failed, content stored since its last good Flush is not durable (store it again in a new session): %w", err)
	}
	clear(s.pending)
}

// Discard drops the pending pack, if any, without storing it. Call it when
// a session is abandoned (its run failed): the pack object is never
// written, and content stored since the last Flush is not durable.
func (s *Session) Discard() {
	s.mu.Lock()
	p := s.pack
	s.pack = nil
	if p != nil {
		s.failLocked(errors.New("session discarded"))
	}
	s.mu.Unlock()
	if p != nil {
		p.wmu.Lock()
		p.abort()
		p.wmu.Unlock()
	}
}
