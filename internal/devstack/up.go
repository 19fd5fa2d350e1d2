package devstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Up starts a stack with a seeded tenant registered, and leaves it running
// for exploration with the holdfast CLI, the temporal CLI and the UI.
func Up(ctx context.Context, o Options) error {
	if _, err := Load(o.Dir); err == nil {
		return fmt.Errorf("a stack is already running in %s (`make down` stops it)", o.Dir)
	}
	o.SimArgs = append([]string{"--seed", "42", "--users", "5", "--files-per-user", "100"}, o.SimArgs...)
	o.WorkerEnv = append(o.WorkerEnv, "HOLDFAST_GRAPH_RU_PER_MINUTE=-1")
	s, err := Start(ctx, o)
	if err != nil {
		return err
	}
	secret := filepath.Join(s.Dir, "client-secret")
	if err := os.WriteFile(secret, []byte(s.Sim.ClientSecret), 0o600); err != nil {
		s.Stop()
		return err
	}
	if _, err := s.Holdfast(ctx, "tenant", "add", "--name", "contoso", "--tenant-id", s.Sim.TenantID, "--client-id", s.Sim.ClientID,
		"--client-secret-file", secret, "--graph-url", s.Sim.GraphURL, "--authority-url", s.Sim.AuthorityURL, "--ca-file", s.Sim.CAFile); err != nil {
		s.Stop()
		return err
	}
	users, err := s.Users(ctx)
	if err != nil {
		s.Stop()
		return err
	}
	fmt.Fprintf(o.Out, "Holdfast is up: Temporal UI http://127.0.0.1:%d, graphsim %s, logs in %s\n\n", o.TemporalPort+1000, s.Sim.GraphURL, o.Dir)
	fmt.Fprintln(o.Out, "Use it from this shell after:")
	for _, e := range s.Env {
		k, v, _ := strings.Cut(e, "=")
		fmt.Fprintf(o.Out, "  export %s='%s'\n", k, v)
	}
	fmt.Fprintf(o.Out, "  export PATH=\"%s:$PATH\"\n\nthen for example:\n", o.Bin)
	fmt.Fprintf(o.Out, "  holdfast user add %s\n  holdfast backup now --wait\n  holdfast backup list\n", users[0].UPN)
	fmt.Fprintf(o.Out, "  temporal workflow list --address 127.0.0.1:%d\n\n`make down` stops it.\n", o.TemporalPort)
	return nil
}

// Down stops the stacks recorded in dirs.
func Down(dirs ...string) error {
	stopped := 0
	for _, dir := range dirs {
		s, err := Load(dir)
		if err != nil {
			continue
		}
		s.Stop()
		stopped++
	}
	if stopped == 0 {
		return fmt.Errorf("no stack is running")
	}
	return nil
}
