package catalog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Hold is a legal hold on a user: retention never expires any snapshot of
// any of the user's apps while it is in place, whatever the profile says
// and whether or not the user is still active.
type Hold struct {
	TenantID  string
	UserID    string
	UPN       string // filled from the users table when read
	Reason    string
	CreatedBy string
	CreatedAt time.Time
}

type holdRow struct {
	TenantID  string         `db:"tenant_id"`
	UserID    string         `db:"user_id"`
	UPN       sql.NullString `db:"upn"`
	Reason    string         `db:"reason"`
	CreatedBy string         `db:"created_by"`
	CreatedAt int64          `db:"created_at"`
}

func (r holdRow) hold() Hold {
	return Hold{TenantID: r.TenantID, UserID: r.UserID, UPN: r.UPN.String, Reason: r.Reason, CreatedBy: r.CreatedBy,
		CreatedAt: fromMS(r.CreatedAt)}
}

const holdSelect = `SELECT h.tenant_id, h.user_id, u.upn, h.reason, h.created_by, h.created_at FROM holds h
	LEFT JOIN users u ON u.tenant_id = h.tenant_id AND u.id = h.user_id`

// AddHold places a legal hold on a user and records it in the audit log
// (actor h.CreatedBy), in one transaction. The user must be known to the
// catalog (active or deleted). If the user is already on hold, the
// existing hold is returned with added false and nothing changes.
func (s *Store) AddHold(ctx context.Context, h Hold) (out Hold, added bool, err error) {
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		// Serialised with retention's expiry (which takes the same lock), so
		// a snapshot is either expired before the hold or kept by it.
		if err := s.lockTenant(ctx, tx, h.TenantID, true); err != nil {
			return err
		}
		var upn string
		if err := tx.GetContext(ctx, &upn, tx.Rebind(`SELECT upn FROM users WHERE tenant_id = ? AND id = ?`), h.TenantID, h.UserID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("user %s: %w", h.UserID, ErrNotFound)
			}
			return err
		}
		var r holdRow
		err := tx.GetContext(ctx, &r, tx.Rebind(holdSelect+` WHERE h.tenant_id = ? AND h.user_id = ?`), h.TenantID, h.UserID)
		if err == nil {
			out = r.hold()
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := time.Now()
		h.UPN, h.CreatedAt = upn, fromMS(ms(now))
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO holds (tenant_id, user_id, reason, created_by, created_at)
			VALUES (?, ?, ?, ?, ?)`), h.TenantID, h.UserID, h.Reason, h.CreatedBy, ms(now)); err != nil {
			return err
		}
		after, _ := json.Marshal(map[string]string{"user": upn, "reason": h.Reason})
		if err := auditTx(ctx, tx, AuditEntry{Actor: h.CreatedBy, Action: "hold.add", Object: holdObject(h.TenantID, h.UserID, upn),
			After: string(after)}); err != nil {
			return err
		}
		out, added = h, true
		return nil
	})
	return out, added, err
}

// RemoveHold lifts a user's legal hold and records it in the audit log
// (actor), in one transaction. ErrNotFound if the user is not on hold.
func (s *Store) RemoveHold(ctx context.Context, tenantID, userID, actor string) (Hold, error) {
	var out Hold
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockTenant(ctx, tx, tenantID, true); err != nil {
			return err
		}
		var r holdRow
		err := tx.GetContext(ctx, &r, tx.Rebind(holdSelect+` WHERE h.tenant_id = ? AND h.user_id = ?`), tenantID, userID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("legal hold on user %s: %w", userID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		out = r.hold()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM holds WHERE tenant_id = ? AND user_id = ?`), tenantID, userID); err != nil {
			return err
		}
		before, _ := json.Marshal(map[string]string{"user": out.UPN, "reason": out.Reason, "created_by": out.CreatedBy,
			"created_at": out.CreatedAt.UTC().Format(time.RFC3339)})
		return auditTx(ctx, tx, AuditEntry{Actor: actor, Action: "hold.remove", Object: holdObject(tenantID, userID, out.UPN),
			Before: string(before)})
	})
	return out, err
}

// Holds lists a tenant's legal holds by UPN.
func (s *Store) Holds(ctx context.Context, tenantID string) ([]Hold, error) {
	var rows []holdRow
	if err := s.db.SelectContext(ctx, &rows, s.q(holdSelect+` WHERE h.tenant_id = ? ORDER BY u.upn, h.user_id`), tenantID); err != nil {
		return nil, err
	}
	out := make([]Hold, len(rows))
	for i, r := range rows {
		out[i] = r.hold()
	}
	return out, nil
}

func holdObject(tenantID, userID, upn string) string {
	return fmt.Sprintf("user %s (%s/%s)", upn, tenantID, userID)
}

// auditTx appends an audit entry inside a transaction, so an action and
// its record commit together (Store.Audit does the same on its own).
func auditTx(ctx context.Context, tx *sqlx.Tx, e AuditEntry) error {
	var b [8]byte
	rand.Read(b[:])
	now := time.Now().UTC()
	e.ID = now.Format("20060102T150405.000000000") + "-" + hex.EncodeToString(b[:])
	if e.AtMS == 0 {
		e.AtMS = ms(now)
	}
	_, err := tx.NamedExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action, object, before, after)
		VALUES (:id, :at, :actor, :action, :object, :before, :after)`, e)
	return err
}
