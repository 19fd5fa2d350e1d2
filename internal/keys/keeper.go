package keys

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"

	"gocloud.dev/secrets"
	"gocloud.dev/secrets/localsecrets" // base64key:// for local and development use
)

// OpenKeeper opens the KEK keeper named by url. Failures wrap ErrUnavailable
// and say why (malformed URL, no scheme, unknown scheme, bad key…).
//
// The URL is never echoed in errors: a base64key:// URL is the KEK itself.
// A bare "base64key://" is refused: gocloud would invent a random KEK that
// dies with the process, and every key wrapped by it would be lost.
func OpenKeeper(ctx context.Context, rawURL string) (*secrets.Keeper, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse errors quote the whole URL; say only that it is malformed.
		return nil, unavailable("KEK URL is malformed", nil)
	}
	scheme := strings.ToLower(u.Scheme)
	mux := secrets.DefaultURLMux()
	switch {
	case scheme == "":
		return nil, unavailable("KEK URL has no scheme (want base64key://, azurekeyvault://, awskms://, gcpkms:// or hashivault://)", nil)
	case !mux.ValidKeeperScheme(scheme):
		return nil, unavailable("KEK URL scheme "+quote(scheme)+" is not supported by this build (registered: "+strings.Join(mux.KeeperSchemes(), ", ")+")", nil)
	case scheme == "base64key" && u.Host == "":
		return nil, unavailable("base64key:// URL has no key (a random KEK would be lost on restart)", nil)
	}
	k, err := mux.OpenKeeperURL(ctx, u)
	if err != nil {
		secret := ""
		if scheme == "base64key" {
			secret = u.Host
		}
		return nil, unavailable("cannot open the "+scheme+" keeper", redacted{err, rawURL, secret})
	}
	return k, nil
}

// redacted hides the URL (and for base64key, the host, which is the key)
// from a driver's error text while keeping it matchable by errors.Is/As.
type redacted struct {
	err      error
	url, key string
}

func (r redacted) Error() string {
	s := r.err.Error()
	if r.url != "" {
		s = strings.ReplaceAll(s, r.url, "<KEK URL>")
	}
	if r.key != "" {
		s = strings.ReplaceAll(s, r.key, "<redacted>")
	}
	return s
}

func (r redacted) Unwrap() error { return r.err }

func quote(s string) string { return `"` + s + `"` }

// NewLocalKEK returns a new random KEK as a base64key:// URL, for
// evaluation and tests. Whoever holds the URL holds the key; production
// deployments use a cloud key manager instead.
func NewLocalKEK() (string, error) {
	k, err := localsecrets.NewRandomKey()
	if err != nil {
		return "", err
	}
	return "base64key://" + base64.URLEncoding.EncodeToString(k[:]), nil
}
