package vault

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// flakyBucket is a blob driver over another bucket whose writes fail (at
// Close, after the bytes were sent, like a PUT that gets a 500) while
// failWrites is set.
type flakyBucket struct {
	b          *blob.Bucket
	failWrites atomic.Bool
	writes     atomic.Int64
}

var errInjected = errors.New("injected write failure")

func newFlakyBucket(t testing.TB) (*flakyBucket, *blob.Bucket) {
	f := &flakyBucket{b: memBucket(t)}
	return f, blob.NewBucket(f)
}

func (f *flakyBucket) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
func (f *flakyBucket) As(any) bool                            { return false }
func (f *flakyBucket) ErrorAs(error, any) bool                { return false }
func (f *flakyBucket) Close() error                           { return nil }

func (f *flakyBucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := f.b.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{Size: a.Size, ModTime: a.ModTime, ContentType: a.ContentType}, nil
}

func (f *flakyBucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	objs, next, err := f.b.ListPage(ctx, opts.PageToken, max(opts.PageSize, 1000), &blob.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter})
	if err != nil {
		return nil, err
	}
	page := &driver.ListPage{NextPageToken: next}
	for _, o := range objs {
		page.Objects = append(page.Objects, &driver.ListObject{Key: o.Key, Size: o.Size, ModTime: o.ModTime, IsDir: o.IsDir})
	}
	return page, nil
}

func (f *flakyBucket) NewRangeReader(ctx context.Context, key string, offset, length int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	r, err := f.b.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, err
	}
	return flakyReader{r}, nil
}

type flakyReader struct{ *blob.Reader }

func (r flakyReader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{Size: r.Size(), ModTime: r.ModTime(), ContentType: r.ContentType()}
}
func (r flakyReader) As(any) bool { return false }

func (f *flakyBucket) NewTypedWriter(ctx context.Context, key, contentType string, _ *driver.WriterOptions) (driver.Writer, error) {
	f.writes.Add(1)
	if f.failWrites.Load() {
		return failingWriter{}, nil
	}
	return f.b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
}

type failingWriter struct{}

func (failingWriter) Write(p []byte) (int, error) { return len(p), nil }
func (failingWriter) Close() error                { return errInjected }

func (f *flakyBucket) Copy(ctx context.Context, dst, src string, _ *driver.CopyOptions) error {
	return f.b.Copy(ctx, dst, src, nil)
}
func (f *flakyBucket) Delete(ctx context.Context, key string, _ *driver.DeleteOptions) error {
	return f.b.Delete(ctx, key)
}
func (f *flakyBucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errors.New("not supported")
}

func TestFailedUploadLeavesNothingIndexed(t *testing.T) {
	ctx := context.Background()
	k, ring := tenantKeys(t)
	flaky, bucket := newFlakyBucket(t)
	idx := NewMemIndex()
	v := New(bucket, idx, Options{PackSize: 1 << 20})
	data := randomBytes(1, 6<<20) // several packs: Store itself uploads
	mail := textBytes(2, 3000)    // left pending for Flush

	flaky.failWrites.Store(true)
	s := v.NewSession("t", k)
	_, err := s.Store(ctx, bytes.NewReader(data))
	require.ErrorIs(t, err, errInjected, "the Store that filled a pack sees its upload fail")
	require.ErrorContains(t, err, "upload: ")
	require.Zero(t, idx.Len("t"), "nothing indexed")
	require.Empty(t, idx.Packs("t"))

	// The session is dead: nothing it returned can be made durable.
	_, err = s.Store(ctx, bytes.NewReader(mail))
	require.ErrorIs(t, err, errInjected)
	require.ErrorIs(t, s.Flush(ctx), errInjected)

	// A Flush-time failure, too, leaves nothing indexed.
	s2 := v.NewSession("t", k)
	c, err := s2.Store(ctx, bytes.NewReader(mail))
	require.NoError(t, err, "Store only queued the chunk")
	require.ErrorIs(t, s2.Flush(ctx), errInjected)
	require.Zero(t, idx.Len("t"))
	_, err = readBack(t, v, "t", ring, c)
	require.ErrorIs(t, err, ErrCorrupt, "not readable: never indexed")

	// The retry (a new session, as a retried activity makes) stores it all.
	flaky.failWrites.Store(false)
	s3 := v.NewSession("t", k)
	c1, err := s3.Store(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	c2, err := s3.Store(ctx, bytes.NewReader(mail))
	require.NoError(t, err)
	require.NoError(t, s3.Flush(ctx))
	require.EqualValues(t, len(c1.Chunks)+1, s3.Stats().ChunksNew, "every chunk re-stored")
	for _, tc := range []struct {
		c    Content
		want []byte
	}{{c1, data}, {c2, mail}} {
		got, err := readBack(t, v, "t", ring, tc.c)
		require.NoError(t, err)
		require.True(t, bytes.Equal(tc.want, got))
	}
	verifyAll(t, v, "t", ring)
}

// failingIndex refuses AddPack.
type failingIndex struct{ *MemIndex }

func (failingIndex) AddPack(context.Context, string, PackInfo, []IndexEntry) error {
	return errors.New("catalog unavailable")
}

func TestFailedIndexUpdateLeavesOrphanPack(t *testing.T) {
	ctx := context.Background()
	k, ring := tenantKeys(t)
	idx := failingIndex{NewMemIndex()}
	v := New(memBucket(t), idx, Options{})
	s := v.NewSession("t", k)
	_, err := s.Store(ctx, bytes.NewReader(textBytes(1, 5000)))
	require.NoError(t, err)
	err = s.Flush(ctx)
	require.ErrorContains(t, err, "index: catalog unavailable")
	require.Zero(t, idx.Len("t"))

	// The object exists but nothing references it: VerifyPack says so.
	packs := packIDs(t, v, "t")
	require.Len(t, packs, 1)
	rep, err := v.VerifyPack(ctx, "t", ring, packs[0])
	require.NoError(t, err)
	require.Equal(t, 1, rep.Chunks)
	require.Zero(t, rep.Indexed)

	require.NoError(t, v.DeletePack(ctx, "t", packs[0]))
	require.NoError(t, v.DeletePack(ctx, "t", packs[0]), "deleting twice is fine")
	require.Empty(t, packIDs(t, v, "t"))
}

// TestRebuildIndexFromStorage: packs are self-describing, so an index
// rebuilt from ListPacks + ReadPackIndex reads everything back.
func TestRebuildIndexFromStorage(t *testing.T) {
	ctx := context.Background()
	k, ring := tenantKeys(t)
	bucket := memBucket(t)
	v := New(bucket, NewMemIndex(), Options{PackSize: 2 << 20})
	data := append(randomBytes(1, 5<<20), textBytes(2, 2<<20)...)
	c, _ := store(t, v, "t", k, data)
	small, _ := store(t, v, "t", k, textBytes(3, 100))

	rebuilt := NewMemIndex()
	for _, id := range packIDs(t, v, "t") {
		info, entries, err := v.ReadPackIndex(ctx, "t", ring, id)
		require.NoError(t, err)
		require.Equal(t, k.KeyID(), info.KeyID)
		require.NoError(t, rebuilt.AddPack(ctx, "t", info, entries))
	}
	v2 := New(bucket, rebuilt, Options{})
	for _, tc := range []struct {
		c    Content
		want []byte
	}{{c, data}, {small, textBytes(3, 100)}} {
		got, err := readBack(t, v2, "t", ring, tc.c)
		require.NoError(t, err)
		require.True(t, bytes.Equal(tc.want, got))
	}
	verifyAll(t, v2, "t", ring)
}

// A failing reader aborts Store with its error and leaves the session usable.
func TestStoreReadError(t *testing.T) {
	ctx := context.Background()
	k, ring := tenantKeys(t)
	v := New(memBucket(t), NewMemIndex(), Options{})
	s := v.NewSession("t", k)
	boom := errors.New("connection reset")
	_, err := s.Store(ctx, io.MultiReader(bytes.NewReader(randomBytes(1, 3<<20)), errReader{boom}))
	require.ErrorIs(t, err, boom)

	c, err := s.Store(ctx, bytes.NewReader(textBytes(1, 10)))
	require.NoError(t, err)
	require.NoError(t, s.Flush(ctx))
	got, err := readBack(t, v, "t", ring, c)
	require.NoError(t, err)
	require.Equal(t, textBytes(1, 10), got)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestBadIDs(t *testing.T) {
	ctx := context.Background()
	k, ring := tenantKeys(t)
	v := New(memBucket(t), NewMemIndex(), Options{})
	for _, tenant := range []string{"", "..", "a/b", "a b"} {
		_, err := v.NewSession(tenant, k).Store(ctx, bytes.NewReader([]byte("x")))
		require.ErrorContains(t, err, "bad tenant id")
		_, err = v.Open(ctx, tenant, ring, Content{})
		require.ErrorContains(t, err, "bad tenant id")
	}
	_, err := v.VerifyPack(ctx, "t", ring, "../../etc")
	require.ErrorContains(t, err, "bad pack id")
	require.ErrorContains(t, v.DeletePack(ctx, "t", "ABC"), "bad pack id")
}
