package keys

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
)

// newKeeper returns a local KEK keeper and its base64key URL.
func newKeeper(t *testing.T) (*secrets.Keeper, string) {
	t.Helper()
	url, err := NewLocalKEK()
	require.NoError(t, err)
	k, err := OpenKeeper(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { k.Close() })
	return k, url
}

func generate(t *testing.T, keeper *secrets.Keeper) (Wrapped, *TenantKeys) {
	t.Helper()
	ctx := context.Background()
	w, err := Generate(ctx, keeper)
	require.NoError(t, err)
	k, err := Unwrap(ctx, keeper, w)
	require.NoError(t, err)
	return w, k
}

// rawKeys exposes the plaintext keys of k to tests only.
func rawKeys(k *TenantKeys) [][]byte {
	return [][]byte{k.dataKey[:], k.chunkIDKey[:], k.chunkerKey[:]}
}

// requireNoKeyMaterial fails if msg contains any of the keys, raw, hex or
// base64.
func requireNoKeyMaterial(t *testing.T, msg string, keys ...[]byte) {
	t.Helper()
	for _, k := range keys {
		for _, enc := range []string{string(k), hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), base64.URLEncoding.EncodeToString(k)} {
			require.NotContains(t, msg, enc)
		}
	}
}

func TestGenerateUnwrapRoundTrip(t *testing.T) {
	ctx := context.Background()
	keeper, _ := newKeeper(t)
	w, k := generate(t, keeper)

	require.Len(t, w.KeyID, 32)
	require.Equal(t, w.KeyID, k.KeyID())
	require.NotContains(t, string(w.DataKey), string(k.dataKey[:]), "wrapped key must not hold the plaintext")

	k2, err := Unwrap(ctx, keeper, w)
	require.NoError(t, err)
	require.Equal(t, k.dataKey, k2.dataKey)
	require.Equal(t, k.chunkIDKey, k2.chunkIDKey)
	require.NotEqual(t, k.dataKey, k.chunkIDKey)

	// The AEAD works and its random nonces differ per seal.
	aad := []byte("chunk id")
	c1 := k.AEAD().Seal(nil, nil, []byte("hello"), aad)
	c2 := k.AEAD().Seal(nil, nil, []byte("hello"), aad)
	require.NotEqual(t, c1, c2)
	p, err := k2.AEAD().Open(nil, nil, c1, aad)
	require.NoError(t, err)
	require.Equal(t, "hello", string(p))
	_, err = k2.AEAD().Open(nil, nil, c1, []byte("other id"))
	require.Error(t, err)
}

func TestWrongKEKIsUnavailable(t *testing.T) {
	ctx := context.Background()
	keeper, _ := newKeeper(t)
	other, _ := newKeeper(t)
	w, k := generate(t, keeper)

	_, err := Unwrap(ctx, other, w)
	require.ErrorIs(t, err, ErrUnavailable)
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, "ekey unavailable: keeper refused to decrypt the data key"), msg)
	require.NotContains(t, msg, "\n")
	requireNoKeyMaterial(t, msg, rawKeys(k)...)
	t.Log(msg)
}

func TestUnwrapRejectsCorruptAndSwappedBlobs(t *testing.T) {
	ctx := context.Background()
	keeper, _ := newKeeper(t)
	w, k := generate(t, keeper)
	w2, _ := generate(t, keeper)

	corrupt := w
	corrupt.DataKey = bytes.Clone(w.DataKey)
	corrupt.DataKey[len(corrupt.DataKey)-1] ^= 1

	cases := map[string]struct {
		w    Wrapped
		want string
	}{
		"corrupt data key":   {corrupt, "keeper refused to decrypt the data key"},
		"empty":              {Wrapped{KeyID: w.KeyID}, "the wrapped data key is empty"},
		"keys swapped":       {Wrapped{KeyID: w.KeyID, DataKey: w.ChunkIDKey, ChunkIDKey: w.DataKey}, "the wrapped data key is a chunk-ID key"},
		"other generation":   {Wrapped{KeyID: w.KeyID, DataKey: w2.DataKey, ChunkIDKey: w.ChunkIDKey}, "belongs to another key generation"},
		"relabelled key ID":  {Wrapped{KeyID: w2.KeyID, DataKey: w.DataKey, ChunkIDKey: w.ChunkIDKey}, "belongs to another key generation"},
		"chunk-ID key wrong": {Wrapped{KeyID: w.KeyID, DataKey: w.DataKey, ChunkIDKey: w2.ChunkIDKey}, "the wrapped chunk-ID key belongs to another"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Unwrap(ctx, keeper, tc.w)
			require.ErrorIs(t, err, ErrUnavailable)
			require.Contains(t, err.Error(), tc.want)
			requireNoKeyMaterial(t, err.Error(), rawKeys(k)...)
		})
	}

	_, err := Unwrap(ctx, nil, w)
	require.ErrorIs(t, err, ErrUnavailable)
}

func TestOpenKeeperErrors(t *testing.T) {
	ctx := context.Background()
	secret := base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 31)) // wrong length
	cases := map[string]struct{ url, want string }{
		"malformed":     {"base64key://%zz", "KEK URL is malformed"},
		"no scheme":     {"just-a-key", "KEK URL has no scheme"},
		"unknown":       {"azurekeyvault://vault.example/keys/kek", `scheme "azurekeyvault" is not supported by this build`},
		"empty key":     {"base64key://", "has no key"},
		"bad key":       {"base64key://" + secret, "cannot open the base64key keeper"},
		"bad parameter": {"base64key://" + secret + "?x=1", "cannot open the base64key keeper"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := OpenKeeper(ctx, tc.url)
			require.ErrorIs(t, err, ErrUnavailable)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), secret, "the URL holds the KEK")
		})
	}
}

// failingKeeper is a keeper driver whose service is down or refuses.
type failingKeeper struct {
	code gcerrors.ErrorCode
}

func (f failingKeeper) Decrypt(ctx context.Context, b []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("kms: request failed\n status %v", f.code)
}
func (f failingKeeper) Encrypt(ctx context.Context, b []byte) ([]byte, error) {
	return f.Decrypt(ctx, b)
}
func (f failingKeeper) Close() error            { return nil }
func (f failingKeeper) ErrorAs(error, any) bool { return false }
func (f failingKeeper) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, context.Canceled) {
		return gcerrors.Canceled
	}
	return f.code
}

func TestKeeperUnreachableOrRefusing(t *testing.T) {
	keeper, _ := newKeeper(t)
	w, _ := generate(t, keeper)
	cases := []struct {
		code gcerrors.ErrorCode
		want string
	}{
		{gcerrors.DeadlineExceeded, "ekey unavailable: keeper unreachable while trying to decrypt the data key: "},
		{gcerrors.PermissionDenied, "ekey unavailable: keeper refused to decrypt the data key (permission denied): "},
		{gcerrors.NotFound, "ekey unavailable: keeper cannot decrypt the data key: KEK not found: "},
	}
	for _, tc := range cases {
		k := secrets.NewKeeper(failingKeeper{tc.code})
		_, err := Unwrap(context.Background(), k, w)
		require.ErrorIs(t, err, ErrUnavailable)
		require.True(t, strings.HasPrefix(err.Error(), tc.want), err.Error())
		require.NotContains(t, err.Error(), "\n", "one line")
		_, err = Generate(context.Background(), k)
		require.ErrorIs(t, err, ErrUnavailable)
		require.Contains(t, err.Error(), "encrypt the data key")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Unwrap(ctx, secrets.NewKeeper(failingKeeper{gcerrors.Unknown}), w)
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, context.Canceled)
	require.Contains(t, err.Error(), "keeper unreachable")
}

func TestRewrap(t *testing.T) {
	ctx := context.Background()
	oldKEK, _ := newKeeper(t)
	newKEK, _ := newKeeper(t)
	w, k := generate(t, oldKEK)

	w2, err := Rewrap(ctx, oldKEK, newKEK, w)
	require.NoError(t, err)
	require.Equal(t, w.KeyID, w2.KeyID)
	require.NotEqual(t, w.DataKey, w2.DataKey)

	k2, err := Unwrap(ctx, newKEK, w2)
	require.NoError(t, err)
	require.Equal(t, k.dataKey, k2.dataKey)
	require.Equal(t, k.chunkIDKey, k2.chunkIDKey)

	_, err = Unwrap(ctx, oldKEK, w2)
	require.ErrorIs(t, err, ErrUnavailable)

	_, err = Rewrap(ctx, newKEK, oldKEK, w) // "from" is the wrong KEK
	require.ErrorIs(t, err, ErrUnavailable)
}

func TestNewGenerationKeepsChunkIDs(t *testing.T) {
	ctx := context.Background()
	keeper, _ := newKeeper(t)
	w1, k1 := generate(t, keeper)

	w2, err := NewGeneration(ctx, keeper, w1)
	require.NoError(t, err)
	require.NotEqual(t, w1.KeyID, w2.KeyID)
	k2, err := Unwrap(ctx, keeper, w2)
	require.NoError(t, err)

	require.NotEqual(t, k1.dataKey, k2.dataKey, "new generation has a new data key")
	data := []byte("same content")
	require.Equal(t, k1.ChunkID(data), k2.ChunkID(data), "dedup must survive a new generation")
	require.Equal(t, k1.ChunkerKey(), k2.ChunkerKey(), "chunk boundaries must survive too")

	// Old packs stay readable through the keyring; new ones use the new key.
	sealed := k1.AEAD().Seal(nil, nil, data, nil)
	ring := NewKeyring(k2, k1)
	require.Same(t, k2, ring.Current())
	old, ok := ring.Get(w1.KeyID)
	require.True(t, ok)
	p, err := old.AEAD().Open(nil, nil, sealed, nil)
	require.NoError(t, err)
	require.Equal(t, data, p)
	_, err = ring.Current().AEAD().Open(nil, nil, sealed, nil)
	require.Error(t, err)
}

func TestKeyring(t *testing.T) {
	keeper, _ := newKeeper(t)
	_, a := generate(t, keeper)
	_, b := generate(t, keeper)
	_, c := generate(t, keeper)

	r := NewKeyring(c, a, nil, b, c)
	require.Same(t, c, r.Current())
	for _, k := range []*TenantKeys{a, b, c} {
		got, ok := r.Get(k.KeyID())
		require.True(t, ok)
		require.Same(t, k, got)
	}
	_, ok := r.Get("nope")
	require.False(t, ok)

	r.Destroy()
	require.Panics(t, func() { a.ChunkID(nil) })
}

func TestChunkIDDeterministicPerTenant(t *testing.T) {
	keeper, _ := newKeeper(t)
	_, t1 := generate(t, keeper)
	_, t2 := generate(t, keeper)
	data := []byte("the quarterly report")

	require.Equal(t, t1.ChunkID(data), t1.ChunkID(data))
	require.Equal(t, t1.ChunkID(data), t1.ChunkID(bytes.Clone(data)))
	require.NotEqual(t, t1.ChunkID(data), t1.ChunkID([]byte("the quarterly report!")))
	require.NotEqual(t, t1.ChunkID(data), t2.ChunkID(data), "tenants must not share chunk IDs")
	require.NotEqual(t, t1.ChunkerKey(), t2.ChunkerKey())
	require.Len(t, t1.ChunkerKey(), KeySize)
	require.NotEqual(t, t1.ChunkerKey(), t1.chunkIDKey[:], "chunker key is derived, not the key itself")
}

func TestDestroy(t *testing.T) {
	keeper, _ := newKeeper(t)
	_, k := generate(t, keeper)
	k.Destroy()
	k.Destroy() // idempotent
	for _, b := range rawKeys(k) {
		require.Equal(t, make([]byte, KeySize), b)
	}
	require.Panics(t, func() { k.ChunkID([]byte("x")) })
	require.Panics(t, func() { k.AEAD() })
	require.Panics(t, func() { k.ChunkerKey() })
	require.NotEmpty(t, k.KeyID())
}

func TestSealOpenSecret(t *testing.T) {
	ctx := context.Background()
	keeper, _ := newKeeper(t)
	other, _ := newKeeper(t)
	secret := []byte("graph-client-secret~value")

	sealed, err := SealSecret(ctx, keeper, secret)
	require.NoError(t, err)
	require.NotContains(t, string(sealed), string(secret))

	got, err := OpenSecret(ctx, keeper, sealed)
	require.NoError(t, err)
	require.Equal(t, secret, got)

	_, err = OpenSecret(ctx, other, sealed)
	require.ErrorIs(t, err, ErrUnavailable)
	require.NotContains(t, err.Error(), string(secret))

	// A wrapped key is not a secret, even under the right KEK.
	w, _ := generate(t, keeper)
	_, err = OpenSecret(ctx, keeper, w.DataKey)
	require.ErrorIs(t, err, ErrUnavailable)
	require.Contains(t, err.Error(), "is a data key")

	_, err = SealSecret(ctx, nil, secret)
	require.True(t, errors.Is(err, ErrUnavailable))
}
