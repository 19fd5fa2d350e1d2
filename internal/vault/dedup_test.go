package vault

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/keys"
)

func TestDedupAcrossSessions(t *testing.T) {
	k, ring := tenantKeys(t)
	idx := NewMemIndex()
	v := New(memBucket(t), idx, Options{})
	data := append(randomBytes(1, 10<<20), textBytes(2, 3<<20)...)

	c1, st1 := store(t, v, "t", k, data)
	require.EqualValues(t, len(c1.Chunks), st1.ChunksNew)
	require.Zero(t, st1.ChunksDeduped)
	chunks, packs := idx.Len("t"), len(packIDs(t, v, "t"))

	c2, st2 := store(t, v, "t", k, data)
	require.Equal(t, c1, c2, "same content, same chunk list")
	require.Zero(t, st2.ChunksNew)
	require.EqualValues(t, len(c2.Chunks), st2.ChunksDeduped)
	require.Zero(t, st2.Packs, "nothing to upload")
	require.Equal(t, chunks, idx.Len("t"))
	require.Len(t, packIDs(t, v, "t"), packs)

	got, err := readBack(t, v, "t", ring, c2)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))
}

func TestDedupWithinSession(t *testing.T) {
	ctx := context.Background()
	k, ring := tenantKeys(t)
	idx := NewMemIndex()
	v := New(memBucket(t), idx, Options{})
	s := v.NewSession("t", k)
	mail := textBytes(3, 40<<10)

	c1, err := s.Store(ctx, bytes.NewReader(mail))
	require.NoError(t, err)
	c2, err := s.Store(ctx, bytes.NewReader(mail)) // before any Flush: pending in this session
	require.NoError(t, err)
	require.NoError(t, s.Flush(ctx))
	require.Equal(t, c1, c2)
	st := s.Stats()
	require.EqualValues(t, 1, st.ChunksNew)
	require.EqualValues(t, 1, st.ChunksDeduped)
	require.Equal(t, 1, idx.Len("t"))

	got, err := readBack(t, v, "t", ring, c2)
	require.NoError(t, err)
	require.Equal(t, mail, got)
}

// A one-byte change in a large file re-stores only the chunks around it:
// content-defined boundaries resynchronise right after the edit.
func TestOneByteChangeRestoresNearbyChunks(t *testing.T) {
	k, ring := tenantKeys(t)
	v := New(memBucket(t), NewMemIndex(), Options{})
	data := randomBytes(4, 32<<20)
	c1, _ := store(t, v, "t", k, data)

	edited := bytes.Clone(data)
	edited[len(edited)/2] ^= 0xff
	c2, st := store(t, v, "t", k, edited)
	t.Logf("%d chunks; edit re-stored %d (%d KiB)", len(c2.Chunks), st.ChunksNew, st.BytesNew>>10)
	require.GreaterOrEqual(t, st.ChunksNew, int64(1))
	require.LessOrEqual(t, st.ChunksNew, int64(2))
	require.Less(t, st.BytesNew, int64(2*MaxChunkSize))
	require.Len(t, c2.Chunks, len(c1.Chunks))

	got, err := readBack(t, v, "t", ring, c2)
	require.NoError(t, err)
	require.True(t, bytes.Equal(edited, got))

	// An insertion shifts everything after it; boundaries still resync.
	inserted := append(append(bytes.Clone(data[:len(data)/3]), 'x'), data[len(data)/3:]...)
	_, st = store(t, v, "t", k, inserted)
	require.LessOrEqual(t, st.ChunksNew, int64(2))
}

func TestCrossTenant(t *testing.T) {
	ka, ringA := tenantKeys(t)
	kb, ringB := tenantKeys(t)
	idx := NewMemIndex()
	v := New(memBucket(t), idx, Options{})
	data := randomBytes(5, 6<<20)

	ca, _ := store(t, v, "tenant-a", ka, data)
	cb, stb := store(t, v, "tenant-b", kb, data)
	require.EqualValues(t, len(cb.Chunks), stb.ChunksNew, "no dedup across tenants")
	for _, ida := range ca.Chunks {
		require.NotContains(t, cb.Chunks, ida, "same content must get different IDs per tenant")
	}
	require.Empty(t, packIDsIntersect(packIDs(t, v, "tenant-a"), packIDs(t, v, "tenant-b")))

	// Each tenant reads its own; the other's keys are refused clearly.
	for _, tc := range []struct {
		tenant string
		ring   *keys.Keyring
		c      Content
	}{{"tenant-a", ringA, ca}, {"tenant-b", ringB, cb}} {
		got, err := readBack(t, v, tc.tenant, tc.ring, tc.c)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got))
	}

	_, err := readBack(t, v, "tenant-a", ringB, ca)
	require.ErrorContains(t, err, "is not in the keyring")
	require.ErrorContains(t, err, "vault: pack ")
	require.ErrorContains(t, err, ": chunk "+ca.Chunks[0].String())

	_, err = v.Open(context.Background(), "tenant-b", ringB, ca)
	require.ErrorIs(t, err, ErrCorrupt, "tenant A's chunks are not in tenant B's index")
	require.ErrorContains(t, err, "not in the index")

	_, err = v.VerifyPack(context.Background(), "tenant-a", ringB, packIDs(t, v, "tenant-a")[0])
	require.ErrorContains(t, err, "footer: data key generation")
}

func packIDsIntersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}
