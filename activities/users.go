package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
)

// AddUsersInput adds users (by email address, UPN or object ID) to
// protection.
type AddUsersInput struct {
	TenantID string
	Refs     []string
	Apps     []string
	Actor    string
}

// AddedUser is a user now under protection.
type AddedUser struct {
	ID          string
	UPN         string
	DisplayName string
	Existed     bool // was already protected; its apps were (re)enabled
}

// SupportedApps are the apps Holdfast can protect today.
var SupportedApps = []string{AppOneDrive}

// AddUsers looks every user up in the tenant's directory first and adds
// them only if all exist: a typo fails the whole request with the names
// that are wrong, and nothing is added.
func (a *Activities) AddUsers(ctx context.Context, in AddUsersInput) ([]AddedUser, error) {
	for _, app := range in.Apps {
		if !supported(app) {
			return nil, nonRetryable(ErrTypeInvalidRequest, fmt.Errorf("app %q is not supported (supported: %s)", app, strings.Join(SupportedApps, ", ")))
		}
	}
	g, err := a.graph(ctx, in.TenantID)
	if err != nil {
		return nil, classify(err)
	}
	var found []graphapi.User
	var missing []string
	for _, ref := range in.Refs {
		u, err := g.User(ctx, ref)
		if errors.Is(err, graphapi.ErrNotFound) {
			missing = append(missing, ref)
			continue
		}
		if err != nil {
			return nil, classify(err)
		}
		found = append(found, u)
	}
	if len(missing) > 0 {
		return nil, nonRetryable(ErrTypeNotFound, fmt.Errorf("not found in the tenant's directory: %s", strings.Join(missing, ", ")))
	}
	var out []AddedUser
	for _, u := range found {
		added := AddedUser{ID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName}
		err := a.Catalog.AddUser(ctx, catalog.User{TenantID: in.TenantID, ID: u.ID, UPN: u.UPN, Mail: u.Mail,
			DisplayName: u.DisplayName}, in.Apps)
		switch {
		case errors.Is(err, catalog.ErrExists):
			added.Existed = true
			for _, app := range in.Apps {
				if err := a.Catalog.SetAppEnabled(ctx, catalog.UserApp{TenantID: in.TenantID, UserID: u.ID, App: app}, true); err != nil {
					return nil, err
				}
			}
		case err != nil:
			return nil, err
		}
		if err := a.Catalog.Audit(ctx, catalog.AuditEntry{Actor: in.Actor, Action: "user.add", Object: u.UPN,
			After: fmt.Sprintf(`{"id":%q,"apps":%q}`, u.ID, strings.Join(in.Apps, ","))}); err != nil {
			return nil, err
		}
		out = append(out, added)
	}
	return out, nil
}

func supported(app string) bool {
	for _, s := range SupportedApps {
		if s == app {
			return true
		}
	}
	return false
}
