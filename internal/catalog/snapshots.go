package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Snapshot states.
const (
	StateRunning  = "running"
	StateComplete = "complete"
	StatePartial  = "partial" // committed, but some items failed (named in snapshot_failures)
	StateFailed   = "failed"
	// StateExpired is a snapshot retention expired: kept as a row for the
	// record, never offered for restore; its item versions and content are
	// collected once no other snapshot sees them.
	StateExpired = "expired"
)

// Snapshot is one backup run of one user-app.
type Snapshot struct {
	ID           int64
	TenantID     string
	UserID       string
	App          string
	Trigger      string
	State        string
	RunID        string
	StartedAt    time.Time
	FinishedAt   time.Time
	ItemsTotal   int64
	ItemsChanged int64
	BytesTotal   int64
	BytesNew     int64
	ItemsFailed  int64
	Error        string
}

// Key is the snapshot's user-app.
func (s Snapshot) Key() UserApp { return UserApp{TenantID: s.TenantID, UserID: s.UserID, App: s.App} }

type snapshotRow struct {
	ID           int64         `db:"id"`
	TenantID     string        `db:"tenant_id"`
	UserID       string        `db:"user_id"`
	App          string        `db:"app"`
	Trigger      string        `db:"trigger_kind"`
	State        string        `db:"state"`
	RunID        string        `db:"run_id"`
	StartedAt    int64         `db:"started_at"`
	FinishedAt   sql.NullInt64 `db:"finished_at"`
	ItemsTotal   int64         `db:"items_total"`
	ItemsChanged int64         `db:"items_changed"`
	BytesTotal   int64         `db:"bytes_total"`
	BytesNew     int64         `db:"bytes_new"`
	ItemsFailed  int64         `db:"items_failed"`
	Error        string        `db:"error"`
}

func (r snapshotRow) snapshot() Snapshot {
	return Snapshot{ID: r.ID, TenantID: r.TenantID, UserID: r.UserID, App: r.App, Trigger: r.Trigger,
		State: r.State, RunID: r.RunID, StartedAt: fromMS(r.StartedAt), FinishedAt: nullMS(r.FinishedAt),
		ItemsTotal: r.ItemsTotal, ItemsChanged: r.ItemsChanged, BytesTotal: r.BytesTotal, BytesNew: r.BytesNew,
		ItemsFailed: r.ItemsFailed, Error: r.Error}
}

// OpenSnapshot starts a snapshot of k for a backup run. It is idempotent per
// run: if the same run (runID, e.g. the workflow run ID) already opened
// one, that snapshot is returned. A snapshot left running by another run
// (one that was terminated) is marked failed first, so at most one snapshot
// per user-app is ever running.
//
// While retention's garbage collection holds the tenant's GC lease, no new
// snapshot opens: the error matches ErrGCRunning and is meant to be
// retried (a backup could otherwise deduplicate against a chunk GC is about
// to delete). The check and the insert are serialised with GC's own
// transactions (see lockTenant), so neither can miss the other.
func (s *Store) OpenSnapshot(ctx context.Context, k UserApp, trigger, runID string) (Snapshot, error) {
	var snap Snapshot
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockTenant(ctx, tx, k.TenantID, false); err != nil {
			return err
		}
		var running []snapshotRow
		if err := tx.SelectContext(ctx, &running, tx.Rebind(`SELECT * FROM snapshots
			WHERE tenant_id = ? AND user_id = ? AND app = ? AND state = ?`), k.TenantID, k.UserID, k.App, StateRunning); err != nil {
			return err
		}
		for _, r := range running {
			if r.RunID == runID {
				snap = r.snapshot()
				return nil
			}
		}
		if err := checkNoGC(ctx, tx, k.TenantID, time.Now()); err != nil {
			return err
		}
		for _, r := range running {
			if err := failSnapshot(ctx, tx, r.ID, "superseded by a later run; this run ended without finishing"); err != nil {
				return err
			}
		}
		id, err := next(ctx, tx, "snapshot")
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO snapshots
			(id, tenant_id, user_id, app, trigger_kind, state, run_id, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			id, k.TenantID, k.UserID, k.App, trigger, StateRunning, runID, ms(now)); err != nil {
			return err
		}
		snap = Snapshot{ID: id, TenantID: k.TenantID, UserID: k.UserID, App: k.App, Trigger: trigger,
			State: StateRunning, RunID: runID, StartedAt: fromMS(ms(now))}
		return nil
	})
	return snap, err
}

// Snapshot returns a snapshot by ID.
func (s *Store) Snapshot(ctx context.Context, id int64) (Snapshot, error) {
	var r snapshotRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT * FROM snapshots WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, fmt.Errorf("snapshot %d: %w", id, ErrNotFound)
	}
	return r.snapshot(), err
}

// SnapshotFilter selects snapshots; zero fields match everything, except
// that expired snapshots are left out unless State asks for them or
// IncludeExpired is set.
type SnapshotFilter struct {
	UserApp        UserApp // TenantID, UserID, App each optional
	State          string
	Limit          int
	IncludeExpired bool
}

// Snapshots lists snapshots, newest first.
func (s *Store) Snapshots(ctx context.Context, f SnapshotFilter) ([]Snapshot, error) {
	query := `SELECT * FROM snapshots WHERE 1 = 1`
	var args []any
	add := func(col, v string) {
		if v != "" {
			query += ` AND ` + col + ` = ?`
			args = append(args, v)
		}
	}
	add("tenant_id", f.UserApp.TenantID)
	add("user_id", f.UserApp.UserID)
	add("app", f.UserApp.App)
	add("state", f.State)
	if f.State == "" && !f.IncludeExpired {
		query += ` AND state <> ?`
		args = append(args, StateExpired)
	}
	query += ` ORDER BY id DESC`
	if f.Limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	var rows []snapshotRow
	if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
		return nil, err
	}
	out := make([]Snapshot, len(rows))
	for i, r := range rows {
		out[i] = r.snapshot()
	}
	return out, nil
}

// LatestUsableSnapshot returns the newest complete or partial snapshot of k
// that finished at or before at (the zero time means now): what a
// point-in-time restore reads.
func (s *Store) LatestUsableSnapshot(ctx context.Context, k UserApp, at time.Time) (Snapshot, error) {
	limit := int64(1<<62 - 1)
	if !at.IsZero() {
		limit = at.UnixMilli()
	}
	var r snapshotRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT * FROM snapshots
		WHERE tenant_id = ? AND user_id = ? AND app = ? AND state IN (?, ?) AND finished_at <= ?
		ORDER BY id DESC LIMIT 1`), k.TenantID, k.UserID, k.App, StateComplete, StatePartial, limit)
	if errors.Is(err, sql.ErrNoRows) {
		if at.IsZero() {
			return Snapshot{}, fmt.Errorf("no usable snapshot of %s: %w", k, ErrNotFound)
		}
		return Snapshot{}, fmt.Errorf("no usable snapshot of %s at or before %s: %w", k, at.UTC().Format(time.RFC3339), ErrNotFound)
	}
	return r.snapshot(), err
}

// FailSnapshot ends a running snapshot as failed and drops what it staged.
// Its delta links never advance, so the next run re-fetches instead of
// skipping. Ending a snapshot that is no longer running does nothing.
func (s *Store) FailSnapshot(ctx context.Context, id int64, reason string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error { return failSnapshot(ctx, tx, id, reason) })
}

func failSnapshot(ctx context.Context, tx *sqlx.Tx, id int64, reason string) error {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE snapshots SET state = ?, error = ?, finished_at = ?
		WHERE id = ? AND state = ?`), StateFailed, reason, ms(time.Now()), id, StateRunning)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	for _, table := range []string{"staged_items", "snapshot_containers"} {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+table+` WHERE snapshot_id = ?`), id); err != nil {
			return err
		}
	}
	return nil
}

// SnapshotFailures lists the items a snapshot could not back up.
func (s *Store) SnapshotFailures(ctx context.Context, id int64) ([]ItemFailure, error) {
	var out []ItemFailure
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT item_id, container_id, name, error FROM snapshot_failures
		WHERE snapshot_id = ? ORDER BY name, item_id`), id)
	return out, err
}

// ItemFailure is an item a run could not back up, and why.
type ItemFailure struct {
	ItemID      string `db:"item_id"`
	ContainerID string `db:"container_id"`
	Name        string `db:"name"`
	Error       string `db:"error"`
}
