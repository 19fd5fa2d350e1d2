package vault

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// ChunkID names a chunk: HMAC-SHA-256 of its plaintext under the tenant's
// chunk-ID key, so equal data deduplicates within a tenant without the ID
// revealing the content.
type ChunkID [32]byte

func (id ChunkID) String() string { return hex.EncodeToString(id[:]) }

// ParseChunkID parses the hex form produced by String.
func ParseChunkID(s string) (ChunkID, error) {
	var id ChunkID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("vault: bad chunk id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// Location says where a stored chunk lives inside a pack.
type Location struct {
	PackID string // pack object name within the tenant (not the full blob key)
	Offset int64  // byte offset of the sealed chunk in the pack
	Length int64  // sealed (compressed+encrypted) length in the pack
	RawLen int64  // plaintext length
	// KeyID is the data-key generation that sealed the chunk: the KeyID of
	// its pack's PackInfo. Lookup must fill it (a join on the pack); in
	// AddPack entries it always equals pack.KeyID, so storing it per chunk
	// is optional.
	KeyID string
}

// IndexEntry is one chunk of a pack.
type IndexEntry struct {
	ID ChunkID
	Location
}

// PackInfo describes an uploaded pack.
type PackInfo struct {
	ID        string
	KeyID     string // data-key generation that sealed the pack's chunks
	Size      int64
	Chunks    int
	CreatedAt time.Time
}

// Index maps chunks to their packs. It is implemented by the catalog
// (internal/catalog) and, for tests, by MemIndex. A chunk is in the index
// only after the upload of its pack succeeded.
type Index interface {
	// Lookup returns the locations of those ids that are stored; ids that
	// are not stored are absent from the map.
	Lookup(ctx context.Context, tenantID string, ids []ChunkID) (map[ChunkID]Location, error)
	// AddPack records an uploaded pack and the chunks it holds, atomically.
	// Entries whose chunk is already indexed (a concurrent writer stored the
	// same chunk) are ignored: the first pack keeps it.
	AddPack(ctx context.Context, tenantID string, pack PackInfo, entries []IndexEntry) error
}
