// Command graphsim serves the Microsoft Graph + Entra ID simulator (internal/graphsim) over
// HTTPS. It prints one JSON line describing itself (graph_url, authority_url, ca_file,
// tenant_id, client_id, client_secret, client_cert_file, sim_url, domain) on stdout once it is
// listening, logs to stderr, and stops cleanly on SIGTERM or SIGINT.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/holdfast/holdfast/internal/graphsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "graphsim:", err)
		os.Exit(1)
	}
}

func run() error {
	var o graphsim.Options
	var roles, logLevel string
	flag.StringVar(&o.Addr, "addr", "127.0.0.1:8443", "listen address")
	flag.StringVar(&o.StateDir, "state-dir", "", "directory for ca.pem, client.pem and uploaded content (default: a temporary directory)")
	flag.Int64Var(&o.Seed, "seed", 42, "seed for every generated ID, name and byte")
	flag.IntVar(&o.Users, "users", 10, "seeded users (negative: none)")
	flag.IntVar(&o.FilesPerUser, "files-per-user", 200, "seeded files per user (negative: none)")
	flag.Int64Var(&o.FileSizeMean, "file-size-mean", 64<<10, "mean seeded file size in bytes")
	flag.Int64Var(&o.FileSizeMax, "file-size-max", 8<<20, "largest seeded file in bytes")
	flag.StringVar(&o.ImportDir, "import", "", "directory of real data: DIR/<user-email>/{onedrive/<tree>, mail/<Folder/Sub>/*.eml, calendar/*.ics, contacts/*.vcf}")
	flag.IntVar(&o.MessagesPerMailbox, "messages-per-mailbox", 100, "seeded messages per user mailbox (shared: half, room/equipment: a fifth; negative: none)")
	flag.IntVar(&o.EventsPerMailbox, "events-per-mailbox", 20, "seeded events per mailbox (negative: none)")
	flag.IntVar(&o.ContactsPerMailbox, "contacts-per-mailbox", 15, "seeded contacts per mailbox (negative: none)")
	flag.IntVar(&o.SharedMailboxes, "shared-mailboxes", 1, "seeded shared mailboxes (negative: none)")
	flag.IntVar(&o.RoomMailboxes, "room-mailboxes", 1, "seeded room mailboxes (negative: none)")
	flag.IntVar(&o.EquipmentMailboxes, "equipment-mailboxes", 1, "seeded equipment mailboxes (negative: none)")
	flag.IntVar(&o.UsersWithoutMailbox, "users-without-mailbox", 1, "seeded users with no Exchange licence (negative: none)")
	flag.IntVar(&o.Groups, "groups", 4, "seeded groups (negative: none)")
	flag.DurationVar(&o.MailboxLatency, "mailbox-latency", 0, "extra latency of every Outlook request while it counts as in flight (to test the 4-concurrent rule)")
	flag.Float64Var(&o.ThrottleScale, "throttle-scale", 0, "multiplier of Microsoft's published throttling budgets (SharePoint RU, Outlook per-mailbox requests and uploads): 1 = the real budgets, 0 = off")
	flag.Float64Var(&o.OutlookWindowScale, "outlook-window-scale", 1, "shortens the Outlook limits' 10- and 5-minute windows by this factor (tests: 0.05 = a 30 s window)")
	flag.Float64Var(&o.FaultRate, "fault-rate", 0, "fraction of Graph/download requests that get a fault (0..1)")
	flag.DurationVar(&o.TokenLifetime, "token-lifetime", time.Hour, "access token lifetime")
	flag.DurationVar(&o.DeltaTokenMaxAge, "delta-token-max-age", 30*24*time.Hour, "age after which a drive delta token gets 410")
	flag.StringVar(&o.Consent, "consent", "approve", "what /adminconsent answers: approve|deny")
	flag.BoolVar(&o.Unconsented, "unconsented", false, "start with no permissions granted (test the consent flow)")
	flag.StringVar(&roles, "roles", "", "comma-separated application permissions consent grants (default: every role Holdfast needs)")
	flag.StringVar(&logLevel, "log-level", "info", "debug|info|warn|error")
	flag.Parse()

	if o.Consent != "approve" && o.Consent != "deny" {
		return fmt.Errorf("--consent must be approve or deny, not %q", o.Consent)
	}
	if roles != "" {
		for _, r := range strings.Split(roles, ",") {
			if r = strings.TrimSpace(r); r != "" {
				o.Roles = append(o.Roles, r)
			}
		}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
		return err
	}
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	if o.StateDir == "" {
		dir, err := os.MkdirTemp("", "graphsim-")
		if err != nil {
			return err
		}
		o.StateDir = dir
	}
	if o.ThrottleScale < 0 {
		o.ThrottleScale = 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := graphsim.Start(ctx, o)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(srv.Info())
	fmt.Println(string(line))
	<-ctx.Done()
	o.Logger.Info("graphsim stopping")
	return srv.Close()
}
