package vault

import "sync/atomic"

// SessionStats counts a session's work so far.
type SessionStats struct {
	ChunksNew     int64 // chunks sealed into packs by this session
	ChunksDeduped int64 // chunks already stored (indexed, or earlier in this session)
	BytesRaw      int64 // plaintext bytes passed to Store
	BytesNew      int64 // plaintext bytes of new chunks
	BytesStored   int64 // bytes of packs uploaded and indexed (sealed, with trailers)
	Packs         int64 // packs uploaded and indexed
}

type sessionCounters struct {
	newChunks, dedupChunks, rawBytes, newBytes, storedBytes, packs atomic.Int64
}

// Stats returns the session's counters.
func (s *Session) Stats() SessionStats {
	c := &s.stats
	return SessionStats{
		ChunksNew:     c.newChunks.Load(),
		ChunksDeduped: c.dedupChunks.Load(),
		BytesRaw:      c.rawBytes.Load(),
		BytesNew:      c.newBytes.Load(),
		BytesStored:   c.storedBytes.Load(),
		Packs:         c.packs.Load(),
	}
}
