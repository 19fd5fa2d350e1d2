package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/catalog/catalogtest"
)

func auditActions(t *testing.T, s *catalog.Store) []catalog.AuditEntry {
	t.Helper()
	log, err := s.AuditLog(context.Background(), time.Time{})
	require.NoError(t, err)
	return log
}

func TestHolds(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, s *catalog.Store) {
		ctx := context.Background()
		seedTenant(t, s)

		h, added, err := s.AddHold(ctx, catalog.Hold{TenantID: tenantID, UserID: "u1", Reason: "case 42", CreatedBy: "alice"})
		require.NoError(t, err)
		assert.True(t, added)
		assert.Equal(t, "O'Brien@contoso.com", h.UPN)
		assert.WithinDuration(t, time.Now(), h.CreatedAt, time.Minute)

		again, added, err := s.AddHold(ctx, catalog.Hold{TenantID: tenantID, UserID: "u1", Reason: "other", CreatedBy: "bob"})
		require.NoError(t, err)
		assert.False(t, added, "a second hold changes nothing")
		assert.Equal(t, "case 42", again.Reason)
		assert.Equal(t, "alice", again.CreatedBy)

		_, _, err = s.AddHold(ctx, catalog.Hold{TenantID: tenantID, UserID: "nobody", CreatedBy: "alice"})
		assert.ErrorIs(t, err, catalog.ErrNotFound)

		holds, err := s.Holds(ctx, tenantID)
		require.NoError(t, err)
		require.Len(t, holds, 1)
		assert.Equal(t, "u1", holds[0].UserID)
		assert.Equal(t, "O'Brien@contoso.com", holds[0].UPN)

		removed, err := s.RemoveHold(ctx, tenantID, "u1", "bob")
		require.NoError(t, err)
		assert.Equal(t, "case 42", removed.Reason)
		_, err = s.RemoveHold(ctx, tenantID, "u1", "bob")
		assert.ErrorIs(t, err, catalog.ErrNotFound)
		holds, err = s.Holds(ctx, tenantID)
		require.NoError(t, err)
		assert.Empty(t, holds)

		log := auditActions(t, s)
		require.Len(t, log, 2, "one entry per change, none for the no-ops")
		assert.Equal(t, "hold.add", log[0].Action)
		assert.Equal(t, "alice", log[0].Actor)
		assert.Contains(t, log[0].Object, "O'Brien@contoso.com")
		assert.Contains(t, log[0].After, "case 42")
		assert.Equal(t, "hold.remove", log[1].Action)
		assert.Equal(t, "bob", log[1].Actor)
		assert.Contains(t, log[1].Before, "case 42")
	})
}
