// Command holdfast-dev runs Holdfast on one machine for people trying it
// and for its benchmark: `demo`, `up`, `down`, `bench`. The Makefile calls
// it; see README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/holdfast/holdfast/internal/devstack"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: holdfast-dev demo|up|down|bench [flags]")
		os.Exit(2)
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	bin := fs.String("bin", "bin", "directory of the binaries")
	port := fs.Int("temporal-port", 7233, "Temporal frontend port (the UI is on port+1000)")
	keep := fs.Bool("keep", false, "demo: leave the stack running")
	out := fs.String("out", "bench/results.json", "bench: where to write the results")
	only := fs.String("only", "", "bench: run one scenario (onedrive or mailbox) instead of both")
	fs.Parse(os.Args[2:])
	binDir, _ := filepath.Abs(*bin)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch cmd {
	case "demo":
		err = devstack.Demo(ctx, devstack.Options{Dir: abs(".holdfast-demo"), Bin: binDir, TemporalPort: *port, Out: os.Stdout}, *keep)
	case "up":
		err = devstack.Up(ctx, devstack.Options{Dir: abs(".holdfast-dev"), Bin: binDir, TemporalPort: *port, Out: os.Stdout})
	case "down":
		err = devstack.Down(abs(".holdfast-dev"), abs(".holdfast-demo"))
	case "bench":
		err = devstack.Bench(ctx, devstack.Options{Dir: abs(".holdfast-bench"), Bin: binDir, TemporalPort: *port, Out: os.Stdout}, *out, *only)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdfast-dev:", err)
		os.Exit(1)
	}
}

func abs(p string) string {
	a, _ := filepath.Abs(p)
	return a
}
