package keys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"gocloud.dev/secrets"
)

// Wrapped is what the catalog stores for a tenant's key generation. DataKey
// and ChunkIDKey are keeper ciphertexts: nothing here is usable without the
// KEK.
type Wrapped struct {
	KeyID      string
	DataKey    []byte
	ChunkIDKey []byte
}

// The keeper encrypts an envelope, not the bare key, so that a wrapped key
// cannot be passed off as another (a chunk-ID key as a data key, one
// generation's key under another's ID, a wrapped key as a sealed secret):
//
//	version  1 byte   envelopeVersion
//	purpose  1 byte   purposeDataKey | purposeChunkIDKey | purposeSecret
//	idLen    1 byte   length of the key ID (0 for secrets)
//	keyID    idLen    the generation's KeyID
//	payload  rest     the 32-byte key, or the secret
//
// The keeper's own AEAD (secretbox, a KMS) authenticates all of it.
const envelopeVersion = 1

const (
	purposeDataKey    byte = 1
	purposeChunkIDKey byte = 2
	purposeSecret     byte = 3
)

var purposeName = map[byte]string{
	purposeDataKey:    "data key",
	purposeChunkIDKey: "chunk-ID key",
	purposeSecret:     "secret",
}

// Generate makes a new tenant's keys: a random data key, chunk-ID key and
// key ID, wrapped by keeper.
func Generate(ctx context.Context, keeper *secrets.Keeper) (Wrapped, error) {
	var chunkIDKey [KeySize]byte
	defer clear(chunkIDKey[:])
	if _, err := rand.Read(chunkIDKey[:]); err != nil {
		return Wrapped{}, err
	}
	return newGeneration(ctx, keeper, chunkIDKey[:])
}

// NewGeneration makes a new data key and key ID for new data, keeping prev's
// chunk-ID key so chunks keep their IDs and deduplication survives. prev
// stays valid for reading what it sealed.
func NewGeneration(ctx context.Context, keeper *secrets.Keeper, prev Wrapped) (Wrapped, error) {
	chunkIDKey, err := unwrapKey(ctx, keeper, prev.KeyID, purposeChunkIDKey, prev.ChunkIDKey)
	if err != nil {
		return Wrapped{}, err
	}
	defer clear(chunkIDKey)
	return newGeneration(ctx, keeper, chunkIDKey)
}

func newGeneration(ctx context.Context, keeper *secrets.Keeper, chunkIDKey []byte) (Wrapped, error) {
	var dataKey [KeySize]byte
	defer clear(dataKey[:])
	var id [16]byte
	if _, err := rand.Read(dataKey[:]); err != nil {
		return Wrapped{}, err
	}
	if _, err := rand.Read(id[:]); err != nil {
		return Wrapped{}, err
	}
	return wrap(ctx, keeper, hex.EncodeToString(id[:]), dataKey[:], chunkIDKey)
}

// Unwrap asks the keeper for the plaintext keys. Every failure wraps
// ErrUnavailable and says why in one line.
func Unwrap(ctx context.Context, keeper *secrets.Keeper, w Wrapped) (*TenantKeys, error) {
	if keeper == nil {
		return nil, unavailable("no KEK keeper configured", nil)
	}
	dataKey, err := unwrapKey(ctx, keeper, w.KeyID, purposeDataKey, w.DataKey)
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	chunkIDKey, err := unwrapKey(ctx, keeper, w.KeyID, purposeChunkIDKey, w.ChunkIDKey)
	if err != nil {
		return nil, err
	}
	defer clear(chunkIDKey)
	k, err := newTenantKeys(w.KeyID, dataKey, chunkIDKey)
	if err != nil {
		return nil, unavailable("cannot set up keys of generation "+w.KeyID, err)
	}
	return k, nil
}

// Rewrap re-encrypts the same keys (same KeyID) from one KEK to another. The
// data is untouched, so KEK rotation is cheap.
func Rewrap(ctx context.Context, from, to *secrets.Keeper, w Wrapped) (Wrapped, error) {
	dataKey, err := unwrapKey(ctx, from, w.KeyID, purposeDataKey, w.DataKey)
	if err != nil {
		return Wrapped{}, err
	}
	defer clear(dataKey)
	chunkIDKey, err := unwrapKey(ctx, from, w.KeyID, purposeChunkIDKey, w.ChunkIDKey)
	if err != nil {
		return Wrapped{}, err
	}
	defer clear(chunkIDKey)
	return wrap(ctx, to, w.KeyID, dataKey, chunkIDKey)
}

func wrap(ctx context.Context, keeper *secrets.Keeper, keyID string, dataKey, chunkIDKey []byte) (Wrapped, error) {
	if keeper == nil {
		return Wrapped{}, unavailable("no KEK keeper configured", nil)
	}
	dk, err := seal(ctx, keeper, purposeDataKey, keyID, dataKey)
	if err != nil {
		return Wrapped{}, err
	}
	ck, err := seal(ctx, keeper, purposeChunkIDKey, keyID, chunkIDKey)
	if err != nil {
		return Wrapped{}, err
	}
	return Wrapped{KeyID: keyID, DataKey: dk, ChunkIDKey: ck}, nil
}

// unwrapKey opens one wrapped key and checks it is a key of the expected
// purpose and generation. The caller zeroes the result.
func unwrapKey(ctx context.Context, keeper *secrets.Keeper, keyID string, purpose byte, wrapped []byte) ([]byte, error) {
	key, err := open(ctx, keeper, purpose, keyID, wrapped)
	if err != nil {
		return nil, err
	}
	if len(key) != KeySize {
		clear(key)
		return nil, unavailable(fmt.Sprintf("wrapped %s of generation %s has the wrong length", purposeName[purpose], keyID), nil)
	}
	return key, nil
}

// seal encrypts an envelope (see above) with the keeper.
func seal(ctx context.Context, keeper *secrets.Keeper, purpose byte, keyID string, payload []byte) ([]byte, error) {
	if len(keyID) > 255 {
		return nil, errors.New("keys: key ID too long")
	}
	env := make([]byte, 0, 3+len(keyID)+len(payload))
	env = append(env, envelopeVersion, purpose, byte(len(keyID)))
	env = append(env, keyID...)
	env = append(env, payload...)
	defer clear(env)
	out, err := keeper.Encrypt(ctx, env)
	if err != nil {
		return nil, keeperFailure(ctx, "encrypt the "+purposeName[purpose], err)
	}
	return out, nil
}

// open decrypts an envelope and returns its payload (a fresh slice the
// caller zeroes) after checking version, purpose and key ID.
func open(ctx context.Context, keeper *secrets.Keeper, purpose byte, keyID string, sealed []byte) ([]byte, error) {
	what := purposeName[purpose]
	if keeper == nil {
		return nil, unavailable("no KEK keeper configured", nil)
	}
	if len(sealed) == 0 {
		return nil, unavailable("the wrapped "+what+" is empty", nil)
	}
	env, err := keeper.Decrypt(ctx, sealed)
	if err != nil {
		return nil, keeperFailure(ctx, "decrypt the "+what, err)
	}
	defer clear(env)
	switch {
	case len(env) < 3 || env[0] != envelopeVersion:
		return nil, unavailable("the decrypted "+what+" has an unknown format", nil)
	case env[1] != purpose:
		return nil, unavailable(fmt.Sprintf("the wrapped %s is a %s", what, purposeName[env[1]]), nil)
	case len(env) < 3+int(env[2]) || string(env[3:3+int(env[2])]) != keyID:
		return nil, unavailable("the wrapped "+what+" belongs to another key generation than "+keyID, nil)
	}
	return append([]byte(nil), env[3+int(env[2]):]...), nil
}
