package vault

import (
	"fmt"
	"io"
	"sync"

	chunkers "github.com/PlakarKorp/go-cdc-chunkers"
	_ "github.com/PlakarKorp/go-cdc-chunkers/chunkers/fastcdc" // registers fastcdc-v1.0.0
)

// Content-defined chunking parameters. Changing any of them (or the
// algorithm, or keys.ChunkerKey) moves every chunk boundary and so defeats
// deduplication against everything already stored: treat them as format.
//
// Microsoft 365 content is mostly small items (mail, events, contacts: a
// few KiB to a few hundred KiB) plus large files (OneDrive, SharePoint).
//   - MinChunkSize 256 KiB: anything smaller is one chunk, so an item is
//     deduplicated whole (a re-fetched message costs one index lookup), and
//     no chunk is so small that its per-chunk cost (29 bytes of sealing,
//     40 of trailer, an index row) matters.
//   - AvgChunkSize 1 MiB: a 1 GiB file is ~1000 index rows, not ~130 000 as
//     with 8 KiB chunks, which keeps the SQL index small; a one-byte edit
//     re-stores about 1-2 MiB.
//   - MaxChunkSize 4 MiB: bounds the memory of each chunk in flight (the
//     chunker holds 2×max, each sealing job ~3×max).
//
// The algorithm is FastCDC (the versioned, spec-faithful variant) with a
// Gear table derived from the tenant's chunker key: with a public table
// the boundaries — and so the chunk sizes anyone with the bucket can infer —
// would fingerprint known files.
const (
	MinChunkSize = 256 << 10
	AvgChunkSize = 1 << 20
	MaxChunkSize = 4 << 20

	chunkerAlgorithm = "fastcdc-v1.0.0"
	// chunkerBufSize: 2×max lets the scan buffer refill in large strides
	// (the library measures ~20% faster than 1×max).
	chunkerBufSize = 2 * MaxChunkSize
)

var chunkerBufs = sync.Pool{New: func() any { b := make([]byte, chunkerBufSize); return &b }}

// chunker splits a stream into content-defined chunks. The slice Next
// returns is valid only until the next call.
type chunker struct {
	c   *chunkers.Chunker
	buf *[]byte
}

func newChunker(r io.Reader, key []byte) (*chunker, error) {
	buf := chunkerBufs.Get().(*[]byte)
	opts := &chunkers.ChunkerOpts{MinSize: MinChunkSize, NormalSize: AvgChunkSize, MaxSize: MaxChunkSize, Key: key}
	c, err := chunkers.NewChunkerBuffer(chunkerAlgorithm, r, opts, *buf)
	if err != nil {
		chunkerBufs.Put(buf)
		return nil, fmt.Errorf("vault: chunker: %w", err)
	}
	return &chunker{c: c, buf: buf}, nil
}

// Next returns the next chunk, or io.EOF (with no chunk) at the end.
func (c *chunker) Next() ([]byte, error) {
	for {
		data, err := c.c.Next()
		if len(data) > 0 {
			// The library may return the last chunk together with io.EOF;
			// hand it out now and report EOF on the next call.
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Close returns the scan buffer to the pool; the last chunk is invalid after.
func (c *chunker) Close() {
	if c.buf != nil {
		chunkerBufs.Put(c.buf)
		c.buf = nil
	}
}
