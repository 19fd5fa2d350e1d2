package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/policy"
)

func init() {
	register((*app).statusCmd)
	register((*app).auditCmd)
}

// appStatus is one app's line of `holdfast status`.
type appStatus struct {
	App       string          `json:"app"`
	Protected int             `json:"protectedUsers"`
	Results   map[string]int  `json:"lastResults"` // complete, partial, failed, running, never
	Items     int64           `json:"items"`
	Bytes     int64           `json:"bytes"`
	Failing   []failingStatus `json:"failing,omitempty"`
}

type failingStatus struct {
	User     string    `json:"user"`
	State    string    `json:"state"`
	Reason   string    `json:"reason"`
	Snapshot int64     `json:"snapshot"`
	When     time.Time `json:"when"`
}

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Protected users, last backup results and data protected, per app; failing users and why",
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
			byApp := map[string]*appStatus{}
			var apps []string
			for _, s := range sts {
				if !s.Enabled || s.User.State != "active" {
					continue
				}
				st := byApp[s.App]
				if st == nil {
					st = &appStatus{App: s.App, Results: map[string]int{}}
					byApp[s.App] = st
					apps = append(apps, s.App)
				}
				st.Protected++
				result := "never"
				if s.Last != nil {
					result = s.Last.State
					if s.Last.State == catalog.StateFailed || s.Last.State == catalog.StatePartial {
						reason := s.Last.Error
						if reason == "" {
							reason = fmt.Sprintf("%d items failed", s.Last.ItemsFailed)
						}
						st.Failing = append(st.Failing, failingStatus{User: s.User.UPN, State: s.Last.State, Reason: reason,
							Snapshot: s.Last.ID, When: s.Last.StartedAt})
					}
				}
				st.Results[result]++
				if s.LastGood != nil {
					st.Items += s.LastGood.ItemsTotal
					st.Bytes += s.LastGood.BytesTotal
				}
			}
			slices.Sort(apps)
			out := []appStatus{}
			for _, app := range apps {
				out = append(out, *byApp[app])
			}
			if a.jsonOut {
				return printJSON(a.out, out)
			}
			fmt.Fprintf(a.out, "tenant %s (%s)\n\n", t.Name, t.ID)
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "APP\tUSERS\tCOMPLETE\tPARTIAL\tFAILED\tRUNNING\tNEVER\tITEMS\tDATA PROTECTED")
			for _, s := range out {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", s.App, s.Protected, s.Results[catalog.StateComplete],
					s.Results[catalog.StatePartial], s.Results[catalog.StateFailed], s.Results[catalog.StateRunning], s.Results["never"],
					s.Items, bytesText(s.Bytes))
			}
			tw.Flush()
			for _, s := range out {
				for _, f := range s.Failing {
					fmt.Fprintf(a.out, "\n%s %s: %s (snapshot %d, %s): %s", s.App, f.User, f.State, f.Snapshot, timeText(f.When), f.Reason)
				}
			}
			fmt.Fprintln(a.out)
			return nil
		},
	}
}

func (a *app) auditCmd() *cobra.Command {
	var since string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The audit log: who did what, when, before and after",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := a.authorize(ctx, policy.Read); err != nil {
				return err
			}
			from, err := parseSince(since)
			if err != nil {
				return err
			}
			entries, err := a.store.AuditLog(ctx, from)
			if err != nil {
				return err
			}
			if a.jsonOut {
				type row struct {
					At                                   time.Time
					Actor, Action, Object, Before, After string
				}
				rows := []row{}
				for _, e := range entries {
					rows = append(rows, row{e.At(), e.Actor, e.Action, e.Object, e.Before, e.After})
				}
				return printJSON(a.out, rows)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tOBJECT\tCHANGE")
			for _, e := range entries {
				change := e.After
				if e.Before != "" {
					change = e.Before + " → " + e.After
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", timeText(e.At()), e.Actor, e.Action, e.Object, strings.ReplaceAll(change, "\n", " "))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only entries since a time (2006-01-02, RFC 3339) or a duration ago (24h)")
	return cmd
}

// parseSince reads a time or a duration ago.
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := parseAt(s)
	if err != nil {
		return t, fmt.Errorf("--since %q is not a time or a duration", s)
	}
	return t, nil
}
