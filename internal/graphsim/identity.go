package graphsim

import (
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Entra ID endpoints, as MSAL Go and the admin-consent flow call them:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration   (MSAL authority discovery)
//	GET  /{tenant}/discovery/v2.0/keys                     (JWKS of the token-signing key)
//	POST /{tenant}/oauth2/v2.0/token                       (client_credentials: secret or assertion)
//	GET  /{tenant}/adminconsent, /{tenant}/v2.0/adminconsent (consent.go)
//
// {tenant} is the tenant ID or its domain; discovery and consent also take "organizations" and
// "common". Identity endpoints are never throttled or faulted.

// graphDefaultScope is the only scope the client-credentials flow accepts for Graph.
const graphDefaultScope = "https://graph.microsoft.com/.default"

func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := segs[0], strings.Join(segs[1:], "/")
	switch rest {
	case "v2.0/.well-known/openid-configuration", ".well-known/openid-configuration":
		s.ctr.served("openid")
		if !s.knownTenant(tenant, true) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found.", s.now())
			return
		}
		s.serveOpenIDConfig(w, r)
	case "discovery/v2.0/keys", "discovery/keys":
		s.serveJWKS(w)
	case "oauth2/v2.0/token":
		s.ctr.served("token")
		s.serveToken(w, r, tenant)
	case "adminconsent", "v2.0/adminconsent":
		s.ctr.served("consent")
		s.serveAdminConsent(w, r, tenant)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) knownTenant(t string, allowMulti bool) bool {
	if strings.EqualFold(t, s.t.tenantID) || strings.EqualFold(t, s.t.domain) {
		return true
	}
	return allowMulti && (strings.EqualFold(t, "organizations") || strings.EqualFold(t, "common"))
}

// requestBase is scheme://host:port as the client addressed us, so discovery documents match
// whatever authority the client was configured with (MSAL checks issuer against authority).
func requestBase(r *http.Request) string { return "https://" + r.Host }

func (s *Server) serveOpenIDConfig(w http.ResponseWriter, r *http.Request) {
	b := requestBase(r) + "/" + s.t.tenantID
	writeJSONPlain(w, http.StatusOK, map[string]any{
		"token_endpoint":                        b + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              b + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                b + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     requestBase(r) + "/oidc/userinfo",
		"authorization_endpoint":                b + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         b + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  b + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "tid", "roles"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
		"rbac_url":                              "https://pas.windows.net",
	})
}

func (s *Server) serveJWKS(w http.ResponseWriter) {
	pub := &s.tokens.key.PublicKey
	writeJSONPlain(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": s.tokens.kid, "x5t": s.tokens.kid,
		"n": b64u(pub.N.Bytes()), "e": b64u(big.NewInt(int64(pub.E)).Bytes()),
		"issuer": "https://sts.windows.net/" + s.t.tenantID + "/",
	}}})
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// serveToken implements the client-credentials grant with a secret or a client assertion.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	now := s.now()
	fail := func(status int, code string, aadsts int, desc string) {
		writeOAuthError(w, status, code, aadsts, desc, now)
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if !s.knownTenant(tenant, false) {
		fail(http.StatusBadRequest, "invalid_request", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	if id, secret, ok := r.BasicAuth(); ok { // client_secret_basic
		if un, err := url.QueryUnescape(id); err == nil {
			f.Set("client_id", un)
		}
		if us, err := url.QueryUnescape(secret); err == nil {
			f.Set("client_secret", us)
		}
	}
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		} else {
			fail(http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+gt+"'.")
		}
		return
	}
	clientID := f.Get("client_id")
	if clientID == "" {
		fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	if !strings.EqualFold(clientID, s.app.clientID) {
		fail(http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+clientID+
			"' was not found in the directory '"+s.t.domain+"'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.")
		return
	}
	if !validScope(f.Get("scope")) {
		fail(http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope '"+f.Get("scope")+
			"' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		return
	}
	acr := ""
	switch {
	case f.Get("client_secret") != "":
		if f.Get("client_secret") != s.app.secret {
			fail(http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+s.app.clientID+"'.")
			return
		}
		acr = "1"
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_assertion_type' with the value 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.")
			return
		}
		auds := []string{
			requestBase(r) + "/" + tenant + "/oauth2/v2.0/token",
			s.baseURL + "/" + s.t.tenantID + "/oauth2/v2.0/token",
			requestBase(r) + "/" + s.t.tenantID + "/oauth2/v2.0/token",
		}
		if code, desc := verifyAssertion(f.Get("client_assertion"), s.app, auds, now); code != 0 {
			fail(http.StatusUnauthorized, "invalid_client", code, desc)
			return
		}
		acr = "2"
	default:
		fail(http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	tok, err := s.tokens.issue(s.app, s.t.tenantID, acr, now, s.opts.TokenLifetime)
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", 90033, "A transient error has occurred. Please try again.")
		return
	}
	life := int(s.opts.TokenLifetime.Seconds())
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSONPlain(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     life,
		"ext_expires_in": life,
		"access_token":   tok,
	})
}

func validScope(scope string) bool {
	fields := strings.Fields(scope)
	ok := false
	for _, sc := range fields {
		switch {
		case strings.EqualFold(sc, graphDefaultScope), strings.EqualFold(sc, graphAppID+"/.default"):
			ok = true
		case slices.Contains([]string{"openid", "profile", "offline_access"}, sc):
		default:
			return false
		}
	}
	return ok
}
