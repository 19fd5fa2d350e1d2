package activities

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"sort"
	"strings"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// CheckResult is one line of a verification report.
type CheckResult struct {
	Name    string
	Passed  bool
	Skipped bool   // not run: an earlier check failed
	Detail  string // what was found, or why it failed (Graph's code and message)
	Code    string // Graph's error code, when it gave one
}

// VerifyConfigInput asks to verify a tenant's configuration.
type VerifyConfigInput struct {
	TenantID string
	UserRef  string   // email address of a user to check ("" skips the user checks)
	Apps     []string // apps whose permissions and endpoints to check
}

// EndpointInput names a user whose endpoints to check.
type EndpointInput struct {
	TenantID string
	UserID   string
}

// UserCheck is the user check's result and the user it found.
type UserCheck struct {
	CheckResult
	UserID string
}

// requiredRoles are the application permissions each app needs, each
// with the broader permissions that include it.
var requiredRoles = map[string][][]string{
	"":         {{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}},
	"onedrive": {{"Files.ReadWrite.All", "Sites.ReadWrite.All"}},
	// The In-Place Archive is reached only through the mailbox
	// import/export API; restoring into it creates folders there.
	"exchange": {{"Mail.ReadWrite"}, {"Calendars.ReadWrite"}, {"Contacts.ReadWrite"}, {"MailboxSettings.Read", "MailboxSettings.ReadWrite"},
		{"MailboxItem.ImportExport.All"}, {"MailboxFolder.ReadWrite.All"}},
}

// RequiredRoles lists the permissions the apps need (the first name of
// each alternative set).
func RequiredRoles(apps []string) []string {
	var out []string
	for _, app := range append([]string{""}, apps...) {
		for _, alts := range requiredRoles[app] {
			out = append(out, alts[0])
		}
	}
	return out
}

// missingRoles lists the permissions the apps need that roles lack.
func missingRoles(apps, roles []string) []string {
	var missing []string
	for _, app := range append([]string{""}, apps...) {
		for _, alts := range requiredRoles[app] {
			if !slices.ContainsFunc(alts, func(r string) bool { return slices.Contains(roles, r) }) {
				missing = append(missing, alts[0])
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// failed makes a failed check from a Graph error.
func failed(name string, err error) CheckResult {
	r := CheckResult{Name: name, Detail: err.Error()}
	var ge *graphapi.Error
	if errors.As(err, &ge) {
		r.Code = ge.Code
	}
	return r
}

// CheckAppAuth: a token can be acquired and its roles hold every
// permission the apps need.
func (a *Activities) CheckAppAuth(ctx context.Context, in VerifyConfigInput) (CheckResult, error) {
	const name = "app authentication"
	g, err := a.graph(ctx, in.TenantID)
	if err != nil {
		if errors.Is(err, graphapi.ErrUnauthorized) {
			return failed(name, err), nil
		}
		return CheckResult{}, classify(err)
	}
	roles, err := g.Roles(ctx)
	if err != nil {
		var ge *graphapi.Error
		if errors.As(err, &ge) {
			return failed(name, err), nil
		}
		return CheckResult{}, err
	}
	if missing := missingRoles(in.Apps, roles); len(missing) > 0 {
		return CheckResult{Name: name, Code: "missingPermissions",
			Detail: "the app lacks application permissions (grant them and consent again): " + strings.Join(missing, ", ")}, nil
	}
	return CheckResult{Name: name, Passed: true, Detail: fmt.Sprintf("token acquired; %d permissions granted", len(roles))}, nil
}

// CheckUser: the user exists, found by email address.
func (a *Activities) CheckUser(ctx context.Context, in VerifyConfigInput) (UserCheck, error) {
	const name = "user exists"
	addr, err := mail.ParseAddress(in.UserRef)
	if err != nil || addr.Address != in.UserRef || !strings.Contains(in.UserRef, "@") {
		return UserCheck{CheckResult: CheckResult{Name: name, Code: "notAnEmailAddress",
			Detail: fmt.Sprintf("%q is not an email address: use the user's email address", in.UserRef)}}, nil
	}
	g, err := a.graph(ctx, in.TenantID)
	if err != nil {
		return UserCheck{}, classify(err)
	}
	u, err := g.User(ctx, in.UserRef)
	if errors.Is(err, graphapi.ErrNotFound) {
		r := failed(name, err)
		r.Detail = fmt.Sprintf("no user has the email address %s", in.UserRef)
		return UserCheck{CheckResult: r}, nil
	}
	if err != nil {
		if errors.Is(err, graphapi.ErrForbidden) || errors.Is(err, graphapi.ErrUnauthorized) {
			return UserCheck{CheckResult: failed(name, err)}, nil
		}
		return UserCheck{}, classify(err)
	}
	return UserCheck{CheckResult: CheckResult{Name: name, Passed: true, Detail: fmt.Sprintf("%s (%s)", u.DisplayName, u.ID)}, UserID: u.ID}, nil
}

// CheckMailbox: the user's mailbox can be read.
func (a *Activities) CheckMailbox(ctx context.Context, in EndpointInput) (CheckResult, error) {
	return a.checkEndpoint(ctx, in, "mailbox reachable", func(g graphapi.Client) (string, error) {
		if err := g.CheckMailbox(ctx, in.UserID); err != nil {
			return "", err
		}
		kind, err := g.MailboxKind(ctx, in.UserID)
		if err != nil {
			return "", err
		}
		return kind + " mailbox", nil
	})
}

// CheckDrive: the user has a OneDrive.
func (a *Activities) CheckDrive(ctx context.Context, in EndpointInput) (CheckResult, error) {
	return a.checkEndpoint(ctx, in, "drive present", func(g graphapi.Client) (string, error) {
		d, err := g.UserDrive(ctx, in.UserID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (%s)", d.Name, d.DriveType), nil
	})
}

func (a *Activities) checkEndpoint(ctx context.Context, in EndpointInput, name string, check func(graphapi.Client) (string, error)) (CheckResult, error) {
	g, err := a.graph(ctx, in.TenantID)
	if err != nil {
		return CheckResult{}, classify(err)
	}
	detail, err := check(g)
	var ge *graphapi.Error
	if errors.As(err, &ge) {
		return failed(name, err), nil
	}
	if err != nil {
		return CheckResult{}, classify(err)
	}
	return CheckResult{Name: name, Passed: true, Detail: detail}, nil
}
