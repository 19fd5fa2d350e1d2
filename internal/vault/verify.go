package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/holdfast/holdfast/internal/keys"
)

// PackReport is what VerifyPack found.
type PackReport struct {
	PackID   string
	KeyID    string // from the footer
	Size     int64
	Chunks   int   // chunks listed in the trailer
	RawBytes int64 // their plaintext total
	// Indexed counts the chunks the index locates in this pack. A chunk
	// can be in the pack but indexed elsewhere (two sessions stored it at
	// once); a pack with Indexed == 0 is unreferenced, for GC.
	Indexed int
	// Damaged lists the chunks that failed their checks.
	Damaged []ChunkID
}

// VerifyPack reads a whole pack and checks that its footer and trailer
// authenticate (the trailer's AAD binds the pack's name), every chunk decrypts,
// decompresses and hashes to its ID, and the index agrees with the trailer
// about every chunk it locates in this pack. The error (nil if all is well)
// joins one *PackError per problem; the report is filled as far as the
// pack could be read.
func (v *Vault) VerifyPack(ctx context.Context, tenantID string, ring *keys.Keyring, packID string) (PackReport, error) {
	rep := PackReport{PackID: packID}
	if err := checkIDs(tenantID, packID); err != nil {
		return rep, err
	}
	if ring == nil {
		return rep, errors.New("vault: verify: no keyring")
	}
	data, err := v.bucket.ReadAll(ctx, packKey(tenantID, packID))
	if err != nil {
		return rep, partErr(packID, "", fmt.Errorf("read: %w", missingIsCorrupt(err)))
	}
	rep.Size = int64(len(data))

	pi, err := parsePack(ring, packID, data)
	if err != nil {
		return rep, err
	}
	var problems []error
	rep.KeyID, rep.Chunks = pi.keyID, len(pi.entries)
	k, _ := ring.Get(pi.keyID) // parsePack checked it is there

	bufs := getChunkBufs()
	defer putChunkBufs(bufs)
	for _, e := range pi.entries {
		rep.RawBytes += e.RawLen
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		sealed := data[e.Offset : e.Offset+e.Length]
		if _, err := bufs.open(k, e.ID, sealed, e.RawLen); err != nil {
			rep.Damaged = append(rep.Damaged, e.ID)
			problems = append(problems, chunkErr(packID, e.ID, err))
		}
	}

	indexProblems, err := v.checkIndex(ctx, tenantID, pi, &rep)
	if err != nil {
		return rep, errors.Join(append(problems, err)...)
	}
	problems = append(problems, indexProblems...)
	return rep, errors.Join(problems...)
}

// parsePack reads the footer and trailer of a whole pack in memory.
func parsePack(ring *keys.Keyring, packID string, data []byte) (packIndex, error) {
	size := int64(len(data))
	if size < footerSize {
		return packIndex{}, partErr(packID, "footer", corruption("pack too short for a footer"))
	}
	fb := data[size-footerSize:]
	f, err := parseFooter(fb)
	if err != nil {
		return packIndex{}, partErr(packID, "footer", err)
	}
	if int64(f.trailerLen) > size-footerSize {
		return packIndex{}, partErr(packID, "footer", corruption("trailer length exceeds the pack"))
	}
	k, ok := ring.Get(f.keyID)
	if !ok {
		return packIndex{}, partErr(packID, "footer", fmt.Errorf("data key generation %s is not in the keyring", f.keyID))
	}
	tb := data[size-footerSize-int64(f.trailerLen) : size-footerSize]
	return openTrailer(k, packID, size, fb, tb)
}

// checkIndex compares the index's locations of the pack's chunks with the
// trailer's.
func (v *Vault) checkIndex(ctx context.Context, tenantID string, pi packIndex, rep *PackReport) ([]error, error) {
	var problems []error
	for start := 0; start < len(pi.entries); start += lookupBatch {
		batch := pi.entries[start:min(start+lookupBatch, len(pi.entries))]
		ids := make([]ChunkID, len(batch))
		for i, e := range batch {
			ids[i] = e.ID
		}
		found, err := v.index.Lookup(ctx, tenantID, ids)
		if err != nil {
			return nil, fmt.Errorf("vault: index lookup: %w", err)
		}
		for _, e := range batch {
			loc, ok := found[e.ID]
			if !ok || loc.PackID != rep.PackID {
				continue
			}
			rep.Indexed++
			if loc != e.Location {
				problems = append(problems, chunkErr(rep.PackID, e.ID, corruption(fmt.Sprintf(
					"index disagrees with the trailer: index has offset %d, length %d, raw %d, key %s; trailer has %d, %d, %d, %s",
					loc.Offset, loc.Length, loc.RawLen, loc.KeyID, e.Offset, e.Length, e.RawLen, e.KeyID))))
			}
		}
	}
	return problems, nil
}
