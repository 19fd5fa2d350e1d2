package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/holdfast/holdfast/internal/keys"
)

const (
	// readAhead is how many chunks Open fetches and decrypts ahead of the
	// reader: enough to overlap a ranged GET with decryption on 2 cores,
	// while memory stays bounded at about readAhead × 3 × MaxChunkSize.
	readAhead = 4
	// lookupBatch bounds the IDs per index Lookup (SQL parameter limits).
	lookupBatch = 500
)

// Open streams the plaintext of c in order. Each chunk is fetched with a
// ranged read of its pack, decrypted with the keyring generation that
// sealed it, decompressed, and checked against its ID. Any tampered,
// truncated or missing byte fails the read with a *PackError naming the
// pack and chunk; every chunk is located before the first byte is returned,
// so a chunk missing from the index fails Open itself.
func (v *Vault) Open(ctx context.Context, tenantID string, ring *keys.Keyring, c Content) (io.ReadCloser, error) {
	if !validTenantID(tenantID) {
		return nil, errBadTenant(tenantID)
	}
	if ring == nil {
		return nil, errors.New("vault: open: no keyring")
	}
	locs, err := v.locate(ctx, tenantID, c.Chunks)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &contentReader{
		cancel:  cancel,
		futures: make(chan chan fetched, readAhead),
		want:    c.Size,
	}
	go v.prefetch(ctx, tenantID, ring, c.Chunks, locs, r.futures)
	return r, nil
}

// locate looks up every chunk of a content.
func (v *Vault) locate(ctx context.Context, tenantID string, ids []ChunkID) (map[ChunkID]Location, error) {
	locs := make(map[ChunkID]Location, len(ids))
	batch := make([]ChunkID, 0, min(len(ids), lookupBatch))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		found, err := v.index.Lookup(ctx, tenantID, batch)
		if err != nil {
			return fmt.Errorf("vault: index lookup: %w", err)
		}
		for _, id := range batch {
			loc, ok := found[id]
			if !ok {
				return fmt.Errorf("vault: chunk %s: %w", id, errNotIndexed)
			}
			locs[id] = loc
		}
		batch = batch[:0]
		return nil
	}
	for _, id := range ids {
		if _, seen := locs[id]; seen {
			continue
		}
		locs[id] = Location{} // placeholder: dedupe within the batch
		batch = append(batch, id)
		if len(batch) == lookupBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return locs, nil
}

// fetched is one chunk's plaintext (aliasing bufs) or the error fetching it.
type fetched struct {
	plain []byte
	bufs  *chunkBufs
	err   error
}

// prefetch starts fetching chunks in order, at most readAhead ahead of the
// reader (futures is that deep), each in its own goroutine.
func (v *Vault) prefetch(ctx context.Context, tenantID string, ring *keys.Keyring, ids []ChunkID, locs map[ChunkID]Location, futures chan<- chan fetched) {
	defer close(futures)
	for _, id := range ids {
		f := make(chan fetched, 1)
		select {
		case futures <- f:
		case <-ctx.Done():
			return
		}
		go func(id ChunkID, loc Location) {
			bufs := getChunkBufs()
			plain, err := v.fetchChunk(ctx, tenantID, ring, id, loc, bufs)
			if err != nil {
				putChunkBufs(bufs)
				bufs = nil
			}
			f <- fetched{plain: plain, bufs: bufs, err: err}
		}(id, locs[id])
	}
}

// fetchChunk reads one sealed chunk with a ranged read and opens it.
func (v *Vault) fetchChunk(ctx context.Context, tenantID string, ring *keys.Keyring, id ChunkID, loc Location, bufs *chunkBufs) ([]byte, error) {
	if !validPackID(loc.PackID) {
		return nil, fmt.Errorf("vault: chunk %s: %w", id, corruption(fmt.Sprintf("index has a bad pack id %.70q", loc.PackID)))
	}
	k, ok := ring.Get(loc.KeyID)
	if !ok {
		return nil, chunkErr(loc.PackID, id, fmt.Errorf("data key generation %q is not in the keyring", loc.KeyID))
	}
	if loc.Offset < 0 || loc.Length < sealOverhead || loc.Length > maxSealedChunk {
		return nil, chunkErr(loc.PackID, id, corruption(fmt.Sprintf("index has an impossible location (offset %d, length %d)", loc.Offset, loc.Length)))
	}
	bufs.sealed = slices.Grow(bufs.sealed[:0], int(loc.Length))
	sealed := bufs.sealed[:loc.Length]
	if err := v.readRangeInto(ctx, packKey(tenantID, loc.PackID), loc.Offset, sealed); err != nil {
		return nil, chunkErr(loc.PackID, id, err)
	}
	plain, err := bufs.open(k, id, sealed, loc.RawLen)
	if err != nil {
		return nil, chunkErr(loc.PackID, id, err)
	}
	return plain, nil
}

var errClosed = errors.New("vault: read after close")

// contentReader hands out prefetched chunks in order.
type contentReader struct {
	cancel  context.CancelFunc
	futures chan chan fetched
	cur     fetched
	off     int   // read position in cur.plain
	read    int64 // bytes returned so far
	want    int64 // Content.Size
	err     error // sticky
	closed  bool
}

func (r *contentReader) Read(p []byte) (int, error) {
	for r.off == len(r.cur.plain) {
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	n := copy(p, r.cur.plain[r.off:])
	r.off += n
	r.read += int64(n)
	return n, nil
}

// WriteTo hands each chunk's plaintext straight to w (io.Copy uses it),
// saving a copy through an intermediate buffer.
func (r *contentReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.off < len(r.cur.plain) {
			n, err := w.Write(r.cur.plain[r.off:])
			r.off += n
			r.read += int64(n)
			total += int64(n)
			if err != nil {
				return total, err
			}
			continue
		}
		if r.err == io.EOF {
			return total, nil
		}
		if r.err != nil {
			return total, r.err
		}
		r.next()
	}
}

// next replaces the consumed chunk with the next one, or sets r.err (io.EOF
// at a clean end).
func (r *contentReader) next() {
	r.release()
	f, ok := <-r.futures
	if !ok {
		r.err = io.EOF
		if r.read != r.want {
			r.err = corruption(fmt.Sprintf("vault: content is %d bytes, its chunks hold %d", r.want, r.read))
		}
		return
	}
	r.cur, r.off = <-f, 0
	if r.cur.err != nil {
		r.err = r.cur.err
	}
}

// release returns the current chunk's buffers.
func (r *contentReader) release() {
	if r.cur.bufs != nil {
		putChunkBufs(r.cur.bufs)
	}
	r.cur, r.off = fetched{}, 0
}

// Close stops the prefetching and releases buffers. In-flight fetches are
// canceled; their buffers go to the GC.
func (r *contentReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.cancel()
	r.release()
	r.err = errClosed
	return nil
}
