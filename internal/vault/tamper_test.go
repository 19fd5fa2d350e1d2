package vault

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEveryTamperedByteDetected flips each byte of a small pack in turn, and
// truncates it at every length: VerifyPack must fail naming the pack and the
// chunk (or trailer/footer); Open must fail naming the pack and chunk when
// the damage is inside a chunk it reads, and otherwise return exactly the
// original content — never wrong bytes, never a panic.
func TestEveryTamperedByteDetected(t *testing.T) {
	ctx := context.Background()
	k, ring := tenantKeys(t)
	idx := NewMemIndex()
	bucket := memBucket(t)
	v := New(bucket, idx, Options{})

	// Two items in one pack: one compressible (stored zstd), one not (raw).
	items := [][]byte{textBytes(1, 700), randomBytes(2, 300)}
	s := v.NewSession("t", k)
	var contents []Content
	for _, it := range items {
		c, err := s.Store(ctx, bytes.NewReader(it))
		require.NoError(t, err)
		contents = append(contents, c)
	}
	require.NoError(t, s.Flush(ctx))

	packs := packIDs(t, v, "t")
	require.Len(t, packs, 1)
	packID := packs[0]
	key := packKey("t", packID)
	orig, err := bucket.ReadAll(ctx, key)
	require.NoError(t, err)
	t.Logf("pack of %d bytes", len(orig))

	locs, err := idx.Lookup(ctx, "t", []ChunkID{contents[0].Chunks[0], contents[1].Chunks[0]})
	require.NoError(t, err)
	require.Less(t, locs[contents[0].Chunks[0]].Length, int64(len(items[0])), "text must be stored compressed")
	require.Equal(t, locs[contents[1].Chunks[0]].Length, int64(len(items[1])+sealOverhead), "random must be stored raw")

	// chunkAt names the chunk whose sealed bytes cover offset, if any.
	chunkAt := func(off int64) (ChunkID, bool) {
		for id, l := range locs {
			if off >= l.Offset && off < l.Offset+l.Length {
				return id, true
			}
		}
		return ChunkID{}, false
	}
	chunkPrefix := "vault: pack " + packID + ": chunk "

	check := func(t *testing.T, damaged []byte, chunkDamaged func(ChunkID) bool) {
		require.NoError(t, bucket.WriteAll(ctx, key, damaged, nil))

		_, err := v.VerifyPack(ctx, "t", ring, packID)
		require.Error(t, err)
		require.ErrorIs(t, err, ErrCorrupt)
		msg := err.Error()
		require.Contains(t, msg, "vault: pack "+packID+": ")
		require.True(t, strings.Contains(msg, ": chunk ") || strings.Contains(msg, ": trailer: ") ||
			strings.Contains(msg, ": footer: ") || strings.Contains(msg, "does not match the pack ID"), msg)
		var pe *PackError
		require.True(t, errors.As(err, &pe))

		for i, c := range contents {
			got, err := readBack(t, v, "t", ring, c)
			if chunkDamaged(c.Chunks[0]) {
				require.Error(t, err, "item %d", i)
				require.ErrorIs(t, err, ErrCorrupt)
				require.Contains(t, err.Error(), chunkPrefix+c.Chunks[0].String()+": ")
			} else {
				require.NoError(t, err, "item %d", i)
				require.Equal(t, items[i], got)
			}
		}
	}

	t.Run("flip", func(t *testing.T) {
		for off := range orig {
			damaged := bytes.Clone(orig)
			damaged[off] ^= 0x01 << (off % 8)
			hit, inChunk := chunkAt(int64(off))
			check(t, damaged, func(id ChunkID) bool { return inChunk && id == hit })
			if t.Failed() {
				t.Fatalf("undetected or misreported flip at offset %d", off)
			}
		}
	})
	t.Run("truncate", func(t *testing.T) {
		for n := range orig {
			check(t, orig[:n], func(id ChunkID) bool { return locs[id].Offset+locs[id].Length > int64(n) })
			if t.Failed() {
				t.Fatalf("undetected truncation to %d bytes", n)
			}
		}
	})
	t.Run("appended garbage", func(t *testing.T) {
		check(t, append(bytes.Clone(orig), 0), func(ChunkID) bool { return false })
	})
	t.Run("missing", func(t *testing.T) {
		require.NoError(t, bucket.Delete(ctx, key))
		_, err := v.VerifyPack(ctx, "t", ring, packID)
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, "vault: pack "+packID+": ")
		_, err = readBack(t, v, "t", ring, contents[0])
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, chunkPrefix+contents[0].Chunks[0].String()+": read: ")
	})

	// Restored, everything is whole again.
	require.NoError(t, bucket.WriteAll(ctx, key, orig, nil))
	verifyAll(t, v, "t", ring)
}

// TestIndexDisagreement: a wrong location in the index is caught by Open
// (the bytes there do not authenticate as that chunk) and by VerifyPack.
func TestIndexDisagreement(t *testing.T) {
	ctx := context.Background()
	k, ring := tenantKeys(t)
	idx := NewMemIndex()
	v := New(memBucket(t), idx, Options{})
	s := v.NewSession("t", k)
	a, err := s.Store(ctx, bytes.NewReader(textBytes(1, 5000)))
	require.NoError(t, err)
	b, err := s.Store(ctx, bytes.NewReader(textBytes(2, 5000)))
	require.NoError(t, err)
	require.NoError(t, s.Flush(ctx))
	packID := packIDs(t, v, "t")[0]

	// Point a's entry at b's bytes.
	locs, err := idx.Lookup(ctx, "t", []ChunkID{a.Chunks[0], b.Chunks[0]})
	require.NoError(t, err)
	bad := NewMemIndex()
	la := locs[b.Chunks[0]]
	require.NoError(t, bad.AddPack(ctx, "t", PackInfo{ID: packID, KeyID: k.KeyID()}, []IndexEntry{
		{ID: a.Chunks[0], Location: la},
		{ID: b.Chunks[0], Location: locs[b.Chunks[0]]},
	}))
	vb := New(v.bucket, bad, Options{})

	_, err = readBack(t, vb, "t", ring, a)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "vault: pack "+packID+": chunk "+a.Chunks[0].String()+": authentication failed")

	_, err = vb.VerifyPack(ctx, "t", ring, packID)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "chunk "+a.Chunks[0].String()+": index disagrees with the trailer")
}
