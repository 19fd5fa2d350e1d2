package vault

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentStore stores overlapping content from many goroutines
// through one session (small packs, so uploads race with appends), with
// Flushes interleaved, then checks everything reads back and each distinct
// chunk is stored once.
func TestConcurrentStore(t *testing.T) {
	ctx := context.Background()
	k, ring := tenantKeys(t)
	idx := NewMemIndex()
	v := New(memBucket(t), idx, Options{PackSize: 256 << 10, Concurrency: 4})
	s := v.NewSession("t", k)

	// A pool of items: small mails and multi-chunk files; goroutines pick
	// overlapping subsets, so the same chunk is claimed concurrently.
	var items [][]byte
	for i := range 24 {
		items = append(items, textBytes(uint64(i), 2000+i*500))
	}
	for i := range 4 {
		items = append(items, randomBytes(uint64(100+i), 2<<20+i*1000))
	}

	const workers = 12
	results := make([][]Content, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range items {
				i := (j*7 + w) % len(items)
				c, err := s.Store(ctx, bytes.NewReader(items[i]))
				if err != nil {
					t.Error(err)
					return
				}
				results[w] = append(results[w], c)
				if j%9 == w%9 {
					if err := s.Flush(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, s.Flush(ctx))

	distinct := map[ChunkID]bool{}
	for w, cs := range results {
		require.Len(t, cs, len(items))
		for j, c := range cs {
			i := (j*7 + w) % len(items)
			got, err := readBack(t, v, "t", ring, c)
			require.NoError(t, err)
			require.True(t, bytes.Equal(items[i], got))
			for _, id := range c.Chunks {
				distinct[id] = true
			}
		}
	}
	st := s.Stats()
	require.EqualValues(t, len(distinct), st.ChunksNew, "each distinct chunk sealed once")
	require.Equal(t, len(distinct), idx.Len("t"))
	require.Greater(t, st.Packs, int64(5))
	verifyAll(t, v, "t", ring)
}
