package catalog_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/catalog/catalogtest"
)

func countSnapshots(t *testing.T, s *catalog.Store) int {
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT COUNT(*) FROM snapshots`))
	return n
}

func TestGCLeaseBlocksBackups(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		k := catalog.UserApp{TenantID: tenantID, UserID: "u1", App: "onedrive"}

		l, err := s.AcquireGCLease(ctx, tenantID, "gc-1", time.Minute)
		require.NoError(t, err)
		assert.True(t, l.Live(time.Now()))
		_, err = s.AcquireGCLease(ctx, tenantID, "gc-2", time.Minute)
		assert.ErrorIs(t, err, catalog.ErrLeaseHeld, "one holder at a time")
		_, err = s.AcquireGCLease(ctx, tenantID, "gc-1", time.Minute)
		require.NoError(t, err, "a holder may take its own lease again (a retried activity)")

		_, err = s.OpenSnapshot(ctx, k, "manual", "run1")
		require.ErrorIs(t, err, catalog.ErrGCRunning, "no backup starts under the GC lease")
		assert.Contains(t, err.Error(), "garbage")
		assert.Zero(t, countSnapshots(t, s), "and nothing was written")

		_, err = s.RenewLease(ctx, tenantID, catalog.LeaseGC, "gc-1", time.Minute)
		require.NoError(t, err)
		_, err = s.RenewLease(ctx, tenantID, catalog.LeaseGC, "gc-2", time.Minute)
		assert.ErrorIs(t, err, catalog.ErrLeaseLost)

		require.NoError(t, s.ReleaseLease(ctx, tenantID, catalog.LeaseGC, "gc-1"))
		snap, err := s.OpenSnapshot(ctx, k, "manual", "run1")
		require.NoError(t, err, "the retried backup starts once GC is done")
		_, err = s.AcquireGCLease(ctx, tenantID, "gc-2", time.Minute)
		assert.ErrorIs(t, err, catalog.ErrBackupsRunning, "GC waits for running backups")
		assert.Contains(t, err.Error(), fmt.Sprint(snap.ID))
		require.NoError(t, s.FailSnapshot(ctx, snap.ID, "test"))

		// A lease that lapsed (its holder died) no longer blocks anyone,
		// and cannot be renewed: its holder must start over.
		_, err = s.AcquireGCLease(ctx, tenantID, "gc-3", 5*time.Millisecond)
		require.NoError(t, err)
		time.Sleep(20 * time.Millisecond)
		_, err = s.RenewLease(ctx, tenantID, catalog.LeaseGC, "gc-3", time.Minute)
		assert.ErrorIs(t, err, catalog.ErrLeaseLost)
		lapsed, err := s.TenantLease(ctx, tenantID, catalog.LeaseGC)
		require.NoError(t, err)
		assert.False(t, lapsed.Live(time.Now()))
		_, err = s.OpenSnapshot(ctx, k, "manual", "run2")
		require.NoError(t, err)
	})
}

// TestGCLeaseAndSnapshotsNeverOverlap races OpenSnapshot against
// AcquireGCLease: exactly one of them wins each time, on both engines
// (on PostgreSQL it is the tenant row lock that makes each see the other).
func TestGCLeaseAndSnapshotsNeverOverlap(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)
		k := catalog.UserApp{TenantID: tenantID, UserID: "u1", App: "onedrive"}
		for i := range 25 {
			var wg sync.WaitGroup
			var snap catalog.Snapshot
			var openErr, leaseErr error
			holder := fmt.Sprintf("gc-%d", i)
			wg.Add(2)
			go func() {
				defer wg.Done()
				snap, openErr = s.OpenSnapshot(ctx, k, "manual", fmt.Sprintf("run-%d", i))
			}()
			go func() {
				defer wg.Done()
				_, leaseErr = s.AcquireGCLease(ctx, tenantID, holder, time.Minute)
			}()
			wg.Wait()
			require.True(t, (openErr == nil) != (leaseErr == nil), "round %d: open %v, lease %v", i, openErr, leaseErr)
			if openErr == nil {
				require.ErrorIs(t, leaseErr, catalog.ErrBackupsRunning)
				require.NoError(t, s.FailSnapshot(ctx, snap.ID, "test"))
			} else {
				require.ErrorIs(t, openErr, catalog.ErrGCRunning)
				require.NoError(t, s.ReleaseLease(ctx, tenantID, catalog.LeaseGC, holder))
			}
		}
	})
}
