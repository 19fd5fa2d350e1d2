package graphsim

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Test helpers: a small seeded tenant and a plain net/http client that trusts the simulator's CA.

// specialAccounts are the accounts seeded after the people by default: a shared, a room and an
// equipment mailbox, and a user without a mailbox.
const specialAccounts = 4

func startSim(t testing.TB, o Options) *Server {
	t.Helper()
	o.StateDir = t.TempDir()
	if o.Users == 0 {
		o.Users = 3
	}
	if o.FilesPerUser == 0 {
		o.FilesPerUser = 40
	}
	if o.Seed == 0 {
		o.Seed = 7
	}
	s, err := Start(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fakeClock is a settable clock for Options.Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type client struct {
	t     testing.TB
	s     *Server
	info  Info
	hc    *http.Client
	token string
}

func newClient(t testing.TB, s *Server) *client {
	t.Helper()
	info := s.Info()
	pem, err := os.ReadFile(info.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	hc := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // tests look at 302s themselves
		},
		Timeout: 60 * time.Second,
	}
	t.Cleanup(hc.CloseIdleConnections)
	return &client{t: t, s: s, info: info, hc: hc}
}

// authed returns a client holding a token obtained with the client secret.
func authed(t testing.TB, s *Server) *client {
	c := newClient(t, s)
	c.token = c.secretToken()
	return c
}

func (c *client) tokenRequest(form url.Values) (int, map[string]any) {
	c.t.Helper()
	resp, err := c.hc.PostForm(c.info.AuthorityURL+"/oauth2/v2.0/token", form)
	require.NoError(c.t, err)
	return decodeResp(c.t, resp)
}

func (c *client) secretToken() string {
	c.t.Helper()
	st, body := c.tokenRequest(url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.info.ClientID},
		"client_secret": {c.info.ClientSecret},
		"scope":         {graphDefaultScope},
	})
	require.Equal(c.t, http.StatusOK, st, "%v", body)
	return body["access_token"].(string)
}

// do sends a request; url may be absolute or relative to graph_url. hdr is key, value, …
func (c *client) do(method, u string, body io.Reader, hdr ...string) *http.Response {
	c.t.Helper()
	if !strings.HasPrefix(u, "https://") {
		u = c.info.GraphURL + u
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(c.t, err)
	if c.token != "" && strings.HasPrefix(u, c.info.GraphURL) {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	return resp
}

// rawPath sends a request whose path is used exactly as written (no re-escaping).
func (c *client) rawPath(method, escapedPath string, body io.Reader, hdr ...string) *http.Response {
	c.t.Helper()
	base, err := url.Parse(c.info.GraphURL)
	require.NoError(c.t, err)
	path, query, _ := strings.Cut(escapedPath, "?")
	u := &url.URL{Scheme: base.Scheme, Host: base.Host, Opaque: "//" + base.Host + "/v1.0" + path, RawQuery: query}
	req, err := http.NewRequest(method, u.String(), body)
	require.NoError(c.t, err)
	req.URL = u
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	return resp
}

func (c *client) getJSON(u string, hdr ...string) (int, map[string]any) {
	c.t.Helper()
	return decodeResp(c.t, c.do(http.MethodGet, u, nil, hdr...))
}

func (c *client) sendJSON(method, u string, v any, hdr ...string) (int, map[string]any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	require.NoError(c.t, err)
	return decodeResp(c.t, c.do(method, u, bytes.NewReader(b), append([]string{"Content-Type", "application/json"}, hdr...)...))
}

func decodeResp(t testing.TB, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		require.NoError(t, json.Unmarshal(b, &m), "body: %s", b)
	}
	return resp.StatusCode, m
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func innerCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	in, _ := e["innerError"].(map[string]any)
	c, _ := in["code"].(string)
	return c
}

func readAll(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

// obrien returns the o'brien@contoso.com user (apostrophe in the UPN, non-ASCII name).
func obrien(s *Server) UserInfo {
	for _, u := range s.Users() {
		if u.UPN == "o'brien@contoso.com" {
			return u
		}
	}
	panic("no o'brien")
}

func driveBase(u UserInfo) string { return "/drives/" + url.PathEscape(u.DriveID) }
