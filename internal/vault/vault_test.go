package vault

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
)

func TestRoundTrip(t *testing.T) {
	inputs := map[string][]byte{
		"empty":            {},
		"one byte":         {42},
		"small mail":       textBytes(1, 12<<10),
		"exactly min":      randomBytes(2, MinChunkSize),
		"exactly max":      randomBytes(3, MaxChunkSize),
		"max plus one":     randomBytes(4, MaxChunkSize+1),
		"random 9 MiB":     randomBytes(5, 9<<20),
		"compressible 6M":  textBytes(6, 6<<20),
		"mixed 3 MiB":      append(textBytes(7, 1<<20), randomBytes(8, 2<<20)...),
		"zeros (repeated)": make([]byte, 3*MaxChunkSize),
	}
	buckets := map[string]func(testing.TB) *blob.Bucket{"mem": memBucket, "file": fileBucket}
	for bname, open := range buckets {
		t.Run(bname, func(t *testing.T) {
			k, ring := tenantKeys(t)
			v := New(open(t), NewMemIndex(), Options{})
			for name, data := range inputs {
				t.Run(name, func(t *testing.T) {
					c, _ := store(t, v, "tenant-a", k, data)
					require.Equal(t, int64(len(data)), c.Size)
					require.Equal(t, len(data) == 0, len(c.Chunks) == 0)
					got, err := readBack(t, v, "tenant-a", ring, c)
					require.NoError(t, err)
					require.True(t, bytes.Equal(data, got), "content differs")

					parsed, err := ParseContent(c.Marshal())
					require.NoError(t, err)
					require.Equal(t, c.Size, parsed.Size)
					require.Equal(t, len(c.Chunks), len(parsed.Chunks))
				})
			}
			verifyAll(t, v, "tenant-a", ring)
		})
	}
}

func TestChunkSizes(t *testing.T) {
	k, _ := tenantKeys(t)
	idx := NewMemIndex()
	v := New(memBucket(t), idx, Options{})
	c, _ := store(t, v, "t", k, randomBytes(9, 16<<20))
	locs, err := idx.Lookup(context.Background(), "t", c.Chunks)
	require.NoError(t, err)
	for i, id := range c.Chunks {
		raw := locs[id].RawLen
		require.LessOrEqual(t, raw, int64(MaxChunkSize))
		if i < len(c.Chunks)-1 {
			require.GreaterOrEqual(t, raw, int64(MinChunkSize))
		}
	}
	avg := c.Size / int64(len(c.Chunks))
	t.Logf("16 MiB random: %d chunks, average %d KiB", len(c.Chunks), avg>>10)
	require.InDelta(t, AvgChunkSize, avg, AvgChunkSize/2)
}
