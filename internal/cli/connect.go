package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/keys"
	"github.com/holdfast/holdfast/internal/policy"
	"github.com/holdfast/holdfast/workflows"
)

type connectFlags struct {
	tenantAddFlags
	tenantHint  string
	loginURL    string
	port        int
	timeout     time.Duration
	verifyUser  string
	apps        []string
	noBrowser   bool
	waitForever bool
}

func (a *app) tenantConnectCmd() *cobra.Command {
	var f connectFlags
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "Connect a tenant through Entra ID admin consent, create its ekey and verify it",
		Long: `Prints (and opens, when it can) the Entra ID admin-consent URL for the app,
listens on a localhost redirect URI for the answer, and hands it to the
TenantConsentWorkflow, which records the tenant, creates its ekey and
verifies the configuration. Register http://localhost as a redirect URI of
the app (Web platform).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.tenantConnect(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "a short name for the tenant, e.g. contoso (required)")
	fl.StringVar(&f.clientID, "client-id", "", "application (client) ID of the app registration (required)")
	fl.StringVar(&f.secret, "client-secret", os.Getenv("HOLDFAST_CLIENT_SECRET"), "client secret (prefer --client-secret-file)")
	fl.StringVar(&f.secretFile, "client-secret-file", "", "file holding the client secret")
	fl.StringVar(&f.certFile, "cert-file", "", "PEM file with the app's certificate and private key")
	fl.StringVar(&f.tenantHint, "tenant", "organizations", "tenant ID or domain to ask, or organizations")
	fl.StringVar(&f.loginURL, "login-url", "https://login.microsoftonline.com", "Entra ID endpoint")
	fl.StringVar(&f.graphURL, "graph-url", "https://graph.microsoft.com/v1.0", "Microsoft Graph endpoint")
	fl.StringVar(&f.caFile, "ca-file", "", "extra CA certificate for the endpoints (private endpoints, the simulator)")
	fl.IntVar(&f.port, "redirect-port", 0, "localhost port for the redirect (0 picks one)")
	fl.DurationVar(&f.timeout, "timeout", workflows.DefaultConsentTimeout, "how long to wait for consent")
	fl.StringVar(&f.verifyUser, "verify-user", "", "email address of a user to verify after consent")
	fl.StringSliceVar(&f.apps, "apps", activities.SupportedApps, "apps to verify permissions for")
	fl.BoolVar(&f.noBrowser, "no-browser", false, "only print the consent URL")
	return cmd
}

func (a *app) tenantConnect(cmd *cobra.Command, f connectFlags) error {
	ctx := cmd.Context()
	switch {
	case f.name == "" || strings.ContainsAny(f.name, " /\\"):
		return errors.New("--name is required: a short name without spaces or slashes, e.g. contoso")
	case !guidRE.MatchString(f.clientID):
		return fmt.Errorf("--client-id %q is not a GUID (the app registration's Application (client) ID)", f.clientID)
	}
	for name, u := range map[string]string{"--graph-url": f.graphURL, "--login-url": f.loginURL} {
		if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
			return fmt.Errorf("%s %q is not an https URL", name, u)
		}
	}
	kind, cred, err := credential(f.tenantAddFlags)
	if err != nil {
		return err
	}
	if f.caFile != "" {
		if f.caFile, err = filepath.Abs(f.caFile); err != nil {
			return err
		}
		if _, err := os.Stat(f.caFile); err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
	}
	if err := a.authorize(ctx, policy.ManageTenants); err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	keeper, err := keys.OpenKeeper(ctx, a.cfg.KeeperURL)
	if err != nil {
		return err
	}
	defer keeper.Close()
	sealed, err := keys.SealSecret(ctx, keeper, cred)
	if err != nil {
		return err
	}

	// Listen first, so the redirect URI in the consent URL is live.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", f.port))
	if err != nil {
		return fmt.Errorf("listen for the consent redirect: %w", err)
	}
	defer ln.Close()
	redirectURI := fmt.Sprintf("http://localhost:%d/", ln.Addr().(*net.TCPAddr).Port)
	var b [16]byte
	rand.Read(b[:])
	state := hex.EncodeToString(b[:])

	conn := catalog.Connection{ID: state, Name: f.name, ClientID: strings.ToLower(f.clientID), AuthKind: kind, Credential: sealed,
		GraphURL: strings.TrimRight(f.graphURL, "/"), LoginURL: strings.TrimRight(f.loginURL, "/"), CAFile: f.caFile}
	if err := a.store.AddConnection(ctx, conn); err != nil {
		if errors.Is(err, catalog.ErrExists) {
			return fmt.Errorf("a tenant named %s is already connected", f.name)
		}
		return err
	}
	if err := a.bootstrapAdmin(ctx); err != nil {
		return err
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ConsentWorkflowID(state), TaskQueue: workflows.TaskQueue},
		workflows.TenantConsentWorkflow, workflows.ConsentInput{ConnectionID: state, Apps: f.apps, VerifyUser: f.verifyUser,
			Timeout: f.timeout, Actor: a.cfg.Actor})
	if err != nil {
		return err
	}

	consentURL := fmt.Sprintf("%s/%s/v2.0/adminconsent?%s", conn.LoginURL, url.PathEscape(f.tenantHint), url.Values{
		"client_id": {conn.ClientID}, "scope": {"https://graph.microsoft.com/.default"},
		"redirect_uri": {redirectURI}, "state": {state}}.Encode())
	fmt.Fprintf(a.errOut, "A Global Administrator of the tenant must grant consent at:\n\n  %s\n\nwaiting (workflow %s)…\n", consentURL, run.GetID())
	if !f.noBrowser {
		openBrowser(consentURL)
	}

	redirect, err := awaitRedirect(ctx, ln, state, f.timeout)
	if err == nil {
		err = c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ConsentSignal, redirect)
	}
	if err != nil && !errors.Is(err, errNoRedirect) {
		return err
	}
	var res workflows.ConsentResult
	if err := run.Get(ctx, &res); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "tenant %s (%s) connected; its ekey was created\n", res.Tenant.Name, res.Tenant.ID)
	if err := a.ensureTenantSchedules(ctx, c, catalog.Tenant{ID: res.Tenant.ID, Name: res.Tenant.Name}); err != nil {
		return err
	}
	if res.Verified != nil {
		return a.printReport(*res.Verified)
	}
	return nil
}

// bootstrapAdmin makes the first admin of a fresh catalog its cloud
// administrator.
func (a *app) bootstrapAdmin(ctx context.Context) error {
	admins, err := a.store.Admins(ctx)
	if err != nil || len(admins) > 0 || a.cfg.Actor == "" {
		return err
	}
	if err := a.store.AddAdmin(ctx, a.cfg.Actor, catalog.RoleCloudAdmin); err != nil {
		return err
	}
	return a.audit(ctx, "admin.add", a.cfg.Actor, "", catalog.RoleCloudAdmin+" (first administrator)")
}

var errNoRedirect = errors.New("no consent redirect arrived")

// awaitRedirect serves the redirect URI until the consent answer for state
// arrives.
func awaitRedirect(ctx context.Context, ln net.Listener, state string, timeout time.Duration) (workflows.ConsentRedirect, error) {
	got := make(chan workflows.ConsentRedirect, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("state") != state {
			http.Error(w, "This is not the consent request Holdfast is waiting for.", http.StatusBadRequest)
			return
		}
		red := workflows.ConsentRedirect{AdminConsent: strings.EqualFold(q.Get("admin_consent"), "true"),
			TenantID: q.Get("tenant"), Error: q.Get("error"), Description: q.Get("error_description")}
		msg := "Consent granted. Holdfast is connecting the tenant; you can close this window."
		if !red.AdminConsent {
			msg = "Consent was not granted: " + red.Error + " " + red.Description
		}
		fmt.Fprintf(w, "<!doctype html><title>Holdfast</title><p>%s</p>\n", htmlEscape(msg))
		select {
		case got <- red:
		default:
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	select {
	case r := <-got:
		return r, nil
	case <-time.After(timeout):
		return workflows.ConsentRedirect{}, errNoRedirect
	case <-ctx.Done():
		return workflows.ConsentRedirect{}, ctx.Err()
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// openBrowser tries the desktop's browser; without one the URL printed
// above is enough.
func openBrowser(u string) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" && os.Getenv("BROWSER") == "" {
		return
	}
	if path, err := exec.LookPath("xdg-open"); err == nil {
		exec.Command(path, u).Start()
	}
}

func (a *app) tenantVerifyCmd() *cobra.Command {
	var user string
	var apps []string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the app's authentication and permissions, and a user's mailbox and drive",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.Read)
			if err != nil {
				return err
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("verify-config/%s/%d", t.ID, time.Now().UnixNano()),
				TaskQueue: workflows.TaskQueue}, workflows.VerifyConfigurationWorkflow, activities.VerifyConfigInput{TenantID: t.ID, UserRef: user, Apps: apps})
			if err != nil {
				return err
			}
			var r workflows.VerifyReport
			if err := run.Get(ctx, &r); err != nil {
				return err
			}
			if err := a.audit(ctx, "tenant.verify", t.Name, "", fmt.Sprintf(`{"user":%q,"passed":%v}`, user, r.Passed)); err != nil {
				return err
			}
			return a.printReport(r)
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "email address of a user whose mailbox and drive to check")
	cmd.Flags().StringSliceVar(&apps, "apps", activities.SupportedApps, "apps to verify")
	return cmd
}

// printReport prints a verification and fails when a check failed.
func (a *app) printReport(r workflows.VerifyReport) error {
	if a.jsonOut {
		if err := printJSON(a.out, r); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
		for _, ch := range r.Checks {
			result := "FAIL"
			switch {
			case ch.Skipped:
				result = "skipped"
			case ch.Passed:
				result = "pass"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", ch.Name, result, ch.Detail)
		}
		tw.Flush()
	}
	if !r.Passed {
		for _, ch := range r.Checks {
			if !ch.Passed && !ch.Skipped {
				return fmt.Errorf("verification failed: %s: %s", ch.Name, ch.Detail)
			}
		}
		return errors.New("verification failed")
	}
	return nil
}
