// Package quickxor computes OneDrive's QuickXorHash, the content hash
// OneDrive for Business and SharePoint report in file.hashes.quickXorHash,
// so a backup can check that what it downloaded is what the service holds.
//
// The hash XORs every input byte into a 160-bit circular buffer, byte i at
// bit (11·i mod 160), then XORs the input length (little-endian int64) into
// the last 8 bytes. Because the bit position repeats every 160 bytes, the
// input is first folded into 160 lanes with word-wide XORs, and the lanes
// are placed into the buffer only when the sum is taken.
package quickxor

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"hash"
)

const (
	// Size is the hash size in bytes (160 bits).
	Size  = 20
	width = Size * 8 // bits in the circular buffer
	shift = 11       // bits the position advances per input byte
)

type digest struct {
	lanes [width]byte // lanes[k] = XOR of the input bytes at offsets ≡ k (mod 160)
	n     uint64
}

// New returns a QuickXorHash hash.Hash.
func New() hash.Hash { return &digest{} }

func (d *digest) Size() int      { return Size }
func (d *digest) BlockSize() int { return 64 }
func (d *digest) Reset()         { *d = digest{} }

func (d *digest) Write(p []byte) (int, error) {
	n := len(p)
	off := int(d.n % width)
	d.n += uint64(n)
	for len(p) > 0 {
		k := subtle.XORBytes(d.lanes[off:], d.lanes[off:], p)
		p = p[k:]
		off = 0
	}
	return n, nil
}

func (d *digest) Sum(b []byte) []byte {
	var out [Size]byte
	for k, v := range d.lanes {
		if v == 0 {
			continue
		}
		bit := (k * shift) % width
		w := uint16(v) << (bit % 8)
		out[bit/8] ^= byte(w)
		out[(bit/8+1)%Size] ^= byte(w >> 8)
	}
	var length [8]byte
	binary.LittleEndian.PutUint64(length[:], d.n)
	subtle.XORBytes(out[Size-8:], out[Size-8:], length[:])
	return append(b, out[:]...)
}

// Base64 returns the hash of what h has seen in Graph's form (standard
// base64).
func Base64(h hash.Hash) string { return base64.StdEncoding.EncodeToString(h.Sum(nil)) }
