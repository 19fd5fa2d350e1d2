package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/policy"
	"github.com/holdfast/holdfast/internal/schedules"
)

func init() {
	register((*app).profileCmd)
	register((*app).scheduleCmd)
}

// minInterval bounds how often a profile may run.
const minInterval = time.Minute

type profileFlags struct {
	apps, excludeExt, excludeFolders, restoreRoles, downloadRoles []string
	interval, retention                                           string
	recoverableItems, crossUser                                   bool
}

func (f *profileFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.apps, "apps", activities.SupportedApps, "apps to protect")
	fl.StringVar(&f.interval, "interval", "24h", "time between backups (e.g. 12h, 30m)")
	fl.StringVar(&f.retention, "retention", "", "how long to keep backups, per app: exchange=3y,sharepoint=180d (OneDrive is fixed at 7 years)")
	fl.StringSliceVar(&f.excludeExt, "exclude-ext", nil, "file extensions never backed up (e.g. .tmp,.iso)")
	fl.StringSliceVar(&f.excludeFolders, "exclude-folder", nil, "folders never backed up: a name (any folder so named) or a /path from the drive root")
	fl.BoolVar(&f.recoverableItems, "recoverable-items", false, "also back up mailboxes' Recoverable Items")
	fl.StringSliceVar(&f.restoreRoles, "restore-roles", nil, "admin roles that may restore these users' data (default: cloud-admin, backup-admin, restore-operator)")
	fl.StringSliceVar(&f.downloadRoles, "download-roles", nil, "admin roles that may download these users' data (same default)")
	fl.BoolVar(&f.crossUser, "allow-cross-user-restore", false, "let a restore write these users' data into another user's account")
}

// apply sets on p the flags given (all of them for a new profile).
func (f *profileFlags) apply(cmd *cobra.Command, p *catalog.Profile, all bool) error {
	set := func(name string) bool { return all || cmd.Flags().Changed(name) }
	if set("apps") {
		for _, app := range f.apps {
			if !slices.Contains(activities.SupportedApps, app) {
				return fmt.Errorf("--apps: %q is not an app Holdfast protects (%s)", app, strings.Join(activities.SupportedApps, ", "))
			}
		}
		p.Apps = f.apps
	}
	if set("interval") {
		d, err := time.ParseDuration(f.interval)
		if err != nil || d < minInterval {
			return fmt.Errorf("--interval %q: give a duration of at least %s, e.g. 12h", f.interval, minInterval)
		}
		p.Interval = d
	}
	if set("retention") {
		r, err := parseRetention(f.retention)
		if err != nil {
			return err
		}
		if p.Retention == nil {
			p.Retention = map[string]time.Duration{}
		}
		for app, d := range r {
			p.Retention[app] = d
		}
	}
	if set("exclude-ext") {
		p.ExcludeExtensions = nil
		for _, e := range f.excludeExt {
			e = strings.ToLower(strings.TrimSpace(e))
			if e == "" || strings.ContainsAny(e, "/\\ ") {
				return fmt.Errorf("--exclude-ext %q is not a file extension", e)
			}
			if !strings.HasPrefix(e, ".") {
				e = "." + e
			}
			p.ExcludeExtensions = append(p.ExcludeExtensions, e)
		}
	}
	if set("exclude-folder") {
		p.ExcludeFolders = nil
		for _, d := range f.excludeFolders {
			if strings.TrimSpace(strings.Trim(d, "/")) == "" {
				return fmt.Errorf("--exclude-folder %q names no folder", d)
			}
			p.ExcludeFolders = append(p.ExcludeFolders, d)
		}
	}
	if set("recoverable-items") {
		p.RecoverableItems = f.recoverableItems
	}
	for _, r := range []struct {
		flag  string
		roles []string
		dst   *[]string
	}{{"restore-roles", f.restoreRoles, &p.RestoreRoles}, {"download-roles", f.downloadRoles, &p.DownloadRoles}} {
		if !set(r.flag) {
			continue
		}
		for _, role := range r.roles {
			if !catalog.ValidRole(role) {
				return fmt.Errorf("--%s: unknown role %q (roles: %s)", r.flag, role, strings.Join(catalog.Roles, ", "))
			}
		}
		*r.dst = r.roles
	}
	if set("allow-cross-user-restore") {
		p.CrossUserRestore = f.crossUser
	}
	return nil
}

// parseRetention reads "exchange=3y,sharepoint=180d".
func parseRetention(s string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		app, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("--retention %q: write app=duration, e.g. exchange=3y", part)
		}
		if app == activities.AppOneDrive {
			return nil, errors.New("--retention: OneDrive retention is fixed at 7 years and cannot be changed")
		}
		d, err := parseDays(val)
		if err != nil {
			return nil, fmt.Errorf("--retention %s: %w", app, err)
		}
		out[app] = d
	}
	return out, nil
}

// parseDays reads 30d, 3y, or a Go duration of at least a day.
func parseDays(v string) (time.Duration, error) {
	var n float64
	var unit string
	if _, err := fmt.Sscanf(v, "%g%s", &n, &unit); err == nil && n > 0 {
		switch unit {
		case "d":
			return time.Duration(n * float64(24*time.Hour)), nil
		case "y":
			return time.Duration(n * float64(365*24*time.Hour)), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 24*time.Hour {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a retention period (e.g. 90d, 3y)", v)
}

func profileJSON(p catalog.Profile) string {
	b, _ := json.Marshal(profileView(p))
	return string(b)
}

type profileOut struct {
	Name              string            `json:"name"`
	Apps              []string          `json:"apps"`
	Interval          string            `json:"interval"`
	Retention         map[string]string `json:"retention"`
	ExcludeExtensions []string          `json:"excludeExtensions,omitempty"`
	ExcludeFolders    []string          `json:"excludeFolders,omitempty"`
	RecoverableItems  bool              `json:"recoverableItems"`
	RestoreRoles      []string          `json:"restoreRoles,omitempty"`
	DownloadRoles     []string          `json:"downloadRoles,omitempty"`
	CrossUserRestore  bool              `json:"crossUserRestore"`
	Schedule          string            `json:"schedule"`
	Runs              []runOut          `json:"runs,omitempty"`
}

type runOut struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Complete int64     `json:"complete"`
	Partial  int64     `json:"partial"`
	Failed   int64     `json:"failed"`
	Skipped  int64     `json:"skipped"`
}

func profileView(p catalog.Profile) profileOut {
	ret := map[string]string{}
	for _, app := range append([]string{activities.AppOneDrive}, p.Apps...) {
		ret[app] = fmt.Sprintf("%gd", p.RetentionFor(app).Hours()/24)
	}
	return profileOut{Name: p.ID, Apps: p.Apps, Interval: p.Interval.String(), Retention: ret, ExcludeExtensions: p.ExcludeExtensions,
		ExcludeFolders: p.ExcludeFolders, RecoverableItems: p.RecoverableItems, RestoreRoles: p.RestoreRoles,
		DownloadRoles: p.DownloadRoles, CrossUserRestore: p.CrossUserRestore, Schedule: schedules.ProfileScheduleID(p.TenantID, p.ID)}
}

func (a *app) profileCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Backup profiles: apps, schedule, retention, exclusions, privacy"}
	var create, update profileFlags
	createCmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a profile and its Temporal Schedule",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, c, err := a.policyContext(ctx)
			if err != nil {
				return err
			}
			p := catalog.Profile{TenantID: t.ID, ID: args[0]}
			if strings.ContainsAny(p.ID, " /\\") || p.ID == "" {
				return fmt.Errorf("profile name %q: use letters, digits, dashes", p.ID)
			}
			if err := create.apply(cmd, &p, true); err != nil {
				return err
			}
			if err := a.store.CreateProfile(ctx, p); err != nil {
				if errors.Is(err, catalog.ErrExists) {
					return fmt.Errorf("a profile named %s exists (use `holdfast profile update`)", p.ID)
				}
				return err
			}
			if err := schedules.EnsureProfile(ctx, c, t.ID, p.ID, p.Interval); err != nil {
				a.store.DeleteProfile(context.WithoutCancel(ctx), t.ID, p.ID) // nothing half-made
				return fmt.Errorf("create the profile's schedule: %w", err)
			}
			if err := a.ensureTenantSchedules(ctx, c, t); err != nil {
				return err
			}
			if err := a.audit(ctx, "profile.create", p.ID, "", profileJSON(p)); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "profile %s created; schedule %s runs every %s\n", p.ID, schedules.ProfileScheduleID(t.ID, p.ID), p.Interval)
			return nil
		},
	}
	create.register(createCmd)
	updateCmd := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a profile (only the flags given) and its schedule",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, c, err := a.policyContext(ctx)
			if err != nil {
				return err
			}
			p, err := a.store.Profile(ctx, t.ID, args[0])
			if err != nil {
				return a.unknownProfile(err, args[0])
			}
			before := profileJSON(p)
			if err := update.apply(cmd, &p, false); err != nil {
				return err
			}
			if err := a.store.UpdateProfile(ctx, p); err != nil {
				return err
			}
			if err := schedules.EnsureProfile(ctx, c, t.ID, p.ID, p.Interval); err != nil {
				return fmt.Errorf("update the profile's schedule: %w", err)
			}
			// Users of the profile get its apps (new apps enabled).
			users, err := a.store.Users(ctx, t.ID)
			if err != nil {
				return err
			}
			for _, u := range users {
				if u.ProfileID == p.ID {
					if err := a.store.JoinProfile(ctx, t.ID, u.ID, p); err != nil {
						return err
					}
				}
			}
			if err := a.audit(ctx, "profile.update", p.ID, before, profileJSON(p)); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "profile %s updated\n", p.ID)
			return nil
		},
	}
	update.register(updateCmd)
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a profile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.Read)
			if err != nil {
				return err
			}
			p, err := a.store.Profile(ctx, t.ID, args[0])
			if err != nil {
				return a.unknownProfile(err, args[0])
			}
			v := profileView(p)
			runs, err := a.store.ScheduleRuns(ctx, t.ID, p.ID, 10)
			if err != nil {
				return err
			}
			for _, r := range runs {
				v.Runs = append(v.Runs, runOut{Started: time.UnixMilli(r.StartedMS).UTC(), Finished: time.UnixMilli(r.FinishedMS).UTC(),
					Complete: r.Complete, Partial: r.Partial, Failed: r.Failed, Skipped: r.Skipped})
			}
			if a.jsonOut {
				return printJSON(a.out, v)
			}
			runLines := v.Runs
			v.Runs = nil
			b, _ := json.MarshalIndent(v, "", "  ")
			fmt.Fprintln(a.out, string(b))
			for _, r := range runLines {
				fmt.Fprintf(a.out, "run %s: %d complete, %d partial, %d failed, %d skipped\n", timeText(r.Started),
					r.Complete, r.Partial, r.Failed, r.Skipped)
			}
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List profiles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.Read)
			if err != nil {
				return err
			}
			ps, err := a.store.Profiles(ctx, t.ID)
			if err != nil {
				return err
			}
			if a.jsonOut {
				out := []profileOut{}
				for _, p := range ps {
					out = append(out, profileView(p))
				}
				return printJSON(a.out, out)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROFILE\tAPPS\tINTERVAL\tRECOVERABLE ITEMS\tEXCLUSIONS")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", p.ID, strings.Join(p.Apps, ","), p.Interval, p.RecoverableItems,
					strings.Join(append(append([]string{}, p.ExcludeExtensions...), p.ExcludeFolders...), " "))
			}
			return tw.Flush()
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a profile no user belongs to, and its schedule",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, c, err := a.policyContext(ctx)
			if err != nil {
				return err
			}
			p, err := a.store.Profile(ctx, t.ID, args[0])
			if err != nil {
				return a.unknownProfile(err, args[0])
			}
			if err := a.store.DeleteProfile(ctx, t.ID, p.ID); err != nil {
				return err
			}
			if err := schedules.DeleteProfile(ctx, c, t.ID, p.ID); err != nil {
				return err
			}
			return a.audit(ctx, "profile.delete", p.ID, profileJSON(p), "")
		},
	}
	cmd.AddCommand(createCmd, updateCmd, show, list, del)
	return cmd
}

// policyContext authorizes a policy change and returns the tenant and a
// Temporal client.
func (a *app) policyContext(ctx context.Context) (catalog.Tenant, client.Client, error) {
	t, err := a.authorizedTenant(ctx, policy.ManagePolicy)
	if err != nil {
		return t, nil, err
	}
	c, err := a.client(ctx)
	return t, c, err
}

func (a *app) unknownProfile(err error, name string) error {
	if errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("unknown profile %q (see `holdfast profile list`)", name)
	}
	return err
}

// ensureTenantSchedules makes sure the tenant's own schedules exist
// (retention; directory sync when there are mapping rules).
func (a *app) ensureTenantSchedules(ctx context.Context, c client.Client, t catalog.Tenant) error {
	if err := schedules.EnsureRetention(ctx, c, t.ID); err != nil {
		return fmt.Errorf("create the retention schedule: %w", err)
	}
	return nil
}

func (a *app) scheduleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Short: "Pause, resume or trigger a profile's scheduled backups"}
	op := func(use, short, action string, do func(context.Context, client.ScheduleHandle) error) *cobra.Command {
		return &cobra.Command{
			Use:   use + " PROFILE",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				t, c, err := a.policyContext(ctx)
				if err != nil {
					return err
				}
				if _, err := a.store.Profile(ctx, t.ID, args[0]); err != nil {
					return a.unknownProfile(err, args[0])
				}
				id := schedules.ProfileScheduleID(t.ID, args[0])
				if err := do(ctx, c.ScheduleClient().GetHandle(ctx, id)); err != nil {
					return fmt.Errorf("schedule %s: %w", id, err)
				}
				if err := a.audit(ctx, "schedule."+action, args[0], "", id); err != nil {
					return err
				}
				fmt.Fprintf(a.out, "schedule %s: %s\n", id, action)
				return nil
			},
		}
	}
	note := func() string { return "by " + a.cfg.Actor + " at " + strconv.FormatInt(time.Now().Unix(), 10) }
	cmd.AddCommand(
		op("pause", "Pause a profile's schedule", "paused", func(ctx context.Context, h client.ScheduleHandle) error {
			return h.Pause(ctx, client.SchedulePauseOptions{Note: "paused " + note()})
		}),
		op("resume", "Resume a profile's schedule", "resumed", func(ctx context.Context, h client.ScheduleHandle) error {
			return h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "resumed " + note()})
		}),
		op("trigger", "Run a profile's backups now (after the run in progress, if any)", "triggered", func(ctx context.Context, h client.ScheduleHandle) error {
			// Buffer one: a trigger during a run is not dropped, it runs next.
			return h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE})
		}),
	)
	return cmd
}
