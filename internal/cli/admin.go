package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/policy"
)

func init() { register((*app).adminCmd) }

// role is the role of the admin the CLI acts for (HOLDFAST_ACTOR).
func (a *app) role(ctx context.Context) (string, error) {
	s, err := a.catalog(ctx)
	if err != nil {
		return "", err
	}
	return s.AdminRole(ctx, a.cfg.Actor)
}

// authorize refuses, before anything is done, what the acting admin's role
// may not do.
func (a *app) authorize(ctx context.Context, action policy.Action) error {
	role, err := a.role(ctx)
	if err != nil {
		return err
	}
	if err := policy.Allow(role, action); err != nil {
		return fmt.Errorf("%s (acting as %s): %w", a.cfg.Actor, role, err)
	}
	return nil
}

// audit appends an entry for the acting admin.
func (a *app) audit(ctx context.Context, action, object, before, after string) error {
	return a.store.Audit(ctx, catalog.AuditEntry{Actor: a.cfg.Actor, Action: action, Object: object, Before: before, After: after})
}

func (a *app) adminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administrators and their roles (" + fmt.Sprint(catalog.Roles) + ")"}
	add := &cobra.Command{
		Use:   "add NAME ROLE",
		Short: "Register an administrator (or change their role)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.authorize(ctx, policy.ManageTenants); err != nil {
				return err
			}
			if !catalog.ValidRole(args[1]) {
				return fmt.Errorf("unknown role %q (roles: %v)", args[1], catalog.Roles)
			}
			before, _ := a.store.AdminRole(ctx, args[0])
			if err := a.store.AddAdmin(ctx, args[0], args[1]); err != nil {
				return err
			}
			if err := a.audit(ctx, "admin.add", args[0], before, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s is a %s\n", args[0], args[1])
			return nil
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove an administrator",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.authorize(ctx, policy.ManageTenants); err != nil {
				return err
			}
			if err := a.store.RemoveAdmin(ctx, args[0]); err != nil {
				return err
			}
			return a.audit(ctx, "admin.remove", args[0], "", "")
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List administrators",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := a.authorize(ctx, policy.Read); err != nil {
				return err
			}
			admins, err := a.store.Admins(ctx)
			if err != nil {
				return err
			}
			if a.jsonOut {
				if admins == nil {
					admins = []catalog.Admin{}
				}
				return printJSON(a.out, admins)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE")
			for _, ad := range admins {
				fmt.Fprintf(tw, "%s\t%s\n", ad.Name, ad.Role)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(add, remove, list)
	return cmd
}
