// Command holdfast is Holdfast's command line: tenants, users, backups,
// restores, downloads and verification. See `holdfast --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/holdfast/holdfast/internal/cli"
	_ "github.com/holdfast/holdfast/internal/drivers" // cloud blob stores and key managers
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
