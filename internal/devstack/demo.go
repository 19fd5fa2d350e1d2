package devstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/graphsim"
)

// Demo runs the product end to end on a fresh stack and checks every
// restored and downloaded file against the simulator. It returns an error
// if anything does not match.
func Demo(ctx context.Context, o Options, keep bool) (err error) {
	os.RemoveAll(o.Dir)
	o.SimArgs = append([]string{"--seed", "42", "--users", "5", "--files-per-user", "150", "--unconsented",
		"--file-size-mean", "65536", "--file-size-max", "12582912"}, o.SimArgs...)
	o.WorkerEnv = append(o.WorkerEnv, "HOLDFAST_GRAPH_RU_PER_MINUTE=-1") // graphsim runs without throttling here
	d := &demo{out: o.Out, start: time.Now()}
	d.step("starting the Temporal dev server, graphsim and a worker")
	s, err := Start(ctx, o)
	if err != nil {
		return err
	}
	if !keep {
		defer s.Stop()
	}
	d.say("Temporal UI: http://127.0.0.1:%d   logs: %s", o.TemporalPort+1000, o.Dir)
	d.s = s
	if err := d.run(ctx); err != nil {
		d.say("FAILED: %v", err)
		return err
	}
	d.summary()
	if len(d.problems) > 0 {
		return fmt.Errorf("%d checks failed", len(d.problems))
	}
	if keep {
		d.say("the stack keeps running; stop it with `make down`")
	}
	return nil
}

type demo struct {
	s        *Stack
	out      io.Writer
	start    time.Time
	problems []string
	checks   int
	lines    []string
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "\n==> %s\n", fmt.Sprintf(format, args...))
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "    %s\n", fmt.Sprintf(format, args...))
}

func (d *demo) holdfast(ctx context.Context, args ...string) (string, error) {
	fmt.Fprintf(d.out, "    $ holdfast %s\n", strings.Join(args, " "))
	out, err := d.s.Holdfast(ctx, args...)
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l != "" {
			fmt.Fprintf(d.out, "      %s\n", l)
		}
	}
	return out, err
}

// check records one comparison.
func (d *demo) check(what string, diff []string) {
	d.checks++
	if len(diff) == 0 {
		d.say("ok: %s", what)
		return
	}
	d.problems = append(d.problems, what)
	d.say("MISMATCH: %s", what)
	for _, l := range diff {
		d.say("  %s", l)
	}
}

func (d *demo) run(ctx context.Context) error {
	s := d.s
	users, err := s.Users(ctx)
	if err != nil {
		return err
	}

	alice := users[0]
	d.step("connecting the tenant through admin consent (graphsim plays Entra ID and the administrator's browser)")
	if err := d.connect(ctx, alice.Mail); err != nil {
		return err
	}
	d.step("verifying the configuration for %s", alice.Mail)
	if _, err := d.holdfast(ctx, "tenant", "verify", "--user", alice.Mail, "--apps", "onedrive,exchange"); err != nil {
		return err
	}

	d.step("a profile for everyone: OneDrive and Exchange (Recoverable Items included), hourly, no .tmp files; its Temporal Schedule runs them")
	if _, err := d.holdfast(ctx, "profile", "create", "everyone", "--interval", "1h", "--exclude-ext", ".tmp", "--recoverable-items"); err != nil {
		return err
	}
	args := []string{"user", "add", "--profile", "everyone", "--no-backup"}
	var total int64
	files := 0
	for _, u := range users {
		args = append(args, u.UPN)
		n, f, err := s.Bytes(ctx, u.ID)
		if err != nil {
			return err
		}
		total, files = total+n, files+f
	}
	if _, err := d.holdfast(ctx, args...); err != nil {
		return err
	}
	d.step("the schedule's first run, triggered now rather than in an hour: %d users (%d files, %.1f MiB)", len(users), files, float64(total)/(1<<20))
	t0 := time.Now()
	if err := d.scheduledRun(ctx, users, 1); err != nil {
		return err
	}
	d.lines = append(d.lines, fmt.Sprintf("full backup: %d files, %.1f MiB in %s", files, float64(total)/(1<<20), time.Since(t0).Round(100*time.Millisecond)))

	before := map[string]Files{}
	folders := map[string]map[string]bool{}
	for _, u := range users {
		if before[u.ID], folders[u.ID], err = s.Manifest(ctx, u.ID); err != nil {
			return err
		}
	}
	var snaps []struct {
		ID     int64
		UserID string
		App    string
	}
	out, err := d.s.Holdfast(ctx, "backup", "list", "--json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), &snaps); err != nil {
		return err
	}
	full, fullMail := map[string]int64{}, map[string]int64{}
	for _, sn := range snaps {
		m := full
		if sn.App == "exchange" {
			m = fullMail
		}
		if m[sn.UserID] == 0 || sn.ID > m[sn.UserID] {
			m[sn.UserID] = sn.ID
		}
	}
	var mailBefore []graphsim.MailEntry
	if err := s.SimAdmin(ctx, "GET", "/manifest/mail?user="+alice.ID, nil, &mailBefore); err != nil {
		return err
	}

	d.step("simulating a day of user activity in graphsim")
	var res graphsim.MutateResult
	if err := s.SimAdmin(ctx, "POST", "/mutate", graphsim.MutateRequest{Seed: 7, Creates: 4, Updates: 4, Deletes: 2, Moves: 2, Renames: 2,
		Mail:     &graphsim.ItemMutation{Creates: 5, Updates: 4, Deletes: 3, Moves: 2, FolderCreates: 1, FolderRenames: 1, FolderDeletes: 1},
		Events:   &graphsim.ItemMutation{Creates: 1, Updates: 2, Deletes: 1},
		Contacts: &graphsim.ItemMutation{Creates: 1, Updates: 1, Deletes: 1}}, &res); err != nil {
		return err
	}
	d.say("%d changes: files and folders created, edited, deleted, moved and renamed; mail arrived, was read, flagged, filed and deleted; events and contacts changed", len(res.Changes))

	d.step("the schedule's next run: an incremental backup (delta queries: only the changes are fetched)")
	var counters graphsim.Counters
	if err := s.SimAdmin(ctx, "POST", "/counters/reset", nil, nil); err != nil {
		return err
	}
	t0 = time.Now()
	if err := d.scheduledRun(ctx, users, 2); err != nil {
		return err
	}
	if err := s.SimAdmin(ctx, "GET", "/counters", nil, &counters); err != nil {
		return err
	}
	d.lines = append(d.lines, fmt.Sprintf("incremental backup after %d changes: %d Graph requests in %s", len(res.Changes), counters.Served, time.Since(t0).Round(100*time.Millisecond)))

	d.step("restoring %s's first backup into a new folder of their OneDrive", alice.UPN)
	if _, err := d.holdfast(ctx, "restore", "--user", alice.UPN, "--snapshot", fmt.Sprint(full[alice.ID]), "--to", "folder"); err != nil {
		return err
	}
	now, nowFolders, err := s.Manifest(ctx, alice.ID)
	if err != nil {
		return err
	}
	restored := ""
	for f := range nowFolders {
		if strings.HasPrefix(f, "Holdfast Restore ") && !strings.Contains(f, "/") {
			restored = f
		}
	}
	first := Files{}
	for p, sum := range before[alice.ID] {
		if !strings.HasSuffix(strings.ToLower(p), ".tmp") {
			first[p] = sum
		}
	}
	d.check(fmt.Sprintf("restored folder %q holds the first backup, byte for byte", restored), Diff(first, now.Under(restored), 10))

	if err := d.mailbox(ctx, alice, fullMail[alice.ID], mailBefore); err != nil {
		return err
	}

	d.step("downloading every user's latest backup as a ZIP")
	for _, u := range users {
		if u.DriveID == "" {
			continue
		}
		zipPath := filepath.Join(s.Dir, "download-"+u.ID+".zip")
		if _, err := d.holdfast(ctx, "download", "--user", u.UPN, "-o", zipPath); err != nil {
			return err
		}
		want, _, err := s.Manifest(ctx, u.ID)
		if err != nil {
			return err
		}
		got, _, err := ZipFiles(zipPath, u.UPN+"/onedrive")
		if err != nil {
			return err
		}
		if u.ID == alice.ID {
			for p := range want {
				if strings.HasPrefix(p, restored+"/") {
					delete(want, p) // restored after the latest backup
				}
			}
		}
		for p := range want {
			if strings.HasSuffix(strings.ToLower(p), ".tmp") {
				delete(want, p) // excluded by the profile
			}
		}
		d.check(fmt.Sprintf("%s: ZIP matches the drive (but for the profile's exclusions)", u.UPN), Diff(want, got, 10))
	}

	d.step("verifying %s's first snapshot in the vault", alice.UPN)
	if _, err := d.holdfast(ctx, "verify", fmt.Sprint(full[alice.ID])); err != nil {
		d.check("vault verification", []string{err.Error()})
	} else {
		d.check("every chunk decrypts and every file matches its hash", nil)
	}
	for _, cmd := range [][]string{{"status"}, {"audit", "--since", "1h"}} {
		if _, err := d.holdfast(ctx, cmd...); err != nil {
			return err
		}
	}
	return nil
}

// mailbox restores a user's first Exchange backup into a new folder and
// downloads it, checking both against the simulator.
func (d *demo) mailbox(ctx context.Context, u graphsim.UserInfo, snap int64, before []graphsim.MailEntry) error {
	s := d.s
	d.step("restoring %s's first mailbox backup into a new folder: non-drafts with their dates, flags and attachment trees", u.UPN)
	if _, err := d.holdfast(ctx, "restore", "--user", u.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(snap)); err != nil {
		return err
	}
	var now []graphsim.MailEntry
	if err := s.SimAdmin(ctx, "GET", "/manifest/mail?user="+u.ID, nil, &now); err != nil {
		return err
	}
	restored := map[string]graphsim.MailEntry{}
	for _, m := range now {
		folder := strings.TrimPrefix(m.Folder, "Archive:/")
		if top, rest, ok := strings.Cut(folder, "/"); ok && strings.HasPrefix(top, "Holdfast Restore ") {
			if strings.HasPrefix(m.Folder, "Archive:/") {
				rest = "Archive:/" + rest
			}
			restored[rest+"|"+m.InternetMessageID] = m
		}
	}
	var diff []string
	n := 0
	for _, m := range before {
		if strings.HasPrefix(m.Folder, "Recoverable Items/") && m.Folder != "Recoverable Items/Deletions" && m.Folder != "Recoverable Items/Purges" {
			continue // the service's own records: never backed up
		}
		n++
		r, ok := restored[m.Folder+"|"+m.InternetMessageID]
		switch {
		case !ok:
			diff = append(diff, fmt.Sprintf("%s/%q: not restored", m.Folder, m.Subject))
		case r.IsDraft != m.IsDraft || !r.Sent.Equal(m.Sent) || !r.Received.Equal(m.Received) || r.IsRead != m.IsRead ||
			r.Flag != m.Flag || len(r.Attachments) != len(m.Attachments):
			diff = append(diff, fmt.Sprintf("%s/%q: restored with other properties", m.Folder, m.Subject))
		}
	}
	d.check(fmt.Sprintf("%d messages restored as they were (folders, Recoverable Items and the archive included)", n), first(diff, 10))

	d.step("downloading %s's first mailbox backup: .eml per message, .ics per calendar, .vcf per contact folder", u.UPN)
	zipPath := filepath.Join(s.Dir, "mailbox-"+u.ID+".zip")
	if _, err := d.holdfast(ctx, "download", "--user", u.UPN, "--app", "exchange", "--snapshot", fmt.Sprint(snap), "-o", zipPath); err != nil {
		return err
	}
	got, _, err := ZipFiles(zipPath, u.UPN+"/exchange")
	if err != nil {
		return err
	}
	sums := map[string]bool{}
	for _, sum := range got {
		sums[sum] = true
	}
	diff = nil
	for _, m := range before {
		if strings.HasPrefix(m.Folder, "Archive:/") || strings.HasPrefix(m.Folder, "Recoverable Items/") &&
			m.Folder != "Recoverable Items/Deletions" && m.Folder != "Recoverable Items/Purges" {
			continue
		}
		if !sums[m.MIMESHA256] {
			diff = append(diff, fmt.Sprintf("%s/%q: no .eml with the bytes the service served", m.Folder, m.Subject))
		}
	}
	d.check("every .eml is byte-identical to the MIME the service served", first(diff, 10))
	return nil
}

func first(l []string, n int) []string { return l[:min(n, len(l))] }

// connect runs `holdfast tenant connect` and opens the consent URL it
// prints, as the tenant's administrator would in a browser.
func (d *demo) connect(ctx context.Context, verifyUser string) error {
	s := d.s
	secret := filepath.Join(s.Dir, "client-secret")
	if err := os.WriteFile(secret, []byte(s.Sim.ClientSecret), 0o600); err != nil {
		return err
	}
	login := strings.TrimSuffix(s.Sim.AuthorityURL, "/"+s.Sim.TenantID)
	args := []string{"tenant", "connect", "--name", "contoso", "--client-id", s.Sim.ClientID, "--client-secret-file", secret,
		"--login-url", login, "--graph-url", s.Sim.GraphURL, "--ca-file", s.Sim.CAFile, "--no-browser",
		"--verify-user", verifyUser, "--apps", "onedrive,exchange"}
	fmt.Fprintf(d.out, "    $ holdfast %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, filepath.Join(s.Bin, "holdfast"), args...)
	cmd.Env = append(os.Environ(), s.Env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	urlRE := regexp.MustCompile(`https://\S+/adminconsent\?\S+`)
	sc := bufio.NewScanner(stderr)
	opened := false
	var errLines []string
	for sc.Scan() {
		line := sc.Text()
		errLines = append(errLines, line)
		if u := urlRE.FindString(line); u != "" && !opened {
			opened = true
			d.say("consent URL printed; opening it as the administrator")
			resp, err := s.browser().Get(u)
			if err != nil {
				cmd.Process.Kill()
				return fmt.Errorf("open the consent URL: %w", err)
			}
			resp.Body.Close()
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("holdfast tenant connect: %s", strings.Join(errLines, "; "))
	}
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		fmt.Fprintf(d.out, "      %s\n", l)
	}
	return nil
}

// scheduledRun triggers the profile's schedule and waits until its n-th
// run is recorded.
func (d *demo) scheduledRun(ctx context.Context, users []graphsim.UserInfo, n int) error {
	if _, err := d.holdfast(ctx, "schedule", "trigger", "everyone"); err != nil {
		return err
	}
	d.say("waiting for the scheduled run…")
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := d.s.Holdfast(ctx, "profile", "show", "everyone", "--json")
		if err != nil {
			return err
		}
		var p struct {
			Runs []struct{ Complete, Partial, Failed, Skipped int }
		}
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			return err
		}
		if len(p.Runs) >= n {
			r := p.Runs[0]
			d.say("run %d: %d complete, %d partial, %d failed, %d skipped", n, r.Complete, r.Partial, r.Failed, r.Skipped)
			if r.Complete+r.Partial < len(users) {
				return fmt.Errorf("the scheduled run backed up %d of %d users", r.Complete+r.Partial, len(users))
			}
			_, err := d.holdfast(ctx, "user", "list")
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("the scheduled run did not finish within 5 minutes")
}

func (d *demo) summary() {
	d.step("summary")
	for _, l := range d.lines {
		d.say("%s", l)
	}
	d.say("%d checks, %d failed; %s in all", d.checks, len(d.problems), time.Since(d.start).Round(time.Second))
}
