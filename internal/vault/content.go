package vault

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Content is a stored stream: its chunks in order and its total size. It is
// what the catalog keeps for an item version.
type Content struct {
	Size   int64
	Chunks []ChunkID
}

// contentPrefix versions the serialized form.
const contentPrefix = "v1:"

// Marshal serializes c for a catalog text column as
//
//	v1:<size>:<hex chunk id>,<hex chunk id>,…
//
// e.g. "v1:0:" for empty content and "v1:5120:3fa1…" (64 hex digits) for a
// one-chunk item. Hex rather than base64 so IDs read the same here as in
// the chunk index and in error messages; at a 1 MiB average chunk that is
// 65 bytes of text per MiB of content.
func (c Content) Marshal() string {
	var b strings.Builder
	b.Grow(len(contentPrefix) + 20 + 1 + len(c.Chunks)*(2*len(ChunkID{})+1))
	b.WriteString(contentPrefix)
	b.WriteString(strconv.FormatInt(c.Size, 10))
	b.WriteByte(':')
	var buf [2 * len(ChunkID{})]byte
	for i, id := range c.Chunks {
		if i > 0 {
			b.WriteByte(',')
		}
		hex.Encode(buf[:], id[:])
		b.Write(buf[:])
	}
	return b.String()
}

// ParseContent parses what Marshal produced.
func ParseContent(s string) (Content, error) {
	rest, ok := strings.CutPrefix(s, contentPrefix)
	if !ok {
		return Content{}, fmt.Errorf("vault: content: unknown format (want %q prefix)", contentPrefix)
	}
	sizeStr, list, ok := strings.Cut(rest, ":")
	if !ok {
		return Content{}, fmt.Errorf("vault: content: missing chunk list")
	}
	size, err := strconv.ParseInt(sizeStr, 10, 64)
	if err != nil || size < 0 || (sizeStr != "0" && sizeStr[0] == '0') {
		return Content{}, fmt.Errorf("vault: content: bad size %q", sizeStr)
	}
	var c Content
	c.Size = size
	if list != "" {
		n := strings.Count(list, ",") + 1
		c.Chunks = make([]ChunkID, 0, n)
		for field := range strings.SplitSeq(list, ",") {
			id, err := parseLowerHexID(field)
			if err != nil {
				return Content{}, fmt.Errorf("vault: content: chunk %d: %w", len(c.Chunks), err)
			}
			c.Chunks = append(c.Chunks, id)
		}
	}
	// Every chunk holds at least one byte, and only empty content has none.
	if (size == 0) != (len(c.Chunks) == 0) || size < int64(len(c.Chunks)) {
		return Content{}, fmt.Errorf("vault: content: size %d does not fit %d chunks", size, len(c.Chunks))
	}
	return c, nil
}

// parseLowerHexID accepts only the canonical form String produces, so one
// content has one serialization.
func parseLowerHexID(s string) (ChunkID, error) {
	var id ChunkID
	if len(s) != 2*len(id) || strings.ToLower(s) != s {
		return id, fmt.Errorf("bad chunk id %.70q", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("bad chunk id %.70q", s)
	}
	return id, nil
}
