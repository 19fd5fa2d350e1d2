package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Retention's side of the catalog: the facts retention decides on
// (RetentionPage), expiring snapshots (ExpireSnapshots), deleting the item
// versions no remaining snapshot sees (PruneVersions), and garbage
// collection of the chunk index and packs (the GC functions below, used
// by the CollectGarbage activity under the tenant's GC lease).
//
// What a snapshot sees: a version valid [from_snap, to_snap) is visible to
// snapshot X iff from_snap <= X and (to_snap IS NULL or X < to_snap). A
// remaining snapshot is one that is complete, partial or running: running
// ones count, so the versions a backup in progress builds on (to_snap IS
// NULL) are never pruned under it.

// remainingStates are the states whose snapshots keep their versions.
var remainingStates = []any{StateComplete, StatePartial, StateRunning}

// RetentionCursor is where a RetentionPage continues: at the user-app
// (UserID, App), after snapshot AfterSnapshot of it.
type RetentionCursor struct {
	UserID        string
	App           string
	AfterSnapshot int64
}

// SnapshotAge is what retention needs of one snapshot.
type SnapshotAge struct {
	ID    int64
	State string
	Taken time.Time // when it finished (when it started, if it never did)
}

// UserAppRetention is the facts about one user-app retention decides on.
// Snapshots may be a fragment of the user-app's (a page holds a bounded
// number); the other facts are about the whole user-app.
type UserAppRetention struct {
	UserApp
	UserState      string // active | deleted ("" if the user row is gone)
	Enabled        bool   // the app is enabled for the user
	ProfileID      string // "" = no profile (default retention)
	Held           bool   // the user is on legal hold
	NewestComplete int64  // newest complete snapshot, 0 if none
	NewestUsable   int64  // newest complete or partial snapshot, 0 if none
	Snapshots      []SnapshotAge
}

// RetentionPage returns the facts of the tenant's user-apps that have
// unexpired snapshots, in (user, app) order from cursor, with at most
// maxSnapshots snapshots and maxApps user-apps. A user-app with more
// snapshots than fit is split: the page ends with a fragment and next
// continues after its last snapshot. done is true when nothing follows.
func (s *Store) RetentionPage(ctx context.Context, tenantID string, from RetentionCursor, maxApps, maxSnapshots int) (page []UserAppRetention, next RetentionCursor, done bool, err error) {
	if maxApps <= 0 || maxSnapshots <= 0 {
		return nil, from, false, fmt.Errorf("catalog: retention page needs positive limits")
	}
	var apps []struct {
		UserID string `db:"user_id"`
		App    string `db:"app"`
	}
	if err := s.db.SelectContext(ctx, &apps, s.q(`SELECT user_id, app FROM snapshots
		WHERE tenant_id = ? AND state <> ? AND (user_id > ? OR (user_id = ? AND app >= ?))
		GROUP BY user_id, app ORDER BY user_id, app LIMIT ?`),
		tenantID, StateExpired, from.UserID, from.UserID, from.App, maxApps+1); err != nil {
		return nil, from, false, err
	}
	used := 0
	for i, a := range apps {
		if i == maxApps || used == maxSnapshots {
			return page, RetentionCursor{UserID: a.UserID, App: a.App}, false, nil
		}
		k := UserApp{TenantID: tenantID, UserID: a.UserID, App: a.App}
		after := int64(0)
		if a.UserID == from.UserID && a.App == from.App {
			after = from.AfterSnapshot
		}
		budget := maxSnapshots - used
		var rows []struct {
			ID       int64         `db:"id"`
			State    string        `db:"state"`
			Started  int64         `db:"started_at"`
			Finished sql.NullInt64 `db:"finished_at"`
		}
		if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT id, state, started_at, finished_at FROM snapshots
			WHERE tenant_id = ? AND user_id = ? AND app = ? AND state <> ? AND id > ? ORDER BY id LIMIT ?`),
			k.TenantID, k.UserID, k.App, StateExpired, after, budget+1); err != nil {
			return nil, from, false, err
		}
		more := len(rows) > budget
		if more {
			rows = rows[:budget]
		}
		f, err := facts(ctx, s.db, k)
		if err != nil {
			return nil, from, false, err
		}
		for _, r := range rows {
			taken := r.Started
			if r.Finished.Valid {
				taken = r.Finished.Int64
			}
			f.Snapshots = append(f.Snapshots, SnapshotAge{ID: r.ID, State: r.State, Taken: fromMS(taken)})
		}
		page = append(page, f)
		used += len(rows)
		if more {
			return page, RetentionCursor{UserID: k.UserID, App: k.App, AfterSnapshot: rows[len(rows)-1].ID}, false, nil
		}
	}
	return page, RetentionCursor{}, true, nil
}

// queryer is what facts needs of a *sqlx.DB or a *sqlx.Tx.
type queryer interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	Rebind(query string) string
}

// facts loads what retention needs to know about a user-app, apart from
// its snapshots.
func facts(ctx context.Context, q queryer, k UserApp) (UserAppRetention, error) {
	f := UserAppRetention{UserApp: k}
	var u struct {
		State     string `db:"state"`
		ProfileID string `db:"profile_id"`
	}
	if err := q.GetContext(ctx, &u, q.Rebind(`SELECT state, profile_id FROM users WHERE tenant_id = ? AND id = ?`), k.TenantID, k.UserID); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return f, err
	}
	f.UserState, f.ProfileID = u.State, u.ProfileID
	if err := q.GetContext(ctx, &f.Enabled, q.Rebind(`SELECT enabled FROM user_apps WHERE tenant_id = ? AND user_id = ? AND app = ?`),
		k.TenantID, k.UserID, k.App); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return f, err
	}
	var held int
	if err := q.GetContext(ctx, &held, q.Rebind(`SELECT COUNT(*) FROM holds WHERE tenant_id = ? AND user_id = ?`), k.TenantID, k.UserID); err != nil {
		return f, err
	}
	f.Held = held > 0
	var newest struct {
		Complete sql.NullInt64 `db:"complete"`
		Usable   sql.NullInt64 `db:"usable"`
	}
	if err := q.GetContext(ctx, &newest, q.Rebind(`SELECT MAX(CASE WHEN state = ? THEN id END) AS complete,
		MAX(CASE WHEN state IN (?, ?) THEN id END) AS usable FROM snapshots WHERE tenant_id = ? AND user_id = ? AND app = ?`),
		StateComplete, StateComplete, StatePartial, k.TenantID, k.UserID, k.App); err != nil {
		return f, err
	}
	f.NewestComplete, f.NewestUsable = newest.Complete.Int64, newest.Usable.Int64
	return f, nil
}

// Expiry asks to expire one snapshot, with the reason retention gives.
type Expiry struct {
	SnapshotID int64
	Reason     string
}

// ExpireResult is what ExpireSnapshots did.
type ExpireResult struct {
	Expired []Snapshot       // now expired (were complete, partial or failed)
	Refused map[int64]string // snapshot → why it was kept
	Reset   []UserApp        // user-apps left without any snapshot: their delta links were dropped
	Touched []UserApp        // user-apps of the snapshots asked about, in order
}

// ExpireSnapshots marks snapshots of a tenant expired, in one transaction
// that also writes an audit entry (actor) per user-app listing them. Some
// things it refuses whatever the caller decided, and reports why: a
// snapshot of a user on legal hold, the newest complete or the newest
// usable (complete or partial) snapshot of an active user-app (user
// active, app enabled), and a running snapshot. Snapshots already expired
// or unknown are skipped silently, so a retried call changes nothing.
//
// A user-app left with no complete, partial or running snapshot has its
// delta links and retry list dropped in the same transaction, so its next
// backup (if it is ever enabled again) enumerates everything instead of
// building on versions PruneVersions is about to delete.
//
// Item versions are not touched here: PruneVersions deletes them.
func (s *Store) ExpireSnapshots(ctx context.Context, tenantID string, expire []Expiry, actor string) (ExpireResult, error) {
	res := ExpireResult{Refused: map[int64]string{}}
	byApp := map[UserApp][]int{} // indexes into res.Expired
	if len(expire) == 0 {
		return res, nil
	}
	reasons := make(map[int64]string, len(expire))
	ids := make([]int64, 0, len(expire))
	for _, e := range expire {
		if _, dup := reasons[e.SnapshotID]; !dup {
			ids = append(ids, e.SnapshotID)
		}
		reasons[e.SnapshotID] = e.Reason
	}
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockTenant(ctx, tx, tenantID, true); err != nil {
			return err
		}
		var rows []snapshotRow
		for start := 0; start < len(ids); start += inBatch {
			query, args, err := sqlx.In(`SELECT * FROM snapshots WHERE tenant_id = ? AND id IN (?) ORDER BY id`,
				tenantID, ids[start:min(start+inBatch, len(ids))])
			if err != nil {
				return err
			}
			var batch []snapshotRow
			if err := tx.SelectContext(ctx, &batch, tx.Rebind(query), args...); err != nil {
				return err
			}
			rows = append(rows, batch...)
		}
		known := map[UserApp]UserAppRetention{}
		for _, r := range rows {
			k := r.snapshot().Key()
			if _, ok := known[k]; ok {
				continue
			}
			f, err := facts(ctx, tx, k)
			if err != nil {
				return err
			}
			known[k] = f
			res.Touched = append(res.Touched, k)
		}
		var doomed []int64
		for _, r := range rows {
			snap := r.snapshot()
			f := known[snap.Key()]
			active := f.UserState == "active" && f.Enabled
			switch {
			case r.State == StateExpired:
				continue
			case r.State == StateRunning:
				res.Refused[r.ID] = "running"
			case f.Held:
				res.Refused[r.ID] = "legal hold"
			case active && (r.ID == f.NewestComplete || r.ID == f.NewestUsable):
				res.Refused[r.ID] = "newest snapshot of an active user-app"
			default:
				doomed = append(doomed, r.ID)
				snap.State = StateExpired
				byApp[snap.Key()] = append(byApp[snap.Key()], len(res.Expired))
				res.Expired = append(res.Expired, snap)
			}
		}
		for start := 0; start < len(doomed); start += inBatch {
			query, args, err := sqlx.In(`UPDATE snapshots SET state = ? WHERE tenant_id = ? AND id IN (?)`,
				StateExpired, tenantID, doomed[start:min(start+inBatch, len(doomed))])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(query), args...); err != nil {
				return err
			}
		}
		for _, k := range res.Touched {
			idx := byApp[k]
			if len(idx) == 0 {
				continue
			}
			reset, err := resetIfEmpty(ctx, tx, k)
			if err != nil {
				return err
			}
			if reset {
				res.Reset = append(res.Reset, k)
			}
			type expired struct {
				ID     int64  `json:"id"`
				Reason string `json:"reason"`
			}
			list := make([]expired, len(idx))
			for i, j := range idx {
				list[i] = expired{ID: res.Expired[j].ID, Reason: reasons[res.Expired[j].ID]}
			}
			after, _ := json.Marshal(struct {
				Expired        []expired `json:"expired"`
				DeltaLinksDrop bool      `json:"delta_links_dropped,omitempty"`
			}{list, reset})
			if err := auditTx(ctx, tx, AuditEntry{Actor: actor, Action: "snapshot.expire", Object: "snapshots of " + k.String(),
				After: string(after)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ExpireResult{}, err
	}
	return res, nil
}

// resetIfEmpty drops a user-app's delta links and retry list when it has
// no remaining snapshot, so its next backup is a full enumeration.
func resetIfEmpty(ctx context.Context, tx *sqlx.Tx, k UserApp) (bool, error) {
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM snapshots WHERE tenant_id = ? AND user_id = ? AND app = ?
		AND state IN (?, ?, ?)`), append([]any{k.TenantID, k.UserID, k.App}, remainingStates...)...); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM containers WHERE tenant_id = ? AND user_id = ? AND app = ?`), k.TenantID, k.UserID, k.App)
	if err != nil {
		return false, err
	}
	dropped, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM retry_items WHERE tenant_id = ? AND user_id = ? AND app = ?`), k.TenantID, k.UserID, k.App); err != nil {
		return false, err
	}
	return dropped > 0, nil
}

// PruneResult is what one PruneVersions batch did.
type PruneResult struct {
	Versions int64 // item versions deleted
	Reset    bool  // the user-app's delta links were dropped (no snapshot remains)
	More     bool  // call again: the batch was full
}

// PruneVersions deletes up to limit item versions of k that only expired
// snapshots could see (born in an expired snapshot, and visible to no
// complete, partial or running one). Call it until More is false; it is
// idempotent, so an interrupted run is finished by the next call.
//
// It looks at two kinds of versions, so that the bulk of a user-app —
// current versions the newest snapshot sees — is never scanned: closed
// versions born in an expired snapshot that no remaining snapshot falls
// within, and current versions born after the newest remaining snapshot
// (those exist only once every snapshot of a user-app has expired).
//
// Each batch runs under the tenant lock, and when k has no remaining
// snapshot its delta links are dropped first: a backup that opens later
// enumerates in full, and one that opened earlier is a running snapshot
// whose versions are not touched.
func (s *Store) PruneVersions(ctx context.Context, k UserApp, limit int) (PruneResult, error) {
	var out PruneResult
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockTenant(ctx, tx, k.TenantID, true); err != nil {
			return err
		}
		reset, err := resetIfEmpty(ctx, tx, k)
		if err != nil {
			return err
		}
		out.Reset = reset
		type key struct {
			ItemID   string `db:"item_id"`
			FromSnap int64  `db:"from_snap"`
		}
		var closed, current []key
		args := []any{k.TenantID, k.UserID, k.App, k.TenantID, k.UserID, k.App, StateExpired}
		args = append(args, remainingStates...)
		args = append(args, limit)
		if err := tx.SelectContext(ctx, &closed, tx.Rebind(`SELECT v.item_id, v.from_snap FROM item_versions v
			WHERE v.tenant_id = ? AND v.user_id = ? AND v.app = ? AND v.to_snap IS NOT NULL
			AND v.from_snap IN (SELECT id FROM snapshots WHERE tenant_id = ? AND user_id = ? AND app = ? AND state = ?)
			AND NOT EXISTS (SELECT 1 FROM snapshots x WHERE x.tenant_id = v.tenant_id AND x.user_id = v.user_id AND x.app = v.app
				AND x.state IN (?, ?, ?) AND x.id >= v.from_snap AND x.id < v.to_snap)
			ORDER BY v.from_snap, v.item_id LIMIT ?`), args...); err != nil {
			return err
		}
		if len(closed) < limit {
			// A current version is visible iff some remaining snapshot is at
			// or after its birth.
			var newest sql.NullInt64
			if err := tx.GetContext(ctx, &newest, tx.Rebind(`SELECT MAX(id) FROM snapshots WHERE tenant_id = ? AND user_id = ? AND app = ?
				AND state IN (?, ?, ?)`), append([]any{k.TenantID, k.UserID, k.App}, remainingStates...)...); err != nil {
				return err
			}
			if err := tx.SelectContext(ctx, &current, tx.Rebind(`SELECT item_id, from_snap FROM item_versions
				WHERE tenant_id = ? AND user_id = ? AND app = ? AND from_snap > ? AND to_snap IS NULL
				AND from_snap IN (SELECT id FROM snapshots WHERE tenant_id = ? AND user_id = ? AND app = ? AND state = ?)
				ORDER BY from_snap, item_id LIMIT ?`), k.TenantID, k.UserID, k.App, newest.Int64,
				k.TenantID, k.UserID, k.App, StateExpired, limit-len(closed)); err != nil {
				return err
			}
		}
		del, err := tx.PreparexContext(ctx, tx.Rebind(`DELETE FROM item_versions
			WHERE tenant_id = ? AND user_id = ? AND app = ? AND item_id = ? AND from_snap = ?`))
		if err != nil {
			return err
		}
		defer del.Close()
		for _, key := range append(closed, current...) {
			if _, err := del.ExecContext(ctx, k.TenantID, k.UserID, k.App, key.ItemID, key.FromSnap); err != nil {
				return err
			}
		}
		out.Versions = int64(len(closed) + len(current))
		out.More = len(closed)+len(current) == limit
		return nil
	})
	return out, err
}

// ---- garbage collection ----

// GCWatermark is the lowest snapshot ID whose item versions a mark pass
// starting now might not see: the oldest running snapshot, or the next ID
// to be allocated. Every version born later (or staged now) belongs to a
// snapshot with an ID at or above it, so a final pass over those
// (ContentSince), made under the GC lease, completes the mark.
func (s *Store) GCWatermark(ctx context.Context, tenantID string) (int64, error) {
	// The counter first: a snapshot opened after this read gets a higher
	// ID; one opened before is either still running (read below) or
	// committed before the mark pass starts.
	var counter int64
	if err := s.db.GetContext(ctx, &counter, `SELECT value FROM counters WHERE name = 'snapshot'`); err != nil {
		return 0, err
	}
	var oldest sql.NullInt64
	if err := s.db.GetContext(ctx, &oldest, s.q(`SELECT MIN(id) FROM snapshots WHERE tenant_id = ? AND state = ?`), tenantID, StateRunning); err != nil {
		return 0, err
	}
	w := counter + 1
	if oldest.Valid && oldest.Int64 < w {
		w = oldest.Int64
	}
	return w, nil
}

// VersionKey orders item versions for paging.
type VersionKey struct {
	UserID   string
	App      string
	ItemID   string
	FromSnap int64
}

// ContentPage returns the contents (content and extra columns) of up to
// limit item versions of the tenant with content, after the key, in key
// order; next is the last key returned.
func (s *Store) ContentPage(ctx context.Context, tenantID string, after VersionKey, limit int) (contents []string, next VersionKey, err error) {
	var rows []struct {
		UserID   string `db:"user_id"`
		App      string `db:"app"`
		ItemID   string `db:"item_id"`
		FromSnap int64  `db:"from_snap"`
		Content  string `db:"content"`
		Extra    string `db:"extra"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT user_id, app, item_id, from_snap, content, extra FROM item_versions
		WHERE tenant_id = ? AND (content <> '' OR extra <> '') AND (user_id, app, item_id, from_snap) > (?, ?, ?, ?)
		ORDER BY user_id, app, item_id, from_snap LIMIT ?`),
		tenantID, after.UserID, after.App, after.ItemID, after.FromSnap, limit); err != nil {
		return nil, after, err
	}
	contents = make([]string, 0, len(rows))
	for _, r := range rows {
		if r.Content != "" {
			contents = append(contents, r.Content)
		}
		contents = append(contents, ExtraContents(r.Extra)...)
	}
	if len(rows) > 0 {
		r := rows[len(rows)-1]
		after = VersionKey{UserID: r.UserID, App: r.App, ItemID: r.ItemID, FromSnap: r.FromSnap}
	}
	return contents, after, nil
}

// ContentSince calls fn with the content of every item version of the
// tenant born in a snapshot at or above watermark, and of every staged
// item of the tenant's snapshots (a running backup's, not yet committed).
func (s *Store) ContentSince(ctx context.Context, tenantID string, watermark int64, fn func(content string) error) error {
	var apps []struct {
		UserID string `db:"user_id"`
		App    string `db:"app"`
	}
	if err := s.db.SelectContext(ctx, &apps, s.q(`SELECT DISTINCT user_id, app FROM snapshots WHERE tenant_id = ? AND id >= ?
		ORDER BY user_id, app`), tenantID, watermark); err != nil {
		return err
	}
	each := func(query string, args ...any) error {
		rows, err := s.db.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var c, x string
		for rows.Next() {
			if err := rows.Scan(&c, &x); err != nil {
				return err
			}
			for _, v := range append([]string{c}, ExtraContents(x)...) {
				if v == "" {
					continue
				}
				if err := fn(v); err != nil {
					return err
				}
			}
		}
		return rows.Err()
	}
	for _, a := range apps {
		if err := each(`SELECT content, extra FROM item_versions WHERE tenant_id = ? AND user_id = ? AND app = ? AND from_snap >= ?
			AND (content <> '' OR extra <> '')`, tenantID, a.UserID, a.App, watermark); err != nil {
			return err
		}
	}
	return each(`SELECT st.content, st.extra FROM staged_items st JOIN snapshots sn ON sn.id = st.snapshot_id
		WHERE sn.tenant_id = ? AND (st.content <> '' OR st.extra <> '')`, tenantID)
}

// ChunkCount is how many chunks the tenant's index holds.
func (s *Store) ChunkCount(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	err := s.db.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM chunks WHERE tenant_id = ?`), tenantID)
	return n, err
}

// ChunkRef is one chunk index entry, as GC sees it.
type ChunkRef struct {
	ID     string `db:"id"` // hex
	PackID string `db:"pack_id"`
	Length int64  `db:"length"` // sealed length in the pack
}

// ChunkPage lists up to limit index entries of the tenant after the chunk
// ID after, in ID order.
func (s *Store) ChunkPage(ctx context.Context, tenantID, after string, limit int) ([]ChunkRef, error) {
	var out []ChunkRef
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT id, pack_id, length FROM chunks WHERE tenant_id = ? AND id > ?
		ORDER BY id LIMIT ?`), tenantID, after, limit)
	return out, err
}

// DeleteChunks removes chunk index entries inside the fence: only while
// f.Holder's GC lease is live (with its margin) and no snapshot of the
// tenant is running; otherwise it deletes nothing and fails with
// ErrLeaseLost. It returns how many entries it removed and their sealed
// bytes (entries already gone count for nothing).
func (s *Store) DeleteChunks(ctx context.Context, tenantID string, f Fence, ids []string) (n, bytes int64, err error) {
	err = s.inFence(ctx, tenantID, f, func(tx *sqlx.Tx) error {
		for start := 0; start < len(ids); start += inBatch {
			batch := ids[start:min(start+inBatch, len(ids))]
			query, args, err := sqlx.In(`SELECT COALESCE(SUM(length), 0) FROM chunks WHERE tenant_id = ? AND id IN (?)`, tenantID, batch)
			if err != nil {
				return err
			}
			var b int64
			if err := tx.GetContext(ctx, &b, tx.Rebind(query), args...); err != nil {
				return err
			}
			query, args, err = sqlx.In(`DELETE FROM chunks WHERE tenant_id = ? AND id IN (?)`, tenantID, batch)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, tx.Rebind(query), args...)
			if err != nil {
				return err
			}
			d, _ := res.RowsAffected()
			n += d
			bytes += b
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return n, bytes, nil
}

// PackRef names a pack and its size.
type PackRef struct {
	ID   string `db:"id"`
	Size int64  `db:"size"`
}

// EmptyPacks lists up to limit packs of the tenant, after the pack ID
// after, that no chunk index entry points into any more.
func (s *Store) EmptyPacks(ctx context.Context, tenantID, after string, limit int) ([]PackRef, error) {
	var out []PackRef
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT p.id, p.size FROM packs p WHERE p.tenant_id = ? AND p.id > ?
		AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.tenant_id = p.tenant_id AND c.pack_id = p.id)
		ORDER BY p.id LIMIT ?`), tenantID, after, limit)
	return out, err
}

// DeleteEmptyPack removes a pack's row once its object is deleted, if no
// chunk points into it; it reports whether the row went.
func (s *Store) DeleteEmptyPack(ctx context.Context, tenantID, packID string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM packs WHERE tenant_id = ? AND id = ?
		AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.tenant_id = packs.tenant_id AND c.pack_id = packs.id)`), tenantID, packID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// PackStats describes a tenant's packs.
type PackStats struct {
	Packs            int64 // packs in the index
	Bytes            int64 // their total size
	PartlyReferenced int64 // packs some of whose chunks are no longer indexed
	DeadBytes        int64 // about how many bytes of those packs nothing references
}

// PackStats counts the tenant's packs and the partly referenced ones:
// GC deletes only packs nothing references; it does not rewrite packs, so
// the dead chunks of a partly referenced pack stay until its last live
// chunk goes.
func (s *Store) PackStats(ctx context.Context, tenantID string) (PackStats, error) {
	var st PackStats
	if err := s.db.GetContext(ctx, &st, s.q(`SELECT COUNT(*) AS packs, COALESCE(SUM(size), 0) AS bytes FROM packs WHERE tenant_id = ?`), tenantID); err != nil {
		return st, err
	}
	var partly struct {
		N    int64 `db:"n"`
		Dead int64 `db:"dead"`
	}
	if err := s.db.GetContext(ctx, &partly, s.q(`SELECT COUNT(*) AS n, COALESCE(SUM(p.size - live.bytes), 0) AS dead FROM packs p
		JOIN (SELECT pack_id, COUNT(*) AS n, SUM(length) AS bytes FROM chunks WHERE tenant_id = ? GROUP BY pack_id) live
		ON live.pack_id = p.id WHERE p.tenant_id = ? AND live.n < p.chunks`), tenantID, tenantID); err != nil {
		return st, err
	}
	st.PartlyReferenced, st.DeadBytes = partly.N, partly.Dead
	return st, nil
}

// OrphanPack is a pack object the index does not know.
type OrphanPack struct {
	PackRef
	FirstSeen time.Time
}

// NoteUnindexedPacks takes a batch of pack objects found in the bucket
// and returns those the index does not know, with when GC first saw each
// (now, for new ones). Packs the index knows are forgotten as orphans.
func (s *Store) NoteUnindexedPacks(ctx context.Context, tenantID string, objects []PackRef, now time.Time) ([]OrphanPack, error) {
	if len(objects) == 0 {
		return nil, nil
	}
	var out []OrphanPack
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		ids := make([]string, len(objects))
		for i, o := range objects {
			ids[i] = o.ID
		}
		known := map[string]bool{}
		for start := 0; start < len(ids); start += inBatch {
			query, args, err := sqlx.In(`SELECT id FROM packs WHERE tenant_id = ? AND id IN (?)`, tenantID, ids[start:min(start+inBatch, len(ids))])
			if err != nil {
				return err
			}
			var found []string
			if err := tx.SelectContext(ctx, &found, tx.Rebind(query), args...); err != nil {
				return err
			}
			for _, id := range found {
				known[id] = true
			}
		}
		note, err := tx.PreparexContext(ctx, tx.Rebind(`INSERT INTO gc_orphans (tenant_id, pack_id, size, first_seen, last_seen)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, pack_id) DO UPDATE SET size = excluded.size, last_seen = excluded.last_seen
			RETURNING first_seen`))
		if err != nil {
			return err
		}
		defer note.Close()
		for _, o := range objects {
			if known[o.ID] {
				if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM gc_orphans WHERE tenant_id = ? AND pack_id = ?`), tenantID, o.ID); err != nil {
					return err
				}
				continue
			}
			var first int64
			if err := note.GetContext(ctx, &first, tenantID, o.ID, o.Size, ms(now), ms(now)); err != nil {
				return err
			}
			out = append(out, OrphanPack{PackRef: o, FirstSeen: fromMS(first)})
		}
		return nil
	})
	return out, err
}

// PackIndexed reports whether the index knows a pack.
func (s *Store) PackIndexed(ctx context.Context, tenantID, packID string) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM packs WHERE tenant_id = ? AND id = ?`), tenantID, packID)
	return n > 0, err
}

// ForgetOrphans drops orphan notes: the given packs (deleted), and every
// note of the tenant not seen since (their objects are gone).
func (s *Store) ForgetOrphans(ctx context.Context, tenantID string, packIDs []string, notSeenSince time.Time) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		for start := 0; start < len(packIDs); start += inBatch {
			query, args, err := sqlx.In(`DELETE FROM gc_orphans WHERE tenant_id = ? AND pack_id IN (?)`, tenantID, packIDs[start:min(start+inBatch, len(packIDs))])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(query), args...); err != nil {
				return err
			}
		}
		if notSeenSince.IsZero() {
			return nil
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM gc_orphans WHERE tenant_id = ? AND last_seen < ?`), tenantID, ms(notSeenSince))
		return err
	})
}

// RunningSnapshot is a running snapshot and the workflow run that opened it.
type RunningSnapshot struct {
	ID     int64  `db:"id"`
	UserID string `db:"user_id"`
	App    string `db:"app"`
	RunID  string `db:"run_id"`
}

// RunningSnapshots lists the tenant's running snapshots.
func (s *Store) RunningSnapshots(ctx context.Context, tenantID string) ([]RunningSnapshot, error) {
	var out []RunningSnapshot
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT id, user_id, app, run_id FROM snapshots WHERE tenant_id = ? AND state = ? ORDER BY id`),
		tenantID, StateRunning)
	return out, err
}
