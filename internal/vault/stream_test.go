package vault

import (
	"context"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLargeStreamed stores 40 MiB through an io.Pipe and proves Store does
// not buffer it whole: packs are already uploaded before the writer has
// produced the last MiB. Reading back is compared by hash, so the test
// never holds the whole input either.
func TestLargeStreamed(t *testing.T) {
	const size, block = 40 << 20, 1 << 20
	ctx := context.Background()
	k, ring := tenantKeys(t)
	v := New(memBucket(t), NewMemIndex(), Options{}) // 16 MiB packs
	s := v.NewSession("t", k)

	pr, pw := io.Pipe()
	want := sha256.New()
	packsBeforeEnd := make(chan int, 1)
	go func() {
		buf := make([]byte, block)
		for i := range size / block {
			fillRandom(uint64(1000+i), buf)
			if i == size/block-1 {
				packsBeforeEnd <- int(s.Stats().Packs)
			}
			want.Write(buf)
			if _, err := pw.Write(buf); err != nil {
				return
			}
		}
		pw.Close()
	}()

	c, err := s.Store(ctx, pr)
	require.NoError(t, err)
	require.NoError(t, s.Flush(ctx))
	require.EqualValues(t, size, c.Size)
	// 16 MiB packs; the chunker reads at most 8 MiB ahead: by the last MiB
	// written, the first pack must be in the bucket.
	require.GreaterOrEqual(t, <-packsBeforeEnd, 1, "packs must be uploaded while the input still streams")

	st := s.Stats()
	require.EqualValues(t, 3, st.Packs)
	require.EqualValues(t, size, st.BytesRaw)
	require.EqualValues(t, size, st.BytesNew)

	r, err := v.Open(ctx, "t", ring, c)
	require.NoError(t, err)
	got := sha256.New()
	n, err := io.Copy(got, r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.EqualValues(t, size, n)
	require.Equal(t, want.Sum(nil), got.Sum(nil))
}

// TestOpenCloseEarly stops reading mid-way; Close must not hang or leak.
func TestOpenCloseEarly(t *testing.T) {
	k, ring := tenantKeys(t)
	v := New(memBucket(t), NewMemIndex(), Options{})
	c, _ := store(t, v, "t", k, randomBytes(1, 12<<20))
	r, err := v.Open(context.Background(), "t", ring, c)
	require.NoError(t, err)
	buf := make([]byte, 100)
	_, err = io.ReadFull(r, buf)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	_, err = r.Read(buf)
	require.Error(t, err)
}
