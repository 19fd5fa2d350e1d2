package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/config"
	"github.com/holdfast/holdfast/internal/graphsim"
)

var (
	workerOnce sync.Once
	workerBin  string
	workerErr  error
)

// workerBinary builds the worker command once per test run.
func workerBinary(t *testing.T) string {
	workerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "holdfast-e2e-")
		if err != nil {
			workerErr = err
			return
		}
		workerBin = filepath.Join(dir, "holdfast-worker")
		cmd := exec.Command("go", "build", "-o", workerBin, "./worker")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			workerErr = fmt.Errorf("build worker: %v\n%s", err, out)
		}
	})
	require.NoError(t, workerErr)
	return workerBin
}

// workerProcess starts the worker command with the harness's settings.
func (h *harness) workerProcess(edit func(*config.Config)) *exec.Cmd {
	h.t.Helper()
	cfg := h.cfg
	if edit != nil {
		edit(&cfg)
	}
	cmd := exec.Command(workerBinary(h.t))
	cmd.Env = append(os.Environ(), "HOLDFAST_HOME="+cfg.Home, "HOLDFAST_DB="+cfg.DatabaseURL, "HOLDFAST_BLOB="+cfg.BlobURL,
		"HOLDFAST_KEEPER_URL="+cfg.KeeperURL, "HOLDFAST_TEMPORAL_ADDRESS="+cfg.TemporalAddress,
		fmt.Sprintf("HOLDFAST_GRAPH_RU_PER_MINUTE=%d", cfg.GraphRUPerMinute), "HOLDFAST_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(h.t, cmd.Start())
	h.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// TestWorkerKilledMidBackup kills the worker process (SIGKILL: no goodbye)
// once the backup has made progress durable, starts another, and checks
// that the same snapshot finishes with every item exactly once.
func TestWorkerKilledMidBackup(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 23, Users: 1, FilesPerUser: 600, FileSizeMean: 256 << 10, FileSizeMax: 2 << 20}})
	u := h.user(0)
	// Microsoft's own budget for a small tenant (20 requests a second)
	// keeps the backup running long enough to kill it midway.
	paced := func(c *config.Config) { c.GraphRUPerMinute = 1200 }
	first := h.workerProcess(paced)
	h.addTenant()
	h.mustCLI("user", "add", "--apps", "onedrive", u.UPN, "--no-backup")

	done := make(chan error, 1)
	go func() { _, err := h.cli("backup", "now", "--wait"); done <- err }()

	var snapID int64
	require.Eventually(t, func() bool {
		var staged int
		if err := h.store.DB().Get(&staged, `SELECT COUNT(*) FROM staged_items`); err != nil || staged == 0 {
			return false
		}
		return h.store.DB().Get(&snapID, `SELECT DISTINCT snapshot_id FROM staged_items`) == nil
	}, 2*time.Minute, 50*time.Millisecond, "the backup makes progress durable")
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	first.Wait()
	var stagedAtKill int
	require.NoError(t, h.store.DB().Get(&stagedAtKill, `SELECT COUNT(*) FROM staged_items`))

	h.workerProcess(paced)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Minute):
		t.Fatal("the backup did not finish after the restart")
	}

	snap := h.latest(u.ID)
	assert.Equal(t, snapID, snap.ID, "the same snapshot finished")
	require.Equal(t, catalog.StateComplete, snap.State, snap.Error)
	wantFiles, wantFolders := h.manifestFiles(u.ID)
	gotFiles, gotFolders := h.snapshotFiles(snap)
	assert.Equal(t, wantFiles, gotFiles, "nothing missing")
	assert.Equal(t, wantFolders, gotFolders)
	var versions, staged int
	require.NoError(t, h.store.DB().Get(&versions, `SELECT COUNT(*) FROM item_versions`))
	require.NoError(t, h.store.DB().Get(&staged, `SELECT COUNT(*) FROM staged_items`))
	assert.Equal(t, len(wantFiles)+len(wantFolders)+1, versions, "nothing duplicated: one version per item (and the root)")
	assert.Zero(t, staged)
	t.Logf("killed with %d of %d items staged; resumed and finished snapshot %d", stagedAtKill, versions, snap.ID)

	out := h.mustCLI("verify", fmt.Sprint(snap.ID))
	assert.Contains(t, out, "0 bad")
}
