package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/catalog/catalogtest"
	"github.com/holdfast/holdfast/internal/cli"
	"github.com/holdfast/holdfast/internal/config"
	"github.com/holdfast/holdfast/internal/devstack"
	"github.com/holdfast/holdfast/internal/engine"
	"github.com/holdfast/holdfast/internal/graphsim"
	"github.com/holdfast/holdfast/internal/keys"
	"github.com/holdfast/holdfast/internal/tree"
)

// repoRoot is the module root, from this file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// temporalCLI is the Temporal CLI the dev server runs from: `make` builds
// it into ./bin (downloads are impossible here).
func temporalCLI(t *testing.T) string {
	p := os.Getenv("HOLDFAST_TEMPORAL_CLI")
	if p == "" {
		p = filepath.Join(repoRoot(), "bin", "temporal")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the Temporal CLI is missing at %s: run `make bin/temporal` (or set HOLDFAST_TEMPORAL_CLI)", p)
	}
	return p
}

type harness struct {
	t        *testing.T
	ctx      context.Context
	sim      *graphsim.Server
	info     graphsim.Info
	temporal client.Client
	cfg      config.Config
	store    *catalog.Store // the test's own view of the catalog
	engine   *engine.Engine
	stopWork func()
}

type harnessOptions struct {
	sim      graphsim.Options
	postgres bool // catalog on HOLDFAST_TEST_POSTGRES (skips without it)
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx}

	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: temporalCLI(t), LogLevel: "error",
		ExtraArgs: devstack.TemporalServerArgs, ClientOptions: &client.Options{Logger: quiet{}}, Stdout: io.Discard, Stderr: io.Discard})
	require.NoError(t, err)
	t.Cleanup(func() { dev.Stop() })
	h.temporal = dev.Client()

	o.sim.StateDir = t.TempDir()
	h.sim, err = graphsim.Start(ctx, o.sim)
	require.NoError(t, err)
	t.Cleanup(func() { h.sim.Close() })
	h.info = h.sim.Info()

	kek, err := keys.NewLocalKEK()
	require.NoError(t, err)
	home := t.TempDir()
	h.cfg = config.Config{Home: home, TemporalAddress: dev.FrontendHostPort(), TemporalNamespace: "default",
		DatabaseURL: "sqlite:" + filepath.Join(home, "catalog.db"), BlobURL: "file://" + filepath.ToSlash(filepath.Join(home, "vault")) + "?create_dir=true",
		KeeperURL: kek, GraphRUPerMinute: -1, Actor: "e2e-admin", LogLevel: "warn"}
	if o.postgres {
		store := catalogtest.Postgres(t)
		if store == nil {
			t.Skip(catalogtest.PostgresEnv + " not set")
		}
		h.store = store
		h.cfg.DatabaseURL = postgresURL(t, store)
	} else {
		h.store, err = catalog.Open(ctx, h.cfg.DatabaseURL)
		require.NoError(t, err)
		t.Cleanup(func() { h.store.Close() })
	}
	return h
}

// postgresURL recovers the URL catalogtest opened (schema-scoped).
func postgresURL(t *testing.T, s *catalog.Store) string {
	var schema string
	require.NoError(t, s.DB().Get(&schema, `SELECT current_schema()`))
	base := os.Getenv(catalogtest.PostgresEnv)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// startWorker runs an in-process worker with cfg (the harness's, unless
// changed by edit).
func (h *harness) startWorker(edit func(*config.Config)) {
	h.t.Helper()
	cfg := h.cfg
	if edit != nil {
		edit(&cfg)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := engine.New(h.ctx, cfg, h.temporal, log)
	require.NoError(h.t, err)
	require.NoError(h.t, e.Worker.Start())
	h.engine = e
	h.stopWork = func() { e.Worker.Stop(); e.Close() }
	h.t.Cleanup(h.stopWorker)
}

func (h *harness) stopWorker() {
	if h.stopWork != nil {
		h.stopWork()
		h.stopWork = nil
	}
}

// cli runs the holdfast command in-process against the harness.
func (h *harness) cli(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	flags := []string{"--home", h.cfg.Home, "--db", h.cfg.DatabaseURL, "--blob", h.cfg.BlobURL, "--keeper", h.cfg.KeeperURL,
		"--temporal-address", h.cfg.TemporalAddress, "--actor", h.cfg.Actor}
	code := cli.Main(h.ctx, append(args, flags...), &out, &errOut)
	if code != 0 {
		return out.String(), fmt.Errorf("holdfast %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

func (h *harness) mustCLI(args ...string) string {
	h.t.Helper()
	out, err := h.cli(args...)
	require.NoError(h.t, err, out)
	return out
}

// addTenant registers graphsim's tenant with its client secret.
func (h *harness) addTenant() {
	h.t.Helper()
	secret := filepath.Join(h.t.TempDir(), "secret")
	require.NoError(h.t, os.WriteFile(secret, []byte(h.info.ClientSecret), 0o600))
	h.mustCLI("tenant", "add", "--name", "contoso", "--tenant-id", h.info.TenantID, "--client-id", h.info.ClientID,
		"--client-secret-file", secret, "--graph-url", h.info.GraphURL, "--authority-url", h.info.AuthorityURL, "--ca-file", h.info.CAFile)
}

// user returns a seeded user.
func (h *harness) user(i int) graphsim.UserInfo { return h.sim.Users()[i] }

// userWith returns the first seeded user whose UPN contains s.
func (h *harness) userWith(s string) graphsim.UserInfo {
	for _, u := range h.sim.Users() {
		if strings.Contains(u.UPN, s) {
			return u
		}
	}
	h.t.Fatalf("no seeded user with %q", s)
	return graphsim.UserInfo{}
}

// latest is the newest snapshot of a user's OneDrive.
func (h *harness) latest(userID string) catalog.Snapshot {
	h.t.Helper()
	snaps, err := h.store.Snapshots(h.ctx, catalog.SnapshotFilter{UserApp: catalog.UserApp{UserID: userID, App: "onedrive"}, Limit: 1})
	require.NoError(h.t, err)
	require.NotEmpty(h.t, snaps, "user %s has a snapshot", userID)
	return snaps[0]
}

// file is what a comparison looks at.
type file struct {
	size   int64
	sha256 string // lowercase hex
}

// manifestFiles is the simulator's truth for a user: path → file, and the
// set of folders.
func (h *harness) manifestFiles(userID string) (map[string]file, map[string]bool) {
	h.t.Helper()
	m, err := h.sim.Manifest(userID)
	require.NoError(h.t, err)
	files, folders := map[string]file{}, map[string]bool{}
	for _, e := range m {
		p := strings.Trim(e.Path, "/")
		if e.Folder || e.Package != "" {
			folders[p] = true
			continue
		}
		files[p] = file{size: e.Size, sha256: strings.ToLower(e.SHA256)}
	}
	return files, folders
}

// sha256Files is the manifest keyed by path with sha256 (for ZIP checks).
func (h *harness) sha256Files(userID string) map[string]string {
	m, err := h.sim.Manifest(userID)
	require.NoError(h.t, err)
	out := map[string]string{}
	for _, e := range m {
		if !e.Folder && e.Package == "" {
			out[strings.Trim(e.Path, "/")] = strings.ToLower(e.SHA256)
		}
	}
	return out
}

// snapshotFiles is what the catalog says a snapshot holds.
func (h *harness) snapshotFiles(snap catalog.Snapshot) (map[string]file, map[string]bool) {
	h.t.Helper()
	items, err := h.store.ItemsAt(h.ctx, snap.Key(), snap.ID)
	require.NoError(h.t, err)
	tr := tree.Build(items)
	require.Zero(h.t, tr.Orphans, "every item of snapshot %d hangs in the tree", snap.ID)
	files, folders := map[string]file{}, map[string]bool{}
	tree.Walk(tr.Root, func(n *tree.Node) {
		switch {
		case n == tr.Root:
		case n.IsFolder():
			folders[n.Path] = true
		default:
			files[n.Path] = file{size: n.Size, sha256: strings.ToLower(strings.TrimPrefix(n.Hash, "sha256:"))}
		}
	})
	return files, folders
}

// under returns the entries of m below prefix, with the prefix removed.
func under[V any](m map[string]V, prefix string) map[string]V {
	out := map[string]V{}
	for p, v := range m {
		if rest, ok := strings.CutPrefix(p, prefix+"/"); ok {
			out[rest] = v
		}
	}
	return out
}

// restoreFolder finds the one "Holdfast Restore …" folder in a drive.
func (h *harness) restoreFolders(userID string) []string {
	_, folders := h.manifestFiles(userID)
	var out []string
	for p := range folders {
		if strings.HasPrefix(p, "Holdfast Restore ") && !strings.Contains(p, "/") {
			out = append(out, p)
		}
	}
	return out
}

// zipFiles reads a download: path → sha256 of the files, and the folders.
func zipFiles(t *testing.T, path, root string) (map[string]string, map[string]bool) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	files, folders := map[string]string{}, map[string]bool{}
	for _, f := range zr.File {
		name, ok := strings.CutPrefix(f.Name, root+"/")
		require.True(t, ok, "%s is under %s", f.Name, root)
		if strings.HasSuffix(name, "/") {
			folders[strings.TrimSuffix(name, "/")] = true
			continue
		}
		if name == "holdfast-manifest.json" {
			continue
		}
		rc, err := f.Open()
		require.NoError(t, err)
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		require.NoError(t, err)
		files[name] = hex.EncodeToString(h.Sum(nil))
	}
	return files, folders
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(s), v), s)
}

type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
