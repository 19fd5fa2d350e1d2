// Package cli is the `holdfast` command: tenants, users, backups,
// restores, downloads and verification. Catalog reads and edits happen
// directly; anything that takes longer than a request runs as a Temporal
// workflow that the command starts (and, by default, waits for).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gocloud.dev/blob"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/config"
	"github.com/holdfast/holdfast/internal/keys"
	"github.com/holdfast/holdfast/internal/policy"
)

// Main runs the CLI and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := &app{out: stdout, errOut: stderr}
	root := app.root()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	app.close()
	if err != nil {
		fmt.Fprintln(stderr, "holdfast: "+oneLine(err))
		return 1
	}
	return 0
}

// app holds what commands share, opened on first use.
type app struct {
	out, errOut io.Writer
	cfg         config.Config
	tenantRef   string
	jsonOut     bool

	store    *catalog.Store
	temporal client.Client
	bucket   *blob.Bucket
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "holdfast",
		Short:         "Back up and restore Microsoft 365, encrypted under your key, into storage you own",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			a.cfg = cfg
			return err
		},
	}
	config.Flags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&a.tenantRef, "tenant", os.Getenv("HOLDFAST_TENANT"), "tenant name or ID (default: the only tenant)")
	root.PersistentFlags().BoolVar(&a.jsonOut, "json", false, "print JSON instead of a table")
	for _, cmd := range commands {
		root.AddCommand(cmd(a))
	}
	return root
}

// commands are the top-level commands; each file registers its own.
var commands []func(*app) *cobra.Command

func register(cmd func(*app) *cobra.Command) { commands = append(commands, cmd) }

func init() {
	register((*app).tenantCmd)
	register((*app).userCmd)
	register((*app).backupCmd)
	register((*app).restoreCmd)
	register((*app).downloadCmd)
	register((*app).verifyCmd)
	register((*app).keyCmd)
}

func (a *app) close() {
	if a.temporal != nil {
		a.temporal.Close()
	}
	if a.bucket != nil {
		a.bucket.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
}

// catalog opens the catalog.
func (a *app) catalog(ctx context.Context) (*catalog.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	if a.cfg.NeedsHome() {
		if err := os.MkdirAll(a.cfg.Home, 0o700); err != nil {
			return nil, err
		}
	}
	s, err := catalog.Open(ctx, a.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	a.store = s
	return s, nil
}

// client connects to Temporal.
func (a *app) client(ctx context.Context) (client.Client, error) {
	if a.temporal != nil {
		return a.temporal, nil
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(dctx, client.Options{HostPort: a.cfg.TemporalAddress, Namespace: a.cfg.TemporalNamespace,
		Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (is the server running? set HOLDFAST_TEMPORAL_ADDRESS): %v", a.cfg.TemporalAddress, err)
	}
	a.temporal = c
	return c, nil
}

// blobs opens the blob store (where downloads are written).
func (a *app) blobs(ctx context.Context) (*blob.Bucket, error) {
	if a.bucket != nil {
		return a.bucket, nil
	}
	b, err := blob.OpenBucket(ctx, a.cfg.BlobURL)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	a.bucket = b
	return b, nil
}

// tenant resolves --tenant (or the only tenant).
func (a *app) tenant(ctx context.Context) (catalog.Tenant, error) {
	s, err := a.catalog(ctx)
	if err != nil {
		return catalog.Tenant{}, err
	}
	if a.tenantRef != "" {
		t, err := s.Tenant(ctx, a.tenantRef)
		if errors.Is(err, catalog.ErrNotFound) {
			return t, fmt.Errorf("unknown tenant %q (see `holdfast tenant list`)", a.tenantRef)
		}
		return t, err
	}
	all, err := s.Tenants(ctx)
	if err != nil {
		return catalog.Tenant{}, err
	}
	switch len(all) {
	case 0:
		return catalog.Tenant{}, errors.New("no tenant yet: add one with `holdfast tenant add`")
	case 1:
		return all[0], nil
	}
	return catalog.Tenant{}, errors.New("several tenants: choose one with --tenant")
}

// user resolves a user of the tenant by email, UPN or ID.
func (a *app) user(ctx context.Context, t catalog.Tenant, ref string) (catalog.User, error) {
	u, err := a.store.User(ctx, t.ID, ref)
	if errors.Is(err, catalog.ErrNotFound) {
		return u, fmt.Errorf("unknown user %q in tenant %s (add it with `holdfast user add`)", ref, t.Name)
	}
	return u, err
}

// authorizedTenant checks the actor may take action, then resolves the
// tenant: what every command about a tenant does first.
func (a *app) authorizedTenant(ctx context.Context, action policy.Action) (catalog.Tenant, error) {
	if err := a.authorize(ctx, action); err != nil {
		return catalog.Tenant{}, err
	}
	return a.tenant(ctx)
}

// tenantUser is authorizedTenant, then one of the tenant's users.
func (a *app) tenantUser(ctx context.Context, action policy.Action, ref string) (catalog.Tenant, catalog.User, error) {
	t, err := a.authorizedTenant(ctx, action)
	if err != nil {
		return t, catalog.User{}, err
	}
	u, err := a.user(ctx, t, ref)
	return t, u, err
}

// oneLine makes an error one clear line: the message of an application
// error from a workflow, without the SDK's wrapping.
func oneLine(err error) string {
	var appErr *temporal.ApplicationError
	msg := err.Error()
	if errors.As(err, &appErr) {
		msg = appErr.Message()
	}
	if errors.Is(err, keys.ErrUnavailable) && !strings.Contains(msg, "ekey unavailable") {
		msg = "ekey unavailable: " + msg
	}
	return strings.Join(strings.Fields(msg), " ")
}

// quietLogger keeps the SDK's connection chatter out of the CLI's output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
