package vault

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestContentMarshalRoundTrip(t *testing.T) {
	a, b := ChunkID{1, 2, 3}, ChunkID{0xff}
	for _, c := range []Content{
		{},
		{Size: 1, Chunks: []ChunkID{a}},
		{Size: 5 << 20, Chunks: []ChunkID{a, b, a}},
	} {
		s := c.Marshal()
		got, err := ParseContent(s)
		require.NoError(t, err, s)
		require.Equal(t, c.Size, got.Size)
		require.Equal(t, len(c.Chunks), len(got.Chunks))
		for i := range c.Chunks {
			require.Equal(t, c.Chunks[i], got.Chunks[i])
		}
		require.Equal(t, s, got.Marshal())
	}
	require.Equal(t, "v1:0:", Content{}.Marshal())
	require.Equal(t, "v1:1:"+a.String(), Content{Size: 1, Chunks: []ChunkID{a}}.Marshal())
}

func TestParseContentRejects(t *testing.T) {
	id := ChunkID{0xab, 7}.String()
	for _, s := range []string{
		"",
		"v2:0:",
		"v1:",
		"v1:-1:",
		"v1:01:" + id,
		"v1:x:" + id,
		"v1:0:" + id,            // chunks but no bytes
		"v1:5:",                 // bytes but no chunks
		"v1:1:" + id + "," + id, // fewer bytes than chunks
		"v1:9:" + id + ",",
		"v1:9:" + strings.ToUpper(id),
		"v1:9:" + id[:63],
		"v1:9:" + id + "00",
	} {
		_, err := ParseContent(s)
		require.Error(t, err, "%q", s)
	}
}

func TestMemIndexFirstPackKeepsChunk(t *testing.T) {
	ctx := t.Context()
	idx := NewMemIndex()
	a, b := ChunkID{1}, ChunkID{2}
	require.NoError(t, idx.AddPack(ctx, "t", PackInfo{ID: "p1", KeyID: "k1"}, []IndexEntry{{ID: a, Location: Location{Offset: 0, Length: 40, RawLen: 11}}}))
	require.NoError(t, idx.AddPack(ctx, "t", PackInfo{ID: "p2", KeyID: "k2"}, []IndexEntry{
		{ID: a, Location: Location{Offset: 0, Length: 40, RawLen: 11}},
		{ID: b, Location: Location{Offset: 40, Length: 50, RawLen: 21}},
	}))
	got, err := idx.Lookup(ctx, "t", []ChunkID{a, b, {3}})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, Location{PackID: "p1", KeyID: "k1", Offset: 0, Length: 40, RawLen: 11}, got[a])
	require.Equal(t, Location{PackID: "p2", KeyID: "k2", Offset: 40, Length: 50, RawLen: 21}, got[b])

	other, err := idx.Lookup(ctx, "other-tenant", []ChunkID{a})
	require.NoError(t, err)
	require.Empty(t, other)

	idx.RemovePack("t", "p1")
	got, err = idx.Lookup(ctx, "t", []ChunkID{a, b})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Len(t, idx.Packs("t"), 1)
}
