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

// AddUsersResult lists the users added and the backups started.
type AddUsersResult struct {
	Users   []activities.AddedUser
	Backups []string // workflow IDs of the first backups
}

// AddUsersWorkflow resolves users in the directory, adds them, and starts
// each one's first backup (which runs on after this workflow returns).
func AddUsersWorkflow(ctx workflow.Context, in AddUsersInput) (AddUsersResult, error) {
	var res AddUsersResult
	if err := workflow.ExecuteActivity(withShort(ctx), a.AddUsers, in.AddUsersInput).Get(ctx, &res.Users); err != nil {
		return res, err
	}
	if !in.FirstBackup {
		return res, nil
	}
	for _, u := range res.Users {
		for _, app := range in.Apps {
			id := BackupWorkflowID(in.TenantID, u.ID, app)
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:        id,
				ParentClosePolicy: enums.PARENT_CLOSE_POLICY_ABANDON, // the backup outlives this request
			})
			f := workflow.ExecuteChildWorkflow(cctx, BackupWorkflow, BackupInput{TenantID: in.TenantID, UserID: u.ID, App: app, Trigger: "initial"})
			err := f.GetChildWorkflowExecution().Get(ctx, nil)
			if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
				return res, err
			}
			res.Backups = append(res.Backups, id)
		}
	}
	return res, nil
}
