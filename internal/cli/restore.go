package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/policy"
	"github.com/holdfast/holdfast/workflows"
)

// selectionFlags pick what to restore or download.
type selectionFlags struct {
	user     string
	app      string
	snapshot int64
	at       string
	paths    []string
	items    []string
	since    string
	until    string
	sender   string
	subject  string
}

func (f *selectionFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.user, "user", "", "whose backup (email, UPN or ID) (required)")
	fl.StringVar(&f.app, "app", activities.AppOneDrive, "which app: onedrive or exchange")
	fl.Int64Var(&f.snapshot, "snapshot", 0, "snapshot ID (default: the newest usable one, or the one at --at)")
	fl.StringVar(&f.at, "at", "", "point in time: the newest snapshot finished by then")
	fl.StringSliceVar(&f.paths, "path", nil, "file or folder path in the backup (repeat; default everything)")
	fl.StringSliceVar(&f.items, "item", nil, "item ID (repeat)")
	fl.StringVar(&f.since, "since", "", "exchange: messages received at or after this time")
	fl.StringVar(&f.until, "until", "", "exchange: messages received before this time")
	fl.StringVar(&f.sender, "sender", "", "exchange: messages whose sender address contains this")
	fl.StringVar(&f.subject, "subject", "", "exchange: messages whose subject contains this")
}

// selection turns the flags into the request's selection.
func (f selectionFlags) selection() (activities.Selection, error) {
	sel := activities.Selection{Paths: f.paths, ItemIDs: f.items, Sender: f.sender, Subject: f.subject}
	var err error
	if sel.Since, err = parseTime("--since", f.since); err != nil {
		return sel, err
	}
	if sel.Until, err = parseTime("--until", f.until); err != nil {
		return sel, err
	}
	if !sel.Since.IsZero() && !sel.Until.IsZero() && !sel.Since.Before(sel.Until) {
		return sel, errors.New("--since must be before --until")
	}
	if f.app != activities.AppExchange && (!sel.Since.IsZero() || !sel.Until.IsZero() || f.sender != "" || f.subject != "") {
		return sel, errors.New("--since, --until, --sender and --subject select mail: use them with --app exchange")
	}
	return sel, nil
}

// resolve checks the flags against the catalog: the user, the snapshot.
func (a *app) resolve(ctx context.Context, f selectionFlags) (catalog.Tenant, catalog.User, time.Time, error) {
	t, err := a.tenant(ctx)
	if err != nil {
		return t, catalog.User{}, time.Time{}, err
	}
	if f.user == "" {
		return t, catalog.User{}, time.Time{}, errors.New("--user is required")
	}
	if !slices.Contains(activities.SupportedApps, f.app) {
		return t, catalog.User{}, time.Time{}, fmt.Errorf("--app %q: want one of %s", f.app, strings.Join(activities.SupportedApps, ", "))
	}
	u, err := a.user(ctx, t, f.user)
	if err != nil {
		return t, u, time.Time{}, err
	}
	at, err := parseAt(f.at)
	if err != nil {
		return t, u, at, err
	}
	if f.snapshot != 0 && !at.IsZero() {
		return t, u, at, errors.New("give --snapshot or --at, not both")
	}
	if f.snapshot != 0 {
		snap, err := a.snapshotArg(ctx, strconv.FormatInt(f.snapshot, 10))
		if err != nil {
			return t, u, at, err
		}
		if snap.UserID != u.ID || snap.App != f.app {
			return t, u, at, fmt.Errorf("snapshot %d is not a %s backup of %s", snap.ID, f.app, u.UPN)
		}
	}
	return t, u, at, nil
}

func (a *app) restoreCmd() *cobra.Command {
	var sel selectionFlags
	var toUser, to, conflict string
	var noWait bool
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore files and folders to OneDrive, or mail, calendars and contacts to a mailbox",
		Long: `Restores the selected items of a snapshot (or of the newest snapshot at a
point in time): by default into a new folder "Holdfast Restore <time>" in the
user's own OneDrive or mailbox; --to original puts them back where they were;
--to-user restores into another user's. Items already there follow
--conflict: skip (keep the existing one), rename (restore beside it) or
replace. For mail, "already there" is a message with the same Internet
message ID in the folder; for calendars, an event with the same subject and
start; for contacts, the same name and address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, u, at, err := a.resolve(ctx, sel)
			if err != nil {
				return err
			}
			if err := a.allowData(ctx, "restore", t, u, toUser); err != nil {
				return err
			}
			if to != activities.ModeFolder && to != activities.ModeOriginal {
				return fmt.Errorf("--to %q: want %s or %s", to, activities.ModeFolder, activities.ModeOriginal)
			}
			switch conflict {
			case "skip", "rename", "replace":
			default:
				return fmt.Errorf("--conflict %q: want skip, rename or replace", conflict)
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			selection, err := sel.selection()
			if err != nil {
				return err
			}
			req := activities.RestoreRequest{TenantID: t.ID, UserID: u.ID, App: sel.app, SnapshotID: sel.snapshot, At: at,
				Selection: selection, TargetUserID: toUser, Mode: to,
				Conflict: conflict, Actor: a.cfg.Actor}
			id := workflows.RestoreWorkflowID(t.ID, strconv.FormatInt(time.Now().UnixNano(), 36))
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.RestoreWorkflow, req)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.errOut, "restore started: workflow %s\n", id)
			if noWait {
				return nil
			}
			var res activities.RestoreResult
			if err := run.Get(ctx, &res); err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.out, res)
			}
			where := "original locations"
			if res.Folder != "" {
				where = "folder " + strconv.Quote(res.Folder)
			}
			fmt.Fprintf(a.out, "restored %d items (%s) to %s; %d skipped, %d failed\n", res.Restored, bytesText(res.Bytes), where, res.Skipped, res.Failed)
			for _, f := range res.Failures {
				fmt.Fprintf(a.out, "  failed: %s\n", f)
			}
			if res.Failed > 0 {
				return fmt.Errorf("%d items could not be restored", res.Failed)
			}
			return nil
		},
	}
	sel.register(cmd)
	cmd.Flags().StringVar(&toUser, "to-user", "", "restore into this user's OneDrive or mailbox instead (email, UPN or ID)")
	cmd.Flags().StringVar(&to, "to", activities.ModeFolder, "where: folder (a new restore folder) or original (the original paths)")
	cmd.Flags().StringVar(&conflict, "conflict", "skip", "when an item exists: skip, rename or replace")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "start the restore and return")
	return cmd
}

func (a *app) downloadCmd() *cobra.Command {
	var sel selectionFlags
	var out string
	var force, mbox bool
	cmd := &cobra.Command{
		Use:   "download",
		Short: "Download files and folders, or mail, calendars and contacts, from a snapshot as a ZIP",
		Long: `Downloads the selected items of a snapshot as a ZIP with their folder tree.
OneDrive files come as they are. Exchange mail comes as one .eml per message
(exactly the MIME the service gave), or with --mbox as one .mbox per folder;
each calendar as an .ics file, each contact folder as a .vcf file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if out == "" {
				return errors.New("-o FILE is required")
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("%s exists (use --force to overwrite)", out)
			}
			t, u, at, err := a.resolve(ctx, sel)
			if err != nil {
				return err
			}
			if err := a.allowData(ctx, "download", t, u, ""); err != nil {
				return err
			}
			bucket, err := a.blobs(ctx)
			if err != nil {
				return err
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			selection, err := sel.selection()
			if err != nil {
				return err
			}
			if mbox && sel.app != activities.AppExchange {
				return errors.New("--mbox writes mail folders: use it with --app exchange")
			}
			req := activities.ExportRequest{TenantID: t.ID, UserID: u.ID, App: sel.app, SnapshotID: sel.snapshot, At: at,
				Selection: selection, Mbox: mbox, Actor: a.cfg.Actor}
			id := workflows.DownloadWorkflowID(t.ID, strconv.FormatInt(time.Now().UnixNano(), 36))
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.DownloadWorkflow, req)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.errOut, "download started: workflow %s\n", id)
			var res activities.ExportResult
			if err := run.Get(ctx, &res); err != nil {
				return err
			}
			// Copy to a temporary file beside the target and rename it into
			// place, so a failed copy leaves nothing half-written.
			tmp, err := os.CreateTemp(filepath.Dir(out), ".holdfast-download-*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			r, err := bucket.NewReader(ctx, res.BlobKey, nil)
			if err != nil {
				tmp.Close()
				return fmt.Errorf("read the export: %w", err)
			}
			n, err := io.Copy(tmp, r)
			r.Close()
			if err == nil {
				err = tmp.Sync()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil && n != res.Size {
				err = fmt.Errorf("copied %d bytes of %d", n, res.Size)
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.out, res)
			}
			fmt.Fprintf(a.out, "wrote %s: %d files, %s", out, res.Files, bytesText(res.Size))
			if res.Failed > 0 {
				fmt.Fprintf(a.out, "; %d files could not be read (listed in the ZIP's manifest)", res.Failed)
			}
			fmt.Fprintln(a.out)
			return nil
		},
	}
	sel.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "ZIP file to write (required)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite the output file")
	cmd.Flags().BoolVar(&mbox, "mbox", false, "exchange: one .mbox file per mail folder instead of .eml files")
	return cmd
}

func (a *app) verifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify SNAPSHOT",
		Short: "Re-read a snapshot from the vault: every chunk must decrypt and every file match its hash",
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
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			id := workflows.VerifyWorkflowID(snap.ID, strconv.FormatInt(time.Now().UnixNano(), 36))
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
				workflows.VerifyWorkflow, activities.VerifyInput{SnapshotID: snap.ID})
			if err != nil {
				return err
			}
			var res activities.VerifyResult
			if err := run.Get(ctx, &res); err != nil {
				return err
			}
			if a.jsonOut {
				if err := printJSON(a.out, res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.out, "snapshot %d: %d files, %s verified; %d bad\n", snap.ID, res.Items-res.Bad, bytesText(res.Bytes), res.Bad)
				for _, p := range res.Problems {
					fmt.Fprintf(a.out, "  %s\n", p)
				}
			}
			if res.Bad > 0 {
				return fmt.Errorf("snapshot %d: %d files failed verification", snap.ID, res.Bad)
			}
			return nil
		},
	}
}

// allowData applies the source user's profile policy to a restore or
// download by the acting admin; a refusal is audited and nothing starts.
func (a *app) allowData(ctx context.Context, what string, t catalog.Tenant, u catalog.User, toUser string) error {
	role, err := a.role(ctx)
	if err != nil {
		return err
	}
	profile, err := a.store.UserProfile(ctx, t.ID, u.ID)
	if err != nil {
		return err
	}
	if what == "download" {
		err = policy.AllowDownload(role, profile)
	} else {
		target := u.ID
		if toUser != "" {
			target = toUser
			if other, lerr := a.store.User(ctx, t.ID, toUser); lerr == nil {
				target = other.ID
			}
		}
		err = policy.AllowRestore(role, profile, u.ID, target)
	}
	if err == nil {
		return nil
	}
	if aerr := a.audit(ctx, what+".refused", u.UPN, "", err.Error()); aerr != nil {
		return aerr
	}
	return fmt.Errorf("%s as %s: %w", a.cfg.Actor, role, err)
}
