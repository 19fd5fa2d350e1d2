package retention

import (
	"hash/maphash"
	"math"
)

// ChunkSet is the mark of retention's garbage collection: the chunks item
// versions reference. It is a Bloom filter, so it can answer "maybe" for a
// chunk never added (a false positive) but never "no" for one that was:
// GC keeps every chunk the set might hold, so an error can only keep some
// garbage for one more run — never delete a referenced chunk. Each set
// hashes with its own random seeds, so the few chunks one run keeps by
// mistake are a different few the next run.
//
// Sized at about 15 bits per expected chunk (false positives ≈ 0.1%), a
// tenant of ten million chunks (ten terabytes at a 1 MiB average chunk)
// marks in ~19 MB, where a Go map of the 32-byte IDs would take over
// half a gigabyte.
type ChunkSet struct {
	bits   []uint64
	m      uint64 // number of bits
	k      int    // probes per chunk
	s1, s2 maphash.Seed
	n      int64
}

const (
	bitsPerChunk = 15 // with k = 10: false positives ≈ 0.1% at the expected size
	probes       = 10
)

// NewChunkSet returns an empty set sized for about expected chunks.
// Adding more raises the false-positive rate (keeping more garbage for a
// run), never the risk of deleting a referenced chunk.
func NewChunkSet(expected int64) *ChunkSet {
	expected = max(expected, 1024)
	m := uint64(expected) * bitsPerChunk
	m = (m + 63) &^ 63
	return &ChunkSet{bits: make([]uint64, m/64), m: m, k: probes, s1: maphash.MakeSeed(), s2: maphash.MakeSeed()}
}

// Add marks a chunk (its 32-byte ID, or any byte string naming it).
func (c *ChunkSet) Add(id []byte) {
	h1, h2 := c.hash(id)
	for i := range c.k {
		b := (h1 + uint64(i)*h2) % c.m
		c.bits[b/64] |= 1 << (b % 64)
	}
	c.n++
}

// Has reports whether a chunk may have been added: always true for one
// that was, rarely true for one that was not.
func (c *ChunkSet) Has(id []byte) bool {
	h1, h2 := c.hash(id)
	for i := range c.k {
		b := (h1 + uint64(i)*h2) % c.m
		if c.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// Added is how many Adds the set took (duplicates included).
func (c *ChunkSet) Added() int64 { return c.n }

// FalsePositiveRate estimates the chance that Has says yes for a chunk
// never added, from the number of Adds.
func (c *ChunkSet) FalsePositiveRate() float64 {
	return math.Pow(1-math.Exp(-float64(c.k)*float64(c.n)/float64(c.m)), float64(c.k))
}

func (c *ChunkSet) hash(id []byte) (uint64, uint64) {
	// Double hashing (Kirsch–Mitzenmacher): probe i is h1 + i·h2; h2 odd
	// so the probes differ.
	return maphash.Bytes(c.s1, id), maphash.Bytes(c.s2, id) | 1
}
