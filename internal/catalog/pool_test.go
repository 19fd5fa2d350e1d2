package catalog

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/vault"
)

// A backup looks chunks up from many goroutines at once; the pool must keep
// those connections rather than close and reopen them (each reopen costs
// pragmas, re-prepared statements and a cold page cache).
func TestParallelLookupsReuseConnections(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "catalog.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	var wg sync.WaitGroup
	for g := range maxIdleConns {
		wg.Go(func() {
			for i := range 200 {
				_, err := s.Lookup(ctx, "t1", []vault.ChunkID{{byte(g), byte(i)}})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	st := s.db.Stats()
	assert.LessOrEqual(t, st.OpenConnections, maxIdleConns)
	assert.Zero(t, st.MaxIdleClosed, "connections closed for want of idle slots")
}
