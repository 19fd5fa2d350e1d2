package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/policy"
	"github.com/holdfast/holdfast/workflows"
)

func init() { register((*app).retentionCmd) }

func (a *app) retentionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "retention", Short: "Expire backups past retention and free the storage nothing references"}
	cmd.AddCommand(a.retentionRunCmd())
	return cmd
}

func (a *app) retentionRunCmd() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run retention now (it also runs daily on its schedule)",
		Long: "Expire snapshots older than their profile's retention — never a held user's, never the newest of an\n" +
			"active user-app — then delete the item versions, chunk index entries and packs nothing references.\n" +
			"A run already going is joined.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.ManagePolicy)
			if err != nil {
				return err
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			id := workflows.RetentionWorkflowID(t.ID)
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue,
				WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
				workflows.RetentionWorkflow, workflows.RetentionInput{TenantID: t.ID, RequestedBy: a.cfg.Actor})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.errOut, "retention of tenant %s started: workflow %s\n", t.Name, id)
			if !wait {
				return nil
			}
			var rep activities.RetentionReport
			if err := run.Get(ctx, &rep); err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.out, rep)
			}
			printRetention(a.out, rep)
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run and print what it did")
	return cmd
}

// printRetention prints a retention report for people.
func printRetention(w io.Writer, r activities.RetentionReport) {
	fmt.Fprintf(w, "snapshots: %d examined, %d expired; kept %d within retention, %d on legal hold, %d as the newest of an active user-app, %d running\n",
		r.SnapshotsExamined, r.SnapshotsExpired, r.KeptYoung, r.KeptHeld, r.KeptNewest, r.KeptRunning)
	if r.Refused > 0 {
		fmt.Fprintf(w, "  %d kept at the last moment (a hold or a newer backup since): %v\n", r.Refused, r.RefusedWhy)
	}
	fmt.Fprintf(w, "item versions removed: %d", r.VersionsRemoved)
	if r.DeltaResets > 0 {
		fmt.Fprintf(w, " (%d user-app(s) left without backups: their next backup is a full one)", r.DeltaResets)
	}
	fmt.Fprintln(w)
	g := r.GC
	if !g.Ran {
		fmt.Fprintf(w, "garbage collection: not run: %s\n", g.Deferred)
		return
	}
	fmt.Fprintf(w, "garbage collection: %d chunks freed (%s); %d packs deleted; %s of storage freed\n",
		g.ChunksFreed, bytesText(g.ChunkBytesFreed), g.PacksDeleted, bytesText(g.BytesFreed))
	if g.OrphanPacksDeleted > 0 || g.OrphanPacksWaiting > 0 {
		fmt.Fprintf(w, "  unindexed packs (left by crashed uploads): %d deleted (%s), %d younger than the grace period kept\n",
			g.OrphanPacksDeleted, bytesText(g.OrphanBytesFreed), g.OrphanPacksWaiting)
	}
	if g.StaleSnapshotsFailed > 0 {
		fmt.Fprintf(w, "  %d snapshot(s) left running by ended backup runs marked failed\n", g.StaleSnapshotsFailed)
	}
	fmt.Fprintf(w, "  %d packs (%s) remain; %d of them partly referenced, keeping about %s nothing references (packs are not rewritten)\n",
		g.PacksLeft, bytesText(g.BytesLeft), g.PacksPartlyReferenced, bytesText(g.DeadBytesKept))
}
