package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/holdfast/holdfast/internal/catalog"
)

func TestRoles(t *testing.T) {
	assert.NoError(t, Allow(catalog.RoleCloudAdmin, ManageTenants))
	assert.ErrorIs(t, Allow(catalog.RoleBackupAdmin, ManageTenants), ErrRefused)
	assert.NoError(t, Allow(catalog.RoleBackupAdmin, ManagePolicy))
	assert.ErrorIs(t, Allow(catalog.RoleRestoreOperator, RunBackups), ErrRefused)
	assert.ErrorIs(t, Allow(catalog.RoleCompliance, ManagePolicy), ErrRefused)
	assert.NoError(t, Allow(catalog.RoleCompliance, Read))
}

func TestDataPolicy(t *testing.T) {
	none := catalog.Profile{}
	assert.NoError(t, AllowRestore(catalog.RoleRestoreOperator, none, "u1", "u2"), "no profile: the default policy")
	assert.ErrorIs(t, AllowRestore(catalog.RoleCompliance, none, "u1", "u1"), ErrRefused, "compliance is read-only by default")

	legal := catalog.Profile{ID: "legal", RestoreRoles: []string{catalog.RoleCloudAdmin}, DownloadRoles: []string{catalog.RoleCompliance}}
	err := AllowRestore(catalog.RoleBackupAdmin, legal, "u1", "u1")
	assert.ErrorIs(t, err, ErrRefused)
	assert.Contains(t, err.Error(), `profile "legal" lets only cloud-admin restore`)
	assert.ErrorContains(t, AllowRestore(catalog.RoleCloudAdmin, legal, "u1", "u2"), "to another user")
	assert.NoError(t, AllowRestore(catalog.RoleCloudAdmin, legal, "u1", "u1"))
	assert.NoError(t, AllowDownload(catalog.RoleCompliance, legal))
	assert.ErrorIs(t, AllowDownload(catalog.RoleRestoreOperator, legal), ErrRefused)
}
