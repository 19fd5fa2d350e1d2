package keys

import (
	"context"

	"gocloud.dev/secrets"
)

// SealSecret encrypts a small secret (a tenant's Graph client secret or
// certificate PEM) with the keeper for storage in the catalog. Errors wrap
// ErrUnavailable.
func SealSecret(ctx context.Context, keeper *secrets.Keeper, plaintext []byte) ([]byte, error) {
	if keeper == nil {
		return nil, unavailable("no KEK keeper configured", nil)
	}
	return seal(ctx, keeper, purposeSecret, "", plaintext)
}

// OpenSecret decrypts what SealSecret returned. Errors wrap ErrUnavailable.
func OpenSecret(ctx context.Context, keeper *secrets.Keeper, sealed []byte) ([]byte, error) {
	return open(ctx, keeper, purposeSecret, "", sealed)
}
