package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Tenant-wide leases (table tenant_leases). Today there is one kind: the
// GC lease retention's garbage collection holds while it deletes chunk
// index entries. While it is live no backup of the tenant opens a snapshot
// (OpenSnapshot refuses with ErrGCRunning), and GC takes it only when no
// snapshot of the tenant is running — so no backup can deduplicate
// against a chunk GC is deleting.
//
// A lease has an expiry, renewed by its holder (the heartbeating GC
// activity): a holder that dies stops blocking backups once it lapses.
// GC's destructive transactions re-check the lease inside the transaction
// with a safety margin (Fence), so a holder that stalled past its expiry
// deletes nothing, and clocks of different workers may disagree by up to
// that margin.

// LeaseGC is the kind of lease retention's garbage collection takes.
const LeaseGC = "gc"

var (
	// ErrGCRunning is returned by OpenSnapshot while the tenant's GC lease
	// is live: the backup should retry later.
	ErrGCRunning = errors.New("garbage collection in progress")
	// ErrBackupsRunning is returned when GC cannot take its lease because
	// snapshots of the tenant are running.
	ErrBackupsRunning = errors.New("backups are running")
	// ErrLeaseHeld is returned when another holder's lease is live.
	ErrLeaseHeld = errors.New("lease held by another holder")
	// ErrLeaseLost is returned when a holder's lease lapsed or was taken.
	ErrLeaseLost = errors.New("lease lost")
)

// Lease is one tenant lease.
type Lease struct {
	TenantID  string
	Kind      string
	Holder    string
	ExpiresAt time.Time
}

// Live reports whether the lease has not expired at now.
func (l Lease) Live(now time.Time) bool { return now.Before(l.ExpiresAt) }

type leaseRow struct {
	TenantID  string `db:"tenant_id"`
	Kind      string `db:"kind"`
	Holder    string `db:"holder"`
	ExpiresAt int64  `db:"expires_at"`
}

func (r leaseRow) lease() Lease {
	return Lease{TenantID: r.TenantID, Kind: r.Kind, Holder: r.Holder, ExpiresAt: fromMS(r.ExpiresAt)}
}

// lockTenant serialises a transaction with the other transactions that
// decide between backups and GC: OpenSnapshot (shared) against GC's lease
// acquisition, fenced deletes and version pruning (exclusive). On
// PostgreSQL it locks the tenant's row (READ COMMITTED alone would let a
// snapshot insert and a lease check pass each other unseen). On SQLite
// every transaction of the Store begins IMMEDIATE (see parseURL), so
// writers are already serialised and there is nothing to do.
func (s *Store) lockTenant(ctx context.Context, tx *sqlx.Tx, tenantID string, exclusive bool) error {
	if s.engine != "postgres" {
		return nil
	}
	mode := "FOR SHARE"
	if exclusive {
		mode = "FOR UPDATE"
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`SELECT id FROM tenants WHERE id = ? `+mode), tenantID)
	return err
}

// lease reads a lease inside tx; ok is false when there is none.
func lease(ctx context.Context, tx *sqlx.Tx, tenantID, kind string) (l Lease, ok bool, err error) {
	var r leaseRow
	err = tx.GetContext(ctx, &r, tx.Rebind(`SELECT * FROM tenant_leases WHERE tenant_id = ? AND kind = ?`), tenantID, kind)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, err
	}
	return r.lease(), true, nil
}

// checkNoGC fails with ErrGCRunning while the tenant's GC lease is live.
func checkNoGC(ctx context.Context, tx *sqlx.Tx, tenantID string, now time.Time) error {
	l, ok, err := lease(ctx, tx, tenantID, LeaseGC)
	if err != nil || !ok || !l.Live(now) {
		return err
	}
	return fmt.Errorf("%w: tenant %s: retention is collecting garbage until %s at the latest; the backup starts when it ends",
		ErrGCRunning, tenantID, l.ExpiresAt.UTC().Format(time.RFC3339))
}

// runningSnapshots counts the tenant's running snapshots and names one.
func runningSnapshots(ctx context.Context, tx *sqlx.Tx, tenantID string) (n int, example int64, err error) {
	var r struct {
		N   int           `db:"n"`
		Min sql.NullInt64 `db:"first"`
	}
	err = tx.GetContext(ctx, &r, tx.Rebind(`SELECT COUNT(*) AS n, MIN(id) AS first FROM snapshots
		WHERE tenant_id = ? AND state = ?`), tenantID, StateRunning)
	return r.N, r.Min.Int64, err
}

// AcquireGCLease takes the tenant's GC lease for holder until now+ttl. It
// succeeds only when no snapshot of the tenant is running (else
// ErrBackupsRunning) and no other holder's lease is live (else
// ErrLeaseHeld); a holder may re-acquire its own lease.
func (s *Store) AcquireGCLease(ctx context.Context, tenantID, holder string, ttl time.Duration) (Lease, error) {
	var out Lease
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockTenant(ctx, tx, tenantID, true); err != nil {
			return err
		}
		now := time.Now()
		l, ok, err := lease(ctx, tx, tenantID, LeaseGC)
		if err != nil {
			return err
		}
		if ok && l.Live(now) && l.Holder != holder {
			return fmt.Errorf("%w: tenant %s: GC lease held by %s until %s", ErrLeaseHeld, tenantID, l.Holder, l.ExpiresAt.UTC().Format(time.RFC3339))
		}
		n, first, err := runningSnapshots(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: tenant %s: %d snapshot(s) running (snapshot %d, …)", ErrBackupsRunning, tenantID, n, first)
		}
		out = Lease{TenantID: tenantID, Kind: LeaseGC, Holder: holder, ExpiresAt: fromMS(ms(now.Add(ttl)))}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO tenant_leases (tenant_id, kind, holder, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, kind) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`),
			tenantID, LeaseGC, holder, ms(out.ExpiresAt))
		return err
	})
	return out, err
}

// RenewLease extends holder's live lease to now+ttl; ErrLeaseLost if it
// lapsed or another holder has it. A lapsed lease is never revived: its
// holder must acquire it again (and re-check what it guards).
func (s *Store) RenewLease(ctx context.Context, tenantID, kind, holder string, ttl time.Duration) (Lease, error) {
	now := time.Now()
	exp := now.Add(ttl)
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tenant_leases SET expires_at = ?
		WHERE tenant_id = ? AND kind = ? AND holder = ? AND expires_at > ?`), ms(exp), tenantID, kind, holder, ms(now))
	if err != nil {
		return Lease{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Lease{}, fmt.Errorf("%w: tenant %s: %s lease of %s lapsed or was taken", ErrLeaseLost, tenantID, kind, holder)
	}
	return Lease{TenantID: tenantID, Kind: kind, Holder: holder, ExpiresAt: fromMS(ms(exp))}, nil
}

// ReleaseLease gives up holder's lease (if it still has it).
func (s *Store) ReleaseLease(ctx context.Context, tenantID, kind, holder string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tenant_leases WHERE tenant_id = ? AND kind = ? AND holder = ?`), tenantID, kind, holder)
	return err
}

// TenantLease returns a tenant's lease of a kind, live or not; ErrNotFound
// if there is none.
func (s *Store) TenantLease(ctx context.Context, tenantID, kind string) (Lease, error) {
	var r leaseRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT * FROM tenant_leases WHERE tenant_id = ? AND kind = ?`), tenantID, kind)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, fmt.Errorf("%s lease of tenant %s: %w", kind, tenantID, ErrNotFound)
	}
	return r.lease(), err
}

// Fence guards GC's destructive statements: they run only while Holder's
// GC lease is live for at least Margin more (the tolerated clock skew
// between workers) and no snapshot of the tenant is running.
type Fence struct {
	Holder string
	Margin time.Duration
}

// inFence runs fn in a transaction that holds the tenant lock and has
// checked the fence.
func (s *Store) inFence(ctx context.Context, tenantID string, f Fence, fn func(tx *sqlx.Tx) error) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockTenant(ctx, tx, tenantID, true); err != nil {
			return err
		}
		l, ok, err := lease(ctx, tx, tenantID, LeaseGC)
		if err != nil {
			return err
		}
		if !ok || l.Holder != f.Holder || !l.Live(time.Now().Add(f.Margin)) {
			return fmt.Errorf("%w: tenant %s: GC lease of %s is not live for another %s", ErrLeaseLost, tenantID, f.Holder, f.Margin)
		}
		n, first, err := runningSnapshots(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: tenant %s: snapshot %d is running under the GC lease", ErrLeaseLost, tenantID, first)
		}
		return fn(tx)
	})
}
