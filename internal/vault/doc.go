// Package vault is Holdfast's encrypted, deduplicated content store over a
// gocloud.dev/blob bucket (file://, mem://, s3://, azblob://, gs://).
//
// Writing: a Session splits each stream into content-defined chunks (keyed
// FastCDC, 256 KiB / 1 MiB / 4 MiB), names each chunk by HMAC-SHA-256 under
// the tenant's chunk-ID key, skips chunks the Index already has, and seals
// new ones (zstd when it pays, then AES-256-GCM with the chunk ID as AAD)
// into packs of ~16 MiB, uploaded with one PUT each. A chunk enters the
// Index only after its pack's upload succeeded; Flush makes everything
// stored so far durable. The result of a Store is a Content (ordered chunk
// IDs and size) that the catalog keeps as a string.
//
// Reading: Open streams a Content back with one ranged read per chunk,
// decrypting with the keyring generation that sealed its pack and checking
// every chunk against its ID. VerifyPack checks a whole pack, ReadPackIndex
// and ListPacks rebuild the index from storage alone, DeletePack serves
// retention's GC.
//
// The on-storage format is specified in FORMAT.md beside this file.
//
// Files: index.go (the Index contract the catalog implements), memindex.go
// (in-memory Index), content.go (Content and its serialization),
// chunker.go (chunking parameters), codec.go (sealing and opening one
// chunk), pack.go (pack layout), session.go and upload.go (writing),
// reader.go (Open), verify.go (VerifyPack), vault.go (Vault, pack objects),
// errors.go (PackError, ErrCorrupt), stats.go (SessionStats).
package vault
