package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
)

// UserRow is one user to add: from the command line, or a line of a CSV.
type UserRow struct {
	Line      int    // CSV line, 0 for the command line
	Ref       string // email address, UPN or object ID
	ProfileID string // "" for none
	Apps      []string
}

// AddUsersInput adds users to protection.
type AddUsersInput struct {
	TenantID    string
	Rows        []UserRow
	SkipInvalid bool // add the valid rows even if some are not
	Actor       string
}

// AddedUser is a user now under protection.
type AddedUser struct {
	ID          string
	UPN         string
	DisplayName string
	Kind        string   // mailbox kind: user, shared, room, equipment, or none
	Apps        []string // apps enabled
	Existed     bool     // was already protected; its apps were (re)enabled
	Note        string
}

// RowError is a row that cannot be added, and why.
type RowError struct {
	Line   int
	Ref    string
	Reason string
}

// AddUsersResult lists the users added and the rows refused.
type AddUsersResult struct {
	Added   []AddedUser
	Invalid []RowError
}

// SupportedApps are the apps Holdfast can protect today.
var SupportedApps = []string{AppOneDrive, AppExchange}

// AddUsers looks every row up first — profile, apps, the user in the
// directory, their mailbox kind — and adds them only if all are valid
// (or, with SkipInvalid, the valid ones): a typo never half-applies a list.
func (a *Activities) AddUsers(ctx context.Context, in AddUsersInput) (AddUsersResult, error) {
	g, err := a.graph(ctx, in.TenantID)
	if err != nil {
		return AddUsersResult{}, classify(err)
	}
	return a.addUsers(ctx, g, in)
}

func (a *Activities) addUsers(ctx context.Context, g graphapi.Client, in AddUsersInput) (AddUsersResult, error) {
	var res AddUsersResult
	var err error
	type valid struct {
		row     UserRow
		user    graphapi.User
		kind    string
		noDrive bool
		profile catalog.Profile
	}
	var ok []valid
	profiles := map[string]catalog.Profile{}
	for _, row := range in.Rows {
		bad := func(format string, args ...any) {
			res.Invalid = append(res.Invalid, RowError{Line: row.Line, Ref: row.Ref, Reason: fmt.Sprintf(format, args...)})
		}
		var p catalog.Profile
		if row.ProfileID != "" {
			var found bool
			if p, found = profiles[row.ProfileID]; !found {
				p, err = a.Catalog.Profile(ctx, in.TenantID, row.ProfileID)
				if errors.Is(err, catalog.ErrNotFound) {
					bad("no profile named %q", row.ProfileID)
					continue
				}
				if err != nil {
					return res, err
				}
				profiles[row.ProfileID] = p
			}
			if len(row.Apps) == 0 {
				row.Apps = p.Apps
			}
		}
		if len(row.Apps) == 0 {
			row.Apps = SupportedApps
		}
		if i := slices.IndexFunc(row.Apps, func(app string) bool { return !slices.Contains(SupportedApps, app) }); i >= 0 {
			bad("app %q is not supported (supported: %s)", row.Apps[i], strings.Join(SupportedApps, ", "))
			continue
		}
		u, err := g.User(ctx, row.Ref)
		if errors.Is(err, graphapi.ErrNotFound) {
			bad("not found in the tenant's directory")
			continue
		}
		if err != nil {
			return res, classify(err)
		}
		kind, err := g.MailboxKind(ctx, u.ID)
		switch {
		case errors.Is(err, graphapi.ErrNoMailbox), errors.Is(err, graphapi.ErrNotFound):
			kind = "none"
		case err != nil:
			return res, classify(err)
		}
		noDrive := false
		if slices.Contains(row.Apps, AppOneDrive) {
			// Shared and resource mailboxes, and unlicensed users, have none.
			_, err := g.UserDrive(ctx, u.ID)
			switch {
			case errors.Is(err, graphapi.ErrNotFound):
				noDrive = true
			case err != nil:
				return res, classify(err)
			}
		}
		ok = append(ok, valid{row: row, user: u, kind: kind, noDrive: noDrive, profile: p})
	}
	if len(res.Invalid) > 0 && !in.SkipInvalid {
		return res, nil
	}
	for _, v := range ok {
		apps := v.row.Apps
		added := AddedUser{ID: v.user.ID, UPN: v.user.UPN, DisplayName: v.user.DisplayName, Kind: v.kind}
		var notes []string
		if v.kind == "none" && slices.Contains(apps, AppExchange) {
			apps = slices.DeleteFunc(slices.Clone(apps), func(app string) bool { return app == AppExchange })
			notes = append(notes, "no mailbox: Exchange not enabled")
		}
		if v.noDrive {
			apps = slices.DeleteFunc(slices.Clone(apps), func(app string) bool { return app == AppOneDrive })
			notes = append(notes, "no OneDrive: OneDrive not enabled")
		}
		added.Note = strings.Join(notes, "; ")
		added.Apps = apps
		err := a.Catalog.AddUser(ctx, catalog.User{TenantID: in.TenantID, ID: v.user.ID, UPN: v.user.UPN, Mail: v.user.Mail,
			DisplayName: v.user.DisplayName, Kind: v.kind, ProfileID: v.row.ProfileID}, apps)
		switch {
		case errors.Is(err, catalog.ErrExists):
			added.Existed = true
			if err := a.Catalog.SetUserState(ctx, in.TenantID, v.user.ID, "active"); err != nil {
				return res, err
			}
			if v.row.ProfileID != "" {
				if err := a.Catalog.SetUserProfile(ctx, in.TenantID, v.user.ID, v.row.ProfileID); err != nil {
					return res, err
				}
			}
			for _, app := range apps {
				if err := a.Catalog.SetAppEnabled(ctx, catalog.UserApp{TenantID: in.TenantID, UserID: v.user.ID, App: app}, true); err != nil {
					return res, err
				}
			}
		case err != nil:
			return res, err
		}
		if err := a.Catalog.Audit(ctx, catalog.AuditEntry{Actor: in.Actor, Action: "user.add", Object: v.user.UPN,
			After: fmt.Sprintf(`{"id":%q,"kind":%q,"profile":%q,"apps":%q}`, v.user.ID, v.kind, v.row.ProfileID, strings.Join(apps, ","))}); err != nil {
			return res, err
		}
		res.Added = append(res.Added, added)
	}
	return res, nil
}
