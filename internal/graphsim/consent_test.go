package graphsim

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func consentURL(info Info, v2 bool, redirect, state string) string {
	p := "/adminconsent"
	if v2 {
		p = "/v2.0/adminconsent"
	}
	q := url.Values{"client_id": {info.ClientID}, "redirect_uri": {redirect}, "state": {state}}
	if v2 {
		q.Set("scope", graphDefaultScope)
	}
	return info.AuthorityURL + p + "?" + q.Encode()
}

func TestAdminConsent(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run("approve", func(t *testing.T) {
			s := startSim(t, Options{Unconsented: true})
			c := newClient(t, s)
			require.Empty(t, parseClaims(t, c.secretToken()).Roles)

			resp := c.do(http.MethodGet, consentURL(s.Info(), v2, "http://localhost:53682/callback?x=1", "st&8"), nil)
			readAll(t, resp)
			require.Equal(t, http.StatusFound, resp.StatusCode)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, "localhost:53682", loc.Host)
			require.Equal(t, "/callback", loc.Path)
			q := loc.Query()
			require.Equal(t, "True", q.Get("admin_consent"))
			require.Equal(t, s.Info().TenantID, q.Get("tenant"))
			require.Equal(t, "st&8", q.Get("state"))
			require.Equal(t, "1", q.Get("x"))

			c.token = c.secretToken()
			require.ElementsMatch(t, DefaultRoles, parseClaims(t, c.token).Roles)
			st, _ := c.getJSON("/users")
			require.Equal(t, http.StatusOK, st)
		})
	}
	t.Run("deny", func(t *testing.T) {
		s := startSim(t, Options{Unconsented: true, Consent: "deny"})
		c := newClient(t, s)
		resp := c.do(http.MethodGet, consentURL(s.Info(), true, "http://127.0.0.1:9999/cb", "abc"), nil)
		readAll(t, resp)
		require.Equal(t, http.StatusFound, resp.StatusCode)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		q := loc.Query()
		require.Equal(t, "access_denied", q.Get("error"))
		require.Contains(t, q.Get("error_description"), "AADSTS65004")
		require.Equal(t, "abc", q.Get("state"))
		require.Empty(t, q.Get("admin_consent"))
		require.Empty(t, parseClaims(t, c.secretToken()).Roles)
	})
	t.Run("subset of roles", func(t *testing.T) {
		s := startSim(t, Options{Unconsented: true, Roles: []string{"User.Read.All"}})
		c := newClient(t, s)
		readAll(t, c.do(http.MethodGet, consentURL(s.Info(), false, "https://app.example/cb", "s"), nil))
		require.Equal(t, []string{"User.Read.All"}, parseClaims(t, c.secretToken()).Roles)
	})
	t.Run("unknown client", func(t *testing.T) {
		s := startSim(t, Options{})
		c := newClient(t, s)
		info := s.Info()
		info.ClientID = randomGUID()
		st, body := decodeResp(t, c.do(http.MethodGet, consentURL(info, true, "http://localhost/cb", "s"), nil))
		require.Equal(t, http.StatusBadRequest, st)
		require.Equal(t, []any{float64(700016)}, body["error_codes"])
	})
}
