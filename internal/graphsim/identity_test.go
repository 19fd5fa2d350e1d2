package graphsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

func TestOpenIDConfigurationMatchesAuthority(t *testing.T) {
	s := startSim(t, Options{})
	c := newClient(t, s)
	st, body := decodeResp(t, c.do(http.MethodGet, s.Info().AuthorityURL+"/v2.0/.well-known/openid-configuration", nil))
	require.Equal(t, http.StatusOK, st)
	auth, _ := url.Parse(s.Info().AuthorityURL)
	for _, k := range []string{"issuer", "token_endpoint", "authorization_endpoint"} {
		u, err := url.Parse(body[k].(string))
		require.NoError(t, err)
		require.Equal(t, auth.Scheme, u.Scheme, k)
		require.Equal(t, auth.Host, u.Host, k)
	}
	require.Equal(t, s.Info().AuthorityURL+"/oauth2/v2.0/token", body["token_endpoint"])
}

func TestTokenEndpoint(t *testing.T) {
	s := startSim(t, Options{})
	c := newClient(t, s)
	info := s.Info()
	good := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {info.ClientID},
			"client_secret": {info.ClientSecret}, "scope": {graphDefaultScope}}
	}
	for _, tc := range []struct {
		name   string
		edit   func(url.Values)
		status int
		code   string
		aadsts float64
	}{
		{"ok", func(url.Values) {}, 200, "", 0},
		{"bad secret", func(v url.Values) { v.Set("client_secret", "nope") }, 401, "invalid_client", 7000215},
		{"unknown client", func(v url.Values) { v.Set("client_id", randomGUID()) }, 400, "unauthorized_client", 700016},
		{"bad scope", func(v url.Values) { v.Set("scope", "User.Read") }, 400, "invalid_scope", 1002012},
		{"no credential", func(v url.Values) { v.Del("client_secret") }, 401, "invalid_client", 7000218},
		{"bad grant", func(v url.Values) { v.Set("grant_type", "password") }, 400, "unsupported_grant_type", 70003},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := good()
			tc.edit(f)
			st, body := c.tokenRequest(f)
			require.Equal(t, tc.status, st, "%v", body)
			if tc.status == 200 {
				require.Equal(t, "Bearer", body["token_type"])
				require.EqualValues(t, 3600, body["expires_in"])
				claims := parseClaims(t, body["access_token"].(string))
				require.ElementsMatch(t, DefaultRoles, claims.Roles)
				require.Equal(t, info.TenantID, claims.Tid)
				require.Equal(t, info.ClientID, claims.AppID)
				require.Equal(t, "https://sts.windows.net/"+info.TenantID+"/", claims.Iss)
				return
			}
			require.Equal(t, tc.code, body["error"])
			require.Equal(t, []any{tc.aadsts}, body["error_codes"])
			require.True(t, strings.HasPrefix(body["error_description"].(string), "AADSTS"))
		})
	}
	st, _ := decodeResp(t, c.do(http.MethodPost, strings.Replace(info.AuthorityURL, info.TenantID, randomGUID(), 1)+"/oauth2/v2.0/token", strings.NewReader(good().Encode()), "Content-Type", "application/x-www-form-urlencoded"))
	require.Equal(t, http.StatusBadRequest, st, "unknown tenant")
}

func parseClaims(t *testing.T, tok string) *accessClaims {
	t.Helper()
	c := &accessClaims{}
	_, _, err := jwt.NewParser().ParseUnverified(tok, c)
	require.NoError(t, err)
	return c
}

// loadClientPEM reads the client certificate and key the way MSAL's CertFromPEM does.
func loadClientPEM(t *testing.T, path string) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var cert *x509.Certificate
	var key *rsa.PrivateKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			cert, err = x509.ParseCertificate(blk.Bytes)
			require.NoError(t, err)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			require.NoError(t, err)
			key = k.(*rsa.PrivateKey)
		}
	}
	require.NotNil(t, cert)
	require.NotNil(t, key)
	return cert, key
}

// assertion builds a client assertion exactly as MSAL Go v1.10.1 does (PS256, x5t#S256 in
// standard base64, aud = token endpoint, iss = sub = client_id, jti, nbf, exp = now+10m).
func assertion(t *testing.T, info Info, cert *x509.Certificate, key *rsa.PrivateKey, edit func(jwt.MapClaims, *jwt.Token)) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"aud": info.AuthorityURL + "/oauth2/v2.0/token",
		"exp": now.Add(10 * time.Minute).Unix(),
		"iss": info.ClientID,
		"jti": randomGUID(),
		"nbf": now.Unix(),
		"sub": info.ClientID,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, claims)
	sum := sha256.Sum256(cert.Raw)
	tok.Header = map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(sum[:])}
	if edit != nil {
		edit(claims, tok)
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestClientAssertion(t *testing.T) {
	s := startSim(t, Options{})
	c := newClient(t, s)
	info := s.Info()
	cert, key := loadClientPEM(t, info.ClientCertFile)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	form := func(a string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {info.ClientID}, "scope": {graphDefaultScope},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
	}
	for _, tc := range []struct {
		name   string
		key    *rsa.PrivateKey
		edit   func(jwt.MapClaims, *jwt.Token)
		aadsts float64
	}{
		{"msal PS256 x5t#S256", key, nil, 0},
		{"RS256 with x5t (ADFS style)", key, func(_ jwt.MapClaims, tk *jwt.Token) {
			tk.Method = jwt.SigningMethodRS256
			sum := sha1.Sum(cert.Raw)
			tk.Header = map[string]any{"alg": "RS256", "typ": "JWT", "x5t": base64.StdEncoding.EncodeToString(sum[:])}
		}, 0},
		{"bad signature", otherKey, nil, 700027},
		{"unknown thumbprint", key, func(_ jwt.MapClaims, tk *jwt.Token) { tk.Header["x5t#S256"] = "AAAA" }, 700027},
		{"expired", key, func(c jwt.MapClaims, _ *jwt.Token) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["nbf"] = time.Now().Add(-2 * time.Hour).Unix()
		}, 700024},
		{"wrong audience", key, func(c jwt.MapClaims, _ *jwt.Token) {
			c["aud"] = "https://login.microsoftonline.com/x/oauth2/v2.0/token"
		}, 700021},
		{"wrong issuer", key, func(c jwt.MapClaims, _ *jwt.Token) { c["iss"] = randomGUID() }, 700021},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := c.tokenRequest(form(assertion(t, info, cert, tc.key, tc.edit)))
			if tc.aadsts == 0 {
				require.Equal(t, http.StatusOK, st, "%v", body)
				require.Equal(t, "2", parseClaims(t, body["access_token"].(string)).AppIDAcr)
				return
			}
			require.Equal(t, http.StatusUnauthorized, st, "%v", body)
			require.Equal(t, "invalid_client", body["error"])
			require.Equal(t, []any{tc.aadsts}, body["error_codes"])
		})
	}
}

func TestGraphTokenValidation(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Clock: clk.Now, TokenLifetime: 10 * time.Minute})
	c := authed(t, s)
	u := obrien(s)
	get := func(tok string) (int, map[string]any) {
		cc := *c
		cc.token = tok
		return cc.getJSON("/users/" + url.PathEscape(u.UPN))
	}
	st, _ := get(c.token)
	require.Equal(t, http.StatusOK, st)

	wrongTenant := func() string {
		cl := parseClaims(t, c.token)
		cl.Tid = randomGUID()
		cl.Iss = "https://sts.windows.net/" + cl.Tid + "/"
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, cl)
		sgn, err := tok.SignedString(s.tokens.key)
		require.NoError(t, err)
		return sgn
	}()
	selfSigned := func() string {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, parseClaims(t, c.token))
		sgn, _ := tok.SignedString(k)
		return sgn
	}()
	for name, tok := range map[string]string{"missing": "", "garbled": "not-a-jwt", "wrong tenant": wrongTenant, "forged": selfSigned} {
		st, body := get(tok)
		require.Equal(t, http.StatusUnauthorized, st, name)
		require.Equal(t, "InvalidAuthenticationToken", errCode(body), name)
	}

	clk.Advance(11 * time.Minute)
	st, body := get(c.token)
	require.Equal(t, http.StatusUnauthorized, st, "expired")
	require.Contains(t, body["error"].(map[string]any)["message"], "expired")

	fresh := c.secretToken()
	st, _ = get(fresh)
	require.Equal(t, http.StatusOK, st)
	s.RevokeTokens()
	st, _ = get(fresh)
	require.Equal(t, http.StatusUnauthorized, st, "revoked")
	st, _ = get(c.secretToken())
	require.Equal(t, http.StatusOK, st, "issued after revocation")
}

func TestPermissions(t *testing.T) {
	t.Run("no consent", func(t *testing.T) {
		s := startSim(t, Options{Unconsented: true})
		c := authed(t, s)
		require.Empty(t, parseClaims(t, c.token).Roles)
		st, body := c.getJSON("/users")
		require.Equal(t, http.StatusForbidden, st)
		require.Equal(t, "Authorization_RequestDenied", errCode(body))
		st, body = c.getJSON(driveBase(obrien(s)) + "/root")
		require.Equal(t, http.StatusForbidden, st)
		require.Equal(t, "accessDenied", errCode(body))
	})
	t.Run("read-only roles", func(t *testing.T) {
		s := startSim(t, Options{Roles: []string{"User.Read.All", "Files.Read.All"}})
		c := authed(t, s)
		u := obrien(s)
		st, _ := c.getJSON(driveBase(u) + "/root/children")
		require.Equal(t, http.StatusOK, st)
		st, body := c.sendJSON(http.MethodPost, driveBase(u)+"/root/children", map[string]any{"name": "x", "folder": map[string]any{}})
		require.Equal(t, http.StatusForbidden, st)
		require.Equal(t, "accessDenied", errCode(body))
	})
}
