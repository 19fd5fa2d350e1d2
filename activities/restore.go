package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/keys"
	"github.com/holdfast/holdfast/internal/mailitem"
	"github.com/holdfast/holdfast/internal/policy"
	"github.com/holdfast/holdfast/internal/restore"
	"github.com/holdfast/holdfast/internal/tree"
	"github.com/holdfast/holdfast/internal/vault"
)

// resolveSnapshot finds the snapshot a restore or download reads: the one
// named (checked to belong to the user-app and to be usable) or the newest
// usable one at the point in time.
func (a *Activities) resolveSnapshot(ctx context.Context, k catalog.UserApp, id int64, req RestoreRequest) (catalog.Snapshot, error) {
	if id == 0 {
		snap, err := a.Catalog.LatestUsableSnapshot(ctx, k, req.At)
		if err != nil {
			return snap, classify(err)
		}
		return snap, nil
	}
	snap, err := a.snapshot(ctx, id)
	if err != nil {
		return snap, err
	}
	if snap.Key() != k {
		return snap, nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("snapshot %d is a backup of %s for another user or app", id, snap.App))
	}
	if snap.State != catalog.StateComplete && snap.State != catalog.StatePartial {
		return snap, nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("snapshot %d is %s; choose a complete or partial snapshot", id, snap.State))
	}
	return snap, nil
}

// selection loads a snapshot's tree and picks the requested items.
func (a *Activities) selection(ctx context.Context, snap catalog.Snapshot, sel Selection) ([]*tree.Node, error) {
	items, err := a.Catalog.ItemsAt(ctx, snap.Key(), snap.ID)
	if err != nil {
		return nil, err
	}
	nodes, err := tree.Build(items).Select(sel.Paths, sel.ItemIDs)
	if err != nil {
		return nil, nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("snapshot %d: %w", snap.ID, err))
	}
	return sel.filter(nodes), nil
}

// filter applies the mail filters to nodes (pre-order), keeping the
// folders on the way to what they choose.
func (sel Selection) filter(nodes []*tree.Node) []*tree.Node {
	if sel.Since.IsZero() && sel.Until.IsZero() && sel.Sender == "" && sel.Subject == "" {
		return nodes
	}
	keep := make(map[*tree.Node]bool, len(nodes))
	for _, n := range nodes {
		if n.IsFolder() || !sel.chooses(n) {
			continue
		}
		for p := n; p != nil && !keep[p]; p = p.Parent {
			keep[p] = true
		}
	}
	out := nodes[:0:0]
	for _, n := range nodes {
		if keep[n] {
			out = append(out, n)
		}
	}
	return out
}

// chooses says whether a leaf passes the filters: they select messages,
// so other items (events, contacts) are left out when any is given.
func (sel Selection) chooses(n *tree.Node) bool {
	if n.Kind != mailitem.KindMessage {
		return false
	}
	var m mailitem.Message
	_ = json.Unmarshal([]byte(n.Meta), &m)
	when := m.Received
	if when.IsZero() {
		when = m.Sent
	}
	return (sel.Since.IsZero() || !when.Before(sel.Since)) && (sel.Until.IsZero() || when.Before(sel.Until)) &&
		(sel.Sender == "" || strings.Contains(strings.ToLower(m.From), strings.ToLower(sel.Sender))) &&
		(sel.Subject == "" || strings.Contains(strings.ToLower(n.Name), strings.ToLower(sel.Subject)))
}

func count(nodes []*tree.Node) (items, bytes int64) {
	for _, n := range nodes {
		items++
		bytes += n.Size
	}
	return items, bytes
}

// opener streams stored content with the tenant's keys.
func (a *Activities) opener(tenantID string, ring *keys.Keyring) func(ctx context.Context, content string) (io.ReadCloser, error) {
	return func(ctx context.Context, content string) (io.ReadCloser, error) {
		c, err := vault.ParseContent(content)
		if err != nil {
			return nil, err
		}
		return a.Vault.Open(ctx, tenantID, ring, c)
	}
}

// PrepareRestore checks a restore request — snapshot, selection, target,
// policy — and records the job. Bad requests fail here, before anything is
// written.
func (a *Activities) PrepareRestore(ctx context.Context, req RestoreRequest) (RestorePlan, error) {
	k := catalog.UserApp{TenantID: req.TenantID, UserID: req.UserID, App: req.App}
	if req.App != AppOneDrive && req.App != AppExchange {
		return RestorePlan{}, nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("restoring %q is not supported yet", req.App))
	}
	if _, err := restore.ParsePolicy(req.Conflict); err != nil {
		return RestorePlan{}, nonRetryable(ErrTypeInvalidRequest, err)
	}
	if req.Mode != ModeOriginal && req.Mode != ModeFolder {
		return RestorePlan{}, nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("unknown restore mode %q (want %s or %s)", req.Mode, ModeOriginal, ModeFolder))
	}
	snap, err := a.resolveSnapshot(ctx, k, req.SnapshotID, req)
	if err != nil {
		return RestorePlan{}, err
	}
	nodes, err := a.selection(ctx, snap, req.Selection)
	if err != nil {
		return RestorePlan{}, err
	}
	g, err := a.graph(ctx, req.TenantID)
	if err != nil {
		return RestorePlan{}, classify(err)
	}
	target := req.UserID
	if req.TargetUserID != "" {
		// Any user of the tenant, protected or not.
		u, err := g.User(ctx, req.TargetUserID)
		if errors.Is(err, graphapi.ErrNotFound) {
			return RestorePlan{}, nonRetryable(ErrTypeNotFound, fmt.Errorf("restore target %s is not a user of the tenant", req.TargetUserID))
		}
		if err != nil {
			return RestorePlan{}, classify(err)
		}
		target = u.ID
	}
	if err := a.allowData(ctx, "restore", req.Actor, k, target); err != nil {
		return RestorePlan{}, err
	}
	if err := a.checkTarget(ctx, g, req.App, target); err != nil {
		return RestorePlan{}, err
	}
	items, bytes := count(nodes)
	job, err := a.Catalog.StartJob(ctx, catalog.Job{Kind: catalog.JobRestore, TenantID: req.TenantID, UserID: req.UserID,
		App: req.App, SnapshotID: snap.ID, WorkflowID: activity.GetInfo(ctx).WorkflowExecution.ID, Target: target})
	if err != nil {
		return RestorePlan{}, err
	}
	if err := a.Catalog.Audit(ctx, catalog.AuditEntry{Actor: req.Actor, Action: "restore.start",
		Object: fmt.Sprintf("snapshot %d of %s", snap.ID, k),
		After:  fmt.Sprintf(`{"job":%d,"target":%q,"mode":%q,"conflict":%q,"items":%d}`, job.ID, target, req.Mode, req.Conflict, items)}); err != nil {
		return RestorePlan{}, err
	}
	return RestorePlan{JobID: job.ID, SnapshotID: snap.ID, TargetUserID: target, Items: items, Bytes: bytes}, nil
}

// restoreCursor is a restore's heartbeat: how many nodes are done, and
// the counts so far.
type restoreCursor struct {
	Done   int
	Result RestoreResult
}

// RestoreItems writes a prepared restore, resuming after the nodes an
// earlier attempt finished.
func (a *Activities) RestoreItems(ctx context.Context, in RestoreInput) (RestoreResult, error) {
	req := in.Request
	snap, err := a.snapshot(ctx, in.Plan.SnapshotID)
	if err != nil {
		return RestoreResult{}, err
	}
	nodes, err := a.selection(ctx, snap, req.Selection)
	if err != nil {
		return RestoreResult{}, err
	}
	ring, err := a.keys(ctx, req.TenantID)
	if err != nil {
		return RestoreResult{}, classify(err)
	}
	g, err := a.graph(ctx, req.TenantID)
	if err != nil {
		return RestoreResult{}, classify(err)
	}
	var from restoreCursor
	resumed := activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &from) == nil
	policy, _ := restore.ParsePolicy(req.Conflict)
	folder := ""
	if req.Mode == ModeFolder {
		folder = req.FolderName
	}
	hb := newHeartbeat(ctx, from)
	defer hb.stop()
	base := from.Result
	progress := func(done int, so restore.Result) {
		hb.set(restoreCursor{Done: done, Result: add(base, so, folder)})
	}
	log := a.log().With("job", in.Plan.JobID)
	var res restore.Result
	switch req.App {
	case AppExchange:
		r := &restore.Mailbox{Graph: g, Open: a.opener(req.TenantID, ring), UserID: in.Plan.TargetUserID,
			Folder: folder, Policy: policy, Resumed: resumed, Log: log, Progress: progress}
		res, err = r.Run(ctx, nodes, from.Done)
	default:
		drive, derr := g.UserDrive(ctx, in.Plan.TargetUserID)
		if derr != nil {
			return RestoreResult{}, classify(derr)
		}
		r := &restore.Drive{Graph: g, Open: a.opener(req.TenantID, ring), DriveID: drive.ID, RootID: drive.RootID,
			Folder: folder, Policy: policy, Resumed: resumed, Log: log, Progress: progress}
		res, err = r.Run(ctx, nodes, from.Done)
	}
	if err != nil {
		return RestoreResult{}, classify(err)
	}
	out := add(base, res, folder)
	out.Failures = append(out.Failures, res.Failures...)
	return out, nil
}

// checkTarget checks that the restore target has the app's storage.
func (a *Activities) checkTarget(ctx context.Context, g graphapi.Client, app, target string) error {
	var err error
	what := "OneDrive"
	if app == AppExchange {
		what = "mailbox"
		_, _, err = g.MailboxIDs(ctx, target)
	} else {
		_, err = g.UserDrive(ctx, target)
	}
	if errors.Is(err, graphapi.ErrNotFound) {
		return nonRetryable(ErrTypeNotFound, fmt.Errorf("restore target %s has no %s", target, what))
	}
	if err != nil {
		return classify(fmt.Errorf("restore target %s: %w", target, err))
	}
	return nil
}

func add(base RestoreResult, r restore.Result, folder string) RestoreResult {
	return RestoreResult{Restored: base.Restored + r.Restored, Skipped: base.Skipped + r.Skipped, Failed: base.Failed + r.Failed,
		Bytes: base.Bytes + r.Bytes, Folder: folder, Failures: base.Failures}
}

// FinishJob records how a restore or download ended, in the jobs table and
// the audit log.
func (a *Activities) FinishJob(ctx context.Context, in FinishJobInput) error {
	job, err := a.Catalog.Job(ctx, in.JobID)
	if errors.Is(err, catalog.ErrNotFound) {
		return nonRetryable(ErrTypeNotFound, err)
	}
	if err != nil {
		return err
	}
	job.State, job.Items, job.Bytes, job.Skipped, job.Failed, job.Error = in.State, in.Items, in.Bytes, in.Skipped, in.Failed, in.Error
	if in.Target != "" {
		job.Target = in.Target
	}
	if err := a.Catalog.FinishJob(ctx, job); err != nil {
		return err
	}
	return a.Catalog.Audit(ctx, catalog.AuditEntry{Actor: in.Actor, Action: job.Kind + ".finish",
		Object: fmt.Sprintf("job %d", job.ID),
		After:  fmt.Sprintf(`{"state":%q,"items":%d,"skipped":%d,"failed":%d,"bytes":%d}`, in.State, in.Items, in.Skipped, in.Failed, in.Bytes)})
}

// allowData applies the data-privacy policy of the source user's profile
// to the admin who asked (the CLI checks first; this is the authority).
// A refusal is audited and not retried.
func (a *Activities) allowData(ctx context.Context, what, actor string, k catalog.UserApp, target string) error {
	role, err := a.Catalog.AdminRole(ctx, actor)
	if err == nil {
		var profile catalog.Profile
		if profile, err = a.Catalog.UserProfile(ctx, k.TenantID, k.UserID); err != nil {
			return classify(err)
		}
		if what == "download" {
			err = policy.AllowDownload(role, profile)
		} else {
			err = policy.AllowRestore(role, profile, k.UserID, target)
		}
	}
	if err == nil {
		return nil
	}
	if aerr := a.Catalog.Audit(ctx, catalog.AuditEntry{Actor: actor, Action: what + ".refused", Object: k.String(), After: err.Error()}); aerr != nil {
		return aerr
	}
	return nonRetryable(ErrTypePolicyRefused, err)
}
