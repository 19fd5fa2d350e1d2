package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"golang.org/x/term"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/mailitem"
	"github.com/holdfast/holdfast/internal/policy"
	"github.com/holdfast/holdfast/internal/tree"
	"github.com/holdfast/holdfast/workflows"
)

func (a *app) backupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "backup", Short: "Run and inspect backups"}
	cmd.AddCommand(a.backupNowCmd(), a.backupListCmd(), a.backupShowCmd())
	return cmd
}

func (a *app) backupNowCmd() *cobra.Command {
	var users, apps []string
	var wait bool
	cmd := &cobra.Command{
		Use:   "now",
		Short: "Back up now: every protected user, or the ones named",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.RunBackups)
			if err != nil {
				return err
			}
			targets, err := a.targets(ctx, t, users, apps)
			if err != nil {
				return err
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			id := workflows.ManualBackupWorkflowID(t.ID, strconv.FormatInt(time.Now().UnixNano(), 36))
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
				workflows.ManualBackupWorkflow, workflows.FanOutInput{TenantID: t.ID, Targets: targets, Trigger: "manual"})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.errOut, "backup of %d user-app(s) started: workflow %s\n", len(targets), id)
			if !wait {
				return nil
			}
			sum, err := a.waitFanOut(ctx, c, run, len(targets))
			if err != nil {
				return err
			}
			if a.jsonOut {
				if err := printJSON(a.out, sum); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.out, "%d complete, %d partial, %d failed; %d items changed, %s new\n",
					sum.Complete, sum.Partial, sum.Failed, sum.Items, bytesText(sum.BytesNew))
				for _, f := range sum.Failures {
					fmt.Fprintf(a.out, "  failed: %s %s: %s\n", a.upn(ctx, t.ID, f.UserID), f.App, f.Error)
				}
			}
			if sum.Failed > 0 {
				first := sum.Failures[0]
				return fmt.Errorf("%d of %d backups failed; %s %s: %s", sum.Failed, sum.Total, a.upn(ctx, t.ID, first.UserID), first.App, first.Error)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&users, "user", nil, "user to back up (email, UPN or ID); repeat for several; default all")
	cmd.Flags().StringSliceVar(&apps, "app", nil, "app to back up; default every enabled app")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the backups, showing progress")
	return cmd
}

// targets are the enabled user-apps selected by users and apps.
func (a *app) targets(ctx context.Context, t catalog.Tenant, users, apps []string) ([]workflows.Target, error) {
	sts, err := a.store.UserAppStatuses(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	wantUser := map[string]bool{}
	for _, ref := range users {
		u, err := a.user(ctx, t, ref)
		if err != nil {
			return nil, err
		}
		wantUser[u.ID] = true
	}
	wantApp := map[string]bool{}
	for _, app := range apps {
		wantApp[app] = true
	}
	var out []workflows.Target
	for _, s := range sts {
		if !s.Enabled || s.User.State != "active" || (len(users) > 0 && !wantUser[s.User.ID]) || (len(apps) > 0 && !wantApp[s.App]) {
			continue
		}
		out = append(out, workflows.Target{UserID: s.User.ID, App: s.App})
	}
	if len(out) == 0 {
		return nil, errors.New("nothing to back up: no enabled user-app matches")
	}
	return out, nil
}

func (a *app) upn(ctx context.Context, tenantID, userID string) string {
	if u, err := a.store.User(ctx, tenantID, userID); err == nil {
		return u.UPN
	}
	return userID
}

// waitFanOut waits for a fan-out workflow to end, with a live progress
// bar when a person is watching (stderr is a terminal).
func (a *app) waitFanOut(ctx context.Context, c client.Client, run client.WorkflowRun, total int) (workflows.FanOutSummary, error) {
	var sum workflows.FanOutSummary
	if f, ok := a.errOut.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return sum, run.Get(ctx, &sum)
	}
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(a.errOut), progressbar.OptionSetDescription("backing up"),
		progressbar.OptionShowCount(), progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish())
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, &sum) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			bar.Finish()
			return sum, err
		case <-tick.C:
			v, err := c.QueryWorkflow(ctx, run.GetID(), "", workflows.ProgressQuery)
			if err != nil {
				continue // between runs of a continue-as-new, or not started yet
			}
			var p workflows.FanOutProgress
			if v.Get(&p) == nil {
				bar.Describe(fmt.Sprintf("backing up (%d running, %d items, %s new)", p.Running, p.Items, bytesText(p.BytesNew)))
				bar.Set(p.Complete + p.Partial + p.Failed)
			}
		}
	}
}

func (a *app) backupListCmd() *cobra.Command {
	var userRef string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List snapshots, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.Read)
			if err != nil {
				return err
			}
			f := catalog.SnapshotFilter{UserApp: catalog.UserApp{TenantID: t.ID}, Limit: limit}
			if userRef != "" {
				u, err := a.user(ctx, t, userRef)
				if err != nil {
					return err
				}
				f.UserApp.UserID = u.ID
			}
			snaps, err := a.store.Snapshots(ctx, f)
			if err != nil {
				return err
			}
			if a.jsonOut {
				if snaps == nil {
					snaps = []catalog.Snapshot{}
				}
				return printJSON(a.out, snaps)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SNAPSHOT\tUSER\tAPP\tSTATE\tSTARTED\tDURATION\tITEMS\tCHANGED\tNEW\tFAILED")
			for _, s := range snaps {
				dur := "-"
				if !s.FinishedAt.IsZero() {
					dur = s.FinishedAt.Sub(s.StartedAt).Round(time.Second).String()
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%d\n", s.ID, a.upn(ctx, t.ID, s.UserID), s.App, s.State,
					timeText(s.StartedAt), dur, s.ItemsTotal, s.ItemsChanged, bytesText(s.BytesNew), s.ItemsFailed)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&userRef, "user", "", "only this user's snapshots")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many")
	return cmd
}

// snapshotArg parses and loads a snapshot ID argument.
func (a *app) snapshotArg(ctx context.Context, arg string) (catalog.Snapshot, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return catalog.Snapshot{}, fmt.Errorf("%q is not a snapshot ID (see `holdfast backup list`)", arg)
	}
	s, err := a.catalog(ctx)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	snap, err := s.Snapshot(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return snap, fmt.Errorf("unknown snapshot %d (see `holdfast backup list`)", id)
	}
	return snap, err
}

func (a *app) backupShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show SNAPSHOT",
		Short: "Show a snapshot: counts, containers, failed items",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.authorize(ctx, policy.Read); err != nil {
				return err
			}
			snap, err := a.snapshotArg(ctx, args[0])
			if err != nil {
				return err
			}
			containers, err := a.store.SnapshotContainers(ctx, snap.ID)
			if err != nil {
				return err
			}
			fails, err := a.store.SnapshotFailures(ctx, snap.ID)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.out, struct {
					catalog.Snapshot
					UPN        string
					Containers []catalog.SnapshotContainer
					Failures   []catalog.ItemFailure
				}{snap, a.upn(ctx, snap.TenantID, snap.UserID), containers, fails})
			}
			w := a.out
			fmt.Fprintf(w, "snapshot %d: %s %s, %s\n", snap.ID, a.upn(ctx, snap.TenantID, snap.UserID), snap.App, snap.State)
			if snap.Error != "" {
				fmt.Fprintf(w, "  error:    %s\n", snap.Error)
			}
			fmt.Fprintf(w, "  trigger:  %s\n  started:  %s\n  finished: %s\n", snap.Trigger, timeText(snap.StartedAt), timeText(snap.FinishedAt))
			fmt.Fprintf(w, "  items:    %d (%s), %d changed this run, %s fetched, %d failed\n",
				snap.ItemsTotal, bytesText(snap.BytesTotal), snap.ItemsChanged, bytesText(snap.BytesNew), snap.ItemsFailed)
			if snap.App == activities.AppExchange {
				if err := a.showFolders(ctx, snap, containers); err != nil {
					return err
				}
			} else {
				for _, c := range containers {
					fmt.Fprintf(w, "  %s %q: %d items seen, %s fetched, %s\n", c.Kind, c.Name, c.Items, bytesText(c.Bytes), containerState(c))
				}
			}
			for _, f := range fails {
				fmt.Fprintf(w, "  failed item %s (%s): %s\n", f.Name, f.ItemID, strings.TrimSpace(f.Error))
			}
			return nil
		},
	}
}

func containerState(c catalog.SnapshotContainer) string {
	switch {
	case c.Error != "":
		return "failed: " + c.Error
	case !c.Done:
		return "not finished"
	case c.Reenumerated && (c.Kind == "drive" || c.Kind == mailitem.ContainerMail || c.Kind == mailitem.ContainerContacts):
		// Containers with a delta query; the others are listed in full.
		return "done (delta expired: enumerated in full)"
	}
	return "done"
}

// showFolders lists a mailbox snapshot's folders with what each holds and
// how its container's backup went.
func (a *app) showFolders(ctx context.Context, snap catalog.Snapshot, containers []catalog.SnapshotContainer) error {
	items, err := a.store.ItemsAt(ctx, snap.Key(), snap.ID)
	if err != nil {
		return err
	}
	byID := make(map[string]catalog.SnapshotContainer, len(containers))
	for _, c := range containers {
		byID[c.ContainerID] = c
	}
	if c, ok := byID[mailitem.HierarchyID]; ok && (c.Error != "" || !c.Done) {
		fmt.Fprintf(a.out, "  folder list: %s\n", containerState(c))
	}
	t := tree.Build(items)
	tw := tabwriter.NewWriter(a.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  FOLDER\tITEMS\tSIZE\tBACKUP")
	tree.Walk(t.Root, func(n *tree.Node) {
		if n == t.Root || !n.IsFolder() {
			return
		}
		var count, size int64
		for _, c := range n.Children {
			if !c.IsFolder() {
				count++
				size += c.Size
			}
		}
		state := ""
		if c, ok := byID[n.ItemID]; ok {
			state = containerState(c)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", n.Path, count, bytesText(size), state)
	})
	return tw.Flush()
}
