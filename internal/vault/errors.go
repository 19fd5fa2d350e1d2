package vault

import "errors"

// ErrCorrupt is matched (errors.Is) by every error that means stored bytes
// are damaged, missing from where the index says, or were tampered with —
// as opposed to a store that cannot be reached right now.
var ErrCorrupt = errors.New("vault: corrupt data")

// corruption is an ErrCorrupt with a specific reason.
type corruption string

func (c corruption) Error() string        { return string(c) }
func (c corruption) Is(target error) bool { return target == ErrCorrupt }

var errNotIndexed = corruption("not in the index")

// PackError says where a failure is: which pack, and which chunk of it or
// which part (trailer, footer), e.g.
//
//	vault: pack 3fa1…: chunk 9b2c…: authentication failed (…)
//	vault: pack 3fa1…: trailer: authentication failed (…)
//
// It never holds content or key bytes.
type PackError struct {
	PackID string
	Part   string  // "chunk", "trailer", "footer" or "" (the pack as a whole)
	Chunk  ChunkID // set when Part is "chunk"
	Err    error
}

func (e *PackError) Error() string {
	s := "vault: pack " + e.PackID + ": "
	switch e.Part {
	case "":
	case "chunk":
		s += "chunk " + e.Chunk.String() + ": "
	default:
		s += e.Part + ": "
	}
	return s + e.Err.Error()
}

func (e *PackError) Unwrap() error { return e.Err }

func chunkErr(packID string, id ChunkID, err error) error {
	return &PackError{PackID: packID, Part: "chunk", Chunk: id, Err: err}
}

func partErr(packID, part string, err error) error {
	return &PackError{PackID: packID, Part: part, Err: err}
}
