package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/secrets/localsecrets"

	"github.com/holdfast/holdfast/internal/keys"
)

// tenantKeys makes a fresh tenant's keys under a throwaway local KEK.
func tenantKeys(t testing.TB) (*keys.TenantKeys, *keys.Keyring) {
	t.Helper()
	ctx := context.Background()
	kek, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	keeper := localsecrets.NewKeeper(kek)
	defer keeper.Close()
	w, err := keys.Generate(ctx, keeper)
	require.NoError(t, err)
	k, err := keys.Unwrap(ctx, keeper, w)
	require.NoError(t, err)
	return k, keys.NewKeyring(k)
}

func memBucket(t testing.TB) *blob.Bucket {
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	return b
}

func fileBucket(t testing.TB) *blob.Bucket {
	b, err := fileblob.OpenBucket(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// randomBytes is incompressible, deterministic data.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	fillRandom(seed, b)
	return b
}

func fillRandom(seed uint64, b []byte) {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	s[2], s[3] = byte(seed>>16), byte(seed>>24)
	rand.NewChaCha8(s).Read(b)
}

// textBytes is compressible, deterministic, mail-like data.
func textBytes(seed uint64, n int) []byte {
	words := strings.Fields("the quarterly report is attached please review before friday meeting " +
		"regards thanks budget forecast team sharepoint onedrive invoice contract draft final")
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(12) == 0 {
			b.WriteString(".\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// store stores data in a new session and flushes it.
func store(t testing.TB, v *Vault, tenant string, k *keys.TenantKeys, data []byte) (Content, SessionStats) {
	t.Helper()
	ctx := context.Background()
	s := v.NewSession(tenant, k)
	c, err := s.Store(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, s.Flush(ctx))
	return c, s.Stats()
}

// readBack reads a content through Open.
func readBack(t testing.TB, v *Vault, tenant string, ring *keys.Keyring, c Content) ([]byte, error) {
	t.Helper()
	r, err := v.Open(context.Background(), tenant, ring, c)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// packIDs lists a tenant's pack objects.
func packIDs(t testing.TB, v *Vault, tenant string) []string {
	t.Helper()
	var ids []string
	require.NoError(t, v.ListPacks(context.Background(), tenant, func(id string, _ int64) error {
		ids = append(ids, id)
		return nil
	}))
	sort.Strings(ids)
	return ids
}

// verifyAll runs VerifyPack on every pack of a tenant.
func verifyAll(t testing.TB, v *Vault, tenant string, ring *keys.Keyring) {
	t.Helper()
	for _, id := range packIDs(t, v, tenant) {
		rep, err := v.VerifyPack(context.Background(), tenant, ring, id)
		require.NoError(t, err)
		require.Empty(t, rep.Damaged)
		require.Equal(t, rep.Chunks, rep.Indexed, "pack %s", id)
	}
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }
