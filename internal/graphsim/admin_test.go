package graphsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func (c *client) admin(method, path string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	resp := c.do(method, c.info.SimURL+path, r)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(c.t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func TestAdminAPI(t *testing.T) {
	s := startSim(t, Options{Users: 3, FilesPerUser: 30})
	c := authed(t, s)
	u := obrien(s)

	var info Info
	require.Equal(t, 200, c.admin("GET", "/info", nil, &info))
	require.Equal(t, s.Info(), info)

	var users []UserInfo
	require.Equal(t, 200, c.admin("GET", "/users", nil, &users))
	require.Len(t, users, 3+specialAccounts)

	var man []ManifestEntry
	require.Equal(t, 200, c.admin("GET", "/manifest?user="+u.UPN, nil, &man))
	direct, err := s.Manifest(u.ID)
	require.NoError(t, err)
	require.Equal(t, len(direct), len(man))
	for i := range man {
		require.Equal(t, direct[i].Path, man[i].Path)
		require.Equal(t, direct[i].SHA256, man[i].SHA256)
		require.True(t, strings.HasPrefix(man[i].Path, "/"))
	}

	// Mutations are deterministic for the same seed and state.
	var r1 MutateResult
	require.Equal(t, 200, c.admin("POST", "/mutate", map[string]any{"seed": 3, "users": []string{u.UPN}, "creates": 3, "updates": 2, "deletes": 1, "moves": 1, "renames": 1}, &r1))
	require.NotEmpty(t, r1.Changes)
	s2 := startSim(t, Options{Users: 3, FilesPerUser: 30})
	r2, err := s2.Mutate(MutateRequest{Seed: 3, Users: []string{u.UPN}, Creates: 3, Updates: 2, Deletes: 1, Moves: 1, Renames: 1})
	require.NoError(t, err)
	require.Equal(t, r1, r2)
	m1, _ := s.Manifest(u.UPN)
	m2, _ := s2.Manifest(u.UPN)
	for i := range m1 {
		m1[i].Modified, m2[i].Modified = time.Time{}, time.Time{}
	}
	require.Equal(t, m1, m2)

	// Config, counters, invalidation, revocation.
	require.Equal(t, 200, c.admin("POST", "/config", map[string]any{"throttle_scale": 0.5, "fault_rate": 0}, nil))
	var cs Counters
	require.Equal(t, 200, c.admin("GET", "/counters", nil, &cs))
	require.Greater(t, cs.ByEndpoint["token"].Served, int64(0))
	require.Equal(t, 200, c.admin("POST", "/counters/reset", nil, nil))
	require.Equal(t, 200, c.admin("GET", "/counters", nil, &cs))
	require.Zero(t, cs.Served)

	w := walkDelta(t, c, driveBase(u)+"/root/delta?token=latest")
	require.Equal(t, 200, c.admin("POST", "/delta/invalidate", map[string]any{"drive_id": "", "code": "resyncChangesUploadDifferences"}, nil))
	st, body := c.getJSON(w.deltaLink)
	require.Equal(t, http.StatusGone, st)
	require.Equal(t, "resyncChangesUploadDifferences", innerCode(body))

	require.Equal(t, 200, c.admin("POST", "/tokens/revoke", nil, nil))
	st, _ = c.getJSON("/users")
	require.Equal(t, http.StatusUnauthorized, st)

	require.Equal(t, 404, c.admin("GET", "/nope", nil, nil))
}

func TestImportDir(t *testing.T) {
	dir := t.TempDir()
	write := func(p, content string) {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	write("new.person@contoso.com/onedrive/Reports/q1.txt", "quarter one")
	write("new.person@contoso.com/onedrive/Reports/Notebook/Open Notebook.onetoc2", "toc")
	write("new.person@contoso.com/onedrive/Reports/Notebook/Section.one", "section")
	write("new.person@contoso.com/onedrive/top.bin", "\x00\x01\x02")
	write("adele.vance@contoso.com/onedrive/only.txt", "only")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "new.person@contoso.com/onedrive/Empty"), 0o755))

	s := startSim(t, Options{Users: 2, FilesPerUser: 30, ImportDir: dir})
	require.Len(t, s.Users(), 3+specialAccounts)
	man, err := s.Manifest("new.person@contoso.com")
	require.NoError(t, err)
	got := map[string]ManifestEntry{}
	for _, e := range man {
		got[e.Path] = e
	}
	require.Len(t, got, 7)
	require.True(t, got["/Empty"].Folder)
	require.Equal(t, "oneNote", got["/Reports/Notebook"].Package)
	require.EqualValues(t, len("quarter one"), got["/Reports/q1.txt"].Size)
	adele, err := s.Manifest("adele.vance@contoso.com")
	require.NoError(t, err)
	require.Len(t, adele, 1, "an imported tree replaces the seeded drive")

	c := authed(t, s)
	st, it := c.getJSON("/users/new.person%40contoso.com/drive/root:/Reports/q1.txt")
	require.Equal(t, http.StatusOK, st)
	resp := c.do(http.MethodGet, it["@microsoft.graph.downloadUrl"].(string), nil)
	require.Equal(t, "quarter one", string(readAll(t, resp)))
}

func TestFaults(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 10, FaultRate: 1})
	c := authed(t, s)
	u := obrien(s)
	statuses := map[int]int{}
	drops, ok := 0, 0
	for range 24 {
		req, _ := http.NewRequest(http.MethodGet, c.info.GraphURL+driveBase(u)+"/root/children", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.hc.Do(req)
		if err != nil {
			drops++
			continue
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil && !errors.Is(err, io.EOF):
			drops++
		case resp.StatusCode >= 500:
			statuses[resp.StatusCode]++
		default:
			ok++ // latency faults still answer
		}
	}
	require.Greater(t, drops, 0, "connections dropped")
	require.Greater(t, len(statuses), 1, "several 5xx codes: %v", statuses)
	require.Greater(t, ok, 0, "latency faults")
	require.EqualValues(t, 24, s.Counters().Faults)

	s.SetFaultRate(0)
	st, _ := c.getJSON(driveBase(u) + "/root")
	require.Equal(t, http.StatusOK, st)
}
