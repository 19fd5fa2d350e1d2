package deploy

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/holdfast/holdfast/internal/config"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func load(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	root := repoRoot()
	details := types.ConfigDetails{WorkingDir: root, Environment: env,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}}}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("holdfast", true)
	})
}

func env(s types.ServiceConfig, name string) string {
	if v, ok := s.Environment[name]; ok && v != nil {
		return *v
	}
	return ""
}

func TestComposeStackIsConsistent(t *testing.T) {
	p, err := load(t, map[string]string{"HOLDFAST_KEEPER_URL": "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="})
	require.NoError(t, err)
	svc := func(name string) types.ServiceConfig {
		s, err := p.GetService(name)
		require.NoError(t, err, "service %s", name)
		return s
	}
	want := []string{"temporal-postgresql", "temporal", "temporal-ui", "catalog-postgresql", "objectstore", "objectstore-init", "worker"}
	assert.ElementsMatch(t, want, p.ServiceNames())

	// Images are pinned; only the worker is built, from this repository.
	for _, s := range p.Services {
		if s.Name == "worker" {
			require.NotNil(t, s.Build)
			dockerfile := filepath.Join(s.Build.Context, s.Build.Dockerfile)
			b, err := os.ReadFile(dockerfile)
			require.NoError(t, err, "the worker's Dockerfile")
			assert.Contains(t, string(b), "./worker", "the image builds the worker command")
			continue
		}
		assert.Regexp(t, `^[a-z0-9./-]+:[A-Za-z0-9._-]+$`, s.Image, "%s has a pinned image", s.Name)
		assert.NotContains(t, s.Image, ":latest", s.Name)
	}

	published := func(s types.ServiceConfig, target uint32) string {
		for _, port := range s.Ports {
			if port.Target == target {
				return port.Published
			}
		}
		return ""
	}
	assert.Equal(t, "7233", published(svc("temporal"), 7233), "Temporal's frontend for the CLI")
	assert.Equal(t, "8233", published(svc("temporal-ui"), 8080), "the UI where the dev server has it")
	assert.Equal(t, "temporal:7233", env(svc("temporal-ui"), "TEMPORAL_ADDRESS"))

	// Temporal's database.
	tpg, temporal := svc("temporal-postgresql"), svc("temporal")
	assert.Equal(t, "temporal-postgresql", env(temporal, "POSTGRES_SEEDS"))
	assert.Equal(t, env(tpg, "POSTGRES_USER"), env(temporal, "POSTGRES_USER"))
	assert.Equal(t, env(tpg, "POSTGRES_PASSWORD"), env(temporal, "POSTGRES_PWD"))
	// Its dynamic config is mounted where the image looks for it.
	require.Len(t, temporal.Configs, 1)
	assert.Equal(t, env(temporal, "DYNAMIC_CONFIG_FILE_PATH"), temporal.Configs[0].Target)
	dyn, ok := p.Configs[temporal.Configs[0].Source]
	require.True(t, ok, "config %s is defined", temporal.Configs[0].Source)
	var settings map[string][]struct{ Value any }
	require.NoError(t, yaml.Unmarshal([]byte(dyn.Content), &settings))
	assert.Equal(t, true, settings["system.enableActivityEagerExecution"][0].Value, "eager activities, as the dev stack runs them")

	w := svc("worker")
	// Every setting the worker gets is one Holdfast reads (or a cloud SDK's).
	for name := range w.Environment {
		if strings.HasPrefix(name, "HOLDFAST_") {
			assert.Contains(t, config.EnvNames(), name, "worker setting %s is one Holdfast knows", name)
		}
	}
	for _, dep := range []string{"temporal", "catalog-postgresql", "objectstore-init"} {
		assert.Contains(t, w.DependsOn, dep, "the worker starts after %s", dep)
	}

	// Temporal address: a service and its port.
	host, port, err := net.SplitHostPort(env(w, "HOLDFAST_TEMPORAL_ADDRESS"))
	require.NoError(t, err)
	assert.Equal(t, "temporal", host)
	assert.Equal(t, "7233", port)

	// Catalog: the catalog database service, with its credentials.
	db, err := url.Parse(env(w, "HOLDFAST_DB"))
	require.NoError(t, err)
	cpg := svc("catalog-postgresql")
	assert.Equal(t, "postgres", db.Scheme)
	assert.Equal(t, "catalog-postgresql", db.Hostname())
	assert.Equal(t, env(cpg, "POSTGRES_USER"), db.User.Username())
	pw, _ := db.User.Password()
	assert.Equal(t, env(cpg, "POSTGRES_PASSWORD"), pw)
	assert.Equal(t, "/"+env(cpg, "POSTGRES_DB"), db.Path)

	// Vault: the bucket the init job creates, on the object store, with
	// its credentials.
	blob, err := url.Parse(env(w, "HOLDFAST_BLOB"))
	require.NoError(t, err)
	assert.Equal(t, "s3", blob.Scheme)
	init := strings.Join(svc("objectstore-init").Entrypoint, " ")
	m := regexp.MustCompile(`mc mb (?:--ignore-existing )?store/([a-z0-9.-]+)`).FindStringSubmatch(init)
	require.Len(t, m, 2, "the init job creates a bucket")
	assert.Equal(t, m[1], blob.Host, "the worker uses the bucket the init job makes")
	endpoint, err := url.Parse(blob.Query().Get("endpoint"))
	require.NoError(t, err)
	store := svc("objectstore")
	assert.Equal(t, "objectstore", endpoint.Hostname())
	assert.Equal(t, published(store, 9000), endpoint.Port())
	assert.Equal(t, "true", blob.Query().Get("use_path_style"), "MinIO needs path-style addressing")
	assert.Equal(t, env(store, "MINIO_ROOT_USER"), env(w, "AWS_ACCESS_KEY_ID"))
	assert.Equal(t, env(store, "MINIO_ROOT_PASSWORD"), env(w, "AWS_SECRET_ACCESS_KEY"))
	assert.Contains(t, init, env(store, "MINIO_ROOT_USER")+" "+env(store, "MINIO_ROOT_PASSWORD"))

	// The KEK comes from the operator, never from the file.
	assert.True(t, strings.HasPrefix(env(w, "HOLDFAST_KEEPER_URL"), "base64key://"))
	assert.True(t, slices.Contains(config.EnvNames(), "HOLDFAST_KEEPER_URL"))
}

func TestComposeRefusesToStartWithoutAKey(t *testing.T) {
	_, err := load(t, map[string]string{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HOLDFAST_KEEPER_URL")
}
