package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/keys"
)

const tenantID = "0f2e7c4a-8d11-4c3e-9a51-6b2d3e4f5a6b"

// run runs the CLI with a private state directory and no Temporal server
// (127.0.0.1:1 refuses connections).
func run(t *testing.T, home string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	kek := os.Getenv("TEST_KEK")
	flags := []string{"--home", home, "--temporal-address", "127.0.0.1:1", "--keeper", kek}
	code = Main(context.Background(), append(args, flags...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func setup(t *testing.T) string {
	kek, err := keys.NewLocalKEK()
	require.NoError(t, err)
	t.Setenv("TEST_KEK", kek)
	home := t.TempDir()
	secret := filepath.Join(home, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("s3cr3t"), 0o600))
	_, errOut, code := run(t, home, "tenant", "add", "--name", "contoso", "--tenant-id", tenantID,
		"--client-id", "11111111-2222-3333-4444-555555555555", "--client-secret-file", secret)
	require.Zero(t, code, errOut)
	return home
}

func TestBadInputIsOneClearLine(t *testing.T) {
	home := setup(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"tenant", "add", "--name", "x", "--tenant-id", "nope", "--client-id", tenantID, "--client-secret", "s"}, `--tenant-id "nope" is not a GUID`},
		{[]string{"tenant", "add", "--name", "x", "--tenant-id", tenantID, "--client-id", tenantID, "--client-secret", "s", "--graph-url", "http://graph"}, "not an https URL"},
		{[]string{"tenant", "add", "--name", "x", "--tenant-id", tenantID, "--client-id", tenantID}, "exactly one of"},
		{[]string{"tenant", "add", "--name", "contoso", "--tenant-id", tenantID, "--client-id", tenantID, "--client-secret", "s"}, "already registered"},
		{[]string{"backup", "list", "--user", "nobody@contoso.com"}, `unknown user "nobody@contoso.com"`},
		{[]string{"backup", "show", "999"}, "unknown snapshot 999"},
		{[]string{"backup", "show", "abc"}, `"abc" is not a snapshot ID`},
		{[]string{"restore", "--user", "nobody@contoso.com"}, "unknown user"},
		{[]string{"restore"}, "--user is required"},
		{[]string{"download", "--user", "x"}, "-o FILE is required"},
		{[]string{"backup", "now"}, "nothing to back up"},
		{[]string{"user", "add", "a@contoso.com"}, "cannot reach Temporal at 127.0.0.1:1"},
		{[]string{"backup", "list", "--tenant", "fabrikam"}, `unknown tenant "fabrikam"`},
		{[]string{"backup", "list", "--blob", "not a url"}, "not a URL"},
	}
	for _, c := range cases {
		_, errOut, code := run(t, home, c.args...)
		assert.Equal(t, 1, code, "%v", c.args)
		assert.Contains(t, errOut, c.want, "%v", c.args)
		assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one line: %q", errOut)
		assert.True(t, strings.HasPrefix(errOut, "holdfast: "), errOut)
	}
}

func TestTenantAddWritesNothingOnFailure(t *testing.T) {
	home := t.TempDir()
	t.Setenv("TEST_KEK", "") // no key-encryption key configured
	_, errOut, code := run(t, home, "tenant", "add", "--name", "contoso", "--tenant-id", tenantID,
		"--client-id", tenantID, "--client-secret", "s3cr3t")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "ekey unavailable")
	assert.NotContains(t, errOut, "s3cr3t")
	s, err := catalog.Open(context.Background(), "sqlite:"+filepath.Join(home, "catalog.db"))
	require.NoError(t, err)
	defer s.Close()
	ts, err := s.Tenants(context.Background())
	require.NoError(t, err)
	assert.Empty(t, ts, "nothing half-written")
}

func TestTenantCredentialIsSealed(t *testing.T) {
	home := setup(t)
	s, err := catalog.Open(context.Background(), "sqlite:"+filepath.Join(home, "catalog.db"))
	require.NoError(t, err)
	defer s.Close()
	tn, err := s.Tenant(context.Background(), "contoso")
	require.NoError(t, err)
	assert.NotContains(t, string(tn.Credential), "s3cr3t")
	raw, err := os.ReadFile(filepath.Join(home, "catalog.db"))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "s3cr3t", "the secret is nowhere in the database file")
	out, _, code := run(t, home, "tenant", "list", "--json")
	require.Zero(t, code)
	assert.Contains(t, out, "contoso")
}
