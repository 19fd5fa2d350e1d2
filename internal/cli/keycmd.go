package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gocloud.dev/secrets"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/keys"
	"github.com/holdfast/holdfast/internal/policy"
)

// keyRotateCmd re-wraps every tenant's keys and sealed credentials under a
// new KEK: cheap (the data is untouched) and all-or-nothing.
func (a *app) keyRotateCmd() *cobra.Command {
	var newURL string
	cmd := &cobra.Command{
		Use:   "rotate --new-keeper URL",
		Short: "Re-wrap every tenant's ekey and credential under a new key-encryption key",
		Long: `Unwraps each tenant's data keys and its sealed Graph credential with the
current KEK (HOLDFAST_KEEPER_URL) and wraps them again with the new one, in
one catalog transaction. Point the workers at the new KEK afterwards
(HOLDFAST_KEEPER_URL) and restart them; the old KEK can then be retired.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if newURL == "" {
				return errors.New("--new-keeper is required")
			}
			if err := a.authorize(ctx, policy.ManageTenants); err != nil {
				return err
			}
			from, err := keys.OpenKeeper(ctx, a.cfg.KeeperURL)
			if err != nil {
				return err
			}
			defer from.Close()
			to, err := keys.OpenKeeper(ctx, newURL)
			if err != nil {
				return fmt.Errorf("new KEK: %w", err)
			}
			defer to.Close()
			tenants, err := a.store.Tenants(ctx)
			if err != nil {
				return err
			}
			var updates []catalog.Rewrapped
			for _, t := range tenants {
				u := catalog.Rewrapped{TenantID: t.ID}
				stored, err := a.store.TenantKeys(ctx, t.ID)
				if err != nil {
					return err
				}
				for _, k := range stored {
					w, err := keys.Rewrap(ctx, from, to, keys.Wrapped{KeyID: k.KeyID, DataKey: k.WrappedDataKey, ChunkIDKey: k.WrappedChunkKey})
					if err != nil {
						return fmt.Errorf("tenant %s key %s: %w", t.Name, k.KeyID, err)
					}
					u.Keys = append(u.Keys, catalog.TenantKey{TenantID: t.ID, KeyID: w.KeyID, WrappedDataKey: w.DataKey, WrappedChunkKey: w.ChunkIDKey})
				}
				cred, err := keys.OpenSecret(ctx, from, t.Credential)
				if err != nil {
					return fmt.Errorf("tenant %s credential: %w", t.Name, err)
				}
				if u.Credential, err = keys.SealSecret(ctx, to, cred); err != nil {
					return err
				}
				clear(cred)
				updates = append(updates, u)
			}
			if err := a.store.Rewrap(ctx, updates); err != nil {
				return err
			}
			for _, t := range tenants {
				if err := a.audit(ctx, "key.rotate", t.Name, "", "keys and credential re-wrapped under a new KEK"); err != nil {
					return err
				}
			}
			fmt.Fprintf(a.out, "re-wrapped the keys of %d tenant(s); set HOLDFAST_KEEPER_URL to the new KEK on every worker and restart them\n", len(tenants))
			return nil
		},
	}
	cmd.Flags().StringVar(&newURL, "new-keeper", "", "the new key-encryption key (gocloud.dev/secrets URL)")
	return cmd
}

func (a *app) keyStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each tenant's key generations and whether the configured KEK unwraps them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := a.authorize(ctx, policy.Read); err != nil {
				return err
			}
			tenants, err := a.store.Tenants(ctx)
			if err != nil {
				return err
			}
			keeper, kerr := keys.OpenKeeper(ctx, a.cfg.KeeperURL)
			if keeper != nil {
				defer keeper.Close()
			}
			type row struct {
				Tenant, KeyID, Created, Status string
				Current                        bool
			}
			var rows []row
			bad := 0
			for _, t := range tenants {
				stored, err := a.store.TenantKeys(ctx, t.ID)
				if err != nil {
					return err
				}
				for _, k := range stored {
					r := row{Tenant: t.Name, KeyID: k.KeyID, Created: timeText(k.CreatedAt), Current: k.Current, Status: "ok"}
					if kerr != nil {
						r.Status = kerr.Error()
					} else if tk, err := unwrapOnce(ctx, keeper, k); err != nil {
						r.Status = err.Error()
					} else {
						tk.Destroy()
					}
					if r.Status != "ok" {
						bad++
					}
					rows = append(rows, r)
				}
			}
			if a.jsonOut {
				if rows == nil {
					rows = []row{}
				}
				if err := printJSON(a.out, rows); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TENANT\tKEY ID\tCURRENT\tCREATED\tUNWRAPS WITH THE CONFIGURED KEK")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", r.Tenant, r.KeyID, r.Current, r.Created, r.Status)
				}
				tw.Flush()
			}
			if bad > 0 {
				return fmt.Errorf("%d key generation(s) cannot be unwrapped with the configured KEK: backups of those tenants fail (ekey unavailable)", bad)
			}
			return nil
		},
	}
}

func unwrapOnce(ctx context.Context, keeper *secrets.Keeper, k catalog.TenantKey) (*keys.TenantKeys, error) {
	return keys.Unwrap(ctx, keeper, keys.Wrapped{KeyID: k.KeyID, DataKey: k.WrappedDataKey, ChunkIDKey: k.WrappedChunkKey})
}
