// Package policy decides what an admin may do: by role for managing
// Holdfast, and by the data-privacy policy of a user's profile for
// restoring and downloading that user's data.
package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/holdfast/holdfast/internal/catalog"
)

// Action is something an admin asks to do.
type Action string

const (
	ManageTenants Action = "manage tenants, keys and admins"
	ManagePolicy  Action = "manage profiles, users, mappings, holds and retention"
	RunBackups    Action = "start backups"
	Read          Action = "read backups, status and the audit log"
)

// byRole lists what each role may do besides restores and downloads
// (which the profile's policy decides).
var byRole = map[string][]Action{
	catalog.RoleCloudAdmin:      {ManageTenants, ManagePolicy, RunBackups, Read},
	catalog.RoleBackupAdmin:     {ManagePolicy, RunBackups, Read},
	catalog.RoleRestoreOperator: {Read},
	catalog.RoleCompliance:      {Read},
}

// ErrRefused is wrapped by every refusal.
var ErrRefused = errors.New("refused by policy")

// Allow says whether role may perform a.
func Allow(role string, a Action) error {
	if slices.Contains(byRole[role], a) {
		return nil
	}
	return fmt.Errorf("%w: a %s may not %s", ErrRefused, role, a)
}

// defaultDataRoles may restore and download when a profile names none
// (and for users without a profile).
var defaultDataRoles = []string{catalog.RoleCloudAdmin, catalog.RoleBackupAdmin, catalog.RoleRestoreOperator}

// AllowRestore applies the data-privacy policy of the source user's
// profile to a restore by role, into targetUser (== sourceUser for an
// in-place restore).
func AllowRestore(role string, p catalog.Profile, sourceUser, targetUser string) error {
	roles := p.RestoreRoles
	if len(roles) == 0 {
		roles = defaultDataRoles
	}
	if !slices.Contains(roles, role) {
		return fmt.Errorf("%w: profile %s lets only %s restore its users' data, not a %s", ErrRefused, name(p), strings.Join(roles, ", "), role)
	}
	if targetUser != "" && targetUser != sourceUser && p.ID != "" && !p.CrossUserRestore {
		return fmt.Errorf("%w: profile %s does not allow restoring its users' data to another user", ErrRefused, name(p))
	}
	return nil
}

// AllowDownload applies the profile's policy to a download by role.
func AllowDownload(role string, p catalog.Profile) error {
	roles := p.DownloadRoles
	if len(roles) == 0 {
		roles = defaultDataRoles
	}
	if !slices.Contains(roles, role) {
		return fmt.Errorf("%w: profile %s lets only %s download its users' data, not a %s", ErrRefused, name(p), strings.Join(roles, ", "), role)
	}
	return nil
}

func name(p catalog.Profile) string {
	if p.ID == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", p.ID)
}
