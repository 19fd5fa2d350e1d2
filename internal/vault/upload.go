package vault

import (
	"context"
	"fmt"
	"time"

	"gocloud.dev/blob"
)

// newPackBuilder returns an empty pack with a pooled buffer large enough
// for a full pack, its last chunk and a typical trailer.
func (v *Vault) newPackBuilder() *packBuilder {
	p := &packBuilder{id: newPackID(), done: make(chan struct{})}
	if b, ok := v.packBufs.Get().(*[]byte); ok {
		p.buf = (*b)[:0]
	} else {
		p.buf = make([]byte, 0, v.opts.PackSize+maxSealedChunk+64<<10)
	}
	return p
}

// upload finishes a pack, writes it with one PUT and records it in the
// index. Only then are its chunks stored; on any failure the session dies
// and the pack's chunks are forgotten.
func (s *Session) upload(ctx context.Context, p *packBuilder) error {
	defer close(p.done)
	packID := p.finish(s.keys)
	err := s.v.writePack(ctx, s.tenantID, packID, p.buf)
	if err == nil {
		info := PackInfo{
			ID:        packID,
			KeyID:     s.keys.KeyID(),
			Size:      int64(len(p.buf)),
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
		s.stats.storedBytes.Add(int64(len(p.buf)))
	}
	buf := p.buf[:0]
	p.buf, p.entries = nil, nil
	s.v.packBufs.Put(&buf)
	return err
}

// writePack stores a pack object. No ContentMD5: blob.WriteAll would hash
// every pack with MD5 (as costly as sealing it); every byte is
// authenticated, and drivers checksum their transfers.
func (v *Vault) writePack(ctx context.Context, tenantID, packID string, data []byte) error {
	w, err := v.bucket.NewWriter(ctx, packKey(tenantID, packID), &blob.WriterOptions{
		ContentType:                 "application/octet-stream",
		DisableContentTypeDetection: true,
	})
	if err != nil {
		return partErr(packID, "", fmt.Errorf("upload: %w", err))
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return partErr(packID, "", fmt.Errorf("upload: %w", err))
	}
	if err := w.Close(); err != nil {
		return partErr(packID, "", fmt.Errorf("upload: %w", err))
	}
	return nil
}
