package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/policy"
)

func init() { register((*app).holdCmd) }

func (a *app) holdCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "hold", Short: "Legal holds: a held user's backups never expire"}
	cmd.AddCommand(a.holdAddCmd(), a.holdRemoveCmd(), a.holdListCmd())
	return cmd
}

func (a *app) holdAddCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "add USER",
		Short: "Put a user on legal hold: retention keeps every snapshot of every app of theirs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, u, err := a.tenantUser(ctx, policy.ManagePolicy, args[0])
			if err != nil {
				return err
			}
			h, added, err := a.store.AddHold(ctx, catalog.Hold{TenantID: t.ID, UserID: u.ID, Reason: reason, CreatedBy: a.cfg.Actor})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.out, struct {
					catalog.Hold
					Added bool
				}{h, added})
			}
			if !added {
				fmt.Fprintf(a.out, "%s is already on legal hold (since %s, by %s)\n", u.UPN, timeText(h.CreatedAt), h.CreatedBy)
				return nil
			}
			fmt.Fprintf(a.out, "%s is on legal hold: retention keeps all of their backups until the hold is removed\n", u.UPN)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (a case or ticket reference), recorded with the hold and in the audit log")
	return cmd
}

func (a *app) holdRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove USER",
		Short: "Lift a user's legal hold: their backups expire by retention again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, u, err := a.tenantUser(ctx, policy.ManagePolicy, args[0])
			if err != nil {
				return err
			}
			h, err := a.store.RemoveHold(ctx, t.ID, u.ID, a.cfg.Actor)
			if errors.Is(err, catalog.ErrNotFound) {
				return fmt.Errorf("%s is not on legal hold (see `holdfast hold list`)", u.UPN)
			}
			if err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.out, h)
			}
			fmt.Fprintf(a.out, "legal hold on %s removed (it was placed %s by %s)\n", u.UPN, timeText(h.CreatedAt), h.CreatedBy)
			return nil
		},
	}
}

func (a *app) holdListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the users on legal hold",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.Read)
			if err != nil {
				return err
			}
			holds, err := a.store.Holds(ctx, t.ID)
			if err != nil {
				return err
			}
			if a.jsonOut {
				if holds == nil {
					holds = []catalog.Hold{}
				}
				return printJSON(a.out, holds)
			}
			if len(holds) == 0 {
				fmt.Fprintln(a.out, "no user is on legal hold")
				return nil
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tSINCE\tBY\tREASON")
			for _, h := range holds {
				upn := h.UPN
				if upn == "" {
					upn = h.UserID
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", upn, timeText(h.CreatedAt), h.CreatedBy, h.Reason)
			}
			return tw.Flush()
		},
	}
}
