package catalog

import (
	"context"
	"database/sql"
	"errors"
)

// SnapshotContainer is what a snapshot did with one container.
type SnapshotContainer struct {
	SnapshotID   int64  `db:"snapshot_id"`
	ContainerID  string `db:"container_id"`
	Kind         string `db:"kind"`
	Name         string `db:"name"`
	Done         bool   `db:"done"`
	Error        string `db:"error"`
	Reenumerated bool   `db:"reenumerated"`
	DeltaLink    string `db:"delta_link"`
	Items        int64  `db:"items"`
	Bytes        int64  `db:"bytes"`
}

// AddSnapshotContainer lists a container in a running snapshot (idempotent).
func (s *Store) AddSnapshotContainer(ctx context.Context, snapID int64, id, kind, name string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO snapshot_containers (snapshot_id, container_id, kind, name)
		VALUES (?, ?, ?, ?) ON CONFLICT (snapshot_id, container_id) DO UPDATE SET kind = excluded.kind, name = excluded.name`),
		snapID, id, kind, name)
	return err
}

// SnapshotContainers lists a snapshot's containers.
func (s *Store) SnapshotContainers(ctx context.Context, snapID int64) ([]SnapshotContainer, error) {
	var out []SnapshotContainer
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT * FROM snapshot_containers WHERE snapshot_id = ? ORDER BY name, container_id`), snapID)
	return out, err
}

// FinishContainer records that a container's backup in a running snapshot
// is done, with the delta link to commit.
func (s *Store) FinishContainer(ctx context.Context, c SnapshotContainer) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE snapshot_containers SET done = ?, reenumerated = ?, delta_link = ?,
		items = ?, bytes = ? WHERE snapshot_id = ? AND container_id = ?`),
		true, c.Reenumerated, c.DeltaLink, c.Items, c.Bytes, c.SnapshotID, c.ContainerID)
	return err
}

// FailContainer records that a container could not be backed up in a
// running snapshot. The snapshot can still commit (partial): the other
// containers advance, this one keeps its old delta link.
func (s *Store) FailContainer(ctx context.Context, snapID int64, containerID, reason string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE snapshot_containers SET done = ?, error = ?, delta_link = ''
		WHERE snapshot_id = ? AND container_id = ?`), false, reason, snapID, containerID)
	return err
}

// DeltaLink returns the committed delta link of a container ("" if none:
// the next run enumerates it fully).
func (s *Store) DeltaLink(ctx context.Context, k UserApp, containerID string) (string, error) {
	var link string
	err := s.db.GetContext(ctx, &link, s.q(`SELECT delta_link FROM containers
		WHERE tenant_id = ? AND user_id = ? AND app = ? AND id = ?`), k.TenantID, k.UserID, k.App, containerID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return link, err
}
