package vault

import (
	"crypto/subtle"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/holdfast/holdfast/internal/keys"
)

// A sealed chunk is AES-256-GCM(data key, random nonce, payload, AAD = the
// chunk ID), laid out nonce ‖ ciphertext ‖ tag, where payload is one
// encoding byte followed by the plaintext (raw) or a zstd frame of it.
// The encoding byte is inside the encryption so that nothing in a pack marks
// where chunks begin (see FORMAT.md).
const (
	encodingRaw  byte = 0
	encodingZstd byte = 1

	aeadOverhead = 12 + 16 // nonce + tag (keys.TenantKeys.AEAD)
	sealOverhead = 1 + aeadOverhead

	// maxSealedChunk bounds a sealed chunk: compression is kept only when
	// it is smaller than raw, so raw is the worst case.
	maxSealedChunk = MaxChunkSize + sealOverhead
)

// keepCompressed reports whether compression saved enough to be worth a
// decompression on every read: at least 1/32 (~3%) of the chunk.
func keepCompressed(raw, compressed int) bool {
	return compressed < raw-raw/32
}

// Much of what OneDrive and SharePoint hold is already compressed (Office
// files are zip, then JPEG, PDF, MP4). Rather than pay a full zstd pass to
// learn that, chunks of probeMinSize or more are probed first: probeSamples
// slices of probeSampleSize spread over the chunk are compressed together,
// and if that saves less than 1/32 the chunk is stored raw. On text the
// probe costs ~1% of a full pass of a 1 MiB chunk (6% at 128 KiB); it can
// miss a small compressible region between the samples, which costs a
// little space, never correctness.
const (
	probeMinSize    = 128 << 10
	probeSamples    = 8
	probeSampleSize = 1 << 10
	probeScratch    = 2*probeSamples*probeSampleSize + 1024 // samples + their compressed form
)

// worthCompressing probes plain (see above), using scratch for the samples.
func worthCompressing(enc *zstd.Encoder, plain, scratch []byte) bool {
	if len(plain) < probeMinSize {
		return true
	}
	if cap(scratch) < probeScratch {
		scratch = make([]byte, 0, probeScratch)
	}
	sample := scratch[:0]
	stride := (len(plain) - probeSampleSize) / (probeSamples - 1)
	for i := range probeSamples {
		off := i * stride
		sample = append(sample, plain[off:off+probeSampleSize]...)
	}
	out := enc.EncodeAll(sample, scratch[len(sample):len(sample)])
	return keepCompressed(len(sample), len(out))
}

// Encoders and decoders are expensive to build (tables, history) and cheap
// to reuse; keep a free list rather than a sync.Pool, which the GC empties
// — and the 16 MiB pack buffers make GCs frequent.
var (
	encoders = make(chan *zstd.Encoder, 2*runtime.GOMAXPROCS(0))
	decoders = make(chan *zstd.Decoder, 2*runtime.GOMAXPROCS(0))
)

func getEncoder() *zstd.Encoder {
	select {
	case e := <-encoders:
		return e
	default:
	}
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), // GCM and the chunk-ID HMAC already check it
		// At SpeedFastest a block without matches is otherwise stored as
		// is: base64 (how MIME carries every attachment) would then not
		// compress at all, where Huffman-coding its literals saves 25%.
		zstd.WithAllLitEntropyCompression(true),
		zstd.WithWindowSize(MaxChunkSize),
	)
	if err != nil {
		panic("vault: zstd encoder options: " + err.Error()) // constant options
	}
	return e
}

func putEncoder(e *zstd.Encoder) {
	select {
	case encoders <- e:
	default:
	}
}

func getDecoder() *zstd.Decoder {
	select {
	case d := <-decoders:
		return d
	default:
	}
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecodeAllCapLimit(true), // output never exceeds the expected length
		zstd.WithDecoderMaxWindow(MaxChunkSize),
		zstd.WithDecoderMaxMemory(2*MaxChunkSize),
	)
	if err != nil {
		panic("vault: zstd decoder options: " + err.Error())
	}
	return d
}

func putDecoder(d *zstd.Decoder) {
	select {
	case decoders <- d:
	default:
	}
}

// chunkBufs are the scratch buffers of one chunk being sealed or opened,
// pooled so a chunk costs no large allocation.
type chunkBufs struct {
	payload []byte // sealing: encoding byte + plaintext; opening: decrypted payload
	work    []byte // sealing: encoding byte + zstd frame; opening: decompressed plaintext
	sealed  []byte // sealing: the sealed chunk; opening: the sealed bytes read
}

// The buffers start empty and grow to the chunks they meet, so a pool
// serving mail items does not hold 4 MiB buffers for 20 KiB chunks.
var chunkBufPool = sync.Pool{New: func() any { return new(chunkBufs) }}

func getChunkBufs() *chunkBufs  { return chunkBufPool.Get().(*chunkBufs) }
func putChunkBufs(b *chunkBufs) { chunkBufPool.Put(b) }

// load copies a chunk in, leaving room for the encoding byte in front so a
// raw chunk is sealed without another copy.
func (b *chunkBufs) load(plain []byte) {
	b.payload = append(append(b.payload[:0], encodingRaw), plain...)
}

// seal compresses (if that pays) and encrypts the loaded chunk; the result
// aliases b.sealed.
func (b *chunkBufs) seal(k *keys.TenantKeys, id ChunkID) []byte {
	plain := b.payload[1:]
	payload := b.payload
	if len(plain) > 0 {
		enc := getEncoder()
		if len(plain) >= probeMinSize {
			b.work = slices.Grow(b.work[:0], probeScratch)
		}
		if worthCompressing(enc, plain, b.work[:0]) {
			b.work = enc.EncodeAll(plain, append(b.work[:0], encodingZstd))
			if keepCompressed(len(plain), len(b.work)-1) {
				payload = b.work
			}
		}
		putEncoder(enc)
	}
	b.sealed = k.AEAD().Seal(b.sealed[:0], nil, payload, id[:])
	return b.sealed
}

// Corruption errors: the stored bytes are not what was written. They match
// ErrCorrupt; I/O failures (a bucket that cannot be reached) do not.
var (
	errAuth        = corruption("authentication failed (tampered, truncated or sealed with another key)")
	errNoPayload   = corruption("empty payload")
	errContentHash = corruption("plaintext does not match the chunk ID")
)

// open decrypts and decompresses sealed (which must be b.sealed or outlive
// the call) and checks the plaintext against id. The result aliases b.
func (b *chunkBufs) open(k *keys.TenantKeys, id ChunkID, sealed []byte, rawLen int64) ([]byte, error) {
	if rawLen < 0 || rawLen > MaxChunkSize {
		return nil, corruption(fmt.Sprintf("plaintext length %d out of range", rawLen))
	}
	payload, err := k.AEAD().Open(b.payload[:0], nil, sealed, id[:])
	if err != nil {
		return nil, errAuth
	}
	b.payload = payload
	if len(payload) == 0 {
		return nil, errNoPayload
	}
	var plain []byte
	switch payload[0] {
	case encodingRaw:
		plain = payload[1:]
	case encodingZstd:
		dec := getDecoder()
		b.work = slices.Grow(b.work[:0], int(rawLen))
		// The cap limit makes DecodeAll fail rather than exceed rawLen.
		// (b.work keeps its full capacity for the next use of the buffers.)
		plain, err = dec.DecodeAll(payload[1:], b.work[:0:rawLen])
		putDecoder(dec)
		if err != nil {
			// zstd errors describe the frame, never its content.
			return nil, corruption("decompression failed: " + err.Error())
		}
	default:
		return nil, corruption(fmt.Sprintf("unknown encoding %d", payload[0]))
	}
	if int64(len(plain)) != rawLen {
		return nil, corruption(fmt.Sprintf("plaintext is %d bytes, index says %d", len(plain), rawLen))
	}
	got := k.ChunkID(plain)
	if subtle.ConstantTimeCompare(got[:], id[:]) != 1 {
		return nil, errContentHash
	}
	return plain, nil
}
