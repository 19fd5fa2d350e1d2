package workflows

// all lists every workflow for the worker to register; each file adds its
// own.
var all []any

func register(wfs ...any) { all = append(all, wfs...) }

// All returns every workflow function.
func All() []any { return all }

func init() {
	register(BackupWorkflow, ManualBackupWorkflow, AddUsersWorkflow, RestoreWorkflow, DownloadWorkflow, VerifyWorkflow)
}
