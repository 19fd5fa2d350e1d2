package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/policy"
	"github.com/holdfast/holdfast/internal/schedules"
	"github.com/holdfast/holdfast/workflows"
)

func init() {
	register((*app).mappingCmd)
	register((*app).directoryCmd)
}

func (a *app) mappingCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "mapping", Short: "Directory rules that bring users under a profile automatically"}
	var group, attribute, profile string
	add := &cobra.Command{
		Use:   "add (--group NAME | --attribute KEY=VALUE) --profile PROFILE",
		Short: "Add a rule; directory sync applies it every few minutes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			m := catalog.Mapping{ProfileID: profile}
			switch {
			case (group == "") == (attribute == ""):
				return fmt.Errorf("give --group or --attribute (one of them)")
			case profile == "":
				return fmt.Errorf("--profile is required")
			case group != "":
				m.Kind, m.GroupName = catalog.MappingGroup, group
			default:
				k, v, ok := strings.Cut(attribute, "=")
				k = strings.ToLower(strings.TrimSpace(k))
				if !ok || strings.TrimSpace(v) == "" {
					return fmt.Errorf("--attribute %q: write KEY=VALUE, e.g. department=Sales", attribute)
				}
				known := activities.MappedAttributes()
				if !slices.Contains(known, k) {
					return fmt.Errorf("--attribute: %q cannot be matched (attributes: %s)", k, strings.Join(known, ", "))
				}
				m.Kind, m.Attribute, m.Value = catalog.MappingAttribute, k, strings.TrimSpace(v)
			}
			t, c, err := a.policyContext(ctx)
			if err != nil {
				return err
			}
			m.TenantID = t.ID
			m, err = a.store.AddMapping(ctx, m)
			if err != nil {
				return a.unknownProfile(err, profile)
			}
			if err := schedules.EnsureDirectorySync(ctx, c, t.ID); err != nil {
				return fmt.Errorf("create the directory-sync schedule: %w", err)
			}
			if err := a.audit(ctx, "mapping.add", m.ID, "", m.String()); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "mapping %s: %s (applied by schedule %s every %s)\n", m.ID, m, schedules.DirectoryScheduleID(t.ID), schedules.DirectorySyncEvery)
			return nil
		},
	}
	add.Flags().StringVar(&group, "group", "", "directory group whose members join the profile")
	add.Flags().StringVar(&attribute, "attribute", "", "user attribute to match, e.g. department=Sales")
	add.Flags().StringVar(&profile, "profile", "", "profile the matching users join")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the rules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.Read)
			if err != nil {
				return err
			}
			ms, err := a.store.Mappings(ctx, t.ID)
			if err != nil {
				return err
			}
			if a.jsonOut {
				if ms == nil {
					ms = []catalog.Mapping{}
				}
				return printJSON(a.out, ms)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRULE")
			for _, m := range ms {
				fmt.Fprintf(tw, "%s\t%s\n", m.ID, m)
			}
			return tw.Flush()
		},
	}
	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a rule (users it added stay protected)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.ManagePolicy)
			if err != nil {
				return err
			}
			m, err := a.store.RemoveMapping(ctx, t.ID, args[0])
			if err != nil {
				return err
			}
			return a.audit(ctx, "mapping.remove", m.ID, m.String(), "")
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

func (a *app) directoryCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "directory", Short: "Directory synchronisation"}
	cmd.AddCommand(&cobra.Command{
		Use:   "sync",
		Short: "Apply the mapping rules to the directory now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, c, err := a.policyContext(ctx)
			if err != nil {
				return err
			}
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: fmt.Sprintf("%s-manual-%d", workflows.DirectorySyncWorkflowID(t.ID), time.Now().UnixNano()), TaskQueue: workflows.TaskQueue},
				workflows.DirectorySyncWorkflow, activities.DirectorySyncInput{TenantID: t.ID})
			if err != nil {
				return err
			}
			var res workflows.DirectorySyncResult
			if err := run.Get(ctx, &res); err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.out, res)
			}
			fmt.Fprintf(a.out, "%d directory changes; %d users added, %d removed\n", res.Changed, len(res.Added), res.Removed)
			for _, u := range res.Added {
				fmt.Fprintf(a.out, "  added %s (%s mailbox), apps %s\n", u.UPN, u.Kind, strings.Join(u.Apps, ","))
			}
			a.printRowErrors(res.Invalid)
			return nil
		},
	})
	return cmd
}
