package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/keys"
)

// CompleteConnectionInput turns a consented connection into a tenant.
type CompleteConnectionInput struct {
	ConnectionID string
	TenantID     string // from the consent redirect
	Actor        string
}

// TenantRef names a tenant.
type TenantRef struct {
	ID   string
	Name string
}

// CompleteConnection records the tenant that granted consent and creates
// its ekey (a data key and a chunk-ID key wrapped by the KEK).
func (a *Activities) CompleteConnection(ctx context.Context, in CompleteConnectionInput) (TenantRef, error) {
	if !guid(in.TenantID) {
		return TenantRef{}, nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("consent returned %q, which is not a tenant ID", in.TenantID))
	}
	conn, err := a.Catalog.Connection(ctx, in.ConnectionID)
	if err != nil {
		return TenantRef{}, classify(err)
	}
	keeper, err := a.openKeeper(ctx)
	if err != nil {
		return TenantRef{}, classify(err)
	}
	w, err := keys.Generate(ctx, keeper)
	if err != nil {
		return TenantRef{}, classify(err)
	}
	authority := strings.TrimRight(conn.LoginURL, "/") + "/" + strings.ToLower(in.TenantID)
	t, err := a.Catalog.CompleteConnection(ctx, in.ConnectionID, strings.ToLower(in.TenantID), authority,
		catalog.TenantKey{KeyID: w.KeyID, WrappedDataKey: w.DataKey, WrappedChunkKey: w.ChunkIDKey})
	if errors.Is(err, catalog.ErrExists) {
		return TenantRef{}, nonRetryable(ErrTypeInvalidRequest, err)
	}
	if err != nil {
		return TenantRef{}, err
	}
	if err := a.Catalog.Audit(ctx, catalog.AuditEntry{Actor: in.Actor, Action: "tenant.connect", Object: t.Name,
		After: fmt.Sprintf(`{"id":%q,"clientId":%q,"auth":%q,"keyId":%q}`, t.ID, t.ClientID, t.AuthKind, w.KeyID)}); err != nil {
		return TenantRef{}, err
	}
	return TenantRef{ID: t.ID, Name: t.Name}, nil
}

// EndConnectionInput ends a connection that did not get consent.
type EndConnectionInput struct {
	ConnectionID string
	State        string // denied | timed_out
	Reason       string
	Actor        string
}

// EndConnection records a denied or timed-out consent request.
func (a *Activities) EndConnection(ctx context.Context, in EndConnectionInput) error {
	conn, err := a.Catalog.Connection(ctx, in.ConnectionID)
	if err != nil {
		return classify(err)
	}
	if err := a.Catalog.EndConnection(ctx, in.ConnectionID, in.State, in.Reason); err != nil {
		return err
	}
	return a.Catalog.Audit(ctx, catalog.AuditEntry{Actor: in.Actor, Action: "tenant.connect." + in.State, Object: conn.Name,
		After: fmt.Sprintf(`{"clientId":%q,"reason":%q}`, conn.ClientID, in.Reason)})
}

func guid(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case '0' <= r && r <= '9', 'a' <= r && r <= 'f', 'A' <= r && r <= 'F':
		default:
			return false
		}
	}
	return true
}
