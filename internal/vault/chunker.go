package vault

import (
	"bytes"
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

var (
	chunkerBufs = sync.Pool{New: func() any { b := make([]byte, chunkerBufSize); return &b }}
	// smallBufs hold the head of a stream: content no longer than
	// MinChunkSize is one chunk whatever the algorithm, so most Microsoft
	// 365 items never need the chunker's 8 MiB scan buffer.
	smallBufs = sync.Pool{New: func() any { b := make([]byte, MinChunkSize+1); return &b }}
)

// chunker splits a stream into content-defined chunks. The slice Next
// returns is valid only until the next call.
type chunker struct {
	c     *chunkers.Chunker // nil when the whole stream fit in head
	buf   *[]byte
	head  *[]byte
	small []byte // the one chunk of a short stream, until Next returns it
	done  bool
}

func newChunker(r io.Reader, key []byte) (*chunker, error) {
	head := smallBufs.Get().(*[]byte)
	n, err := io.ReadFull(r, *head)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		return &chunker{head: head, small: (*head)[:n]}, nil
	case nil:
	default:
		smallBufs.Put(head)
		return nil, err
	}
	buf := chunkerBufs.Get().(*[]byte)
	opts := &chunkers.ChunkerOpts{MinSize: MinChunkSize, NormalSize: AvgChunkSize, MaxSize: MaxChunkSize, Key: key}
	c, err := chunkers.NewChunkerBuffer(chunkerAlgorithm, io.MultiReader(bytes.NewReader((*head)[:n]), r), opts, *buf)
	if err != nil {
		chunkerBufs.Put(buf)
		smallBufs.Put(head)
		return nil, fmt.Errorf("vault: chunker: %w", err)
	}
	return &chunker{c: c, buf: buf, head: head}, nil
}

// Next returns the next chunk, or io.EOF (with no chunk) at the end.
func (c *chunker) Next() ([]byte, error) {
	if c.c == nil {
		if c.done || len(c.small) == 0 {
			return nil, io.EOF
		}
		c.done = true
		return c.small, nil
	}
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

// Close returns the buffers to their pools; the last chunk is invalid after.
func (c *chunker) Close() {
	if c.buf != nil {
		chunkerBufs.Put(c.buf)
		c.buf = nil
	}
	if c.head != nil {
		smallBufs.Put(c.head)
		c.head = nil
	}
}
