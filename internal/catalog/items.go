package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Staged-item operations.
const (
	OpUpsert = "upsert" // a new or changed version
	OpDelete = "delete" // the item is gone
	OpSeen   = "seen"   // unchanged, seen by a full enumeration (keeps it alive at commit)
)

// ItemVersion is one version of an item (file, folder, message, ...).
type ItemVersion struct {
	ItemID      string
	ContainerID string
	ParentID    string
	Name        string
	Kind        string
	Size        int64
	Created     time.Time
	Modified    time.Time
	ETag        string // the service's version tag (cTag/eTag/changeKey)
	Hash        string // the service's content hash, when it gives one
	Content     string // vault.Content, "" for items without content
	Extra       string // further named vault contents (EncodeExtra), or ""
	Meta        string // app-specific JSON
	FromSnap    int64
	ToSnap      int64 // 0 while current
}

// StagedItem is a change a running snapshot has made durable.
type StagedItem struct {
	Op string
	ItemVersion
}

type versionRow struct {
	TenantID    string        `db:"tenant_id"`
	UserID      string        `db:"user_id"`
	App         string        `db:"app"`
	ItemID      string        `db:"item_id"`
	FromSnap    int64         `db:"from_snap"`
	ToSnap      sql.NullInt64 `db:"to_snap"`
	ContainerID string        `db:"container_id"`
	ParentID    string        `db:"parent_id"`
	Name        string        `db:"name"`
	Kind        string        `db:"kind"`
	Size        int64         `db:"size"`
	CreatedAt   int64         `db:"created_at"`
	ModifiedAt  int64         `db:"modified_at"`
	ETag        string        `db:"etag"`
	Hash        string        `db:"hash"`
	Content     string        `db:"content"`
	Extra       string        `db:"extra"`
	Meta        string        `db:"meta"`
}

func (r versionRow) version() ItemVersion {
	return ItemVersion{ItemID: r.ItemID, ContainerID: r.ContainerID, ParentID: r.ParentID, Name: r.Name,
		Kind: r.Kind, Size: r.Size, Created: fromMS(r.CreatedAt), Modified: fromMS(r.ModifiedAt),
		ETag: r.ETag, Hash: r.Hash, Content: r.Content, Extra: r.Extra, Meta: r.Meta, FromSnap: r.FromSnap, ToSnap: r.ToSnap.Int64}
}

// inBatch bounds IN (...) lists well under SQLite's and PostgreSQL's
// parameter limits.
const inBatch = 500

// CurrentVersions returns the current (latest committed) versions of the
// given items of k, keyed by item ID; unknown items are absent.
func (s *Store) CurrentVersions(ctx context.Context, k UserApp, ids []string) (map[string]ItemVersion, error) {
	out := make(map[string]ItemVersion, len(ids))
	for start := 0; start < len(ids); start += inBatch {
		batch := ids[start:min(start+inBatch, len(ids))]
		query, args, err := sqlx.In(`SELECT * FROM item_versions WHERE tenant_id = ? AND user_id = ? AND app = ?
			AND to_snap IS NULL AND item_id IN (?)`, k.TenantID, k.UserID, k.App, batch)
		if err != nil {
			return nil, err
		}
		var rows []versionRow
		if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.ItemID] = r.version()
		}
	}
	return out, nil
}

// ItemsAt returns every item of k as of snapshot snapID.
func (s *Store) ItemsAt(ctx context.Context, k UserApp, snapID int64) ([]ItemVersion, error) {
	var rows []versionRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT * FROM item_versions
		WHERE tenant_id = ? AND user_id = ? AND app = ? AND from_snap <= ? AND (to_snap IS NULL OR to_snap > ?)
		ORDER BY item_id`), k.TenantID, k.UserID, k.App, snapID, snapID); err != nil {
		return nil, err
	}
	out := make([]ItemVersion, len(rows))
	for i, r := range rows {
		out[i] = r.version()
	}
	return out, nil
}

// StageItems records items a running snapshot has made durable, and the
// items it failed, in one transaction. Re-staging an item overwrites it
// (a resumed page, or the same item repeated by a delta query); staging an
// item clears an earlier failure of it in this snapshot.
func (s *Store) StageItems(ctx context.Context, snapID int64, items []StagedItem, failures []ItemFailure) error {
	if len(items) == 0 && len(failures) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := requireRunning(ctx, tx, snapID); err != nil {
			return err
		}
		stage, err := tx.PreparexContext(ctx, tx.Rebind(`INSERT INTO staged_items
			(snapshot_id, item_id, op, container_id, parent_id, name, kind, size, created_at, modified_at, etag, hash, content, extra, meta)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (snapshot_id, item_id) DO UPDATE SET op = excluded.op, container_id = excluded.container_id,
			parent_id = excluded.parent_id, name = excluded.name, kind = excluded.kind, size = excluded.size,
			created_at = excluded.created_at, modified_at = excluded.modified_at, etag = excluded.etag,
			hash = excluded.hash, content = excluded.content, extra = excluded.extra, meta = excluded.meta`))
		if err != nil {
			return err
		}
		defer stage.Close()
		clear, err := tx.PreparexContext(ctx, tx.Rebind(`DELETE FROM snapshot_failures WHERE snapshot_id = ? AND item_id = ?`))
		if err != nil {
			return err
		}
		defer clear.Close()
		for _, it := range items {
			if _, err := stage.ExecContext(ctx, snapID, it.ItemID, it.Op, it.ContainerID, it.ParentID, it.Name, it.Kind,
				it.Size, ms(it.Created), ms(it.Modified), it.ETag, it.Hash, it.Content, it.Extra, it.Meta); err != nil {
				return err
			}
			if _, err := clear.ExecContext(ctx, snapID, it.ItemID); err != nil {
				return err
			}
		}
		for _, f := range failures {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO snapshot_failures (snapshot_id, item_id, container_id, name, error)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (snapshot_id, item_id) DO UPDATE SET error = excluded.error, name = excluded.name`),
				snapID, f.ItemID, f.ContainerID, f.Name, f.Error); err != nil {
				return err
			}
		}
		return nil
	})
}

func requireRunning(ctx context.Context, tx *sqlx.Tx, snapID int64) error {
	var state string
	if err := tx.GetContext(ctx, &state, tx.Rebind(`SELECT state FROM snapshots WHERE id = ?`), snapID); err != nil {
		if err == sql.ErrNoRows {
			return fmt.Errorf("snapshot %d: %w", snapID, ErrNotFound)
		}
		return err
	}
	if state != StateRunning {
		return fmt.Errorf("snapshot %d is %s, not running", snapID, state)
	}
	return nil
}

// RetryItems lists the items of a container that earlier runs failed and
// that the next run must fetch explicitly.
func (s *Store) RetryItems(ctx context.Context, k UserApp, containerID string) ([]string, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, s.q(`SELECT item_id FROM retry_items
		WHERE tenant_id = ? AND user_id = ? AND app = ? AND container_id = ? ORDER BY item_id`),
		k.TenantID, k.UserID, k.App, containerID)
	return ids, err
}

// Folder is a current folder of a container, for resolving paths.
type Folder struct {
	ItemID   string `db:"item_id"`
	ParentID string `db:"parent_id"`
	Name     string `db:"name"`
	Kind     string `db:"kind"`
}

// CurrentFolders lists a container's current folders (and its root).
func (s *Store) CurrentFolders(ctx context.Context, k UserApp, containerID string) ([]Folder, error) {
	var out []Folder
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT item_id, parent_id, name, kind FROM item_versions
		WHERE tenant_id = ? AND user_id = ? AND app = ? AND container_id = ? AND to_snap IS NULL AND kind IN ('folder', 'package', 'root')`),
		k.TenantID, k.UserID, k.App, containerID)
	return out, err
}
