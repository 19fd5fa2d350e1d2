package m365

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// tokenSource gets app-only tokens for one tenant with MSAL's confidential
// client (client secret or certificate), which caches them until they are
// near expiry.
type tokenSource struct {
	mu        sync.Mutex
	app       confidential.Client
	build     func() (confidential.Client, error)
	lastReset time.Time
	tenantID  string
}

func newTokenSource(c graphapi.Conn, hc *http.Client) (*tokenSource, error) {
	var cred confidential.Credential
	var err error
	switch {
	case len(c.CertPEM) > 0:
		var certs []*x509.Certificate
		var key any
		certs, key, err = confidential.CertFromPEM(c.CertPEM, "")
		if err != nil {
			return nil, fmt.Errorf("tenant %s: the certificate PEM is unusable: %w", c.TenantID, err)
		}
		cred, err = confidential.NewCredFromCert(certs, key)
	case c.Secret != "":
		cred, err = confidential.NewCredFromSecret(c.Secret)
	default:
		return nil, fmt.Errorf("tenant %s: no client secret or certificate", c.TenantID)
	}
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", c.TenantID, err)
	}
	authority := c.AuthorityURL
	if authority == "" {
		authority = "https://login.microsoftonline.com/" + c.TenantID
	}
	// Instance discovery asks login.microsoftonline.com about the
	// authority; a private authority (the simulator, a sovereign cloud
	// endpoint given explicitly) must not depend on it.
	discovery := strings.HasPrefix(authority, "https://login.microsoftonline.com/")
	build := func() (confidential.Client, error) {
		return confidential.New(authority, c.ClientID, cred,
			confidential.WithHTTPClient(hc), confidential.WithInstanceDiscovery(discovery))
	}
	app, err := build()
	if err != nil {
		return nil, fmt.Errorf("tenant %s: authority %s: %w", c.TenantID, authority, err)
	}
	return &tokenSource{app: app, build: build, tenantID: c.TenantID}, nil
}

// token returns a bearer token; refresh forces a new one (after the
// service rejected the cached one), at most every few seconds.
func (t *tokenSource) token(ctx context.Context, refresh bool) (string, error) {
	t.mu.Lock()
	if refresh && time.Since(t.lastReset) > 5*time.Second {
		// MSAL serves app tokens from its cache until they near expiry; a
		// fresh client has an empty cache.
		if app, err := t.build(); err == nil {
			t.app, t.lastReset = app, time.Now()
		}
	}
	app := t.app
	t.mu.Unlock()
	res, err := app.AcquireTokenByCredential(ctx, []string{graphScope})
	if err != nil {
		return "", tokenError(t.tenantID, err)
	}
	return res.AccessToken, nil
}

// tokenError turns an MSAL failure into one line that names the cause
// (the AADSTS description) and is recognisable as an auth failure.
func tokenError(tenantID string, err error) error {
	var call msalerrors.CallErr
	if errors.As(err, &call) && call.Resp != nil {
		status := call.Resp.StatusCode
		msg := call.Err.Error()
		if i := strings.Index(msg, "AADSTS"); i >= 0 {
			msg = msg[i:]
		}
		if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
			msg = msg[:i]
		}
		if status == http.StatusBadRequest || status == http.StatusUnauthorized {
			status = http.StatusUnauthorized
		}
		return &graphapi.Error{Status: status, Code: "tokenRequestFailed",
			Message: fmt.Sprintf("cannot get a token for tenant %s: %s", tenantID, strings.TrimSpace(msg))}
	}
	return fmt.Errorf("cannot get a token for tenant %s: %w", tenantID, err)
}

// Roles returns the application permissions (the "roles" claim) of the
// token the tenant issues to the app.
func (t *tokenSource) roles(ctx context.Context) ([]string, error) {
	tok, err := t.token(ctx, false)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("the access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("the access token's claims are not base64url: %w", err)
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("the access token's claims are not JSON: %w", err)
	}
	return claims.Roles, nil
}
