package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/keys"
	"github.com/holdfast/holdfast/internal/policy"
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (a *app) tenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Microsoft 365 tenants Holdfast protects"}
	cmd.AddCommand(a.tenantAddCmd(), a.tenantConnectCmd(), a.tenantVerifyCmd(), a.tenantListCmd())
	return cmd
}

type tenantAddFlags struct {
	name, tenantID, clientID       string
	secret, secretFile, certFile   string
	graphURL, authorityURL, caFile string
}

func (a *app) tenantAddCmd() *cobra.Command {
	var f tenantAddFlags
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Register a tenant's app credentials (client secret or certificate) and create its ekey",
		Long: `Registers an Entra ID app registration that has been granted Holdfast's
application permissions in the tenant. The credential is sealed with the
key-encryption key (HOLDFAST_KEEPER_URL) before it is stored, and the
tenant's data keys are generated and stored wrapped by the same key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.tenantAdd(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "a short name for the tenant, e.g. contoso (required)")
	fl.StringVar(&f.tenantID, "tenant-id", "", "Entra tenant ID, a GUID (required)")
	fl.StringVar(&f.clientID, "client-id", "", "application (client) ID of the app registration (required)")
	fl.StringVar(&f.secret, "client-secret", os.Getenv("HOLDFAST_CLIENT_SECRET"), "client secret (prefer --client-secret-file or env HOLDFAST_CLIENT_SECRET)")
	fl.StringVar(&f.secretFile, "client-secret-file", "", "file holding the client secret")
	fl.StringVar(&f.certFile, "cert-file", "", "PEM file with the app's certificate and private key")
	fl.StringVar(&f.graphURL, "graph-url", "https://graph.microsoft.com/v1.0", "Microsoft Graph endpoint")
	fl.StringVar(&f.authorityURL, "authority-url", "", "Entra ID authority (default https://login.microsoftonline.com/<tenant-id>)")
	fl.StringVar(&f.caFile, "ca-file", "", "extra CA certificate for the Graph and authority endpoints (private endpoints, the simulator)")
	return cmd
}

func (a *app) tenantAdd(cmd *cobra.Command, f tenantAddFlags) error {
	ctx := cmd.Context()
	switch {
	case f.name == "" || strings.ContainsAny(f.name, " /\\"):
		return errors.New("--name is required: a short name without spaces or slashes, e.g. contoso")
	case !guidRE.MatchString(f.tenantID):
		return fmt.Errorf("--tenant-id %q is not a GUID (find it under Entra ID > Overview > Tenant ID)", f.tenantID)
	case !guidRE.MatchString(f.clientID):
		return fmt.Errorf("--client-id %q is not a GUID (the app registration's Application (client) ID)", f.clientID)
	}
	if f.authorityURL == "" {
		f.authorityURL = "https://login.microsoftonline.com/" + f.tenantID
	}
	for name, u := range map[string]string{"--graph-url": f.graphURL, "--authority-url": f.authorityURL} {
		if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
			return fmt.Errorf("%s %q is not an https URL", name, u)
		}
	}
	kind, cred, err := credential(f)
	if err != nil {
		return err
	}
	if err := a.authorize(ctx, policy.ManageTenants); err != nil {
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
	keeper, err := keys.OpenKeeper(ctx, a.cfg.KeeperURL)
	if err != nil {
		return err
	}
	defer keeper.Close()
	sealed, err := keys.SealSecret(ctx, keeper, cred)
	if err != nil {
		return err
	}
	w, err := keys.Generate(ctx, keeper)
	if err != nil {
		return err
	}
	s, err := a.catalog(ctx)
	if err != nil {
		return err
	}
	t := catalog.Tenant{ID: strings.ToLower(f.tenantID), Name: f.name, ClientID: strings.ToLower(f.clientID), AuthKind: kind,
		Credential: sealed, GraphURL: strings.TrimRight(f.graphURL, "/"), AuthorityURL: strings.TrimRight(f.authorityURL, "/"),
		CAFile: f.caFile, State: "connected"}
	if err := s.AddTenant(ctx, t, catalog.TenantKey{KeyID: w.KeyID, WrappedDataKey: w.DataKey, WrappedChunkKey: w.ChunkIDKey}); err != nil {
		if errors.Is(err, catalog.ErrExists) {
			return fmt.Errorf("a tenant named %s or with ID %s is already registered", f.name, f.tenantID)
		}
		return err
	}
	if err := a.bootstrapAdmin(ctx); err != nil {
		return err
	}
	if c, err := a.client(ctx); err == nil {
		if err := a.ensureTenantSchedules(ctx, c, t); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.errOut, "warning: %v; the tenant's retention schedule will be created by the next profile command\n", err)
	}
	if err := s.Audit(ctx, catalog.AuditEntry{Actor: a.cfg.Actor, Action: "tenant.add", Object: t.Name,
		After: fmt.Sprintf(`{"id":%q,"clientId":%q,"auth":%q,"keyId":%q}`, t.ID, t.ClientID, kind, w.KeyID)}); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "tenant %s (%s) added; credential sealed and ekey %s created\n", t.Name, t.ID, w.KeyID)
	return nil
}

// credential reads the one credential given.
func credential(f tenantAddFlags) (kind string, cred []byte, err error) {
	given := 0
	for _, v := range []string{f.secret, f.secretFile, f.certFile} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return "", nil, errors.New("give exactly one of --client-secret, --client-secret-file and --cert-file")
	}
	switch {
	case f.certFile != "":
		pem, err := os.ReadFile(f.certFile)
		if err != nil {
			return "", nil, fmt.Errorf("--cert-file: %w", err)
		}
		if !strings.Contains(string(pem), "CERTIFICATE") || !strings.Contains(string(pem), "PRIVATE KEY") {
			return "", nil, fmt.Errorf("--cert-file %s must hold the certificate and its private key in PEM", f.certFile)
		}
		return "certificate", pem, nil
	case f.secretFile != "":
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return "", nil, fmt.Errorf("--client-secret-file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", nil, fmt.Errorf("--client-secret-file %s is empty", f.secretFile)
		}
		return "secret", []byte(s), nil
	}
	return "secret", []byte(f.secret), nil
}

func (a *app) tenantListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List registered tenants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.catalog(cmd.Context())
			if err != nil {
				return err
			}
			ts, err := s.Tenants(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				type row struct {
					ID, Name, ClientID, Auth, GraphURL, State string
				}
				rows := []row{}
				for _, t := range ts {
					rows = append(rows, row{t.ID, t.Name, t.ClientID, t.AuthKind, t.GraphURL, t.State})
				}
				return printJSON(a.out, rows)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTENANT ID\tCLIENT ID\tAUTH\tGRAPH\tSTATE")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, t.ClientID, t.AuthKind, t.GraphURL, t.State)
			}
			return tw.Flush()
		},
	}
}

func (a *app) keyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Key-encryption keys"}
	cmd.AddCommand(a.keyRotateCmd(), a.keyStatusCmd(), &cobra.Command{
		Use:   "new-local-kek",
		Short: "Print a new random base64key:// KEK URL (for evaluation; use a cloud KMS in production)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := keys.NewLocalKEK()
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, u)
			return nil
		},
	})
	return cmd
}
