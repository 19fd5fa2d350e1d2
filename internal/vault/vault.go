package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/holdfast/holdfast/internal/keys"
)

// DefaultPackSize is the pack size Options.PackSize defaults to: large
// enough that per-object costs (a PUT, an index transaction, a listing
// entry) are small, small enough that a pack is cheap to hold in memory
// and to re-upload.
const DefaultPackSize = 16 << 20

// Options tune a Vault.
type Options struct {
	// PackSize is the size at which a pending pack is uploaded
	// (default DefaultPackSize). Packs end up between PackSize and
	// PackSize plus one sealed chunk, except the last of a Flush.
	PackSize int64
	// Concurrency bounds the chunks being compressed and encrypted at once
	// across a session (default GOMAXPROCS).
	Concurrency int
}

// Vault is the encrypted, deduplicated, packed content store of all
// tenants over one bucket. It is safe for concurrent use.
type Vault struct {
	bucket *blob.Bucket
	index  Index
	opts   Options
}

// New returns a Vault storing packs in bucket and indexing chunks in index.
func New(bucket *blob.Bucket, index Index, opts Options) *Vault {
	if opts.PackSize <= 0 {
		opts.PackSize = DefaultPackSize
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	return &Vault{bucket: bucket, index: index, opts: opts}
}

// DeletePack removes a pack object, for retention's GC. Remove the pack's
// chunks from the index first, so no reader is sent to a deleted pack.
// Deleting a pack that does not exist succeeds (GC retries are safe).
func (v *Vault) DeletePack(ctx context.Context, tenantID, packID string) error {
	if err := checkIDs(tenantID, packID); err != nil {
		return err
	}
	err := v.bucket.Delete(ctx, packKey(tenantID, packID))
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return partErr(packID, "", fmt.Errorf("delete: %w", err))
	}
	return nil
}

// ListPacks calls fn with the ID and size of every pack object of the
// tenant, in key order — to find packs the index does not know (an upload
// whose index transaction failed) or to rebuild the index.
func (v *Vault) ListPacks(ctx context.Context, tenantID string, fn func(packID string, size int64) error) error {
	if !validTenantID(tenantID) {
		return errBadTenant(tenantID)
	}
	it := v.bucket.List(&blob.ListOptions{Prefix: packPrefix(tenantID)})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("vault: list packs of tenant %s: %w", tenantID, err)
		}
		id := obj.Key[strings.LastIndexByte(obj.Key, '/')+1:]
		if obj.IsDir || !validPackID(id) || packKey(tenantID, id) != obj.Key {
			continue
		}
		if err := fn(id, obj.Size); err != nil {
			return err
		}
	}
}

// ReadPackIndex reads a pack's own list of chunks from its trailer (two
// small ranged reads, not the whole pack), so the index can be rebuilt from
// storage alone. The result is what AddPack needs; CreatedAt is left zero.
func (v *Vault) ReadPackIndex(ctx context.Context, tenantID string, ring *keys.Keyring, packID string) (PackInfo, []IndexEntry, error) {
	if err := checkIDs(tenantID, packID); err != nil {
		return PackInfo{}, nil, err
	}
	key := packKey(tenantID, packID)
	attrs, err := v.bucket.Attributes(ctx, key)
	if err != nil {
		return PackInfo{}, nil, partErr(packID, "", fmt.Errorf("stat: %w", missingIsCorrupt(err)))
	}
	size := attrs.Size
	if size < footerSize {
		return PackInfo{}, nil, partErr(packID, "footer", corruption("pack too short for a footer"))
	}
	fb, err := v.readRange(ctx, key, size-footerSize, footerSize)
	if err != nil {
		return PackInfo{}, nil, partErr(packID, "footer", err)
	}
	f, err := parseFooter(fb)
	if err != nil {
		return PackInfo{}, nil, partErr(packID, "footer", err)
	}
	if int64(f.trailerLen) > size-footerSize {
		return PackInfo{}, nil, partErr(packID, "footer", corruption("trailer length exceeds the pack"))
	}
	k, ok := ring.Get(f.keyID)
	if !ok {
		return PackInfo{}, nil, partErr(packID, "footer", fmt.Errorf("data key generation %s is not in the keyring", f.keyID))
	}
	tb, err := v.readRange(ctx, key, size-footerSize-int64(f.trailerLen), int64(f.trailerLen))
	if err != nil {
		return PackInfo{}, nil, partErr(packID, "trailer", err)
	}
	pi, err := openTrailer(k, packID, size, fb, tb)
	if err != nil {
		return PackInfo{}, nil, err
	}
	info := PackInfo{ID: packID, KeyID: pi.keyID, Size: size, Chunks: len(pi.entries)}
	return info, pi.entries, nil
}

// readRange reads exactly length bytes at offset; fewer is corruption
// (a truncated pack).
func (v *Vault) readRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	buf := make([]byte, length)
	if err := v.readRangeInto(ctx, key, offset, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func (v *Vault) readRangeInto(ctx context.Context, key string, offset int64, buf []byte) error {
	r, err := v.bucket.NewRangeReader(ctx, key, offset, int64(len(buf)), nil)
	if err != nil {
		return fmt.Errorf("read: %w", missingIsCorrupt(err))
	}
	defer r.Close()
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return corruption("truncated: pack ends before the bytes the index points to")
		}
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

// missingIsCorrupt marks a missing pack object as corruption: the index
// says it exists.
func missingIsCorrupt(err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: pack object missing: %w", ErrCorrupt, err)
	}
	return err
}

func checkIDs(tenantID, packID string) error {
	if !validTenantID(tenantID) {
		return errBadTenant(tenantID)
	}
	if !validPackID(packID) {
		return fmt.Errorf("vault: bad pack id %.70q", packID)
	}
	return nil
}

func errBadTenant(id string) error {
	return fmt.Errorf("vault: bad tenant id %.70q (want letters, digits, '-', '_' or '.')", id)
}
