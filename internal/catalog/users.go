package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// User is a protected user (or shared/resource mailbox).
type User struct {
	TenantID    string    `db:"tenant_id"`
	ID          string    `db:"id"`
	UPN         string    `db:"upn"`
	Mail        string    `db:"mail"`
	DisplayName string    `db:"display_name"`
	Kind        string    `db:"kind"`
	State       string    `db:"state"`
	ProfileID   string    `db:"profile_id"` // "" = no profile
	CreatedAt   time.Time `db:"-"`
}

// UserApp names one app of one user: the unit a backup runs on.
type UserApp struct {
	TenantID string
	UserID   string
	App      string
}

func (k UserApp) String() string { return k.TenantID + "/" + k.UserID + "/" + k.App }

type userRow struct {
	User
	CreatedAtMS int64 `db:"created_at"`
}

// AddUser adds a user and enables the given apps, in one transaction.
// Adding a user that exists returns ErrExists.
func (s *Store) AddUser(ctx context.Context, u User, apps []string) error {
	if u.Kind == "" {
		u.Kind = "user"
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM users WHERE tenant_id = ? AND (id = ? OR LOWER(upn) = LOWER(?))`),
			u.TenantID, u.ID, u.UPN); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("user %s: %w", u.UPN, ErrExists)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO users
			(tenant_id, id, upn, mail, display_name, kind, state, profile_id, created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)`),
			u.TenantID, u.ID, u.UPN, u.Mail, u.DisplayName, u.Kind, u.ProfileID, ms(time.Now())); err != nil {
			return err
		}
		for _, app := range apps {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO user_apps (tenant_id, user_id, app, enabled) VALUES (?, ?, ?, ?)`),
				u.TenantID, u.ID, app, true); err != nil {
				return err
			}
		}
		return nil
	})
}

// User finds a user by object ID, UPN or mail (case-insensitive).
func (s *Store) User(ctx context.Context, tenantID, ref string) (User, error) {
	var r userRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT * FROM users WHERE tenant_id = ?
		AND (id = ? OR LOWER(upn) = LOWER(?) OR (mail <> '' AND LOWER(mail) = LOWER(?)))`),
		tenantID, ref, ref, ref)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", ref, ErrNotFound)
	}
	if err != nil {
		return User{}, err
	}
	r.User.CreatedAt = fromMS(r.CreatedAtMS)
	return r.User, nil
}

// Users lists a tenant's users by UPN.
func (s *Store) Users(ctx context.Context, tenantID string) ([]User, error) {
	var rows []userRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT * FROM users WHERE tenant_id = ? ORDER BY upn`), tenantID); err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		r.User.CreatedAt = fromMS(r.CreatedAtMS)
		out[i] = r.User
	}
	return out, nil
}

// AppEnabled reports whether a user-app is protected. A user-app that was
// never added is ErrNotFound.
func (s *Store) AppEnabled(ctx context.Context, k UserApp) (bool, error) {
	var enabled bool
	err := s.db.GetContext(ctx, &enabled, s.q(`SELECT ua.enabled FROM user_apps ua JOIN users u
		ON u.tenant_id = ua.tenant_id AND u.id = ua.user_id
		WHERE ua.tenant_id = ? AND ua.user_id = ? AND ua.app = ? AND u.state = 'active'`), k.TenantID, k.UserID, k.App)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("%s for user %s: %w", k.App, k.UserID, ErrNotFound)
	}
	return enabled, err
}

// SetAppEnabled enables or disables (adding if needed) an app of a user.
func (s *Store) SetAppEnabled(ctx context.Context, k UserApp, enabled bool) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO user_apps (tenant_id, user_id, app, enabled) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, user_id, app) DO UPDATE SET enabled = excluded.enabled`), k.TenantID, k.UserID, k.App, enabled)
	return err
}

// UserAppStatus is one row of `holdfast user list`.
type UserAppStatus struct {
	User     User
	App      string
	Enabled  bool
	Last     *Snapshot // newest finished or running snapshot, if any
	LastGood *Snapshot // newest complete or partial snapshot, if any
}

// UserAppStatuses lists every user-app of a tenant with its latest snapshots.
func (s *Store) UserAppStatuses(ctx context.Context, tenantID string) ([]UserAppStatus, error) {
	users, err := s.Users(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	var apps []struct {
		UserID  string `db:"user_id"`
		App     string `db:"app"`
		Enabled bool   `db:"enabled"`
	}
	if err := s.db.SelectContext(ctx, &apps, s.q(`SELECT user_id, app, enabled FROM user_apps WHERE tenant_id = ?`), tenantID); err != nil {
		return nil, err
	}
	var out []UserAppStatus
	for _, a := range apps {
		k := UserApp{TenantID: tenantID, UserID: a.UserID, App: a.App}
		st := UserAppStatus{User: byID[a.UserID], App: a.App, Enabled: a.Enabled}
		if snaps, err := s.Snapshots(ctx, SnapshotFilter{UserApp: k, Limit: 1}); err != nil {
			return nil, err
		} else if len(snaps) > 0 {
			st.Last = &snaps[0]
		}
		if snap, err := s.LatestUsableSnapshot(ctx, k, time.Time{}); err == nil {
			st.LastGood = &snap
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b UserAppStatus) int {
		if c := strings.Compare(strings.ToLower(a.User.UPN), strings.ToLower(b.User.UPN)); c != 0 {
			return c
		}
		return strings.Compare(a.App, b.App)
	})
	return out, nil
}
