package activities

import (
	"context"
	"fmt"
	"path"

	"go.temporal.io/sdk/activity"
	"gocloud.dev/blob"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/export"
)

// ExportKey is where a download's ZIP is written in the blob store.
func ExportKey(tenantID string, jobID int64) string {
	return fmt.Sprintf("exports/%s/%d.zip", tenantID, jobID)
}

// PrepareExport checks a download request and records the job.
func (a *Activities) PrepareExport(ctx context.Context, req ExportRequest) (ExportPlan, error) {
	k := catalog.UserApp{TenantID: req.TenantID, UserID: req.UserID, App: req.App}
	if err := a.allowData(ctx, "download", req.Actor, k, ""); err != nil {
		return ExportPlan{}, err
	}
	snap, err := a.resolveSnapshot(ctx, k, req.SnapshotID, RestoreRequest{At: req.At})
	if err != nil {
		return ExportPlan{}, err
	}
	nodes, err := a.selection(ctx, snap, req.Selection)
	if err != nil {
		return ExportPlan{}, err
	}
	items, bytes := count(nodes)
	job, err := a.Catalog.StartJob(ctx, catalog.Job{Kind: catalog.JobExport, TenantID: req.TenantID, UserID: req.UserID,
		App: req.App, SnapshotID: snap.ID, WorkflowID: activity.GetInfo(ctx).WorkflowExecution.ID})
	if err != nil {
		return ExportPlan{}, err
	}
	key := ExportKey(req.TenantID, job.ID)
	if err := a.Catalog.Audit(ctx, catalog.AuditEntry{Actor: req.Actor, Action: "export.start",
		Object: fmt.Sprintf("snapshot %d of %s", snap.ID, k),
		After:  fmt.Sprintf(`{"job":%d,"items":%d,"blob":%q}`, job.ID, items, key)}); err != nil {
		return ExportPlan{}, err
	}
	return ExportPlan{JobID: job.ID, SnapshotID: snap.ID, Items: items, Bytes: bytes, BlobKey: key}, nil
}

// BuildExport writes a prepared download as a ZIP into the blob store. A
// failed attempt leaves no object behind (the blob write is aborted) and
// the retry starts over.
func (a *Activities) BuildExport(ctx context.Context, in ExportInput) (ExportResult, error) {
	req := in.Request
	snap, err := a.snapshot(ctx, in.Plan.SnapshotID)
	if err != nil {
		return ExportResult{}, err
	}
	nodes, err := a.selection(ctx, snap, req.Selection)
	if err != nil {
		return ExportResult{}, err
	}
	ring, err := a.keys(ctx, req.TenantID)
	if err != nil {
		return ExportResult{}, classify(err)
	}
	user, err := a.Catalog.User(ctx, req.TenantID, req.UserID)
	if err != nil {
		return ExportResult{}, classify(err)
	}
	hb := newHeartbeat(ctx, nil)
	defer hb.stop()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := a.Bucket.NewWriter(wctx, in.Plan.BlobKey, &blob.WriterOptions{ContentType: "application/zip"})
	if err != nil {
		return ExportResult{}, err
	}
	res, err := export.WriteZip(ctx, w, path.Join(user.UPN, req.App), nodes, a.opener(req.TenantID, ring), export.Options{Mbox: req.Mbox})
	if err != nil {
		cancel() // abort the upload: no half-written ZIP
		w.Close()
		return ExportResult{}, err
	}
	if err := w.Close(); err != nil {
		return ExportResult{}, err
	}
	attrs, err := a.Bucket.Attributes(ctx, in.Plan.BlobKey)
	if err != nil {
		return ExportResult{}, err
	}
	return ExportResult{BlobKey: in.Plan.BlobKey, Size: attrs.Size, Files: res.Files, Failed: res.Failed}, nil
}
