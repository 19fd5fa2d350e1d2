package graphsim

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
)

// Seeded file content is never stored: it is a pure function of a 64-bit content key (derived
// from the seed, the item and its version) and the size, generated in 4 KiB blocks that can be
// produced independently, so a Range request starts generating at its first block. Bit 0 of the
// key selects compressible text (prose/CSV) over incompressible noise (jpg/zip-like).

const contentBlock = 4096

// contentKey marks generated content as text (compressible) or binary.
func contentKeyText(k uint64) bool { return k&1 == 1 }

func withTextFlag(k uint64, text bool) uint64 {
	if text {
		return k | 1
	}
	return k &^ 1
}

// splitmix64 is a tiny, fast, well-mixed generator (Steele, Lea, Flood 2014).
func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func mix64(a, b uint64) uint64 {
	s := a ^ bits.RotateLeft64(b, 29) ^ 0x6a09e667f3bcc909
	splitmix64(&s)
	return splitmix64(&s)
}

var contentWords = []string{
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
	"on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had",
	"they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if",
	"more", "when", "will", "would", "who", "so", "no", "budget", "quarter", "revenue", "project",
	"customer", "meeting", "review", "draft", "final", "contract", "invoice", "delivery", "report",
	"schedule", "team", "approval", "forecast", "risk", "summary", "action", "owner", "deadline",
	"Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove", "Litware", "Adventure", "Works",
	"Zoë", "Ångström", "café", "naïve", "façade", "résumé", "Müller", "København", "東京", "données",
}

// Text content is stitched from 256-byte slices of a 64 KiB prose (or CSV) pool at
// pseudo-random offsets: as compressible as text, and ten times faster to make than word by
// word.
const (
	textPoolSize  = 64 << 10
	textSliceSize = 256
)

var textPools = [2][]byte{makeTextPool(false), makeTextPool(true)}

func makeTextPool(csv bool) []byte {
	s := uint64(0x7e47)
	if csv {
		s = 0xc5f
	}
	out := make([]byte, 0, textPoolSize+64)
	col := 0
	for len(out) < textPoolSize+textSliceSize {
		out = append(out, contentWords[splitmix64(&s)%uint64(len(contentWords))]...)
		col++
		switch {
		case csv && col%6 == 0:
			out = append(out, '\n')
		case csv:
			out = append(out, ',')
		case col%14 == 0:
			out = append(out, '.', '\n')
		case col%7 == 0:
			out = append(out, '.', ' ')
		default:
			out = append(out, ' ')
		}
	}
	return out
}

// genBlock fills dst (at most contentBlock bytes) with block number blk of content key.
func genBlock(key uint64, blk int64, dst []byte) {
	s := mix64(key, uint64(blk))
	if !contentKeyText(key) {
		i := 0
		for ; i+8 <= len(dst); i += 8 {
			binary.LittleEndian.PutUint64(dst[i:], splitmix64(&s))
		}
		if i < len(dst) {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], splitmix64(&s))
			copy(dst[i:], w[:])
		}
		return
	}
	pool := textPools[0]
	if key&2 == 2 {
		pool = textPools[1]
	}
	for i := 0; i < len(dst); i += textSliceSize {
		off := splitmix64(&s) % (textPoolSize - textSliceSize)
		copy(dst[i:], pool[off:off+textSliceSize])
	}
}

// genReader reads generated content; it implements io.ReadSeeker for http.ServeContent.
type genReader struct {
	key  uint64
	size int64
	off  int64
	blk  int64
	buf  [contentBlock]byte
}

func newGenReader(key uint64, size int64) *genReader {
	return &genReader{key: key, size: size, blk: -1}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	n := 0
	for len(p) > 0 && g.off < g.size {
		blk := g.off / contentBlock
		in := int(g.off % contentBlock)
		end := min(int64(contentBlock), g.size-blk*contentBlock)
		if in == 0 && len(p) >= int(end) {
			// Whole block straight into the caller's buffer.
			genBlock(g.key, blk, p[:end])
			p, n, g.off = p[end:], n+int(end), g.off+end
			continue
		}
		if g.blk != blk {
			genBlock(g.key, blk, g.buf[:end])
			g.blk = blk
		}
		c := copy(p, g.buf[in:end])
		p, n, g.off = p[c:], n+c, g.off+int64(c)
	}
	return n, nil
}

func (g *genReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += g.off
	case io.SeekEnd:
		offset += g.size
	default:
		return 0, errors.New("graphsim: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("graphsim: negative offset")
	}
	g.off = offset
	return offset, nil
}

// fileHashes are the two hashes Graph reports for a file, computed once and cached.
type fileHashes struct {
	key      uint64 // content key they were computed for (generated content)
	sha256   [32]byte
	quickXor [quickXorSize]byte
}

// hashReader computes both hashes of a stream.
func hashReader(r io.Reader) (sha [32]byte, qx [quickXorSize]byte, n int64, err error) {
	h := sha256.New()
	q := newQuickXor()
	buf := make([]byte, 64<<10)
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			h.Write(buf[:m])
			_, _ = q.Write(buf[:m])
			n += int64(m)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return sha, qx, n, rerr
		}
	}
	copy(sha[:], h.Sum(nil))
	copy(qx[:], q.Sum(nil))
	return sha, qx, n, nil
}

func hashGenerated(key uint64, size int64) *fileHashes {
	sha, qx, _, _ := hashReader(newGenReader(key, size))
	return &fileHashes{key: key, sha256: sha, quickXor: qx}
}
