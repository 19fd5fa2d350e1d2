package graphsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
)

// IDs look like the real service's and are derived from the seed, so a restarted simulator with
// the same seed hands out the same IDs:
//   - tenant, client, user and object IDs are GUIDs;
//   - drive IDs are "b!" + 64 base64url characters (48 bytes, like SharePoint's site+web+list GUIDs);
//   - item IDs are "01" + 32 base32 characters. The 20 bytes behind them are a keyed 12-byte tag
//     and the (drive, index) pair masked by the tag, so an ID decodes back to its slot without
//     a lookup table and a forged or foreign ID fails the tag check.

type idMaker struct {
	key []byte // secret derived from the seed
}

func newIDMaker(seed int64) *idMaker {
	k := sha256.Sum256(fmt.Appendf(nil, "graphsim-ids/%d", seed))
	return &idMaker{key: k[:]}
}

func (m *idMaker) digest(parts ...any) []byte {
	h := hmac.New(sha256.New, m.key)
	for _, p := range parts {
		fmt.Fprint(h, p, "\x00")
	}
	return h.Sum(nil)
}

// guid formats 16 derived bytes as a version-4 GUID.
func (m *idMaker) guid(parts ...any) string {
	return formatGUID(m.digest(parts...)[:16])
}

func formatGUID(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func randomGUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return formatGUID(b[:])
}

func (m *idMaker) driveID(userKey string) string {
	d1 := m.digest("drive", userKey)
	d2 := m.digest("drive2", userKey)
	return "b!" + base64.RawURLEncoding.EncodeToString(append(d1, d2[:16]...))
}

var itemB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func (m *idMaker) itemTag(drive, idx int32) []byte {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], uint32(drive))
	binary.BigEndian.PutUint32(b[4:], uint32(idx))
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte("item"))
	h.Write(b[:])
	return h.Sum(nil)[:12]
}

func (m *idMaker) itemMask(tag []byte) []byte {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte("mask"))
	h.Write(tag)
	return h.Sum(nil)[:8]
}

func (m *idMaker) itemID(drive, idx int32) string {
	tag := m.itemTag(drive, idx)
	mask := m.itemMask(tag)
	var raw [20]byte
	copy(raw[:12], tag)
	binary.BigEndian.PutUint32(raw[12:], uint32(drive))
	binary.BigEndian.PutUint32(raw[16:], uint32(idx))
	for i := range 8 {
		raw[12+i] ^= mask[i]
	}
	return "01" + itemB32.EncodeToString(raw[:])
}

// parseItemID returns the drive number and item index an ID encodes.
func (m *idMaker) parseItemID(id string) (drive, idx int32, ok bool) {
	if len(id) != 34 || !strings.HasPrefix(id, "01") {
		return 0, 0, false
	}
	raw, err := itemB32.DecodeString(strings.ToUpper(id[2:]))
	if err != nil || len(raw) != 20 {
		return 0, 0, false
	}
	mask := m.itemMask(raw[:12])
	for i := range 8 {
		raw[12+i] ^= mask[i]
	}
	drive = int32(binary.BigEndian.Uint32(raw[12:]))
	idx = int32(binary.BigEndian.Uint32(raw[16:]))
	if drive < 0 || idx < 0 || !hmac.Equal(m.itemTag(drive, idx), raw[:12]) {
		return 0, 0, false
	}
	return drive, idx, true
}

// clientSecret looks like an Entra client secret value ("xxx8Q~" + 34 characters).
func (m *idMaker) clientSecret() string {
	s := base64.RawURLEncoding.EncodeToString(m.digest("secret"))
	s = strings.NewReplacer("-", "~", "_", ".").Replace(s)
	return s[:3] + "8Q~" + s[3:37]
}

// etagGUID is the stable GUID inside an item's eTag/cTag ("{GUID},version").
func (m *idMaker) etagGUID(drive, idx int32) string {
	tag := m.itemTag(drive, idx)
	var b [16]byte
	copy(b[:], tag)
	copy(b[12:], m.itemMask(tag)[:4])
	return strings.ToUpper(formatGUID(b[:]))
}
