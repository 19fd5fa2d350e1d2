package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/holdfast/holdfast/internal/backup"
	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/keys"
)

// Apps Holdfast can back up today.
const (
	AppOneDrive = "onedrive"
	AppExchange = "exchange"
)

// PrepareBackup checks that the user-app is protected and that the
// tenant's ekey can be unwrapped, then opens the snapshot. Without the
// ekey nothing is fetched or written: the snapshot is recorded as failed
// with the reason, and the error is not retried.
func (a *Activities) PrepareBackup(ctx context.Context, in PrepareBackupInput) (PrepareBackupResult, error) {
	k := catalog.UserApp{TenantID: in.TenantID, UserID: in.UserID, App: in.App}
	enabled, err := a.Catalog.AppEnabled(ctx, k)
	if err != nil {
		return PrepareBackupResult{}, classify(err)
	}
	if !enabled {
		return PrepareBackupResult{}, nonRetryable(ErrTypeDisabled, fmt.Errorf("%s backup of user %s is disabled", in.App, in.UserID))
	}
	snap, err := a.Catalog.OpenSnapshot(ctx, k, in.Trigger, activity.GetInfo(ctx).WorkflowExecution.RunID)
	if errors.Is(err, catalog.ErrGCRunning) {
		// Retention is deleting unreferenced chunks: wait for it, however
		// long, rather than spend the retry policy's attempts.
		return PrepareBackupResult{}, temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeGCRunning,
			temporal.ApplicationErrorOptions{NextRetryDelay: 30 * time.Second})
	}
	if err != nil {
		return PrepareBackupResult{}, err
	}
	if _, err := a.keys(ctx, in.TenantID); err != nil {
		if errors.Is(err, keys.ErrUnavailable) {
			if ferr := a.Catalog.FailSnapshot(ctx, snap.ID, err.Error()); ferr != nil {
				return PrepareBackupResult{}, ferr
			}
		}
		return PrepareBackupResult{}, classify(err)
	}
	return PrepareBackupResult{SnapshotID: snap.ID}, nil
}

// ListContainers lists what the snapshot backs up: for OneDrive, the
// user's drive; for Exchange, the mailbox's folder hierarchy and each mail
// folder, calendar, contact folder and archive folder.
func (a *Activities) ListContainers(ctx context.Context, in SnapshotRef) ([]Container, error) {
	snap, err := a.snapshot(ctx, in.SnapshotID)
	if err != nil {
		return nil, err
	}
	g, err := a.graph(ctx, snap.TenantID)
	if err != nil {
		return nil, classify(err)
	}
	switch snap.App {
	case AppOneDrive:
		d, err := g.UserDrive(ctx, snap.UserID)
		if errors.Is(err, graphapi.ErrNotFound) {
			return nil, nonRetryable(ErrTypeNotFound, fmt.Errorf("user %s has no OneDrive (not provisioned or not licensed)", snap.UserID))
		}
		if err != nil {
			return nil, classify(err)
		}
		if err := a.Catalog.AddSnapshotContainer(ctx, snap.ID, d.ID, "drive", d.Name); err != nil {
			return nil, err
		}
		return []Container{{ID: d.ID, Kind: "drive", Name: d.Name}}, nil
	case AppExchange:
		profile, err := a.Catalog.UserProfile(ctx, snap.TenantID, snap.UserID)
		if err != nil {
			return nil, classify(err)
		}
		cs, err := backup.MailboxContainers(ctx, g, snap.UserID, profile.RecoverableItems)
		if errors.Is(err, graphapi.ErrNotFound) {
			return nil, nonRetryable(ErrTypeNotFound, fmt.Errorf("user %s has no mailbox (not licensed for Exchange Online)", snap.UserID))
		}
		if err != nil {
			return nil, classify(err)
		}
		out := make([]Container, len(cs))
		for i, c := range cs {
			if err := a.Catalog.AddSnapshotContainer(ctx, snap.ID, c.ID, c.Kind, c.Name); err != nil {
				return nil, err
			}
			out[i] = Container{ID: c.ID, Kind: c.Kind, Name: c.Name}
		}
		return out, nil
	}
	return nil, nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("app %q cannot be backed up yet", snap.App))
}

// heartbeatEvery keeps long downloads alive between durable steps.
const heartbeatEvery = 5 * time.Second

// BackupContainer backs up one container of a running snapshot, resuming
// from the cursor of an earlier attempt's heartbeat. It returns counts;
// the new delta link stays in the catalog until the commit.
func (a *Activities) BackupContainer(ctx context.Context, in ContainerInput) (ContainerResult, error) {
	snap, err := a.snapshot(ctx, in.SnapshotID)
	if err != nil {
		return ContainerResult{}, err
	}
	if snap.State != catalog.StateRunning {
		return ContainerResult{}, nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("snapshot %d is %s, not running", snap.ID, snap.State))
	}
	done, ok, kind, err := a.finishedContainer(ctx, in)
	if err != nil || ok {
		return done, err
	}
	ring, err := a.keys(ctx, snap.TenantID)
	if err != nil {
		return ContainerResult{}, classify(err)
	}
	g, err := a.graph(ctx, snap.TenantID)
	if err != nil {
		return ContainerResult{}, classify(err)
	}
	var from backup.Cursor
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &from); err != nil {
			from = backup.Cursor{}
		}
	}
	hb := newHeartbeat(ctx, from)
	defer hb.stop()
	slots := a.containerSlots(snap.App)
	if err := slots.Acquire(ctx, 1); err != nil {
		return ContainerResult{}, err
	}
	defer slots.Release(1)
	sess := a.Vault.NewSession(snap.TenantID, ring.Current())
	defer sess.Discard() // a no-op after the final Flush; drops the pending pack of a failed run
	profile, err := a.Catalog.UserProfile(ctx, snap.TenantID, snap.UserID)
	if err != nil {
		return ContainerResult{}, classify(err)
	}
	cfg := backup.Config{Catalog: a.Catalog, Session: sess, Key: snap.Key(), Snapshot: snap.ID, ContainerID: in.ContainerID,
		Concurrency: a.DownloadConcurrency, Downloads: a.downloadSlots(), Progress: func(c backup.Cursor) { hb.set(c) },
		Log: a.log().With("snapshot", snap.ID, "container", in.ContainerID)}
	var res backup.Result
	switch snap.App {
	case AppOneDrive:
		d := &backup.Drive{Graph: g, Config: cfg,
			Exclude: backup.Exclusions{Extensions: profile.ExcludeExtensions, Folders: profile.ExcludeFolders}}
		res, err = d.Run(ctx, from)
	case AppExchange:
		cfg.FlushBytes = mailFolderFlushBytes
		m := &backup.Mailbox{Graph: g, Config: cfg, UserID: snap.UserID, Kind: kind, RecoverableItems: profile.RecoverableItems}
		res, err = m.Run(ctx, from)
	default:
		err = nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("app %q cannot be backed up yet", snap.App))
	}
	if err != nil {
		return ContainerResult{}, classify(err)
	}
	return ContainerResult{Items: res.Items, Changed: res.Changed, Failed: res.Failed, BytesNew: res.BytesNew,
		Reenumerated: res.Reenumerated}, nil
}

// finishedContainer returns the counts of a container an earlier attempt
// finished (the activity completed but the result was lost), and the
// container's kind.
func (a *Activities) finishedContainer(ctx context.Context, in ContainerInput) (ContainerResult, bool, string, error) {
	cs, err := a.Catalog.SnapshotContainers(ctx, in.SnapshotID)
	if err != nil {
		return ContainerResult{}, false, "", err
	}
	for _, c := range cs {
		if c.ContainerID != in.ContainerID {
			continue
		}
		if c.Done {
			return ContainerResult{Items: c.Items, BytesNew: c.Bytes, Reenumerated: c.Reenumerated}, true, c.Kind, nil
		}
		return ContainerResult{}, false, c.Kind, nil
	}
	return ContainerResult{}, false, "", nonRetryable(ErrTypeInvalidRequest,
		fmt.Errorf("container %q is not part of snapshot %d", in.ContainerID, in.SnapshotID))
}

// heartbeat reports the latest durable cursor, both when it moves and on
// a timer, so the server sees the activity alive during long downloads.
type heartbeat struct {
	ctx  context.Context
	mu   sync.Mutex
	cur  any
	done chan struct{}
	wg   sync.WaitGroup
}

func newHeartbeat(ctx context.Context, initial any) *heartbeat {
	h := &heartbeat{ctx: ctx, cur: initial, done: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.mu.Lock()
				cur := h.cur
				h.mu.Unlock()
				activity.RecordHeartbeat(ctx, cur)
			}
		}
	}()
	return h
}

func (h *heartbeat) set(cur any) {
	h.mu.Lock()
	h.cur = cur
	h.mu.Unlock()
	activity.RecordHeartbeat(h.ctx, cur)
}

func (h *heartbeat) stop() {
	close(h.done)
	h.wg.Wait()
}

// FailContainer records a container the workflow gave up on.
func (a *Activities) FailContainer(ctx context.Context, in FailContainerInput) error {
	return a.Catalog.FailContainer(ctx, in.SnapshotID, in.ContainerID, in.Reason)
}

// CommitSnapshot commits a snapshot: item versions, delta links, state.
func (a *Activities) CommitSnapshot(ctx context.Context, in CommitInput) (SnapshotSummary, error) {
	snap, err := a.Catalog.CommitSnapshot(ctx, in.SnapshotID, in.BytesNew)
	if err != nil {
		return SnapshotSummary{}, err
	}
	return summary(snap), nil
}

// FailSnapshot ends a snapshot as failed.
func (a *Activities) FailSnapshot(ctx context.Context, in FailSnapshotInput) error {
	return a.Catalog.FailSnapshot(ctx, in.SnapshotID, in.Reason)
}

func summary(s catalog.Snapshot) SnapshotSummary {
	return SnapshotSummary{SnapshotID: s.ID, State: s.State, ItemsTotal: s.ItemsTotal, ItemsChanged: s.ItemsChanged,
		ItemsFailed: s.ItemsFailed, BytesTotal: s.BytesTotal, BytesNew: s.BytesNew, Error: s.Error}
}

// AwaitBackup waits for a backup workflow another starter already runs
// (a manual run joining a scheduled one) and returns its result.
func (a *Activities) AwaitBackup(ctx context.Context, in AwaitInput) (SnapshotSummary, error) {
	hb := newHeartbeat(ctx, nil)
	defer hb.stop()
	var res SnapshotSummary
	err := a.Temporal.GetWorkflow(ctx, in.WorkflowID, "").Get(ctx, &res)
	if err != nil && ctx.Err() == nil {
		// The run we joined failed: that is its outcome, not ours to retry.
		return SnapshotSummary{State: catalog.StateFailed, Error: err.Error()}, nil
	}
	return res, err
}
