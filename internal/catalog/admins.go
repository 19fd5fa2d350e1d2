package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Admin roles.
const (
	RoleCloudAdmin      = "cloud-admin"      // everything, including tenants, keys and admins
	RoleBackupAdmin     = "backup-admin"     // profiles, users, backups, holds, retention
	RoleRestoreOperator = "restore-operator" // restores and downloads the policy allows
	RoleCompliance      = "compliance"       // legal/compliance: read-only
)

// Roles lists the admin roles.
var Roles = []string{RoleCloudAdmin, RoleBackupAdmin, RoleRestoreOperator, RoleCompliance}

// ValidRole says whether r names a role.
func ValidRole(r string) bool { return slices.Contains(Roles, r) }

// Admin is a person who runs Holdfast.
type Admin struct {
	Name      string `db:"name"`
	Role      string `db:"role"`
	CreatedMS int64  `db:"created_at"`
}

// AddAdmin registers an admin, or changes the role of one.
func (s *Store) AddAdmin(ctx context.Context, name, role string) error {
	if !ValidRole(role) {
		return fmt.Errorf("unknown role %q (roles: %v)", role, Roles)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO admins (name, role, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET role = excluded.role`), name, role, ms(time.Now()))
	return err
}

// RemoveAdmin removes an admin; the last cloud administrator stays.
func (s *Store) RemoveAdmin(ctx context.Context, name string) error {
	admins, err := s.Admins(ctx)
	if err != nil {
		return err
	}
	clouds := 0
	for _, a := range admins {
		if a.Role == RoleCloudAdmin && a.Name != name {
			clouds++
		}
	}
	if clouds == 0 {
		return errors.New("the last cloud administrator cannot be removed")
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM admins WHERE name = ?`), name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("admin %q: %w", name, ErrNotFound)
	}
	return nil
}

// Admins lists the admins by name.
func (s *Store) Admins(ctx context.Context) ([]Admin, error) {
	var out []Admin
	err := s.db.SelectContext(ctx, &out, `SELECT name, role, created_at FROM admins ORDER BY name`)
	return out, err
}

// ErrNotAdmin means the actor is not a registered admin.
var ErrNotAdmin = errors.New("not a registered admin")

// AdminRole returns an admin's role. Until the first admin is registered
// the catalog is being set up and everyone acts as cloud administrator.
func (s *Store) AdminRole(ctx context.Context, name string) (string, error) {
	var role string
	err := s.db.GetContext(ctx, &role, s.q(`SELECT role FROM admins WHERE name = ?`), name)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM admins`); err != nil {
			return "", err
		}
		if n == 0 {
			return RoleCloudAdmin, nil
		}
		return "", fmt.Errorf("%q is %w (see `holdfast admin list`; set HOLDFAST_ACTOR)", name, ErrNotAdmin)
	}
	return role, err
}
