package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
	"sync/atomic"
)

// KeySize is the size of every key in this package: 256 bits.
const KeySize = 32

// chunkerKeyInfo separates the chunker key from every other use of the
// chunk-ID key (HKDF "info"); changing it changes every chunk boundary.
const chunkerKeyInfo = "holdfast/keys: content-defined chunker gear key v1"

// TenantKeys are a tenant's plaintext keys for one data-key generation. They
// live only in memory. All methods are safe for concurrent use, except
// Destroy, which must be the last call.
type TenantKeys struct {
	id         string
	dataKey    [KeySize]byte
	chunkIDKey [KeySize]byte
	chunkerKey [KeySize]byte
	aead       cipher.AEAD
	macs       sync.Pool // of hash.Hash: HMAC-SHA-256 keyed with chunkIDKey
	destroyed  atomic.Bool
}

// newTenantKeys takes ownership of copies of the key bytes; the caller
// zeroes its own.
func newTenantKeys(id string, dataKey, chunkIDKey []byte) (*TenantKeys, error) {
	k := &TenantKeys{id: id}
	copy(k.dataKey[:], dataKey)
	copy(k.chunkIDKey[:], chunkIDKey)
	block, err := aes.NewCipher(k.dataKey[:])
	if err != nil {
		return nil, err
	}
	if k.aead, err = cipher.NewGCMWithRandomNonce(block); err != nil {
		return nil, err
	}
	ck, err := hkdf.Expand(sha256.New, k.chunkIDKey[:], chunkerKeyInfo, KeySize)
	if err != nil {
		return nil, err
	}
	copy(k.chunkerKey[:], ck)
	clear(ck)
	k.macs.New = func() any { return hmac.New(sha256.New, k.chunkIDKey[:]) }
	return k, nil
}

// KeyID names the data-key generation; packs record it.
func (k *TenantKeys) KeyID() string { return k.id }

// ChunkID is HMAC-SHA-256(chunk-ID key, plaintext): the chunk's name.
func (k *TenantKeys) ChunkID(plaintext []byte) [32]byte {
	k.live()
	mac := k.macs.Get().(hash.Hash)
	mac.Write(plaintext)
	var id [32]byte
	mac.Sum(id[:0])
	mac.Reset()
	k.macs.Put(mac)
	return id
}

// AEAD is AES-256-GCM under the data key, with random nonces: NonceSize is 0,
// Seal draws a fresh 96-bit nonce and prepends it, Open reads it back, and
// Overhead is 28 bytes (nonce + tag). Random nonces keep callers from ever
// reusing one; the price is a limit of 2^32 seals per data key (start a new
// generation long before: at 1 MiB chunks that is 4 PiB).
func (k *TenantKeys) AEAD() cipher.AEAD {
	k.live()
	return k.aead
}

// ChunkerKey keys the content-defined chunker, so chunk boundaries (visible
// as sizes to whoever holds the bucket) do not fingerprint known content.
// It is derived with HKDF from the chunk-ID key, never the key itself, and
// is the same for every data-key generation so deduplication survives.
func (k *TenantKeys) ChunkerKey() []byte {
	k.live()
	return k.chunkerKey[:]
}

// Destroy zeroes the key bytes. Later calls to the other methods panic
// rather than silently use a zero key. (The AES key schedule inside the
// Go runtime's cipher cannot be zeroed; it is dropped for the GC.)
func (k *TenantKeys) Destroy() {
	if k.destroyed.Swap(true) {
		return
	}
	clear(k.dataKey[:])
	clear(k.chunkIDKey[:])
	clear(k.chunkerKey[:])
	k.aead = nil
	k.macs = sync.Pool{}
}

func (k *TenantKeys) live() {
	if k.destroyed.Load() {
		panic("keys: use of destroyed TenantKeys " + k.id)
	}
}
