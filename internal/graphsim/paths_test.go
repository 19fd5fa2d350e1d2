package graphsim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every path form the SDK (or a hand-written client) sends must land on the same item.
func TestPathForms(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 30})
	c := authed(t, s)
	u := obrien(s)
	st, want := c.getJSON(driveBase(u) + "/root:/Documents/empty.txt")
	require.Equal(t, http.StatusOK, st, "%v", want)
	id := want["id"].(string)
	st, docs := c.getJSON(driveBase(u) + "/root:/Documents")
	require.Equal(t, http.StatusOK, st)
	docsID := docs["id"].(string)

	bang := strings.ReplaceAll(url.PathEscape(u.DriveID), "!", "%21")
	for _, p := range []string{
		"/drives/" + bang + "/items/" + id,
		"/drives/" + u.DriveID + "/items/" + id,
		"/drives/" + bang + "/root:/Documents/empty.txt",
		"/drives/" + bang + "/root:/Documents/empty.txt:",
		"/drives/" + bang + "/root%3A%2FDocuments%2Fempty.txt%3A",
		"/drives/" + bang + "/items/root:/Documents/EMPTY.TXT:",
		"/drives/" + bang + "/items/root%3A%2FDocuments%2Fempty.txt%3A",
		"/drives/" + bang + "/items/" + docsID + ":/empty.txt:",
		"/drives/" + bang + "/items/" + docsID + "%3A%2Fempty.txt%3A",
		"/users/o%27brien%40contoso.com/drive/root:/Documents/empty.txt:",
		"/users/" + u.ID + "/drive/items/" + id,
		"/users/" + u.ID + "/drives/" + bang + "/items/" + id,
	} {
		st, body := decodeResp(t, c.rawPath(http.MethodGet, p, nil))
		require.Equal(t, http.StatusOK, st, "%s: %v", p, body)
		require.Equal(t, id, body["id"], p)
	}
	// Names with awkward characters, percent-encoded.
	esc := url.PathEscape("O'Brien's notes #3 – 100% done.txt")
	st, body := decodeResp(t, c.rawPath(http.MethodGet, "/drives/"+bang+"/root:/Documents/"+esc+":", nil))
	require.Equal(t, http.StatusOK, st, "%v", body)
	require.Equal(t, "O'Brien's notes #3 – 100% done.txt", body["name"])

	for _, p := range []string{
		"/drives/" + bang + "/items/01AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"/drives/" + bang + "/root:/nope.txt",
	} {
		st, body := decodeResp(t, c.rawPath(http.MethodGet, p, nil))
		require.Equal(t, http.StatusNotFound, st, p)
		require.Equal(t, "itemNotFound", errCode(body))
	}
	st, _ = c.getJSON("/drives/b%21nope/root")
	require.Equal(t, http.StatusNotFound, st)
	st, _ = c.getJSON("/me/drive")
	require.Equal(t, http.StatusBadRequest, st, "no /me with app-only tokens")
	st, _ = c.getJSON("/nonsense")
	require.Equal(t, http.StatusBadRequest, st)
}

func gz(t *testing.T, v any) *bytes.Buffer {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	require.NoError(t, json.NewEncoder(zw).Encode(v))
	require.NoError(t, zw.Close())
	return &buf
}

func TestGzipRequestBodies(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 10})
	c := authed(t, s)
	u := obrien(s)
	hdr := []string{"Content-Type", "application/json", "Content-Encoding", "gzip"}

	st, body := decodeResp(t, c.do(http.MethodPost, driveBase(u)+"/root/children",
		gz(t, map[string]any{"name": "Zipped", "folder": map[string]any{}}), hdr...))
	require.Equal(t, http.StatusCreated, st, "%v", body)
	require.Equal(t, "Zipped", body["name"])

	st, body = decodeResp(t, c.do(http.MethodPost, "/$batch", gz(t, map[string]any{"requests": []map[string]any{
		{"id": "a", "method": "GET", "url": "/users/" + url.PathEscape(u.UPN)}}}), hdr...))
	require.Equal(t, http.StatusOK, st, "%v", body)
	require.EqualValues(t, 200, body["responses"].([]any)[0].(map[string]any)["status"])

	var up bytes.Buffer
	zw := gzip.NewWriter(&up)
	_, _ = zw.Write([]byte("hello, gzip"))
	_ = zw.Close()
	st, body = decodeResp(t, c.do(http.MethodPut, driveBase(u)+"/root:/z.txt:/content", &up, "Content-Encoding", "gzip"))
	require.Equal(t, http.StatusCreated, st, "%v", body)
	require.EqualValues(t, len("hello, gzip"), body["size"])

	// Marked gzip but sent plain (kiota's retry bug): rejected.
	st, body = decodeResp(t, c.do(http.MethodPost, driveBase(u)+"/root/children",
		strings.NewReader(`{"name":"Plain","folder":{}}`), hdr...))
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "invalidRequest", errCode(body))
}
