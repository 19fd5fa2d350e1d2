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

// Connection states.
const (
	ConnWaiting   = "waiting"
	ConnConnected = "connected"
	ConnDenied    = "denied"
	ConnTimedOut  = "timed_out"
)

// Connection is a tenant being connected through admin consent: the app's
// credential (sealed) waits here for the tenant to grant consent.
type Connection struct {
	ID         string // the consent request's state parameter
	Name       string
	ClientID   string
	AuthKind   string
	Credential []byte // sealed by the KEK
	GraphURL   string
	LoginURL   string // e.g. https://login.microsoftonline.com
	CAFile     string
	State      string
	TenantID   string // known once consent is granted
	Error      string
	CreatedAt  time.Time
	FinishedAt time.Time
}

type connectionRow struct {
	ID         string `db:"id"`
	Name       string `db:"name"`
	ClientID   string `db:"client_id"`
	AuthKind   string `db:"auth_kind"`
	Credential string `db:"credential"`
	GraphURL   string `db:"graph_url"`
	LoginURL   string `db:"login_url"`
	CAFile     string `db:"ca_file"`
	State      string `db:"state"`
	TenantID   string `db:"tenant_id"`
	Error      string `db:"error"`
	CreatedAt  int64  `db:"created_at"`
	FinishedAt int64  `db:"finished_at"`
}

// AddConnection records a consent request.
func (s *Store) AddConnection(ctx context.Context, c Connection) error {
	var n int
	if err := s.db.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM tenants WHERE name = ?`), c.Name); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("tenant %s: %w", c.Name, ErrExists)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO connections (id, name, client_id, auth_kind, credential, graph_url,
		login_url, ca_file, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.Name, c.ClientID, c.AuthKind, base64.StdEncoding.EncodeToString(c.Credential), c.GraphURL, c.LoginURL,
		c.CAFile, ConnWaiting, ms(time.Now()))
	return err
}

// Connection returns a consent request.
func (s *Store) Connection(ctx context.Context, id string) (Connection, error) {
	var r connectionRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT * FROM connections WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Connection{}, fmt.Errorf("connection %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Connection{}, err
	}
	cred, err := base64.StdEncoding.DecodeString(r.Credential)
	if err != nil {
		return Connection{}, fmt.Errorf("catalog: connection %s: corrupt credential column", id)
	}
	return Connection{ID: r.ID, Name: r.Name, ClientID: r.ClientID, AuthKind: r.AuthKind, Credential: cred, GraphURL: r.GraphURL,
		LoginURL: r.LoginURL, CAFile: r.CAFile, State: r.State, TenantID: r.TenantID, Error: r.Error,
		CreatedAt: fromMS(r.CreatedAt), FinishedAt: fromMS(r.FinishedAt)}, nil
}

// EndConnection records how a consent request ended (denied or timed
// out); a request that already ended keeps its first outcome.
func (s *Store) EndConnection(ctx context.Context, id, state, reason string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE connections SET state = ?, error = ?, finished_at = ? WHERE id = ? AND state = ?`),
		state, reason, ms(time.Now()), id, ConnWaiting)
	return err
}

// CompleteConnection turns a consented request into a tenant with its
// first key generation, in one transaction. Completing it again (a
// retried activity) returns the tenant it made.
func (s *Store) CompleteConnection(ctx context.Context, id, tenantID, authorityURL string, k TenantKey) (Tenant, error) {
	var t Tenant
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var r connectionRow
		if err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT * FROM connections WHERE id = ?`), id); err != nil {
			return fmt.Errorf("connection %s: %w", id, err)
		}
		switch r.State {
		case ConnConnected:
			return nil
		case ConnWaiting:
		default:
			return fmt.Errorf("connection %s already ended: %s", id, r.State)
		}
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM tenants WHERE id = ? OR name = ?`), tenantID, r.Name); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("tenant %s (%s): %w", r.Name, tenantID, ErrExists)
		}
		now := time.Now()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO tenants
			(id, name, client_id, auth_kind, credential, graph_url, authority_url, ca_file, state, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			tenantID, r.Name, r.ClientID, r.AuthKind, r.Credential, r.GraphURL, authorityURL, r.CAFile, "connected", ms(now)); err != nil {
			return err
		}
		if err := insertKey(ctx, tx, tenantID, k, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE connections SET state = ?, tenant_id = ?, finished_at = ? WHERE id = ?`),
			ConnConnected, tenantID, ms(now), id)
		return err
	})
	if err != nil {
		return t, err
	}
	var row Connection
	if row, err = s.Connection(ctx, id); err != nil {
		return t, err
	}
	return s.Tenant(ctx, row.TenantID)
}
