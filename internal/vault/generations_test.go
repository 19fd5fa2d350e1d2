package vault

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"gocloud.dev/secrets/localsecrets"

	"github.com/holdfast/holdfast/internal/keys"
)

// After a new data-key generation, new packs use the new key, old packs
// stay readable through the keyring, and old chunks still deduplicate.
func TestKeyGenerations(t *testing.T) {
	ctx := context.Background()
	kek, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	keeper := localsecrets.NewKeeper(kek)
	defer keeper.Close()
	w1, err := keys.Generate(ctx, keeper)
	require.NoError(t, err)
	k1, err := keys.Unwrap(ctx, keeper, w1)
	require.NoError(t, err)
	w2, err := keys.NewGeneration(ctx, keeper, w1)
	require.NoError(t, err)
	k2, err := keys.Unwrap(ctx, keeper, w2)
	require.NoError(t, err)

	idx := NewMemIndex()
	v := New(memBucket(t), idx, Options{})
	old := textBytes(1, 50<<10)
	c1, _ := store(t, v, "t", k1, old)

	fresh := textBytes(2, 50<<10)
	s := v.NewSession("t", k2)
	c1again, err := s.Store(ctx, bytes.NewReader(old))
	require.NoError(t, err)
	c2, err := s.Store(ctx, bytes.NewReader(fresh))
	require.NoError(t, err)
	require.NoError(t, s.Flush(ctx))
	require.Equal(t, c1, c1again, "chunk IDs survive the new generation")
	require.EqualValues(t, 1, s.Stats().ChunksDeduped)
	require.EqualValues(t, 1, s.Stats().ChunksNew)

	keyIDs := map[string]bool{}
	for _, p := range idx.Packs("t") {
		keyIDs[p.KeyID] = true
	}
	require.Equal(t, map[string]bool{k1.KeyID(): true, k2.KeyID(): true}, keyIDs)

	ring := keys.NewKeyring(k2, k1)
	for _, tc := range []struct {
		c    Content
		want []byte
	}{{c1, old}, {c2, fresh}} {
		got, err := readBack(t, v, "t", ring, tc.c)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	verifyAll(t, v, "t", ring)

	// Without the old generation, its packs cannot be read — and say why.
	_, err = readBack(t, v, "t", keys.NewKeyring(k2), c1)
	require.ErrorContains(t, err, "data key generation \""+k1.KeyID()+"\" is not in the keyring")
}

func TestStoreCanceled(t *testing.T) {
	k, _ := tenantKeys(t)
	v := New(memBucket(t), NewMemIndex(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.NewSession("t", k).Store(ctx, bytes.NewReader([]byte("x")))
	require.ErrorIs(t, err, context.Canceled)
}
