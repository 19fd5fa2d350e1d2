package catalog

import (
	"context"
	"slices"
	"time"
)

// ProfileTarget is a user-app a scheduled backup runs.
type ProfileTarget struct {
	UserID string
	App    string
}

// ProfileTargets pages through the users of a profile (by ID, after
// after), returning the user-apps to back up — the profile's apps each
// user has enabled — and how many were skipped (disabled or deleted).
// next is "" after the last page.
func (s *Store) ProfileTargets(ctx context.Context, tenantID, profileID, after string, limit int) (targets []ProfileTarget, skipped int, next string, err error) {
	p, err := s.Profile(ctx, tenantID, profileID)
	if err != nil {
		return nil, 0, "", err
	}
	var users []struct {
		ID    string `db:"id"`
		State string `db:"state"`
	}
	if err := s.db.SelectContext(ctx, &users, s.q(`SELECT id, state FROM users WHERE tenant_id = ? AND profile_id = ? AND id > ?
		ORDER BY id LIMIT ?`), tenantID, profileID, after, limit); err != nil {
		return nil, 0, "", err
	}
	for _, u := range users {
		enabled, err := s.enabledApps(ctx, tenantID, u.ID)
		if err != nil {
			return nil, 0, "", err
		}
		for _, app := range p.Apps {
			if u.State != "active" || !slices.Contains(enabled, app) {
				skipped++
				continue
			}
			targets = append(targets, ProfileTarget{UserID: u.ID, App: app})
		}
	}
	if len(users) == limit {
		next = users[len(users)-1].ID
	}
	return targets, skipped, next, nil
}

func (s *Store) enabledApps(ctx context.Context, tenantID, userID string) ([]string, error) {
	var apps []string
	err := s.db.SelectContext(ctx, &apps, s.q(`SELECT app FROM user_apps WHERE tenant_id = ? AND user_id = ? AND enabled`), tenantID, userID)
	return apps, err
}

// ScheduleRun is the outcome of one scheduled backup of a profile.
type ScheduleRun struct {
	ID         string `db:"id"`
	TenantID   string `db:"tenant_id"`
	ProfileID  string `db:"profile_id"`
	StartedMS  int64  `db:"started_at"`
	FinishedMS int64  `db:"finished_at"`
	Complete   int64  `db:"complete"`
	Partial    int64  `db:"partial"`
	Failed     int64  `db:"failed"`
	Skipped    int64  `db:"skipped"`
}

// RecordScheduleRun stores (or updates) a scheduled run's summary.
func (s *Store) RecordScheduleRun(ctx context.Context, r ScheduleRun) error {
	if r.FinishedMS == 0 {
		r.FinishedMS = ms(time.Now())
	}
	_, err := s.db.NamedExecContext(ctx, `INSERT INTO schedule_runs (id, tenant_id, profile_id, started_at, finished_at,
		complete, partial, failed, skipped) VALUES (:id, :tenant_id, :profile_id, :started_at, :finished_at, :complete,
		:partial, :failed, :skipped) ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at,
		complete = excluded.complete, partial = excluded.partial, failed = excluded.failed, skipped = excluded.skipped`, r)
	return err
}

// ScheduleRuns lists a profile's recent runs, newest first.
func (s *Store) ScheduleRuns(ctx context.Context, tenantID, profileID string, limit int) ([]ScheduleRun, error) {
	var out []ScheduleRun
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT * FROM schedule_runs WHERE tenant_id = ? AND profile_id = ?
		ORDER BY started_at DESC LIMIT ?`), tenantID, profileID, limit)
	return out, err
}

// SetUserState marks a user active or deleted (removed from protection;
// their backups stay until retention ends them).
func (s *Store) SetUserState(ctx context.Context, tenantID, userID, state string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET state = ? WHERE tenant_id = ? AND id = ?`), state, tenantID, userID)
	return err
}

// JoinProfile puts a user in a profile and enables the profile's apps for
// them (apps they had disabled stay disabled).
func (s *Store) JoinProfile(ctx context.Context, tenantID, userID string, p Profile) error {
	if err := s.SetUserProfile(ctx, tenantID, userID, p.ID); err != nil {
		return err
	}
	for _, app := range p.Apps {
		if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO user_apps (tenant_id, user_id, app, enabled) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, user_id, app) DO NOTHING`), tenantID, userID, app, true); err != nil {
			return err
		}
	}
	return nil
}
