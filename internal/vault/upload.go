package vault

import (
	"context"
	"fmt"
	"time"

	"gocloud.dev/blob"
)

// newPackBuilder starts a pack object; chunks stream into it as they are
// sealed.
func (v *Vault) newPackBuilder(tenantID string) (*packBuilder, error) {
	p := &packBuilder{id: newPackID(), done: make(chan struct{})}
	// The writer outlives the Store that started the pack; it is cancelled
	// (and the object dropped) if the pack is abandoned.
	ctx, cancel := context.WithCancel(context.Background())
	w, err := v.bucket.NewWriter(ctx, packKey(tenantID, p.id), &blob.WriterOptions{
		ContentType:                 "application/octet-stream",
		DisableContentTypeDetection: true,
	})
	if err != nil {
		cancel()
		return nil, partErr(p.id, "", fmt.Errorf("upload: %w", err))
	}
	p.w, p.cancel = w, cancel
	return p, nil
}

// upload finishes a pack (trailer, footer, close) and records it in the
// index. Only then are its chunks stored; on any failure the session dies
// and the pack's chunks are forgotten. The caller holds p.wmu.
func (s *Session) upload(ctx context.Context, p *packBuilder) error {
	defer close(p.done)
	packID, size, err := p.finish(s.keys)
	if err != nil {
		err = partErr(packID, "", fmt.Errorf("upload: %w", err))
	}
	if err == nil {
		info := PackInfo{
			ID:        packID,
			KeyID:     s.keys.KeyID(),
			Size:      size,
			Chunks:    len(p.entries),
			CreatedAt: time.Now().UTC(),
		}
		for i := range p.entries {
			p.entries[i].PackID, p.entries[i].KeyID = packID, info.KeyID
		}
		if err = s.v.index.AddPack(ctx, s.tenantID, info, p.entries); err != nil {
			// The object is stored but unreferenced: retention's GC (or
			// ListPacks against the index) finds it.
			err = partErr(packID, "", fmt.Errorf("index: %w", err))
		}
	}

	s.mu.Lock()
	delete(s.inflight, p)
	if err != nil {
		s.failLocked(err)
		err = s.failed
	} else {
		for _, e := range p.entries {
			delete(s.pending, e.ID)
			s.rememberIndexedLocked(e.ID)
		}
	}
	s.mu.Unlock()

	if err == nil {
		s.stats.packs.Add(1)
		s.stats.storedBytes.Add(size)
	}
	p.entries = nil
	return err
}
