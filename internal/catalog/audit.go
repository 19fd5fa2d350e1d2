package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// AuditEntry is one admin action.
type AuditEntry struct {
	ID     string `db:"id"`
	AtMS   int64  `db:"at"`
	Actor  string `db:"actor"`
	Action string `db:"action"`
	Object string `db:"object"`
	Before string `db:"before"`
	After  string `db:"after"`
}

// At is when the action happened.
func (e AuditEntry) At() time.Time { return fromMS(e.AtMS) }

// Audit appends an entry to the audit log. The log is append-only: the
// catalog has no call that changes or removes entries.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	var b [8]byte
	rand.Read(b[:])
	e.ID = time.Now().UTC().Format("20060102T150405.000000000") + "-" + hex.EncodeToString(b[:])
	if e.AtMS == 0 {
		e.AtMS = ms(time.Now())
	}
	_, err := s.db.NamedExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action, object, before, after)
		VALUES (:id, :at, :actor, :action, :object, :before, :after)`, e)
	return err
}

// AuditLog lists entries at or after since, oldest first.
func (s *Store) AuditLog(ctx context.Context, since time.Time) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT * FROM audit_log WHERE at >= ? ORDER BY at, id`), ms(since))
	return out, err
}
