package graphsim

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Pre-authenticated download URLs (/_dl/<token>), what @microsoft.graph.downloadUrl and the
// 302 from …/content point at. The token names drive, item and expiry and is signed; an
// expired or forged one is 401. They serve the item's current content (like SharePoint's
// tempauth URLs), stream it without holding the tenant lock, and honour Range (206) via
// http.ServeContent. Authorization headers are ignored. A download costs 1 RU.

func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	rc := s.newReqCtx(r)
	setGraphHeaders(w, rc)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeAPIError(w, rc, methodNotAllowed())
		return
	}
	w, handled, finish := s.applyFault(w, r, rc, true)
	if handled {
		return
	}
	defer finish()

	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(r.URL.EscapedPath(), "/_dl/"))
	if err != nil || len(raw) != 28 || !hmac.Equal(raw[12:], s.sign(raw[:12])) {
		writeAPIError(w, rc, newAPIError(http.StatusUnauthorized, "unauthenticated", "The download URL is not valid."))
		return
	}
	drv := int32(binary.BigEndian.Uint32(raw[0:]))
	idx := int32(binary.BigEndian.Uint32(raw[4:]))
	exp := binary.BigEndian.Uint32(raw[8:])
	if unixSec(rc.now) >= exp {
		writeAPIError(w, rc, newAPIError(http.StatusUnauthorized, "unauthenticated", "The download URL has expired."))
		return
	}
	if !s.admit(w, rc, "download", ruSingle) {
		return
	}

	s.t.mu.RLock()
	var (
		ok      bool
		name    string
		size    int64
		key     uint64
		blobIdx int32 = -1
		mod     uint32
		etag    string
	)
	if int(drv) < len(s.t.drives) {
		d := s.t.drives[drv]
		if d.live(idx) && d.item(idx).kind == kindFile {
			it := d.item(idx)
			ok, name, size, key, blobIdx, mod = true, it.name, it.size, it.content, it.blob, it.modified
			etag = `"{` + s.t.ids.etagGUID(drv, idx) + `},` + strconv.Itoa(int(it.version)) + `"`
		}
	}
	s.t.mu.RUnlock()
	if !ok {
		writeAPIError(w, rc, errNotFound())
		return
	}
	s.ctr.served("download")

	var content io.ReadSeeker
	if blobIdx >= 0 {
		f, err := os.Open(s.t.blobs.get(blobIdx).path)
		if err != nil {
			writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "generalException", "Stored content is unavailable."))
			return
		}
		defer f.Close()
		content = f
	} else {
		content = newGenReader(key, size)
	}
	h := w.Header()
	h.Set("Content-Type", mimeType(name))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("ETag", etag)
	h.Del("Cache-Control")
	http.ServeContent(w, r, "", fromUnix(mod), content)
}
