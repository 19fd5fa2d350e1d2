package vault

import (
	"bytes"
	"context"
	"io"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
)

// benchContent is 32 MiB, half mail-like text (compresses ~3×), half
// random (stored raw): what a mailbox with attachments looks like.
func benchContent() []byte {
	return append(textBytes(1, 16<<20), randomBytes(2, 16<<20)...)
}

// nullBucket discards writes, so Store benchmarks measure the vault's own
// work rather than memblob's (which MD5s and re-buffers every object).
type nullBucket struct{ *flakyBucket }

func (*nullBucket) NewTypedWriter(context.Context, string, string, *driver.WriterOptions) (driver.Writer, error) {
	return nullWriter{}, nil
}

type nullWriter struct{}

func (nullWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nullWriter) Close() error                { return nil }

func discardBucket(b *testing.B) *blob.Bucket {
	bk := blob.NewBucket(&nullBucket{&flakyBucket{b: memBucket(b)}})
	b.Cleanup(func() { bk.Close() })
	return bk
}

// BenchmarkStore measures sealing throughput of new content (no dedup):
// chunking, chunk IDs, compression, encryption, packing (uploads discarded).
func BenchmarkStore(b *testing.B) {
	data := benchContent()
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	v := New(discardBucket(b), NewMemIndex(), Options{}) // long-lived, as in a worker
	for b.Loop() {
		b.StopTimer()
		k, _ := tenantKeys(b) // new keys: nothing deduplicates
		s := v.NewSession("t", k)
		b.StartTimer()
		if _, err := s.Store(ctx, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreParallel is BenchmarkStore with 8 items stored at once
// through one session, as a backup activity does.
func BenchmarkStoreParallel(b *testing.B) {
	data := benchContent()
	const parts = 8
	part := len(data) / parts
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	v := New(discardBucket(b), NewMemIndex(), Options{})
	for b.Loop() {
		b.StopTimer()
		k, _ := tenantKeys(b)
		s := v.NewSession("t", k)
		b.StartTimer()
		errs := make(chan error, parts)
		for i := range parts {
			go func() {
				_, err := s.Store(ctx, bytes.NewReader(data[i*part:(i+1)*part]))
				errs <- err
			}()
		}
		for range parts {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreMemblob is BenchmarkStore including memblob's upload cost.
func BenchmarkStoreMemblob(b *testing.B) {
	data := benchContent()
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		k, _ := tenantKeys(b)
		v := New(memBucket(b), NewMemIndex(), Options{})
		s := v.NewSession("t", k)
		b.StartTimer()
		if _, err := s.Store(ctx, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreDedup stores content that is already stored: the cost of
// an incremental backup re-fetching unchanged data (chunking + HMAC).
func BenchmarkStoreDedup(b *testing.B) {
	data := benchContent()
	ctx := context.Background()
	k, _ := tenantKeys(b)
	v := New(memBucket(b), NewMemIndex(), Options{})
	store(b, v, "t", k, data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s := v.NewSession("t", k)
		if _, err := s.Store(ctx, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen measures restore throughput: ranged reads, decryption,
// decompression and ID checks.
func BenchmarkOpen(b *testing.B) {
	data := benchContent()
	ctx := context.Background()
	k, ring := tenantKeys(b)
	v := New(memBucket(b), NewMemIndex(), Options{})
	c, _ := store(b, v, "t", k, data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := v.Open(ctx, "t", ring, c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

// BenchmarkSealChunk isolates one 1 MiB chunk's compression + encryption.
func BenchmarkSealChunk(b *testing.B) {
	k, _ := tenantKeys(b)
	for name, chunk := range map[string][]byte{"text": textBytes(1, 1<<20), "random": randomBytes(2, 1<<20)} {
		b.Run(name, func(b *testing.B) {
			id := ChunkID(k.ChunkID(chunk))
			bufs := getChunkBufs()
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				bufs.load(chunk)
				bufs.seal(k, id)
			}
		})
	}
}
