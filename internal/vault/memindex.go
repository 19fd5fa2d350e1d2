package vault

import (
	"context"
	"sync"
)

// MemIndex is an in-memory Index for tests and benchmarks. It is safe for
// concurrent use.
type MemIndex struct {
	mu      sync.RWMutex
	tenants map[string]*memTenant
}

type memTenant struct {
	chunks map[ChunkID]Location
	packs  map[string]PackInfo
}

// NewMemIndex returns an empty MemIndex.
func NewMemIndex() *MemIndex {
	return &MemIndex{tenants: make(map[string]*memTenant)}
}

// Lookup implements Index.
func (m *MemIndex) Lookup(ctx context.Context, tenantID string, ids []ChunkID) (map[ChunkID]Location, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	found := make(map[ChunkID]Location)
	t := m.tenants[tenantID]
	if t == nil {
		return found, nil
	}
	for _, id := range ids {
		if loc, ok := t.chunks[id]; ok {
			found[id] = loc
		}
	}
	return found, nil
}

// AddPack implements Index: the pack and its new chunks are recorded
// together; chunks already indexed keep their first location.
func (m *MemIndex) AddPack(ctx context.Context, tenantID string, pack PackInfo, entries []IndexEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenants[tenantID]
	if t == nil {
		t = &memTenant{chunks: make(map[ChunkID]Location), packs: make(map[string]PackInfo)}
		m.tenants[tenantID] = t
	}
	t.packs[pack.ID] = pack
	for _, e := range entries {
		if _, ok := t.chunks[e.ID]; ok {
			continue
		}
		loc := e.Location
		loc.PackID, loc.KeyID = pack.ID, pack.KeyID
		t.chunks[e.ID] = loc
	}
	return nil
}

// Packs returns the tenant's recorded packs by ID.
func (m *MemIndex) Packs(tenantID string) map[string]PackInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]PackInfo)
	if t := m.tenants[tenantID]; t != nil {
		for id, p := range t.packs {
			out[id] = p
		}
	}
	return out
}

// Len returns how many chunks the tenant has indexed.
func (m *MemIndex) Len(tenantID string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if t := m.tenants[tenantID]; t != nil {
		return len(t.chunks)
	}
	return 0
}

// RemovePack forgets a pack and every chunk located in it, as retention's
// GC does in the catalog before deleting the pack object.
func (m *MemIndex) RemovePack(tenantID, packID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenants[tenantID]
	if t == nil {
		return
	}
	delete(t.packs, packID)
	for id, loc := range t.chunks {
		if loc.PackID == packID {
			delete(t.chunks, id)
		}
	}
}

var _ Index = (*MemIndex)(nil)
