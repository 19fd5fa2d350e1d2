package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// OneDriveRetention is fixed: OneDrive data is kept seven years.
const OneDriveRetention = 7 * 365 * 24 * time.Hour

// DefaultRetention applies to an app a profile does not name, and to
// users without a profile.
const DefaultRetention = 7 * 365 * 24 * time.Hour

// Profile is the backup policy of a group of users.
type Profile struct {
	TenantID          string
	ID                string
	Apps              []string
	Interval          time.Duration
	Retention         map[string]time.Duration // by app
	ExcludeExtensions []string                 // ".tmp", lower case
	ExcludeFolders    []string                 // folder names, or /paths from the root
	RecoverableItems  bool
	RestoreRoles      []string // admin roles that may restore this profile's users
	DownloadRoles     []string // admin roles that may download them
	CrossUserRestore  bool     // a restore may target another user
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// RetentionFor is how long an app's snapshots are kept.
func (p Profile) RetentionFor(app string) time.Duration {
	if app == "onedrive" {
		return OneDriveRetention
	}
	if d, ok := p.Retention[app]; ok && d > 0 {
		return d
	}
	return DefaultRetention
}

type profileRow struct {
	TenantID          string `db:"tenant_id"`
	ID                string `db:"id"`
	Apps              string `db:"apps"`
	IntervalSeconds   int64  `db:"interval_seconds"`
	Retention         string `db:"retention"`
	ExcludeExtensions string `db:"exclude_extensions"`
	ExcludeFolders    string `db:"exclude_folders"`
	RecoverableItems  bool   `db:"recoverable_items"`
	RestoreRoles      string `db:"restore_roles"`
	DownloadRoles     string `db:"download_roles"`
	CrossUserRestore  bool   `db:"cross_user_restore"`
	CreatedAt         int64  `db:"created_at"`
	UpdatedAt         int64  `db:"updated_at"`
}

const profileColumns = `tenant_id, id, apps, interval_seconds, retention, exclude_extensions, exclude_folders,
	recoverable_items, restore_roles, download_roles, cross_user_restore, created_at, updated_at`

func (r profileRow) profile() (Profile, error) {
	p := Profile{TenantID: r.TenantID, ID: r.ID, Apps: split(r.Apps), Interval: time.Duration(r.IntervalSeconds) * time.Second,
		ExcludeExtensions: split(r.ExcludeExtensions), RecoverableItems: r.RecoverableItems, RestoreRoles: split(r.RestoreRoles),
		DownloadRoles: split(r.DownloadRoles), CrossUserRestore: r.CrossUserRestore, CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt)}
	var days map[string]float64
	if err := json.Unmarshal([]byte(r.Retention), &days); err != nil {
		return p, fmt.Errorf("catalog: profile %s: corrupt retention column", r.ID)
	}
	p.Retention = map[string]time.Duration{}
	for app, d := range days {
		p.Retention[app] = time.Duration(d * float64(24*time.Hour))
	}
	if r.ExcludeFolders != "" {
		if err := json.Unmarshal([]byte(r.ExcludeFolders), &p.ExcludeFolders); err != nil {
			return p, fmt.Errorf("catalog: profile %s: corrupt exclude_folders column", r.ID)
		}
	}
	return p, nil
}

func (p Profile) row() profileRow {
	days := map[string]float64{}
	for app, d := range p.Retention {
		days[app] = d.Hours() / 24
	}
	rb, _ := json.Marshal(days)
	fb := []byte{}
	if len(p.ExcludeFolders) > 0 {
		fb, _ = json.Marshal(p.ExcludeFolders)
	}
	return profileRow{TenantID: p.TenantID, ID: p.ID, Apps: strings.Join(p.Apps, ","), IntervalSeconds: int64(p.Interval / time.Second),
		Retention: string(rb), ExcludeExtensions: strings.Join(p.ExcludeExtensions, ","), ExcludeFolders: string(fb),
		RecoverableItems: p.RecoverableItems, RestoreRoles: strings.Join(p.RestoreRoles, ","), DownloadRoles: strings.Join(p.DownloadRoles, ","),
		CrossUserRestore: p.CrossUserRestore, CreatedAt: ms(p.CreatedAt), UpdatedAt: ms(p.UpdatedAt)}
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// CreateProfile adds a profile; ErrExists if the name is taken.
func (s *Store) CreateProfile(ctx context.Context, p Profile) error {
	now := time.Now()
	p.CreatedAt, p.UpdatedAt = now, now
	_, err := s.db.NamedExecContext(ctx, `INSERT INTO profiles (`+profileColumns+`) VALUES (:tenant_id, :id, :apps,
		:interval_seconds, :retention, :exclude_extensions, :exclude_folders, :recoverable_items, :restore_roles,
		:download_roles, :cross_user_restore, :created_at, :updated_at)`, p.row())
	if err != nil && s.isUniqueViolation(err) {
		return fmt.Errorf("profile %q: %w", p.ID, ErrExists)
	}
	return err
}

// UpdateProfile replaces a profile's settings.
func (s *Store) UpdateProfile(ctx context.Context, p Profile) error {
	p.UpdatedAt = time.Now()
	res, err := s.db.NamedExecContext(ctx, `UPDATE profiles SET apps = :apps, interval_seconds = :interval_seconds,
		retention = :retention, exclude_extensions = :exclude_extensions, exclude_folders = :exclude_folders,
		recoverable_items = :recoverable_items, restore_roles = :restore_roles, download_roles = :download_roles,
		cross_user_restore = :cross_user_restore, updated_at = :updated_at WHERE tenant_id = :tenant_id AND id = :id`, p.row())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("profile %q: %w", p.ID, ErrNotFound)
	}
	return nil
}

// Profile returns a profile by name.
func (s *Store) Profile(ctx context.Context, tenantID, id string) (Profile, error) {
	var r profileRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT `+profileColumns+` FROM profiles WHERE tenant_id = ? AND id = ?`), tenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Profile{}, fmt.Errorf("profile %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Profile{}, err
	}
	return r.profile()
}

// Profiles lists a tenant's profiles by name.
func (s *Store) Profiles(ctx context.Context, tenantID string) ([]Profile, error) {
	var rows []profileRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+profileColumns+` FROM profiles WHERE tenant_id = ? ORDER BY id`), tenantID); err != nil {
		return nil, err
	}
	out := make([]Profile, 0, len(rows))
	for _, r := range rows {
		p, err := r.profile()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// DeleteProfile removes a profile that no user belongs to.
func (s *Store) DeleteProfile(ctx context.Context, tenantID, id string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM users WHERE tenant_id = ? AND profile_id = ? AND state = 'active'`), tenantID, id); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("profile %q still has %d users: move them to another profile first", id, n)
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM profiles WHERE tenant_id = ? AND id = ?`), tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("profile %q: %w", id, ErrNotFound)
		}
		return nil
	})
}

// UserProfile returns the profile of a user, or the zero Profile (default
// policy) when the user has none.
func (s *Store) UserProfile(ctx context.Context, tenantID, userID string) (Profile, error) {
	u, err := s.User(ctx, tenantID, userID)
	if err != nil {
		return Profile{}, err
	}
	if u.ProfileID == "" {
		return Profile{TenantID: tenantID}, nil
	}
	return s.Profile(ctx, tenantID, u.ProfileID)
}

// SetUserProfile moves a user into a profile ("" for none).
func (s *Store) SetUserProfile(ctx context.Context, tenantID, userID, profileID string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET profile_id = ? WHERE tenant_id = ? AND id = ?`), profileID, tenantID, userID)
	return err
}

// isUniqueViolation tells a duplicate-key error on either engine.
func (s *Store) isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key value") || strings.Contains(msg, "SQLSTATE 23505")
}
