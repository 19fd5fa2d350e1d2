package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/policy"
	"github.com/holdfast/holdfast/workflows"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Users under protection"}
	cmd.AddCommand(a.userAddCmd(), a.userImportCmd(), a.userListCmd(),
		a.userStateCmd("enable", "Protect a user's apps again (all, or --app)", true),
		a.userStateCmd("disable", "Stop backing up a user's apps (all, or --app); their backups stay", false),
		a.userDeleteCmd(), a.userProfileCmd())
	return cmd
}

func (a *app) userAddCmd() *cobra.Command {
	var apps []string
	var profile string
	var noBackup bool
	cmd := &cobra.Command{
		Use:   "add EMAIL|UPN|ID...",
		Short: "Protect users (looked up in the tenant's directory) and start their first backup",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			if profile != "" {
				t, err := a.tenant(cmd.Context())
				if err != nil {
					return err
				}
				if _, err := a.store.Profile(cmd.Context(), t.ID, profile); err != nil {
					return a.unknownProfile(err, profile)
				}
			}
			var rows []activities.UserRow
			for _, ref := range refs {
				rows = append(rows, activities.UserRow{Ref: ref, ProfileID: profile, Apps: apps})
			}
			return a.addUsers(cmd.Context(), rows, false, !noBackup)
		},
	}
	cmd.Flags().StringSliceVar(&apps, "apps", nil, "apps to protect (default: the profile's, or every supported app)")
	cmd.Flags().StringVar(&profile, "profile", "", "profile to put the users in")
	cmd.Flags().BoolVar(&noBackup, "no-backup", false, "do not start the first backup now")
	return cmd
}

func (a *app) userImportCmd() *cobra.Command {
	var profile string
	var skipInvalid, noBackup bool
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Protect the users of a CSV file (email[,profile[,apps]]); nothing is added if any row is bad",
		Long: `Reads a CSV file with one user per line: email address, then optionally a
profile and the apps ("onedrive;exchange"). A header line starting with
"email" is skipped. Every row is checked first — the address, the profile,
the apps, duplicates, and that the user exists in the tenant's directory —
and each bad row is reported with its line number. Unless --skip-invalid is
given, nothing is added when any row is bad.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rows, bad, err := readUserCSV(args[0], profile)
			if err != nil {
				return err
			}
			if len(bad) > 0 {
				a.printRowErrors(bad)
				if !skipInvalid {
					return fmt.Errorf("nothing imported: %d of %d rows are bad", len(bad), len(rows)+len(bad))
				}
			}
			return a.addUsers(ctx, rows, skipInvalid, !noBackup)
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "profile for rows that name none")
	cmd.Flags().BoolVar(&skipInvalid, "skip-invalid", false, "import the good rows even if some are bad")
	cmd.Flags().BoolVar(&noBackup, "no-backup", false, "do not start the first backups now")
	return cmd
}

// readUserCSV parses and checks what can be checked without the
// directory: each bad row is returned with its line and reason.
func readUserCSV(path, defaultProfile string) ([]activities.UserRow, []activities.RowError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var rows []activities.UserRow
	var bad []activities.RowError
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				bad = append(bad, activities.RowError{Line: perr.Line, Reason: perr.Err.Error()})
				continue
			}
			return nil, nil, err
		}
		if len(rec) == 0 || len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		email := strings.TrimSpace(rec[0])
		if line == 1 && strings.EqualFold(email, "email") {
			continue
		}
		row := activities.UserRow{Line: line, Ref: email, ProfileID: defaultProfile}
		if len(rec) > 1 && strings.TrimSpace(rec[1]) != "" {
			row.ProfileID = strings.TrimSpace(rec[1])
		}
		if len(rec) > 2 && strings.TrimSpace(rec[2]) != "" {
			for _, app := range strings.Split(rec[2], ";") {
				row.Apps = append(row.Apps, strings.TrimSpace(app))
			}
		}
		reason := ""
		if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
			reason = fmt.Sprintf("%q is not an email address", email)
		} else if prev, dup := seen[strings.ToLower(email)]; dup {
			reason = fmt.Sprintf("%s is already on line %d", email, prev)
		} else if len(rec) > 3 {
			reason = fmt.Sprintf("%d fields; expected email[,profile[,apps]]", len(rec))
		} else if i := slices.IndexFunc(row.Apps, func(app string) bool { return !slices.Contains(activities.SupportedApps, app) }); i >= 0 {
			reason = fmt.Sprintf("app %q is not supported (supported: %s)", row.Apps[i], strings.Join(activities.SupportedApps, ", "))
		}
		if reason != "" {
			bad = append(bad, activities.RowError{Line: line, Ref: email, Reason: reason})
			continue
		}
		seen[strings.ToLower(email)] = line
		rows = append(rows, row)
	}
	return rows, bad, nil
}

func (a *app) printRowErrors(bad []activities.RowError) {
	for _, b := range bad {
		if b.Line > 0 {
			fmt.Fprintf(a.errOut, "line %d: %s: %s\n", b.Line, b.Ref, b.Reason)
		} else {
			fmt.Fprintf(a.errOut, "%s: %s\n", b.Ref, b.Reason)
		}
	}
}

// addUsers runs AddUsersWorkflow and prints what it did.
func (a *app) addUsers(ctx context.Context, rows []activities.UserRow, skipInvalid, firstBackup bool) error {
	t, err := a.authorizedTenant(ctx, policy.ManagePolicy)
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	in := workflows.AddUsersInput{AddUsersInput: activities.AddUsersInput{TenantID: t.ID, Rows: rows, SkipInvalid: skipInvalid,
		Actor: a.cfg.Actor}, FirstBackup: firstBackup}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: fmt.Sprintf("add-users/%s/%d", t.ID, time.Now().UnixNano()), TaskQueue: workflows.TaskQueue}, workflows.AddUsersWorkflow, in)
	if err != nil {
		return err
	}
	var res workflows.AddUsersResult
	if err := run.Get(ctx, &res); err != nil {
		return err
	}
	a.printRowErrors(res.Invalid)
	if a.jsonOut {
		if err := printJSON(a.out, res); err != nil {
			return err
		}
	} else {
		for _, u := range res.Added {
			state := "added"
			if u.Existed {
				state = "already protected"
			}
			line := fmt.Sprintf("%s (%s): %s, %s mailbox, apps %s", u.UPN, u.ID, state, u.Kind, strings.Join(u.Apps, ","))
			if u.Note != "" {
				line += " (" + u.Note + ")"
			}
			fmt.Fprintln(a.out, line)
		}
		for _, id := range res.Backups {
			fmt.Fprintf(a.out, "first backup running: %s\n", id)
		}
	}
	if len(res.Invalid) > 0 && !skipInvalid {
		return fmt.Errorf("nothing added: %d of %d users are not valid", len(res.Invalid), len(rows))
	}
	return nil
}

func (a *app) userStateCmd(verb, short string, enable bool) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:   verb + " EMAIL",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, u, err := a.tenantUser(ctx, policy.ManagePolicy, args[0])
			if err != nil {
				return err
			}
			sts, err := a.store.UserAppStatuses(ctx, t.ID)
			if err != nil {
				return err
			}
			changed := 0
			for _, s := range sts {
				if s.User.ID != u.ID || (app != "" && s.App != app) {
					continue
				}
				if err := a.store.SetAppEnabled(ctx, catalog.UserApp{TenantID: t.ID, UserID: u.ID, App: s.App}, enable); err != nil {
					return err
				}
				changed++
				if err := a.audit(ctx, "user."+verb, u.UPN, fmt.Sprint(s.Enabled), fmt.Sprintf("%s %v", s.App, enable)); err != nil {
					return err
				}
			}
			if enable && u.State != "active" {
				if err := a.store.SetUserState(ctx, t.ID, u.ID, "active"); err != nil {
					return err
				}
			}
			if changed == 0 {
				return fmt.Errorf("%s has no app %q", u.UPN, app)
			}
			fmt.Fprintf(a.out, "%s: %d app(s) %sd\n", u.UPN, changed, verb)
			return nil
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "only this app")
	return cmd
}

func (a *app) userDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete EMAIL",
		Short: "Remove a user from protection; their backups stay until retention ends them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, u, err := a.tenantUser(ctx, policy.ManagePolicy, args[0])
			if err != nil {
				return err
			}
			if err := a.store.SetUserState(ctx, t.ID, u.ID, "deleted"); err != nil {
				return err
			}
			if err := a.audit(ctx, "user.delete", u.UPN, u.State, "deleted"); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s is no longer protected; existing backups are kept until retention ends them\n", u.UPN)
			return nil
		},
	}
}

func (a *app) userProfileCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set-profile EMAIL PROFILE",
		Short: "Move a user to another profile (\"\" for none)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, u, err := a.tenantUser(ctx, policy.ManagePolicy, args[0])
			if err != nil {
				return err
			}
			if args[1] == "" {
				err = a.store.SetUserProfile(ctx, t.ID, u.ID, "")
			} else {
				p, perr := a.store.Profile(ctx, t.ID, args[1])
				if perr != nil {
					return a.unknownProfile(perr, args[1])
				}
				err = a.store.JoinProfile(ctx, t.ID, u.ID, p)
			}
			if err != nil {
				return err
			}
			return a.audit(ctx, "user.profile", u.UPN, u.ProfileID, args[1])
		},
	}
}

func (a *app) userListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Protected users with the state of their last backup",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, err := a.authorizedTenant(ctx, policy.Read)
			if err != nil {
				return err
			}
			sts, err := a.store.UserAppStatuses(ctx, t.ID)
			if err != nil {
				return err
			}
			if a.jsonOut {
				type row struct {
					UserID, UPN, DisplayName, Kind, State, Profile, App string
					Enabled                                             bool
					LastSnapshot                                        int64     `json:",omitempty"`
					LastState                                           string    `json:",omitempty"`
					LastError                                           string    `json:",omitempty"`
					LastFinished                                        time.Time `json:",omitzero"`
					Items, Bytes                                        int64
				}
				rows := []row{}
				for _, s := range sts {
					r := row{UserID: s.User.ID, UPN: s.User.UPN, DisplayName: s.User.DisplayName, Kind: s.User.Kind, State: s.User.State,
						Profile: s.User.ProfileID, App: s.App, Enabled: s.Enabled}
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
			fmt.Fprintln(tw, "USER\tKIND\tPROFILE\tAPP\tENABLED\tLAST BACKUP\tRESULT\tITEMS\tSIZE")
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
				enabled := fmt.Sprint(s.Enabled)
				if s.User.State != "active" {
					enabled = s.User.State
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.User.UPN, s.User.Kind, or(s.User.ProfileID, "-"), s.App,
					enabled, last, result, items, size)
			}
			return tw.Flush()
		},
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
