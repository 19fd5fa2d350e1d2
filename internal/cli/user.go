package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/policy"
	"github.com/holdfast/holdfast/workflows"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Users under protection"}
	cmd.AddCommand(a.userAddCmd(), a.userListCmd())
	return cmd
}

func (a *app) userAddCmd() *cobra.Command {
	var apps []string
	var noBackup bool
	cmd := &cobra.Command{
		Use:   "add EMAIL|UPN|ID...",
		Short: "Protect users (looked up in the tenant's directory) and start their first backup",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			ctx := cmd.Context()
			if err := a.authorize(ctx, policy.ManagePolicy); err != nil {
				return err
			}
			t, err := a.tenant(ctx)
			if err != nil {
				return err
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			in := workflows.AddUsersInput{AddUsersInput: activities.AddUsersInput{TenantID: t.ID, Refs: refs, Apps: apps,
				Actor: a.cfg.Actor}, FirstBackup: !noBackup}
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: fmt.Sprintf("add-users/%s/%d", t.ID, time.Now().UnixNano()), TaskQueue: workflows.TaskQueue}, workflows.AddUsersWorkflow, in)
			if err != nil {
				return err
			}
			var res workflows.AddUsersResult
			if err := run.Get(ctx, &res); err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.out, res)
			}
			for _, u := range res.Users {
				state := "added"
				if u.Existed {
					state = "already protected"
				}
				fmt.Fprintf(a.out, "%s (%s): %s, apps %s\n", u.UPN, u.ID, state, strings.Join(apps, ","))
			}
			for _, id := range res.Backups {
				fmt.Fprintf(a.out, "first backup running: %s\n", id)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&apps, "apps", []string{activities.AppOneDrive}, "apps to protect")
	cmd.Flags().BoolVar(&noBackup, "no-backup", false, "do not start the first backup now")
	return cmd
}

func (a *app) userListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Protected users with the state of their last backup",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := a.authorize(ctx, policy.Read); err != nil {
				return err
			}
			t, err := a.tenant(ctx)
			if err != nil {
				return err
			}
			sts, err := a.store.UserAppStatuses(ctx, t.ID)
			if err != nil {
				return err
			}
			if a.jsonOut {
				type row struct {
					UserID, UPN, DisplayName, App string
					Enabled                       bool
					LastSnapshot                  int64     `json:",omitempty"`
					LastState                     string    `json:",omitempty"`
					LastError                     string    `json:",omitempty"`
					LastFinished                  time.Time `json:",omitzero"`
					Items, Bytes                  int64
				}
				rows := []row{}
				for _, s := range sts {
					r := row{UserID: s.User.ID, UPN: s.User.UPN, DisplayName: s.User.DisplayName, App: s.App, Enabled: s.Enabled}
					if s.Last != nil {
						r.LastSnapshot, r.LastState, r.LastError, r.LastFinished = s.Last.ID, s.Last.State, s.Last.Error, s.Last.FinishedAt
					}
					if s.LastGood != nil {
						r.Items, r.Bytes = s.LastGood.ItemsTotal, s.LastGood.BytesTotal
					}
					rows = append(rows, r)
				}
				return printJSON(a.out, rows)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tAPP\tENABLED\tLAST BACKUP\tRESULT\tITEMS\tSIZE")
			for _, s := range sts {
				last, result, items, size := "never", "-", "-", "-"
				if s.Last != nil {
					last, result = timeText(s.Last.StartedAt), s.Last.State
					if s.Last.Error != "" {
						result += ": " + s.Last.Error
					}
				}
				if s.LastGood != nil {
					items, size = fmt.Sprint(s.LastGood.ItemsTotal), bytesText(s.LastGood.BytesTotal)
				}
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\t%s\n", s.User.UPN, s.App, s.Enabled, last, result, items, size)
			}
			return tw.Flush()
		},
	}
}
