package workflows

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// AddUsersInput adds users to protection.
type AddUsersInput struct {
	activities.AddUsersInput
	FirstBackup bool // start each new user-app's first backup
}

// AddUsersResult lists the users added, the rows refused and the backups
// started.
type AddUsersResult struct {
	activities.AddUsersResult
	Backups []string // workflow IDs of the first backups
}

// AddUsersWorkflow resolves users in the directory, adds them, and starts
// each one's first backup (which runs on after this workflow returns).
// When rows are invalid and SkipInvalid is off, nothing is added.
func AddUsersWorkflow(ctx workflow.Context, in AddUsersInput) (AddUsersResult, error) {
	var res AddUsersResult
	if err := workflow.ExecuteActivity(withShort(ctx), a.AddUsers, in.AddUsersInput).Get(ctx, &res.AddUsersResult); err != nil {
		return res, err
	}
	if !in.FirstBackup {
		return res, nil
	}
	ids, err := startFirstBackups(ctx, in.TenantID, res.Added)
	res.Backups = ids
	return res, err
}

// startFirstBackups starts a backup of each user's apps that outlives the
// calling workflow; one already running is left alone.
func startFirstBackups(ctx workflow.Context, tenantID string, users []activities.AddedUser) ([]string, error) {
	var ids []string
	for _, u := range users {
		for _, app := range u.Apps {
			id := BackupWorkflowID(tenantID, u.ID, app)
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:        id,
				ParentClosePolicy: enums.PARENT_CLOSE_POLICY_ABANDON, // the backup outlives this request
			})
			f := workflow.ExecuteChildWorkflow(cctx, BackupWorkflow, BackupInput{TenantID: tenantID, UserID: u.ID, App: app, Trigger: "initial"})
			err := f.GetChildWorkflowExecution().Get(ctx, nil)
			if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
				return ids, err
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}
