// Package workflows holds Holdfast's Temporal workflows: deterministic
// orchestration of the activities in package activities — what happens
// and in which order, never I/O, clocks or randomness outside the SDK.
package workflows

import (
	"fmt"

	"github.com/holdfast/holdfast/activities"
)

// TaskQueue is the one task queue of Holdfast's workers.
const TaskQueue = "holdfast"

// a references activity methods; the worker registers the real struct.
var a *activities.Activities

// BackupWorkflowID is the fixed ID of a user-app's backup: one runs at a
// time, and a second request joins the running one.
func BackupWorkflowID(tenantID, userID, app string) string {
	return fmt.Sprintf("backup/%s/%s/%s", tenantID, userID, app)
}

// ManualBackupWorkflowID names an on-demand backup of several user-apps.
func ManualBackupWorkflowID(tenantID, requestID string) string {
	return fmt.Sprintf("manual-backup/%s/%s", tenantID, requestID)
}

// RestoreWorkflowID names a restore.
func RestoreWorkflowID(tenantID, requestID string) string {
	return fmt.Sprintf("restore/%s/%s", tenantID, requestID)
}

// DownloadWorkflowID names a download.
func DownloadWorkflowID(tenantID, requestID string) string {
	return fmt.Sprintf("download/%s/%s", tenantID, requestID)
}

// VerifyWorkflowID names a snapshot verification.
func VerifyWorkflowID(snapshotID int64, requestID string) string {
	return fmt.Sprintf("verify/%d/%s", snapshotID, requestID)
}

// ProgressQuery is the query every long workflow answers with its progress.
const ProgressQuery = "progress"
