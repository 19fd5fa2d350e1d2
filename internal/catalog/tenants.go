package catalog

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Tenant is a protected Microsoft 365 tenant.
type Tenant struct {
	ID           string
	Name         string
	ClientID     string
	AuthKind     string // "secret" or "certificate"
	Credential   []byte // sealed by the KEK; never plaintext
	GraphURL     string
	AuthorityURL string
	CAFile       string
	State        string
	CreatedAt    time.Time
}

// TenantKey is one wrapped data-key generation of a tenant.
type TenantKey struct {
	TenantID        string
	KeyID           string
	WrappedDataKey  []byte
	WrappedChunkKey []byte
	Current         bool
	CreatedAt       time.Time
}

type tenantRow struct {
	ID           string `db:"id"`
	Name         string `db:"name"`
	ClientID     string `db:"client_id"`
	AuthKind     string `db:"auth_kind"`
	Credential   string `db:"credential"`
	GraphURL     string `db:"graph_url"`
	AuthorityURL string `db:"authority_url"`
	CAFile       string `db:"ca_file"`
	State        string `db:"state"`
	CreatedAt    int64  `db:"created_at"`
}

func (r tenantRow) tenant() (Tenant, error) {
	cred, err := base64.StdEncoding.DecodeString(r.Credential)
	if err != nil {
		return Tenant{}, fmt.Errorf("catalog: tenant %s: corrupt credential column", r.ID)
	}
	return Tenant{ID: r.ID, Name: r.Name, ClientID: r.ClientID, AuthKind: r.AuthKind, Credential: cred,
		GraphURL: r.GraphURL, AuthorityURL: r.AuthorityURL, CAFile: r.CAFile, State: r.State,
		CreatedAt: fromMS(r.CreatedAt)}, nil
}

// ErrExists is returned when creating something that is already there.
var ErrExists = errors.New("already exists")

// AddTenant records a tenant and its first key generation in one transaction.
func (s *Store) AddTenant(ctx context.Context, t Tenant, k TenantKey) error {
	now := time.Now()
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM tenants WHERE id = ? OR name = ?`), t.ID, t.Name); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("tenant %s (%s): %w", t.Name, t.ID, ErrExists)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO tenants
			(id, name, client_id, auth_kind, credential, graph_url, authority_url, ca_file, state, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.Name, t.ClientID, t.AuthKind, base64.StdEncoding.EncodeToString(t.Credential),
			t.GraphURL, t.AuthorityURL, t.CAFile, t.State, ms(t.CreatedAt)); err != nil {
			return err
		}
		return insertKey(ctx, tx, t.ID, k, now)
	})
}

func insertKey(ctx context.Context, tx *sqlx.Tx, tenantID string, k TenantKey, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO tenant_keys
		(tenant_id, key_id, wrapped_data_key, wrapped_chunk_key, is_current, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`),
		tenantID, k.KeyID, base64.StdEncoding.EncodeToString(k.WrappedDataKey),
		base64.StdEncoding.EncodeToString(k.WrappedChunkKey), true, ms(now))
	return err
}

// Tenant returns a tenant by ID or name.
func (s *Store) Tenant(ctx context.Context, idOrName string) (Tenant, error) {
	var r tenantRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT * FROM tenants WHERE id = ? OR name = ?`), idOrName, idOrName)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, fmt.Errorf("tenant %q: %w", idOrName, ErrNotFound)
	}
	if err != nil {
		return Tenant{}, err
	}
	return r.tenant()
}

// Tenants lists every tenant, by name.
func (s *Store) Tenants(ctx context.Context) ([]Tenant, error) {
	var rows []tenantRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT * FROM tenants ORDER BY name`); err != nil {
		return nil, err
	}
	out := make([]Tenant, 0, len(rows))
	for _, r := range rows {
		t, err := r.tenant()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

type keyRow struct {
	TenantID        string `db:"tenant_id"`
	KeyID           string `db:"key_id"`
	WrappedDataKey  string `db:"wrapped_data_key"`
	WrappedChunkKey string `db:"wrapped_chunk_key"`
	Current         bool   `db:"is_current"`
	CreatedAt       int64  `db:"created_at"`
}

// TenantKeys returns a tenant's key generations, current first.
func (s *Store) TenantKeys(ctx context.Context, tenantID string) ([]TenantKey, error) {
	var rows []keyRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT * FROM tenant_keys WHERE tenant_id = ?
		ORDER BY is_current DESC, created_at DESC`), tenantID); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("keys of tenant %s: %w", tenantID, ErrNotFound)
	}
	out := make([]TenantKey, 0, len(rows))
	for _, r := range rows {
		dk, err1 := base64.StdEncoding.DecodeString(r.WrappedDataKey)
		ck, err2 := base64.StdEncoding.DecodeString(r.WrappedChunkKey)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("catalog: tenant %s key %s: corrupt wrapped key column", tenantID, r.KeyID)
		}
		out = append(out, TenantKey{TenantID: r.TenantID, KeyID: r.KeyID, WrappedDataKey: dk,
			WrappedChunkKey: ck, Current: r.Current, CreatedAt: fromMS(r.CreatedAt)})
	}
	return out, nil
}

// Rewrapped is a tenant's keys and credential wrapped under a new KEK.
type Rewrapped struct {
	TenantID   string
	Keys       []TenantKey // same key IDs, new wrapping
	Credential []byte
}

// Rewrap stores re-wrapped keys and credentials of every tenant in one
// transaction: a KEK rotation happens whole or not at all.
func (s *Store) Rewrap(ctx context.Context, all []Rewrapped) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		for _, r := range all {
			for _, k := range r.Keys {
				res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE tenant_keys SET wrapped_data_key = ?, wrapped_chunk_key = ?
					WHERE tenant_id = ? AND key_id = ?`), base64.StdEncoding.EncodeToString(k.WrappedDataKey),
					base64.StdEncoding.EncodeToString(k.WrappedChunkKey), r.TenantID, k.KeyID)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n != 1 {
					return fmt.Errorf("tenant %s key %s: %w", r.TenantID, k.KeyID, ErrNotFound)
				}
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE tenants SET credential = ? WHERE id = ?`),
				base64.StdEncoding.EncodeToString(r.Credential), r.TenantID); err != nil {
				return err
			}
		}
		return nil
	})
}
