package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// DirectorySyncWorkflowID names a tenant's directory sync.
func DirectorySyncWorkflowID(tenantID string) string { return "directory-sync/" + tenantID }

// DirectorySyncResult is what a sync did and the first backups it started.
type DirectorySyncResult struct {
	activities.DirectorySyncResult
	Backups []string
}

// DirectorySyncWorkflow applies the tenant's mapping rules to the
// directory's changes and starts the first backup of every user it adds.
// Its schedule runs it every few minutes.
func DirectorySyncWorkflow(ctx workflow.Context, in activities.DirectorySyncInput) (DirectorySyncResult, error) {
	var res DirectorySyncResult
	if err := workflow.ExecuteActivity(withData(ctx), a.SyncDirectory, in).Get(ctx, &res.DirectorySyncResult); err != nil {
		return res, err
	}
	ids, err := startFirstBackups(ctx, in.TenantID, res.Added)
	res.Backups = ids
	return res, err
}

func init() { register(DirectorySyncWorkflow) }
