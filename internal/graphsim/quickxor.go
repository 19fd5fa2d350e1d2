package graphsim

import (
	"encoding/binary"
	"hash"
)

// QuickXorHash is OneDrive for Business's file hash, as specified in
// https://learn.microsoft.com/onedrive/developer/code-snippets/quickxorhash: byte i of the input
// is XORed into a 160-bit block rotated left by 11*i bits, and the 64-bit little-endian input
// length is XORed into the last 8 bytes of the block. file.hashes.quickXorHash is its base64.
//
// Because the rotation for byte i depends only on i mod 160, the state is the XOR of all bytes
// at each of the 160 positions (a 160-byte accumulator updated a word at a time); the rotations
// are applied once in Sum. That makes hashing about as fast as XORing memory.
type quickXor struct {
	acc    [20]uint64 // acc byte k (k = 8*w + b) holds the XOR of input bytes at positions ≡ k mod 160
	length int64
}

const (
	quickXorSize  = 20  // bytes in the digest (160 bits)
	quickXorWidth = 160 // positions (and bits) in the block
	quickXorShift = 11  // bits the block rotates per input byte
)

func newQuickXor() *quickXor { return &quickXor{} }

var _ hash.Hash = (*quickXor)(nil)

func (q *quickXor) Size() int      { return quickXorSize }
func (q *quickXor) BlockSize() int { return quickXorWidth }
func (q *quickXor) Reset()         { *q = quickXor{} }

func (q *quickXor) xorByte(k int, b byte) { q.acc[k>>3] ^= uint64(b) << (8 * uint(k&7)) }

func (q *quickXor) Write(p []byte) (int, error) {
	n := len(p)
	k := int(q.length % quickXorWidth)
	q.length += int64(n)
	for k != 0 && len(p) > 0 {
		q.xorByte(k, p[0])
		p = p[1:]
		k = (k + 1) % quickXorWidth
	}
	for len(p) >= quickXorWidth {
		for w := range q.acc {
			q.acc[w] ^= binary.LittleEndian.Uint64(p[8*w:])
		}
		p = p[quickXorWidth:]
	}
	for i, b := range p {
		q.xorByte(i, b)
	}
	return n, nil
}

func (q *quickXor) Sum(b []byte) []byte {
	var out [quickXorSize]byte
	for k := range quickXorWidth {
		a := byte(q.acc[k>>3] >> (8 * uint(k&7)))
		if a == 0 {
			continue
		}
		shift := (k * quickXorShift) % quickXorWidth
		v := uint16(a) << uint(shift&7)
		i := shift >> 3
		out[i] ^= byte(v)
		out[(i+1)%quickXorSize] ^= byte(v >> 8)
	}
	var l [8]byte
	binary.LittleEndian.PutUint64(l[:], uint64(q.length))
	for i := range l {
		out[quickXorSize-8+i] ^= l[i]
	}
	return append(b, out[:]...)
}
