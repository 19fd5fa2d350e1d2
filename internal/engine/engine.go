// Package engine assembles a Holdfast worker from its configuration: the
// catalog, the vault over its blob store, the Graph client factory and the
// Temporal worker with every workflow and activity registered. The worker
// main and the end-to-end tests both build it here.
package engine

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// vaults
	_ "gocloud.dev/blob/memblob"  // mem:// vaults (tests)

	"github.com/holdfast/holdfast/activities"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/config"
	"github.com/holdfast/holdfast/internal/m365"
	"github.com/holdfast/holdfast/internal/vault"
	"github.com/holdfast/holdfast/workflows"
)

// Engine is a configured worker and what it holds open.
type Engine struct {
	Catalog    *catalog.Store
	Bucket     *blob.Bucket
	Activities *activities.Activities
	Worker     worker.Worker
}

// New opens the catalog and the blob store and builds the worker on c.
func New(ctx context.Context, cfg config.Config, c client.Client, log *slog.Logger) (*Engine, error) {
	store, err := catalog.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	bucket, err := blob.OpenBucket(ctx, cfg.BlobURL)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("open blob store %s: %w", cfg.BlobURL, err)
	}
	acts := &activities.Activities{
		Catalog:   store,
		Vault:     vault.New(bucket, store, vault.Options{}),
		Bucket:    bucket,
		KeeperURL: cfg.KeeperURL,
		Graph: m365.NewFactory(m365.Options{RUPerMinute: cfg.GraphRUPerMinute,
			MailboxRequestsPer10Min: cfg.MailboxRequestsPer10Min, MailboxWindowScale: cfg.MailboxWindowScale, Log: log}),
		Temporal: c,
		Log:      log,
	}
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	Register(w, acts)
	return &Engine{Catalog: store, Bucket: bucket, Activities: acts, Worker: w}, nil
}

// Register registers every workflow and the activities on w.
func Register(w worker.Registry, acts *activities.Activities) {
	for _, wf := range workflows.All() {
		w.RegisterWorkflow(wf)
	}
	w.RegisterActivity(acts)
}

// Close releases the catalog and the blob store (after the worker stopped).
func (e *Engine) Close() error {
	berr := e.Bucket.Close()
	if err := e.Catalog.Close(); err != nil {
		return err
	}
	return berr
}
