package graphsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Exchange identifiers, shaped like the real service's and derived from the seed:
//
//   - mailbox IDs (exchangeSettings.primaryMailboxId, the import/export API) look like
//     "MBX:e0643f21@a7809c93";
//   - REST IDs of folders, messages, attachments, calendars, events, occurrences, contact
//     folders and contacts are base64url with '=' padding ("AAMkAG…AAA="), long, and may hold
//     '-' and '_' (the SDK percent-encodes the '='). The bytes carry a keyed tag and the
//     masked (mailbox, kind, a, b) tuple they name, so an ID decodes without a lookup table and
//     a forged or foreign one fails;
//   - the import/export API names folders and items with shorter IDs ("EDSVrdi3lRAA…AA=") of
//     the same construction;
//   - change keys are base64 "CQAAABYAAAA…" and eTags W/"<changeKey>".

type oidKind uint8

const (
	oidFolder oidKind = iota + 1
	oidMessage
	oidAttachment // a = message, b = ordinal
	oidCalendar
	oidEvent
	oidOccurrence      // a = series master, b = day number (days since 1970-01-01)
	oidEventAttachment // a = event, b = ordinal
	oidContactFolder
	oidContact
	oidSession // attachment upload sessions
)

type oid struct {
	mbx  int32
	kind oidKind
	a    uint32
	b    uint32
}

func (m *idMaker) oidTag(o oid) []byte {
	var b [13]byte
	binary.BigEndian.PutUint32(b[0:], uint32(o.mbx))
	b[4] = byte(o.kind)
	binary.BigEndian.PutUint32(b[5:], o.a)
	binary.BigEndian.PutUint32(b[9:], o.b)
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte("oid"))
	h.Write(b[:])
	return h.Sum(nil)[:12]
}

func (m *idMaker) oidPayload(o oid) []byte {
	tag := m.oidTag(o)
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte("oidmask"))
	h.Write(tag)
	mask := h.Sum(nil)
	var p [25]byte
	copy(p[:12], tag)
	binary.BigEndian.PutUint32(p[12:], uint32(o.mbx))
	p[16] = byte(o.kind)
	binary.BigEndian.PutUint32(p[17:], o.a)
	binary.BigEndian.PutUint32(p[21:], o.b)
	for i := 12; i < 25; i++ {
		p[i] ^= mask[i-12]
	}
	return p[:]
}

func (m *idMaker) oidUnpack(p []byte) (oid, bool) {
	if len(p) != 25 {
		return oid{}, false
	}
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte("oidmask"))
	h.Write(p[:12])
	mask := h.Sum(nil)
	var q [13]byte
	for i := range 13 {
		q[i] = p[12+i] ^ mask[i]
	}
	o := oid{mbx: int32(binary.BigEndian.Uint32(q[0:])), kind: oidKind(q[4]),
		a: binary.BigEndian.Uint32(q[5:]), b: binary.BigEndian.Uint32(q[9:])}
	if o.mbx < 0 || !hmac.Equal(m.oidTag(o), p[:12]) {
		return oid{}, false
	}
	return o, true
}

// restPrefix makes REST IDs start with "AAMk" and carry a per-mailbox store part, as the
// service's do.
func (m *idMaker) restPrefix(mbx int32) []byte {
	d := m.digest("store", mbx)
	out := []byte{0x00, 0x03, 0x24, 0x00}
	out = append(out, d[:16]...)
	out = append(out, 0x00, 0x46, 0x00, 0x00)
	out = append(out, d[16:32]...)
	return append(out, 0x07, 0x00)
}

// restID formats an Outlook REST ID (92 characters, '=' padded).
func (m *idMaker) restID(o oid) string {
	return base64.URLEncoding.EncodeToString(append(m.restPrefix(o.mbx), m.oidPayload(o)...))
}

// parseRestID decodes a REST ID (also accepted without padding, or in standard base64).
func (m *idMaker) parseRestID(id string) (oid, bool) {
	raw, ok := decodeB64Any(id)
	if !ok || len(raw) != 42+25 || raw[0] != 0 || raw[1] != 3 || raw[2] != 0x24 {
		return oid{}, false
	}
	return m.oidUnpack(raw[42:])
}

// ieID is the import/export API's item and folder ID (40 characters, '=' padded).
func (m *idMaker) ieID(o oid) string {
	d := m.digest("iestore", o.mbx)
	return base64.URLEncoding.EncodeToString(append(d[:4], m.oidPayload(o)...))
}

func (m *idMaker) parseIEID(id string) (oid, bool) {
	raw, ok := decodeB64Any(id)
	if !ok || len(raw) != 29 {
		return oid{}, false
	}
	return m.oidUnpack(raw[4:])
}

// liveIndex is the index of the object a parsed ID names: 400 if it did not
// parse, 404 unless it names a live object of kind in mb.
func liveIndex(o oid, parsed bool, mb *mailbox, kind oidKind, live func(int32) bool) (int32, *apiError) {
	if !parsed {
		return -1, errInvalidID()
	}
	if o.kind != kind || o.mbx != mb.no || !live(int32(o.a)) {
		return -1, errItemNotFound()
	}
	return int32(o.a), nil
}

func decodeB64Any(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	return raw, err == nil
}

// mailboxID is "MBX:" + 8 hex + "@" + 8 hex (the tenant part), like the service's.
func (m *idMaker) mailboxID(userID string, archive bool) string {
	d := m.digest("mbx", userID, archive)
	t := m.digest("mbx-tenant")
	return "MBX:" + hex.EncodeToString(d[:4]) + "@" + hex.EncodeToString(t[:4])
}

// changeKey is a version stamp in the service's shape.
func (m *idMaker) changeKey(o oid, version uint32) string {
	d := m.digest("ck", o.mbx, o.kind, o.a, o.b, version)
	b := append([]byte{0x09, 0, 0, 0, 0x16, 0, 0, 0}, d[:16]...)
	return base64.StdEncoding.EncodeToString(b)
}

func etagOf(ck string) string { return `W/"` + ck + `"` }
