package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Job kinds.
const (
	JobRestore = "restore"
	JobExport  = "export"
)

// Job is a restore or a download.
type Job struct {
	ID         int64         `db:"id"`
	Kind       string        `db:"kind"`
	TenantID   string        `db:"tenant_id"`
	UserID     string        `db:"user_id"`
	App        string        `db:"app"`
	SnapshotID int64         `db:"snapshot_id"`
	State      string        `db:"state"`
	WorkflowID string        `db:"workflow_id"`
	Target     string        `db:"target"`
	Items      int64         `db:"items"`
	Bytes      int64         `db:"bytes"`
	Skipped    int64         `db:"skipped"`
	Failed     int64         `db:"failed"`
	StartedMS  int64         `db:"started_at"`
	FinishedMS sql.NullInt64 `db:"finished_at"`
	Error      string        `db:"error"`
}

// Started and Finished are the job's times.
func (j Job) Started() time.Time  { return fromMS(j.StartedMS) }
func (j Job) Finished() time.Time { return nullMS(j.FinishedMS) }

// StartJob records a job as running. A job already started by the same
// workflow is returned as it is (a retried activity).
func (s *Store) StartJob(ctx context.Context, j Job) (Job, error) {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var existing Job
		err := tx.GetContext(ctx, &existing, tx.Rebind(`SELECT * FROM jobs WHERE workflow_id = ? AND kind = ?`), j.WorkflowID, j.Kind)
		if err == nil && j.WorkflowID != "" {
			j = existing
			return nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id, err := next(ctx, tx, "job")
		if err != nil {
			return err
		}
		j.ID, j.State, j.StartedMS = id, StateRunning, ms(time.Now())
		_, err = tx.NamedExecContext(ctx, `INSERT INTO jobs (id, kind, tenant_id, user_id, app, snapshot_id, state, workflow_id,
			target, items, bytes, skipped, failed, started_at, error) VALUES (:id, :kind, :tenant_id, :user_id, :app, :snapshot_id,
			:state, :workflow_id, :target, :items, :bytes, :skipped, :failed, :started_at, :error)`, j)
		return err
	})
	return j, err
}

// FinishJob records how a job ended.
func (s *Store) FinishJob(ctx context.Context, j Job) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE jobs SET state = ?, target = ?, items = ?, bytes = ?, skipped = ?, failed = ?,
		error = ?, finished_at = ? WHERE id = ?`), j.State, j.Target, j.Items, j.Bytes, j.Skipped, j.Failed, j.Error, ms(time.Now()), j.ID)
	return err
}

// Job returns a job by ID.
func (s *Store) Job(ctx context.Context, id int64) (Job, error) {
	var j Job
	err := s.db.GetContext(ctx, &j, s.q(`SELECT * FROM jobs WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return j, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	return j, err
}
