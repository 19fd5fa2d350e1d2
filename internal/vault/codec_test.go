package vault

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The probe decides, from samples, whether a large chunk is worth a full
// compression pass; a wrong "no" costs space, a wrong "yes" CPU.
func TestProbeTellsCompressibleChunks(t *testing.T) {
	const size = 1 << 20
	random := randomBytes(1, size)
	cases := []struct {
		name string
		data []byte
		want bool
	}{
		{"text", textBytes(2, size), true},
		{"random (zip, jpeg, mp4)", random, false},
		// Base64 attachments in MIME compress only through entropy coding.
		{"base64 of random", []byte(base64.StdEncoding.EncodeToString(random))[:size], true},
		{"small chunks are not probed", randomBytes(3, probeMinSize-1), true},
	}
	enc := getEncoder()
	defer putEncoder(enc)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, worthCompressing(enc, c.data, nil))
		})
	}
}

// A chunk is stored compressed only when that pays, and opens either way.
func TestSealCompressesOnlyWhenItPays(t *testing.T) {
	k, _ := tenantKeys(t)
	for _, c := range []struct {
		name       string
		data       []byte
		compressed bool
	}{
		{"text", textBytes(4, 1<<20), true},
		{"random", randomBytes(5, 1<<20), false},
		{"small random", randomBytes(6, 10<<10), false},
		{"base64", []byte(base64.StdEncoding.EncodeToString(randomBytes(7, 3<<18))), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := ChunkID(k.ChunkID(c.data))
			b := getChunkBufs()
			b.load(c.data)
			sealed := append([]byte(nil), b.seal(k, id)...)
			if c.compressed {
				assert.Less(t, len(sealed), len(c.data)*4/5)
			} else {
				assert.Equal(t, len(c.data)+sealOverhead, len(sealed))
			}
			plain, err := b.open(k, id, sealed, int64(len(c.data)))
			require.NoError(t, err)
			assert.Equal(t, c.data, plain)
			putChunkBufs(b)
		})
	}
}
