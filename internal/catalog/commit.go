package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// CommitSnapshot turns a running snapshot's staged rows into item
// versions, advances its containers' delta links and ends it complete (or
// partial, if items failed), all in one transaction. Delta links advance
// only here, so a crash anywhere earlier re-fetches instead of skipping.
// Committing an already committed snapshot returns it unchanged.
//
// The work is proportional to what changed, except for containers that were
// re-enumerated in full (their unseen items are closed) and the totals.
func (s *Store) CommitSnapshot(ctx context.Context, snapID, bytesNew int64) (Snapshot, error) {
	var out Snapshot
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var r snapshotRow
		if err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT * FROM snapshots WHERE id = ?`), snapID); err != nil {
			return fmt.Errorf("snapshot %d: %w", snapID, err)
		}
		switch r.State {
		case StateComplete, StatePartial:
			out = r.snapshot()
			return nil
		case StateFailed:
			return fmt.Errorf("snapshot %d already failed: %s", snapID, r.Error)
		}
		c := committer{ctx: ctx, tx: tx, snap: snapID, k: r.snapshot().Key()}
		var notDone, failedContainers int
		c.get(&notDone, `SELECT COUNT(*) FROM snapshot_containers WHERE snapshot_id = ? AND NOT done AND error = ''`, snapID)
		if c.err == nil && notDone > 0 {
			return fmt.Errorf("snapshot %d: %d containers not finished", snapID, notDone)
		}
		c.get(&failedContainers, `SELECT COUNT(*) FROM snapshot_containers WHERE snapshot_id = ? AND error <> ''`, snapID)
		var changed int64
		c.get(&changed, `SELECT COUNT(*) FROM staged_items WHERE snapshot_id = ? AND op <> ?`, snapID, OpSeen)

		// Close the versions that changed or vanished, then add the new ones.
		c.exec(`UPDATE item_versions SET to_snap = ? WHERE tenant_id = ? AND user_id = ? AND app = ? AND to_snap IS NULL
			AND item_id IN (SELECT item_id FROM staged_items WHERE snapshot_id = ? AND op <> ?)`,
			snapID, c.k.TenantID, c.k.UserID, c.k.App, snapID, OpSeen)
		c.exec(`INSERT INTO item_versions (tenant_id, user_id, app, item_id, from_snap, to_snap, container_id, parent_id,
			name, kind, size, created_at, modified_at, etag, hash, content, extra, meta)
			SELECT ?, ?, ?, item_id, snapshot_id, NULL, container_id, parent_id, name, kind, size, created_at, modified_at,
			etag, hash, content, extra, meta FROM staged_items WHERE snapshot_id = ? AND op = ?`,
			c.k.TenantID, c.k.UserID, c.k.App, snapID, OpUpsert)

		// A full enumeration is the truth: whatever it did not see is gone.
		c.exec(`UPDATE item_versions SET to_snap = ? WHERE tenant_id = ? AND user_id = ? AND app = ? AND to_snap IS NULL
			AND from_snap < ? AND container_id IN (SELECT container_id FROM snapshot_containers WHERE snapshot_id = ? AND reenumerated AND done)
			AND NOT EXISTS (SELECT 1 FROM staged_items st WHERE st.snapshot_id = ? AND st.item_id = item_versions.item_id)`,
			snapID, c.k.TenantID, c.k.UserID, c.k.App, snapID, snapID, snapID)
		// Containers the listing no longer has (a deleted folder, a removed
		// drive) are gone with everything in them.
		c.exec(`UPDATE item_versions SET to_snap = ? WHERE tenant_id = ? AND user_id = ? AND app = ? AND to_snap IS NULL
			AND container_id NOT IN (SELECT container_id FROM snapshot_containers WHERE snapshot_id = ?)`,
			snapID, c.k.TenantID, c.k.UserID, c.k.App, snapID)
		c.exec(`DELETE FROM containers WHERE tenant_id = ? AND user_id = ? AND app = ?
			AND id NOT IN (SELECT container_id FROM snapshot_containers WHERE snapshot_id = ?)`,
			c.k.TenantID, c.k.UserID, c.k.App, snapID)

		// Advance the delta links.
		c.exec(`INSERT INTO containers (tenant_id, user_id, app, id, kind, name, delta_link, snapshot_id)
			SELECT ?, ?, ?, container_id, kind, name, delta_link, snapshot_id FROM snapshot_containers WHERE snapshot_id = ? AND done
			ON CONFLICT (tenant_id, user_id, app, id) DO UPDATE SET kind = excluded.kind, name = excluded.name,
			delta_link = excluded.delta_link, snapshot_id = excluded.snapshot_id`,
			c.k.TenantID, c.k.UserID, c.k.App, snapID)
		c.exec(`UPDATE snapshot_containers SET delta_link = '' WHERE snapshot_id = ?`, snapID)

		// Failed items are fetched explicitly next time; items that made it
		// this time are no longer owed.
		c.exec(`DELETE FROM retry_items WHERE tenant_id = ? AND user_id = ? AND app = ?
			AND item_id IN (SELECT item_id FROM staged_items WHERE snapshot_id = ?)`,
			c.k.TenantID, c.k.UserID, c.k.App, snapID)
		c.exec(`INSERT INTO retry_items (tenant_id, user_id, app, container_id, item_id, snapshot_id)
			SELECT ?, ?, ?, container_id, item_id, snapshot_id FROM snapshot_failures WHERE snapshot_id = ?
			ON CONFLICT (tenant_id, user_id, app, item_id) DO UPDATE SET snapshot_id = excluded.snapshot_id`,
			c.k.TenantID, c.k.UserID, c.k.App, snapID)
		c.exec(`DELETE FROM staged_items WHERE snapshot_id = ?`, snapID)

		var failed, items, bytes int64
		c.get(&failed, `SELECT COUNT(*) FROM snapshot_failures WHERE snapshot_id = ?`, snapID)
		c.get(&items, `SELECT COUNT(*) FROM item_versions WHERE tenant_id = ? AND user_id = ? AND app = ? AND to_snap IS NULL`,
			c.k.TenantID, c.k.UserID, c.k.App)
		// Folder sizes are the sum of their contents: count content only.
		c.get(&bytes, `SELECT COALESCE(SUM(size), 0) FROM item_versions WHERE tenant_id = ? AND user_id = ? AND app = ?
			AND to_snap IS NULL AND content <> ''`, c.k.TenantID, c.k.UserID, c.k.App)
		failed += int64(failedContainers)
		state := StateComplete
		if failed > 0 {
			state = StatePartial
		}
		now := ms(time.Now())
		c.exec(`UPDATE snapshots SET state = ?, finished_at = ?, items_total = ?, items_changed = ?, bytes_total = ?,
			bytes_new = ?, items_failed = ? WHERE id = ?`, state, now, items, changed, bytes, bytesNew, failed, snapID)
		if c.err != nil {
			return c.err
		}
		r.State, r.FinishedAt.Int64, r.FinishedAt.Valid = state, now, true
		r.ItemsTotal, r.ItemsChanged, r.BytesTotal, r.BytesNew, r.ItemsFailed = items, changed, bytes, bytesNew, failed
		out = r.snapshot()
		return nil
	})
	return out, err
}

// committer runs a sequence of statements, stopping at the first error.
type committer struct {
	ctx  context.Context
	tx   *sqlx.Tx
	snap int64
	k    UserApp
	err  error
}

func (c *committer) exec(query string, args ...any) {
	if c.err != nil {
		return
	}
	if _, err := c.tx.ExecContext(c.ctx, c.tx.Rebind(query), args...); err != nil {
		c.err = fmt.Errorf("commit snapshot %d: %w", c.snap, err)
	}
}

func (c *committer) get(dest any, query string, args ...any) {
	if c.err != nil {
		return
	}
	if err := c.tx.GetContext(c.ctx, dest, c.tx.Rebind(query), args...); err != nil {
		c.err = fmt.Errorf("commit snapshot %d: %w", c.snap, err)
	}
}
