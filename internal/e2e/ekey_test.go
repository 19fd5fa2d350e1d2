package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/config"
	"github.com/holdfast/holdfast/internal/graphsim"
	"github.com/holdfast/holdfast/internal/keys"
)

// TestBackupWithoutEkey runs a worker whose key-encryption key cannot
// unwrap the tenant's keys: the backup fails at once with "ekey
// unavailable", and nothing is fetched or written. With the right key it
// works again.
func TestBackupWithoutEkey(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 5, Users: 1, FilesPerUser: 20}})
	u := h.user(0)
	h.startWorker(nil)
	h.addTenant()
	h.mustCLI("user", "add", u.UPN, "--no-backup")
	h.stopWorker()

	wrong, err := keys.NewLocalKEK()
	require.NoError(t, err)
	h.startWorker(func(c *config.Config) { c.KeeperURL = wrong })
	h.sim.ResetCounters()
	_, err = h.cli("backup", "now", "--wait")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ekey unavailable")

	snap := h.latest(u.ID)
	assert.Equal(t, catalog.StateFailed, snap.State)
	assert.Contains(t, snap.Error, "ekey unavailable")
	out := h.mustCLI("backup", "show", fmt.Sprint(snap.ID))
	assert.Contains(t, out, "ekey unavailable")
	out = h.mustCLI("user", "list")
	assert.Contains(t, out, "failed: ekey unavailable", "the status an admin sees")
	out = h.mustCLI("status")
	assert.Contains(t, out, "ekey unavailable")
	assert.Zero(t, h.sim.Counters().ByEndpoint["download"].Served, "nothing fetched")
	var versions, packs int
	require.NoError(t, h.store.DB().Get(&versions, `SELECT COUNT(*) FROM item_versions`))
	require.NoError(t, h.store.DB().Get(&packs, `SELECT COUNT(*) FROM packs`))
	assert.Zero(t, versions)
	assert.Zero(t, packs)
	assert.Empty(t, blobFiles(t, filepath.Join(h.cfg.Home, "vault")), "nothing written to the blob store")

	h.stopWorker()
	h.startWorker(nil)
	h.mustCLI("backup", "now", "--wait")
	assert.Equal(t, catalog.StateComplete, h.latest(u.ID).State, "with its key back, the backup works again")
}

func blobFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestKeyRotation re-wraps the tenant's keys under a new KEK: workers on
// the new KEK back up and restore what the old one protected; the old KEK
// no longer opens anything.
func TestKeyRotation(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 12, Users: 1, FilesPerUser: 15}})
	u := h.user(0)
	h.startWorker(nil)
	h.addTenant()
	h.mustCLI("user", "add", u.UPN, "--no-backup")
	h.mustCLI("backup", "now", "--wait")
	first := h.latest(u.ID)
	h.stopWorker()

	newKEK, err := keys.NewLocalKEK()
	require.NoError(t, err)
	out := h.mustCLI("key", "rotate", "--new-keeper", newKEK)
	assert.Contains(t, out, "re-wrapped the keys of 1 tenant")
	_, err = h.cli("key", "status")
	require.Error(t, err, "the old KEK opens nothing any more")
	assert.Contains(t, err.Error(), "cannot be unwrapped")

	oldKEK := h.cfg.KeeperURL
	h.cfg.KeeperURL = newKEK
	out = h.mustCLI("key", "status")
	assert.Contains(t, out, "ok")
	h.startWorker(nil)
	h.mustCLI("backup", "now", "--wait")
	assert.Equal(t, catalog.StateComplete, h.latest(u.ID).State)
	out = h.mustCLI("verify", fmt.Sprint(first.ID))
	assert.Contains(t, out, "0 bad", "data sealed before the rotation still reads")
	assert.NotEqual(t, oldKEK, newKEK)
	assert.Contains(t, h.auditActions(t), "key.rotate")
}
