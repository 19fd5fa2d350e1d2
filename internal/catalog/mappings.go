package catalog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Mapping kinds.
const (
	MappingGroup     = "group"
	MappingAttribute = "attribute"
)

// Mapping is a directory rule: users in a group, or with an attribute
// value, join a profile.
type Mapping struct {
	TenantID  string `db:"tenant_id"`
	ID        string `db:"id"`
	Kind      string `db:"kind"`
	GroupName string `db:"group_name"`
	Attribute string `db:"attribute"`
	Value     string `db:"value"`
	ProfileID string `db:"profile_id"`
	CreatedMS int64  `db:"created_at"`
}

// String describes the rule.
func (m Mapping) String() string {
	if m.Kind == MappingGroup {
		return fmt.Sprintf("members of group %q → profile %s", m.GroupName, m.ProfileID)
	}
	return fmt.Sprintf("users with %s = %q → profile %s", m.Attribute, m.Value, m.ProfileID)
}

// AddMapping records a rule and returns it with its ID.
func (s *Store) AddMapping(ctx context.Context, m Mapping) (Mapping, error) {
	if _, err := s.Profile(ctx, m.TenantID, m.ProfileID); err != nil {
		return m, err
	}
	var b [4]byte
	rand.Read(b[:])
	m.ID, m.CreatedMS = hex.EncodeToString(b[:]), ms(time.Now())
	_, err := s.db.NamedExecContext(ctx, `INSERT INTO mappings (tenant_id, id, kind, group_name, attribute, value, profile_id,
		created_at) VALUES (:tenant_id, :id, :kind, :group_name, :attribute, :value, :profile_id, :created_at)`, m)
	return m, err
}

// Mappings lists a tenant's rules, oldest first (the first match wins).
func (s *Store) Mappings(ctx context.Context, tenantID string) ([]Mapping, error) {
	var out []Mapping
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT * FROM mappings WHERE tenant_id = ? ORDER BY created_at, id`), tenantID)
	return out, err
}

// RemoveMapping deletes a rule.
func (s *Store) RemoveMapping(ctx context.Context, tenantID, id string) (Mapping, error) {
	var m Mapping
	err := s.db.GetContext(ctx, &m, s.q(`SELECT * FROM mappings WHERE tenant_id = ? AND id = ?`), tenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("mapping %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, err
	}
	_, err = s.db.ExecContext(ctx, s.q(`DELETE FROM mappings WHERE tenant_id = ? AND id = ?`), tenantID, id)
	return m, err
}

// DirectoryLink returns the tenant's users/delta link ("" before the
// first sync).
func (s *Store) DirectoryLink(ctx context.Context, tenantID string) (string, error) {
	var link string
	err := s.db.GetContext(ctx, &link, s.q(`SELECT delta_link FROM directory_sync WHERE tenant_id = ?`), tenantID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return link, err
}

// SetDirectoryLink records where directory sync stands.
func (s *Store) SetDirectoryLink(ctx context.Context, tenantID, link string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO directory_sync (tenant_id, delta_link, synced_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET delta_link = excluded.delta_link, synced_at = excluded.synced_at`),
		tenantID, link, ms(time.Now()))
	return err
}
