package graphsim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// blobStore keeps the bytes of files that are not generated: uploaded files (content-addressed
// under StateDir/blobs, so uploads round-trip exactly and equal uploads share a file) and
// imported files (read in place from the import directory).
type blobStore struct {
	dir string

	mu    sync.Mutex
	list  []*blob
	bySHA map[[32]byte]int32
}

type blob struct {
	path   string
	size   int64
	hashes atomic.Pointer[fileHashes] // computed at ingest, or on first need for imports
}

var errTooLarge = errors.New("graphsim: content exceeds the size limit")

func newBlobStore(stateDir string) (*blobStore, error) {
	dir := filepath.Join(stateDir, "blobs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &blobStore{dir: dir, bySHA: map[[32]byte]int32{}}, nil
}

func (b *blobStore) get(i int32) *blob {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.list[i]
}

// addExternal registers a file that is read in place (imports).
func (b *blobStore) addExternal(path string, size int64) int32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list = append(b.list, &blob{path: path, size: size})
	return int32(len(b.list) - 1)
}

// tempFile creates a scratch file in the store's directory (same filesystem, so commit renames).
func (b *blobStore) tempFile() (*os.File, error) {
	return os.CreateTemp(b.dir, "part-*")
}

// ingest copies r (at most limit bytes) into the store.
func (b *blobStore) ingest(r io.Reader, limit int64) (int32, error) {
	f, err := b.tempFile()
	if err != nil {
		return -1, err
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errTooLarge
	}
	if err != nil {
		os.Remove(f.Name())
		return -1, err
	}
	return b.commit(f.Name())
}

// commit hashes a finished scratch file and files it under its SHA-256.
func (b *blobStore) commit(tmp string) (int32, error) {
	f, err := os.Open(tmp)
	if err != nil {
		return -1, err
	}
	sha, qx, n, err := hashReader(f)
	f.Close()
	if err != nil {
		os.Remove(tmp)
		return -1, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if i, ok := b.bySHA[sha]; ok {
		os.Remove(tmp)
		return i, nil
	}
	final := filepath.Join(b.dir, hex.EncodeToString(sha[:]))
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return -1, fmt.Errorf("graphsim: store blob: %w", err)
	}
	bl := &blob{path: final, size: n}
	bl.hashes.Store(&fileHashes{sha256: sha, quickXor: qx})
	b.list = append(b.list, bl)
	i := int32(len(b.list) - 1)
	b.bySHA[sha] = i
	return i, nil
}

// hashesOf returns the blob's hashes, computing them on first need (imported files).
func (bl *blob) hashesOf() (*fileHashes, error) {
	if h := bl.hashes.Load(); h != nil {
		return h, nil
	}
	f, err := os.Open(bl.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sha, qx, _, err := hashReader(f)
	if err != nil {
		return nil, err
	}
	h := &fileHashes{sha256: sha, quickXor: qx}
	bl.hashes.Store(h)
	return h, nil
}

// openBlob opens a blob's bytes for reading.
func openBlob(bl *blob) (io.ReadCloser, error) { return os.Open(bl.path) }
