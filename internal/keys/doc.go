// Package keys holds a tenant's encryption keys (the "ekey") and their
// envelope encryption under a customer-held key-encryption key (KEK).
//
// Each tenant has two random 256-bit keys:
//
//   - the data key: AES-256-GCM for chunk and trailer content in the vault;
//   - the chunk-ID key: HMAC-SHA-256 of a chunk's plaintext names the chunk,
//     so equal data deduplicates within a tenant without the name revealing
//     the content. The content-defined chunker is keyed from it too, so chunk
//     boundaries do not fingerprint content either.
//
// Both are stored only wrapped (encrypted) by the KEK, which lives in the
// customer's key service and is reached through gocloud.dev/secrets by URL:
// base64key:// for local and development use; azurekeyvault://, awskms://,
// gcpkms:// and hashivault:// in production (the worker's main blank-imports
// those drivers; this package imports only localsecrets).
//
// Rotation comes in two kinds:
//
//   - Rewrap: the same keys under another KEK. Cheap; stored data is untouched.
//   - NewGeneration: a new data key (and key ID) for new data, keeping the
//     chunk-ID key so deduplication survives. Older generations stay in the
//     Keyring for reading the packs they sealed (packs record their key ID).
//
// Every failure to reach or use the KEK wraps ErrUnavailable: a backup cannot
// proceed without its ekey, and the error says why in one line. Errors never
// contain key material.
package keys
