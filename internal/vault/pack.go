package vault

import (
	"context"
	"sync"

	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"gocloud.dev/blob"
	"hash/crc32"
	"strings"

	"github.com/holdfast/holdfast/internal/keys"
)

// Pack layout (FORMAT.md has the full description):
//
//	sealed chunk 1 ‖ … ‖ sealed chunk n ‖ sealed trailer ‖ footer
//
// The footer is fixed-size and plaintext; it is the trailer's AAD, so every
// footer byte is authenticated. The trailer lists each chunk's ID, sealed
// length and plaintext length; offsets follow from the lengths.
const (
	footerSize     = 52
	footerKeyIDLen = 32 // key IDs up to 32 bytes, NUL-padded
	packVersion    = 1
	packMagic      = "HFSTPACK"

	trailerEntrySize = 32 + 4 + 4
)

// footer is the fixed-size tail of a pack.
type footer struct {
	keyID      string
	trailerLen uint32 // sealed trailer length
}

func (f footer) marshal() [footerSize]byte {
	var b [footerSize]byte
	copy(b[:footerKeyIDLen], f.keyID)
	binary.LittleEndian.PutUint32(b[32:], f.trailerLen)
	binary.LittleEndian.PutUint32(b[36:], packVersion)
	binary.LittleEndian.PutUint32(b[40:], crc32.Checksum(b[:40], castagnoli))
	copy(b[44:], packMagic)
	return b
}

// The footer's CRC-32C tells a damaged footer from a key generation the
// reader lacks: the trailer's tag can only be checked with the key.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func parseFooter(b []byte) (footer, error) {
	if len(b) != footerSize {
		return footer{}, corruption("pack too short for a footer")
	}
	if string(b[44:]) != packMagic {
		return footer{}, corruption("bad magic: not a pack")
	}
	if binary.LittleEndian.Uint32(b[40:]) != crc32.Checksum(b[:40], castagnoli) {
		return footer{}, corruption("footer checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[36:]); v != packVersion {
		return footer{}, corruption(fmt.Sprintf("unsupported format version %d", v))
	}
	id := b[:footerKeyIDLen]
	n := bytes.IndexByte(id, 0)
	if n < 0 {
		n = len(id)
	}
	if n == 0 || !validKeyID(string(id[:n])) || bytes.ContainsFunc(id[n:], func(r rune) bool { return r != 0 }) {
		return footer{}, corruption("bad key ID")
	}
	return footer{keyID: string(id[:n]), trailerLen: binary.LittleEndian.Uint32(b[32:])}, nil
}

// validKeyID accepts key IDs that fit the footer and print safely.
func validKeyID(id string) bool {
	if id == "" || len(id) > footerKeyIDLen {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// packBuilder streams sealed chunks into one pack object as they come, so
// a pack costs no memory beyond the blob driver's buffer (fileblob writes
// through to a file; s3blob buffers one part). The object appears only
// when finish closes the writer: an abandoned pack leaves nothing behind.
type packBuilder struct {
	id      string // random; bound to the content by the trailer's AAD
	wmu     sync.Mutex
	w       *blob.Writer
	cancel  context.CancelFunc // aborts the object
	size    int64              // bytes written
	err     error              // first write error; the pack is lost
	entries []IndexEntry       // Location.PackID/KeyID are filled at upload
	done    chan struct{}      // closed when the upload finished (either way)
}

// add writes a sealed chunk at the end of the pack. Callers hold wmu, so
// chunks land in the order their offsets were taken.
func (p *packBuilder) add(id ChunkID, sealed []byte, rawLen int) {
	p.entries = append(p.entries, IndexEntry{ID: id, Location: Location{
		Offset: p.size,
		Length: int64(len(sealed)),
		RawLen: int64(rawLen),
	}})
	p.write(sealed)
}

func (p *packBuilder) write(b []byte) {
	if p.err != nil {
		return
	}
	n, err := p.w.Write(b)
	p.size += int64(n)
	if err != nil {
		p.err = err
	}
}

// finish writes the sealed trailer and the footer and closes the object;
// it returns the pack's ID and size. Callers hold wmu.
func (p *packBuilder) finish(k *keys.TenantKeys) (string, int64, error) {
	trailer := make([]byte, 4, 4+trailerEntrySize*len(p.entries))
	binary.LittleEndian.PutUint32(trailer, uint32(len(p.entries)))
	for _, e := range p.entries {
		trailer = append(trailer, e.ID[:]...)
		trailer = binary.LittleEndian.AppendUint32(trailer, uint32(e.Length))
		trailer = binary.LittleEndian.AppendUint32(trailer, uint32(e.RawLen))
	}
	f := footer{keyID: k.KeyID(), trailerLen: uint32(len(trailer) + aeadOverhead)}.marshal()
	p.write(k.AEAD().Seal(nil, nil, trailer, trailerAAD(f[:], p.id)))
	p.write(f[:])
	if p.err != nil {
		p.abort()
		return p.id, p.size, p.err
	}
	err := p.w.Close()
	p.cancel()
	return p.id, p.size, err
}

// abort discards the object being written.
func (p *packBuilder) abort() {
	p.cancel()
	p.w.Close() // with its context cancelled, the driver drops the object
}

// trailerAAD authenticates the footer and binds the pack to its name: a
// pack renamed or swapped for another fails to open.
func trailerAAD(footer []byte, packID string) []byte {
	return append(append(make([]byte, 0, len(footer)+len(packID)), footer...), packID...)
}

// newPackID is a random pack name: 32 bytes as lowercase hex.
func newPackID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// packIndex is a pack's own account of its chunks, from its trailer.
type packIndex struct {
	keyID   string
	entries []IndexEntry // Location.PackID and KeyID filled
}

// openTrailer authenticates and parses the trailer of a pack of packSize
// bytes, given its footer bytes and sealed trailer. k must hold the
// footer's key ID.
func openTrailer(k *keys.TenantKeys, packID string, packSize int64, footerBytes, sealedTrailer []byte) (packIndex, error) {
	f, err := parseFooter(footerBytes)
	if err != nil {
		return packIndex{}, partErr(packID, "footer", err)
	}
	plain, err := k.AEAD().Open(nil, nil, sealedTrailer, trailerAAD(footerBytes, packID))
	if err != nil {
		return packIndex{}, partErr(packID, "trailer", errAuth)
	}
	if len(plain) < 4 {
		return packIndex{}, partErr(packID, "trailer", corruption("too short"))
	}
	n := int64(binary.LittleEndian.Uint32(plain))
	if n == 0 || int64(len(plain)) != 4+n*trailerEntrySize {
		return packIndex{}, partErr(packID, "trailer", corruption(fmt.Sprintf("%d bytes cannot list %d chunks", len(plain), n)))
	}
	pi := packIndex{keyID: f.keyID, entries: make([]IndexEntry, n)}
	var off int64
	for i := range pi.entries {
		b := plain[4+i*trailerEntrySize:]
		e := &pi.entries[i]
		copy(e.ID[:], b[:32])
		e.Location = Location{
			PackID: packID,
			KeyID:  f.keyID,
			Offset: off,
			Length: int64(binary.LittleEndian.Uint32(b[32:])),
			RawLen: int64(binary.LittleEndian.Uint32(b[36:])),
		}
		off += e.Length
	}
	if want := packSize - footerSize - int64(f.trailerLen); off != want {
		return packIndex{}, partErr(packID, "trailer", corruption(fmt.Sprintf("chunks span %d bytes, pack has %d before the trailer", off, want)))
	}
	return pi, nil
}

// packKey is the blob key of a pack.
func packKey(tenantID, packID string) string {
	return packPrefix(tenantID) + packID[:2] + "/" + packID
}

func packPrefix(tenantID string) string {
	return "tenants/" + tenantID + "/packs/"
}

// validPackID accepts only what finish produces: 64 lowercase hex digits.
func validPackID(id string) bool {
	if len(id) != 64 || strings.ToLower(id) != id {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// validTenantID keeps a tenant ID to one safe path segment of a blob key.
func validTenantID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 128 {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}
