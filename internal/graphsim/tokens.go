package graphsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The registered app (one per simulator) and the access tokens the simulator issues for it.
//
// Access tokens are RS256 JWTs shaped like Entra's v1.0 app-only tokens for Microsoft Graph
// (aud https://graph.microsoft.com, iss https://sts.windows.net/<tid>/, appid, roles, …). When no
// application permission is granted Entra still issues a token, without a roles claim, and
// Graph refuses it with 403 — the simulator does the same.

const graphAudience = "https://graph.microsoft.com"

// graphAppID is Microsoft Graph's well-known application ID, also accepted as a scope resource.
const graphAppID = "00000003-0000-0000-c000-000000000000"

type app struct {
	clientID    string
	secret      string
	displayName string
	spObjectID  string // the app's service principal in the tenant (token oid/sub)
	cert        *x509.Certificate
	x5tS256     []byte
	x5t         []byte

	mu         sync.Mutex
	consented  bool
	roles      []string // granted now
	grant      []string // what approving consent grants
	serial     uint64   // tokens issued so far
	revokedTo  uint64   // tokens with serial <= revokedTo are revoked
	consentYes bool     // /adminconsent approves (else denies)
}

type tokenIssuer struct {
	key *rsa.PrivateKey
	kid string

	cacheMu sync.Mutex
	cache   map[string]*accessClaims // validated signatures, by token string
}

func newTokenIssuer() (*tokenIssuer, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	sum := sha1.Sum(der)
	return &tokenIssuer{key: k, kid: base64.RawURLEncoding.EncodeToString(sum[:]),
		cache: map[string]*accessClaims{}}, nil
}

func newApp(ids *idMaker, cert *x509.Certificate, o *Options) *app {
	s256 := sha256.Sum256(cert.Raw)
	s1 := sha1.Sum(cert.Raw)
	a := &app{
		clientID:    ids.guid("client"),
		secret:      ids.clientSecret(),
		displayName: "Holdfast Backup",
		spObjectID:  ids.guid("service-principal"),
		cert:        cert,
		x5tS256:     s256[:],
		x5t:         s1[:],
		consented:   !o.Unconsented,
		grant:       append([]string(nil), o.Roles...),
		consentYes:  o.Consent != "deny",
	}
	if a.consented {
		a.roles = append([]string(nil), o.Roles...)
	}
	return a
}

// accessClaims are the claims of an issued access token.
type accessClaims struct {
	Aud            string   `json:"aud"`
	Iss            string   `json:"iss"`
	Iat            int64    `json:"iat"`
	Nbf            int64    `json:"nbf"`
	Exp            int64    `json:"exp"`
	AppDisplayName string   `json:"app_displayname"`
	AppID          string   `json:"appid"`
	AppIDAcr       string   `json:"appidacr"` // 1 = secret, 2 = certificate
	Azp            string   `json:"azp"`
	Idp            string   `json:"idp"`
	Idtyp          string   `json:"idtyp"`
	Oid            string   `json:"oid"`
	Roles          []string `json:"roles,omitempty"`
	Sub            string   `json:"sub"`
	Tid            string   `json:"tid"`
	Uti            string   `json:"uti"`
	Ver            string   `json:"ver"`
	Jti            string   `json:"jti"`
}

func (c *accessClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Exp, 0)), nil
}
func (c *accessClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Iat, 0)), nil
}
func (c *accessClaims) GetNotBefore() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Nbf, 0)), nil
}
func (c *accessClaims) GetIssuer() (string, error)             { return c.Iss, nil }
func (c *accessClaims) GetSubject() (string, error)            { return c.Sub, nil }
func (c *accessClaims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings{c.Aud}, nil }
func (c *accessClaims) hasRole(roles ...string) bool {
	for _, have := range c.Roles {
		for _, want := range roles {
			if strings.EqualFold(have, want) {
				return true
			}
		}
	}
	return false
}

// serial returns the issue serial number carried in the uti claim.
func (c *accessClaims) serial() uint64 {
	b, err := base64.RawURLEncoding.DecodeString(c.Uti)
	if err != nil || len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// issue mints an access token for the app; acr is "1" (secret) or "2" (certificate).
func (ti *tokenIssuer) issue(a *app, tenantID, acr string, now time.Time, life time.Duration) (string, error) {
	a.mu.Lock()
	a.serial++
	serial := a.serial
	roles := append([]string(nil), a.roles...)
	a.mu.Unlock()

	var uti [16]byte
	binary.BigEndian.PutUint64(uti[:8], serial)
	_, _ = rand.Read(uti[8:])
	c := &accessClaims{
		Aud:            graphAudience,
		Iss:            "https://sts.windows.net/" + tenantID + "/",
		Iat:            now.Unix(),
		Nbf:            now.Unix(),
		Exp:            now.Add(life).Unix(),
		AppDisplayName: a.displayName,
		AppID:          a.clientID,
		AppIDAcr:       acr,
		Azp:            a.clientID,
		Idp:            "https://sts.windows.net/" + tenantID + "/",
		Idtyp:          "app",
		Oid:            a.spObjectID,
		Roles:          roles,
		Sub:            a.spObjectID,
		Tid:            tenantID,
		Uti:            base64.RawURLEncoding.EncodeToString(uti[:]),
		Ver:            "1.0",
		Jti:            randomGUID(),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = ti.kid
	tok.Header["x5t"] = ti.kid
	return tok.SignedString(ti.key)
}

var (
	errTokenExpired = errors.New("Access token has expired or is not yet valid.")
	errTokenInvalid = errors.New("Access token validation failure. Invalid audience.")
	errTokenTenant  = errors.New("Access token validation failure. Invalid issuer or signature.")
	errTokenRevoked = errors.New("Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenRevoked")
	errTokenGarbled = errors.New("IDX14100: JWT is not well formed, there are no dots (.).")
)

// validate checks signature, lifetime, audience, tenant and revocation of a bearer token.
func (ti *tokenIssuer) validate(tok string, a *app, tenantID string, now time.Time) (*accessClaims, error) {
	if strings.Count(tok, ".") != 2 {
		return nil, errTokenGarbled
	}
	ti.cacheMu.Lock()
	c := ti.cache[tok]
	ti.cacheMu.Unlock()
	if c == nil {
		parsed := &accessClaims{}
		_, err := jwt.ParseWithClaims(tok, parsed, func(t *jwt.Token) (any, error) {
			return &ti.key.PublicKey, nil
		}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
		if err != nil {
			return nil, fmt.Errorf("%w (%v)", errTokenInvalid, err)
		}
		c = parsed
		ti.cacheMu.Lock()
		if len(ti.cache) > 10000 {
			clear(ti.cache)
		}
		ti.cache[tok] = c
		ti.cacheMu.Unlock()
	}
	if c.Aud != graphAudience && c.Aud != graphAppID {
		return nil, errTokenInvalid
	}
	if c.Tid != tenantID || c.Iss != "https://sts.windows.net/"+tenantID+"/" {
		return nil, errTokenTenant
	}
	if n := now.Unix(); n >= c.Exp || n < c.Nbf {
		return nil, errTokenExpired
	}
	a.mu.Lock()
	revoked := c.serial() <= a.revokedTo
	a.mu.Unlock()
	if revoked {
		return nil, errTokenRevoked
	}
	return c, nil
}

// verifyAssertion checks a client assertion (RFC 7523) as Entra does: signed (PS256 or RS256)
// by the registered certificate named by its x5t#S256 or x5t header, aud = the token endpoint,
// iss = sub = client_id, within its validity window (5 minutes of clock skew allowed).
func verifyAssertion(assertion string, a *app, audiences []string, now time.Time) (int, string) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(assertion, claims, func(t *jwt.Token) (any, error) {
		if !thumbMatches(t.Header["x5t#S256"], a.x5tS256) && !thumbMatches(t.Header["x5t"], a.x5t) {
			return nil, errUnknownCert
		}
		return a.cert.PublicKey, nil
	}, jwt.WithValidMethods([]string{"PS256", "RS256"}), jwt.WithoutClaimsValidation())
	switch {
	case errors.Is(err, errUnknownCert):
		return 700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]"
	case err != nil:
		return 700027, "Client assertion failed signature validation."
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	if iss != a.clientID || sub != a.clientID {
		return 700021, "Client assertion application identifier doesn't match 'client_id' parameter."
	}
	aud, _ := claims.GetAudience()
	okAud := false
	for _, got := range aud {
		for _, want := range audiences {
			if strings.EqualFold(strings.TrimSuffix(got, "/"), want) {
				okAud = true
			}
		}
	}
	if !okAud {
		return 700021, fmt.Sprintf("Client assertion audience claim does not match Realm issuer. Review the documentation at https://aka.ms/certCredentials . Provided value: '%s'.", strings.Join(aud, ","))
	}
	const skew = 5 * time.Minute
	exp, _ := claims.GetExpirationTime()
	nbf, _ := claims.GetNotBefore()
	if exp == nil || now.After(exp.Add(skew)) || (nbf != nil && now.Add(skew).Before(nbf.Time)) {
		return 700024, "Client assertion is not within its valid time range."
	}
	return 0, ""
}

var errUnknownCert = errors.New("unknown certificate thumbprint")

func thumbMatches(h any, want []byte) bool {
	s, ok := h.(string)
	if !ok || s == "" {
		return false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && string(b) == string(want) {
			return true
		}
	}
	return false
}
