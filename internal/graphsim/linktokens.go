package graphsim

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
)

// Opaque, signed state tokens for @odata.nextLink/@odata.deltaLink and $skiptoken. They carry
// numbers and one string; the signature key is made at start, so tokens from a previous run are
// rejected (a drive delta answers 410 for them, as the service does when it can no longer serve
// a token).

const (
	tokDriveNext  byte = 'n' // drive delta walk in progress
	tokDriveDelta byte = 'd' // drive delta link
	tokUsersNext  byte = 'u'
	tokUsersDelta byte = 'v'
	tokSkip       byte = 's' // $skiptoken of plain collections

	tokGroupsNext   byte = 'g'
	tokGroupsDelta  byte = 'h'
	tokOutlookNext  byte = 'o' // mail, folder, contact and calendar-view delta walks
	tokOutlookDelta byte = 'O'
)

func (s *Server) encodeToken(kind byte, nums []uint64, str string) string {
	b := []byte{kind}
	b = binary.AppendUvarint(b, uint64(len(nums)))
	for _, n := range nums {
		b = binary.AppendUvarint(b, n)
	}
	b = append(b, str...)
	b = append(b, s.sign(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) decodeToken(tok string, kind byte) ([]uint64, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1+16 || b[0] != kind {
		return nil, "", false
	}
	body, sig := b[:len(b)-16], b[len(b)-16:]
	if !hmac.Equal(sig, s.sign(body)) {
		return nil, "", false
	}
	p := body[1:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > 32 {
		return nil, "", false
	}
	p = p[k:]
	nums := make([]uint64, n)
	for i := range nums {
		v, k := binary.Uvarint(p)
		if k <= 0 {
			return nil, "", false
		}
		nums[i], p = v, p[k:]
	}
	return nums, string(p), true
}
