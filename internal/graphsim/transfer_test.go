package graphsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func bigFile(t *testing.T, s *Server, user string) ManifestEntry {
	man, err := s.Manifest(user)
	require.NoError(t, err)
	for _, e := range man {
		if e.Size >= 1<<20 {
			return e
		}
	}
	t.Fatal("no multi-MiB file")
	return ManifestEntry{}
}

func TestDownloadRedirectAndRange(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Users: 2, FilesPerUser: 30, Clock: clk.Now, TokenLifetime: 10 * time.Hour})
	c := authed(t, s)
	u := obrien(s)
	e := bigFile(t, s, u.UPN)

	resp := c.do(http.MethodGet, driveBase(u)+"/items/"+e.ID+"/content", nil)
	readAll(t, resp)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, strings.TrimSuffix(s.Info().GraphURL, "/v1.0")+"/_dl/"), loc)

	full := readAll(t, c.do(http.MethodGet, loc, nil, "Authorization", ""))
	require.Len(t, full, int(e.Size))
	sum := sha256.Sum256(full)
	require.Equal(t, e.SHA256, hex.EncodeToString(sum[:]))

	for _, r := range [][2]int64{{0, 0}, {100, 199}, {4095, 4097}, {e.Size - 10, e.Size - 1}, {123457, 654321}} {
		resp := c.do(http.MethodGet, loc, nil, "Range", fmt.Sprintf("bytes=%d-%d", r[0], r[1]))
		got := readAll(t, resp)
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", r[0], r[1], e.Size), resp.Header.Get("Content-Range"))
		require.Equal(t, full[r[0]:r[1]+1], got)
	}
	resp = c.do(http.MethodGet, loc, nil, "Range", fmt.Sprintf("bytes=%d-", e.Size+5))
	readAll(t, resp)
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)

	// The item's downloadUrl works the same way; a forged or expired URL is 401.
	st, item := c.getJSON(driveBase(u) + "/items/" + e.ID)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, full, readAll(t, c.do(http.MethodGet, item["@microsoft.graph.downloadUrl"].(string), nil)))
	forged := loc[:len(loc)-3] + "AAA"
	resp = c.do(http.MethodGet, forged, nil)
	readAll(t, resp)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	clk.Advance(61 * time.Minute)
	resp = c.do(http.MethodGet, loc, nil)
	readAll(t, resp)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	st, _ = c.getJSON(driveBase(u) + "/root:/Documents:/content")
	require.Equal(t, http.StatusBadRequest, st, "folders have no content")
}

func TestGeneratedContentIsSeekable(t *testing.T) {
	for _, key := range []uint64{0x1234 &^ 1, 0x1234 | 1, 0x1236 | 1} {
		size := int64(100_003)
		var all bytes.Buffer
		_, err := all.ReadFrom(newGenReader(key, size))
		require.NoError(t, err)
		require.EqualValues(t, size, all.Len())
		r := rand.New(rand.NewPCG(1, 2))
		for range 50 {
			off := r.Int64N(size)
			n := r.IntN(9000)
			g := newGenReader(key, size)
			_, err := g.Seek(off, 0)
			require.NoError(t, err)
			buf := make([]byte, n)
			m, _ := g.Read(buf)
			require.Equal(t, all.Bytes()[off:min(size, off+int64(n))][:m], buf[:m])
		}
	}
}

// uploadURL creates an upload session and returns its uploadUrl.
func uploadURL(t *testing.T, c *client, path string, behavior string) (int, map[string]any) {
	body := map[string]any{"item": map[string]any{"@microsoft.graph.conflictBehavior": behavior}}
	return c.sendJSON(http.MethodPost, path+"/createUploadSession", body)
}

func putFragment(t *testing.T, c *client, up string, data []byte, from, total int64, hdr ...string) (int, map[string]any) {
	h := append([]string{"Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, from+int64(len(data))-1, total), "Authorization", ""}, hdr...)
	return decodeResp(t, c.do(http.MethodPut, up, bytes.NewReader(data), h...))
}

func TestUploadSession(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 20})
	c := authed(t, s)
	u := obrien(s)
	data := make([]byte, 3*fragmentMultiple+12345)
	for i := range data {
		data[i] = byte(i*7 + i/1000)
	}
	total := int64(len(data))
	target := driveBase(u) + "/items/root:/Restores/2026/big file ✓.bin:"

	st, sess := uploadURL(t, c, target, "fail")
	require.Equal(t, http.StatusOK, st, "%v", sess)
	up := sess["uploadUrl"].(string)
	require.True(t, strings.HasPrefix(up, strings.TrimSuffix(s.Info().GraphURL, "/v1.0")+"/_up/"))
	require.Equal(t, []any{"0-"}, sess["nextExpectedRanges"])

	// Authorization must not be sent to the pre-authenticated URL.
	st, _ = decodeResp(t, c.do(http.MethodPut, up, bytes.NewReader(data[:fragmentMultiple]),
		"Content-Range", fmt.Sprintf("bytes 0-%d/%d", fragmentMultiple-1, total), "Authorization", "Bearer "+c.token))
	require.Equal(t, http.StatusUnauthorized, st)
	// Not a multiple of 320 KiB.
	st, body := putFragment(t, c, up, data[:100000], 0, total)
	require.Equal(t, http.StatusBadRequest, st, "%v", body)

	st, body = putFragment(t, c, up, data[:2*fragmentMultiple], 0, total)
	require.Equal(t, http.StatusAccepted, st)
	require.Equal(t, []any{fmt.Sprintf("%d-", 2*fragmentMultiple)}, body["nextExpectedRanges"])
	st, body = putFragment(t, c, up, data[:fragmentMultiple], 0, total)
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, st, "duplicate fragment")
	require.Equal(t, "invalidRange", errCode(body))

	st, body = decodeResp(t, c.do(http.MethodGet, up, nil, "Authorization", ""))
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, []any{fmt.Sprintf("%d-", 2*fragmentMultiple)}, body["nextExpectedRanges"])

	st, item := putFragment(t, c, up, data[2*fragmentMultiple:], 2*fragmentMultiple, total)
	require.Equal(t, http.StatusCreated, st, "%v", item)
	require.Equal(t, "big file ✓.bin", item["name"])
	require.EqualValues(t, total, item["size"])
	sum := sha256.Sum256(data)
	require.Equal(t, strings.ToUpper(hex.EncodeToString(sum[:])), item["file"].(map[string]any)["hashes"].(map[string]any)["sha256Hash"])
	require.Equal(t, "/drive/root:/Restores/2026", item["parentReference"].(map[string]any)["path"])
	got := readAll(t, c.do(http.MethodGet, item["@microsoft.graph.downloadUrl"].(string), nil))
	require.Equal(t, data, got, "uploaded bytes round-trip")

	st, _ = putFragment(t, c, up, data[:fragmentMultiple], 0, total)
	require.Equal(t, http.StatusNotFound, st, "a completed session is gone")

	// Conflict behaviours.
	st, body = uploadURL(t, c, target, "fail")
	require.Equal(t, http.StatusConflict, st)
	require.Equal(t, "nameAlreadyExists", errCode(body))

	st, sess = uploadURL(t, c, target, "replace")
	require.Equal(t, http.StatusOK, st)
	st, replaced := putFragment(t, c, sess["uploadUrl"].(string), []byte("small"), 0, 5)
	require.Equal(t, http.StatusOK, st, "%v", replaced)
	require.Equal(t, item["id"], replaced["id"])
	require.NotEqual(t, item["eTag"], replaced["eTag"])

	st, sess = uploadURL(t, c, target, "rename")
	require.Equal(t, http.StatusOK, st)
	st, renamed := putFragment(t, c, sess["uploadUrl"].(string), []byte("other"), 0, 5)
	require.Equal(t, http.StatusCreated, st)
	require.Equal(t, "big file ✓ 1.bin", renamed["name"])

	// Cancel.
	st, sess = uploadURL(t, c, driveBase(u)+"/root:/cancel-me.txt:", "")
	require.Equal(t, http.StatusOK, st)
	resp := c.do(http.MethodDelete, sess["uploadUrl"].(string), nil, "Authorization", "")
	readAll(t, resp)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	st, _ = putFragment(t, c, sess["uploadUrl"].(string), []byte("x"), 0, 1)
	require.Equal(t, http.StatusNotFound, st)
}

func TestSimpleUploadFoldersAndDelete(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 20})
	c := authed(t, s)
	u := obrien(s)
	put := func(path, behavior, content string) (int, map[string]any) {
		p := driveBase(u) + path + "/content"
		if behavior != "" {
			p += "?@microsoft.graph.conflictBehavior=" + behavior
		}
		return decodeResp(t, c.do(http.MethodPut, p, strings.NewReader(content), "Content-Type", "text/plain"))
	}
	st, a := put("/root:/notes/a.txt:", "", "one")
	require.Equal(t, http.StatusCreated, st, "%v", a)
	st, b := put("/root:/notes/a.txt:", "", "two")
	require.Equal(t, http.StatusOK, st, "default is replace")
	require.Equal(t, a["id"], b["id"])
	st, body := put("/root:/notes/a.txt:", "fail", "three")
	require.Equal(t, http.StatusConflict, st)
	require.Equal(t, "nameAlreadyExists", errCode(body))
	st, r := put("/root:/notes/a.txt:", "rename", "four")
	require.Equal(t, http.StatusCreated, st)
	require.Equal(t, "a 1.txt", r["name"])
	st, _ = put("/items/"+a["id"].(string), "", "five")
	require.Equal(t, http.StatusOK, st, "PUT …/items/{id}/content replaces")
	resp := c.do(http.MethodGet, driveBase(u)+"/root:/notes/a.txt:/content", nil)
	readAll(t, resp)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, []byte("five"), readAll(t, c.do(http.MethodGet, resp.Header.Get("Location"), nil)))

	// Folder create and its conflicts.
	folder := func(name, behavior string) (int, map[string]any) {
		return c.sendJSON(http.MethodPost, driveBase(u)+"/root:/notes:/children",
			map[string]any{"name": name, "folder": map[string]any{}, "@microsoft.graph.conflictBehavior": behavior})
	}
	st, f := folder("Sub", "fail")
	require.Equal(t, http.StatusCreated, st, "%v", f)
	require.EqualValues(t, 0, f["folder"].(map[string]any)["childCount"])
	st, _ = folder("sub", "fail")
	require.Equal(t, http.StatusConflict, st, "names are case-insensitive")
	st, f2 := folder("Sub", "rename")
	require.Equal(t, http.StatusCreated, st)
	require.Equal(t, "Sub 1", f2["name"])
	st, _ = folder("bad:name", "fail")
	require.Equal(t, http.StatusBadRequest, st)

	// Delete → 204, then the item is a tombstone in delta and 404 by ID.
	latest := walkDelta(t, c, driveBase(u)+"/root/delta?token=latest").deltaLink
	resp = c.do(http.MethodDelete, driveBase(u)+"/items/"+a["id"].(string), nil)
	readAll(t, resp)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	st, _ = c.getJSON(driveBase(u) + "/items/" + a["id"].(string))
	require.Equal(t, http.StatusNotFound, st)
	w := walkDelta(t, c, latest, "deltaExcludeParent", "1")
	require.Len(t, w.items, 1)
	require.NotNil(t, w.items[a["id"].(string)]["deleted"])

	// Rename and move with PATCH.
	st, m := c.sendJSON(http.MethodPatch, driveBase(u)+"/items/"+r["id"].(string),
		map[string]any{"name": "moved.txt", "parentReference": map[string]any{"id": f["id"]}})
	require.Equal(t, http.StatusOK, st, "%v", m)
	require.Equal(t, "/drive/root:/notes/Sub", m["parentReference"].(map[string]any)["path"])
	st, _ = c.sendJSON(http.MethodPatch, driveBase(u)+"/items/"+f["id"].(string),
		map[string]any{"parentReference": map[string]any{"id": f["id"]}})
	require.Equal(t, http.StatusBadRequest, st, "cannot move into itself")
}
