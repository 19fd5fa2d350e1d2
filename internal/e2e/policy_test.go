package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/cli"
	"github.com/holdfast/holdfast/internal/graphsim"
)

// syncBuffer is a bytes.Buffer safe to read while the CLI writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// connect runs `holdfast tenant connect` and plays the administrator's
// browser: it opens the printed consent URL, which redirects to the CLI.
func (h *harness) connect(t *testing.T, extra ...string) (string, error) {
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte(h.info.ClientSecret), 0o600))
	login := strings.TrimSuffix(h.info.AuthorityURL, "/"+h.info.TenantID)
	args := append([]string{"tenant", "connect", "--name", "contoso", "--client-id", h.info.ClientID, "--client-secret-file", secret,
		"--login-url", login, "--graph-url", h.info.GraphURL, "--ca-file", h.info.CAFile, "--no-browser", "--timeout", "2m"}, extra...)
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(h.ctx, append(args, h.flags()...), &out, &errOut)
	}()
	urlRE := regexp.MustCompile(`https://\S+/adminconsent\?\S+`)
	var consentURL string
	require.Eventually(t, func() bool {
		consentURL = urlRE.FindString(errOut.String())
		return consentURL != ""
	}, time.Minute, 20*time.Millisecond, "the CLI prints the consent URL")
	pem, err := os.ReadFile(h.info.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	browser := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := browser.Get(consentURL) // follows the redirect to the CLI's localhost listener
	require.NoError(t, err)
	resp.Body.Close()
	select {
	case code := <-done:
		if code != 0 {
			return out.String(), fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errOut.String()))
		}
		return out.String(), nil
	case <-time.After(3 * time.Minute):
		t.Fatal("tenant connect did not finish")
		return "", nil
	}
}

func (h *harness) flags() []string {
	return []string{"--home", h.cfg.Home, "--db", h.cfg.DatabaseURL, "--blob", h.cfg.BlobURL, "--keeper", h.cfg.KeeperURL,
		"--temporal-address", h.cfg.TemporalAddress, "--actor", h.cfg.Actor}
}

func TestConnectWithConsent(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 3, Users: 2, FilesPerUser: 5, Unconsented: true}})
	h.startWorker(nil)
	u := h.user(0)
	out, err := h.connect(t, "--verify-user", u.Mail, "--apps", "onedrive")
	require.NoError(t, err)
	assert.Contains(t, out, "connected; its ekey was created")
	assert.Regexp(t, `app authentication\s+pass`, out)
	assert.Regexp(t, `drive present\s+pass`, out)
	tn, err := h.store.Tenant(h.ctx, "contoso")
	require.NoError(t, err)
	assert.Equal(t, h.info.TenantID, tn.ID)
	keys, err := h.store.TenantKeys(h.ctx, tn.ID)
	require.NoError(t, err)
	assert.Len(t, keys, 1, "the ekey was created")
	admins, err := h.store.Admins(h.ctx)
	require.NoError(t, err)
	require.Len(t, admins, 1)
	assert.Equal(t, catalog.RoleCloudAdmin, admins[0].Role, "the first admin is the cloud administrator")

	// The connected tenant backs up.
	h.mustCLI("user", "add", u.UPN, "--no-backup")
	h.mustCLI("backup", "now", "--wait")
	assert.Equal(t, catalog.StateComplete, h.latest(u.ID).State)
}

func TestConnectDenied(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 3, Users: 1, FilesPerUser: 1, Unconsented: true, Consent: "deny"}})
	h.startWorker(nil)
	_, err := h.connect(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "admin consent was denied")
	assert.Contains(t, err.Error(), "AADSTS65004")
	_, terr := h.store.Tenant(h.ctx, "contoso")
	assert.ErrorIs(t, terr, catalog.ErrNotFound, "no tenant is recorded")
	var state string
	require.NoError(t, h.store.DB().Get(&state, `SELECT state FROM connections`))
	assert.Equal(t, catalog.ConnDenied, state, "the denial is recorded")
	audit := h.auditActions(t)
	assert.Contains(t, audit, "tenant.connect.denied")
}

func (h *harness) auditActions(t *testing.T) map[string]int {
	entries, err := h.store.AuditLog(h.ctx, time.Time{})
	require.NoError(t, err)
	out := map[string]int{}
	for _, e := range entries {
		out[e.Action]++
	}
	return out
}

func TestVerifyFailures(t *testing.T) {
	t.Run("missing permission", func(t *testing.T) {
		h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 4, Users: 1, FilesPerUser: 1, Roles: []string{"User.Read.All"}}})
		h.startWorker(nil)
		h.addTenant()
		out, err := h.cli("tenant", "verify", "--user", h.user(0).Mail)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Files.ReadWrite.All", "the missing permission is named")
		assert.Regexp(t, `user exists\s+skipped`, out)
	})
	t.Run("bad secret, unknown user", func(t *testing.T) {
		h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 4, Users: 1, FilesPerUser: 1}})
		h.startWorker(nil)
		h.addTenant()
		out, err := h.cli("tenant", "verify", "--user", "nobody@"+h.info.Domain)
		require.Error(t, err)
		assert.Regexp(t, `app authentication\s+pass`, out)
		assert.Contains(t, err.Error(), "no user has the email address nobody@")
		_, err = h.cli("tenant", "verify", "--user", "not-an-address")
		assert.ErrorContains(t, err, "use the user's email address")

		// A tenant registered with a wrong secret fails authentication, with
		// Entra's reason.
		h2 := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 4, Users: 1, FilesPerUser: 1}})
		h2.startWorker(nil)
		h2.info.ClientSecret = "not-the-secret"
		h2.addTenant()
		_, err = h2.cli("tenant", "verify", "--user", h2.user(0).Mail)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "AADSTS7000215")
	})
}

func TestProfileScheduleRunsByItself(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 6, Users: 2, FilesPerUser: 10}})
	h.startWorker(nil)
	h.addTenant()
	h.mustCLI("profile", "create", "fast", "--interval", "1m", "--exclude-ext", ".tmp")
	u := h.user(0)
	h.mustCLI("user", "add", u.UPN, "--profile", "fast", "--no-backup")

	scheduleID := "profile/" + h.info.TenantID + "/fast"
	require.Eventually(t, func() bool {
		snaps, err := h.store.Snapshots(h.ctx, catalog.SnapshotFilter{UserApp: catalog.UserApp{UserID: u.ID}, State: catalog.StateComplete})
		return err == nil && len(snaps) > 0 && snaps[0].Trigger == "scheduled"
	}, 3*time.Minute, time.Second, "the schedule backs the profile's user up by itself")

	out, err := exec.Command(temporalCLI(t), "schedule", "describe", "--schedule-id", scheduleID,
		"--address", h.cfg.TemporalAddress, "-o", "json").CombinedOutput()
	require.NoError(t, err, string(out))
	var desc map[string]any
	require.NoError(t, json.Unmarshal(out, &desc), string(out))
	assert.Contains(t, string(out), "ScheduledBackupWorkflow")
	assert.Contains(t, string(out), "SCHEDULE_OVERLAP_POLICY_SKIP")

	h.mustCLI("schedule", "pause", "fast")
	out, err = exec.Command(temporalCLI(t), "schedule", "describe", "--schedule-id", scheduleID, "--address", h.cfg.TemporalAddress, "-o", "json").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), `"paused": true`)

	_, err = h.cli("profile", "update", "fast", "--retention", "onedrive=1y")
	assert.ErrorContains(t, err, "OneDrive retention is fixed at 7 years")
	h.mustCLI("profile", "update", "fast", "--recoverable-items")
	actions := h.auditActions(t)
	assert.Positive(t, actions["profile.update"], "profile edits are audited")
	entries, err := h.store.AuditLog(h.ctx, time.Time{})
	require.NoError(t, err)
	for _, e := range entries {
		if e.Action == "profile.update" {
			assert.Contains(t, e.Before, `"recoverableItems":false`)
			assert.Contains(t, e.After, `"recoverableItems":true`)
		}
	}
}

func TestImportCSV(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 7, Users: 3, FilesPerUser: 2}})
	h.startWorker(nil)
	h.addTenant()
	h.mustCLI("profile", "create", "staff", "--interval", "24h")
	a, b := h.user(0), h.user(1)
	csvPath := filepath.Join(t.TempDir(), "users.csv")
	content := fmt.Sprintf("email,profile\n%s,staff\nnot-an-email,staff\n%s,nosuchprofile\nghost@%s,staff\n%s,staff\n", a.Mail, b.Mail, h.info.Domain, a.Mail)
	require.NoError(t, os.WriteFile(csvPath, []byte(content), 0o600))
	_, err := h.cli("user", "import", csvPath, "--no-backup")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nothing imported")
	users, err := h.store.Users(h.ctx, h.info.TenantID)
	require.NoError(t, err)
	assert.Empty(t, users, "nothing applied")

	var errOut syncBuffer
	code := cli.Main(context.Background(), append([]string{"user", "import", csvPath, "--no-backup", "--skip-invalid"}, h.flags()...), &bytes.Buffer{}, &errOut)
	assert.Zero(t, code, errOut.String())
	for _, want := range []string{"line 3: not-an-email", "line 6: " + a.Mail + ": " + a.Mail + " is already on line 2",
		`line 4: ` + b.Mail + `: no profile named "nosuchprofile"`, "line 5: ghost@" + h.info.Domain + ": not found in the tenant's directory"} {
		assert.Contains(t, errOut.String(), want)
	}
	users, err = h.store.Users(h.ctx, h.info.TenantID)
	require.NoError(t, err)
	require.Len(t, users, 1, "only the good row")
	assert.Equal(t, a.ID, users[0].ID)
	assert.Equal(t, "staff", users[0].ProfileID)
}

func TestPrivacyPolicyRefusesARestore(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 8, Users: 2, FilesPerUser: 5}})
	h.startWorker(nil)
	h.addTenant() // makes e2e-admin the cloud administrator
	h.mustCLI("profile", "create", "legal", "--restore-roles", "cloud-admin", "--download-roles", "compliance")
	u := h.user(0)
	h.mustCLI("user", "add", u.UPN, "--profile", "legal", "--no-backup")
	h.mustCLI("backup", "now", "--wait")
	h.mustCLI("admin", "add", "olga", "restore-operator")

	olga := *h
	olga.cfg.Actor = "olga"
	_, err := olga.cli("restore", "--user", u.UPN)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused by policy")
	assert.Contains(t, err.Error(), `profile "legal" lets only cloud-admin restore`)
	_, err = olga.cli("profile", "create", "x")
	assert.ErrorContains(t, err, "a restore-operator may not manage profiles")
	_, err = h.cli("restore", "--user", u.UPN, "--to-user", h.user(1).UPN)
	assert.ErrorContains(t, err, "does not allow restoring its users' data to another user")

	var jobs int
	require.NoError(t, h.store.DB().Get(&jobs, `SELECT COUNT(*) FROM jobs`))
	assert.Zero(t, jobs, "nothing was started")
	actions := h.auditActions(t)
	assert.Equal(t, 2, actions["restore.refused"], "refusals are audited")
	out := h.mustCLI("audit", "--json")
	assert.Contains(t, out, "restore.refused")
	assert.Contains(t, out, "olga")
}

func TestVerifyUserWithoutMailbox(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 9, Users: 1, FilesPerUser: 2}})
	h.startWorker(nil)
	h.addTenant()
	var none graphsim.UserInfo
	for _, u := range h.sim.Users() {
		if u.Kind == "none" {
			none = u
		}
	}
	require.NotEmpty(t, none.ID, "graphsim seeds a user without a mailbox")
	out, err := h.cli("tenant", "verify", "--user", none.UPN, "--apps", "onedrive,exchange")
	require.Error(t, err)
	assert.Regexp(t, `drive present\s+pass`, out)
	assert.Regexp(t, `mailbox reachable\s+FAIL`, out)
	assert.Contains(t, err.Error(), "MailboxNotEnabledForRESTAPI", "Graph's code is reported")

	mailboxUser := h.user(0)
	out = h.mustCLI("tenant", "verify", "--user", mailboxUser.Mail, "--apps", "onedrive,exchange")
	assert.Regexp(t, `mailbox reachable\s+pass\s+user mailbox`, out)
}

func TestDirectoryMappingPicksUpNewUsers(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: graphsim.Options{Seed: 10, Users: 3, FilesPerUser: 3}})
	h.startWorker(nil)
	h.addTenant()
	h.mustCLI("profile", "create", "sales", "--interval", "24h")
	h.mustCLI("mapping", "add", "--attribute", "department=Sales", "--profile", "sales")
	h.mustCLI("directory", "sync") // the first sync reads the whole directory

	newcomer, err := h.sim.AddUser(graphsim.AddUserRequest{UPN: "new.seller@" + h.info.Domain, DisplayName: "New Seller",
		Department: "Sales", Mailbox: "user", Drive: true})
	require.NoError(t, err)
	out := h.mustCLI("directory", "sync")
	assert.Contains(t, out, "added new.seller@")
	u, err := h.store.User(h.ctx, h.info.TenantID, newcomer.ID)
	require.NoError(t, err)
	assert.Equal(t, "sales", u.ProfileID)
	require.Eventually(t, func() bool {
		snaps, err := h.store.Snapshots(h.ctx, catalog.SnapshotFilter{UserApp: catalog.UserApp{UserID: newcomer.ID}, State: catalog.StateComplete})
		return err == nil && len(snaps) == 1 && snaps[0].Trigger == "initial"
	}, 2*time.Minute, 200*time.Millisecond, "the new user's first backup ran by itself")

	// Only the newcomer changed: a second sync adds nobody.
	out = h.mustCLI("directory", "sync", "--json")
	assert.Contains(t, out, `"Added": null`)
	desc, err := exec.Command(temporalCLI(t), "schedule", "describe", "--schedule-id", "directory-sync/"+h.info.TenantID,
		"--address", h.cfg.TemporalAddress).CombinedOutput()
	require.NoError(t, err, string(desc))
	assert.Contains(t, string(desc), "DirectorySyncWorkflow")
	assert.Contains(t, h.auditActions(t), "mapping.add")
}
