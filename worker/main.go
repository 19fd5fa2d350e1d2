// Command worker runs a Holdfast worker: it polls the "holdfast" task
// queue and runs backups, restores and downloads. Run as many as the
// tenant's Graph budget allows; Temporal spreads the work.
package main

import (
	"context"
	"fmt"
	"net/http"
	_ "net/http/pprof" // served only on HOLDFAST_DEBUG_ADDR
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/holdfast/holdfast/internal/config"
	_ "github.com/holdfast/holdfast/internal/drivers" // cloud blob stores and key managers
	"github.com/holdfast/holdfast/internal/engine"
)

// defaultMemoryLimit is the worker's soft memory limit (Go heap and runtime;
// the process adds the pages of its binary it touches, ~100 MiB, and
// SQLite's caches): peak RSS stays near 265 MiB in `make bench`.
const defaultMemoryLimit = 180 << 20

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "holdfast worker:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	config.Flags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return err
	}
	log := config.Logger(cfg, os.Stderr)
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit keeps garbage from piling up between collections;
		// the worker's working set is bounded by its download and
		// container limits. GOMEMLIMIT overrides it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.NeedsHome() {
		if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
			return err
		}
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(log)})
	if err != nil {
		return fmt.Errorf("cannot reach Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	defer c.Close()
	e, err := engine.New(ctx, cfg, c, log)
	if err != nil {
		return err
	}
	defer e.Close()
	if addr := os.Getenv("HOLDFAST_DEBUG_ADDR"); addr != "" {
		// Go's profiler, for diagnosing a worker in place (bind to localhost).
		go func() { log.Warn("debug server stopped", "err", http.ListenAndServe(addr, nil)) }()
	}
	log.Info("worker started", "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace)
	// Run returns once ctx ends and running activities had their chance
	// to stop (Temporal retries them elsewhere, resuming from heartbeats).
	stopped := make(chan any)
	go func() { <-ctx.Done(); close(stopped) }()
	return e.Worker.Run(stopped)
}
