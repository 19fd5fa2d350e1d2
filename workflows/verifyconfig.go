package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/holdfast/holdfast/activities"
)

// VerifyReport is a verification: every check, in order.
type VerifyReport struct {
	Checks []activities.CheckResult
	Passed bool
}

// VerifyConfigurationWorkflow checks a tenant's configuration: the app's
// authentication and permissions, then (given a user) that the user exists
// and that their mailbox and drive can be reached. A failed check is
// reported with Graph's error, and the checks that depend on it are
// reported skipped.
func VerifyConfigurationWorkflow(ctx workflow.Context, in activities.VerifyConfigInput) (VerifyReport, error) {
	var r VerifyReport
	short := withShort(ctx)
	skipped := func(name, why string) {
		r.Checks = append(r.Checks, activities.CheckResult{Name: name, Skipped: true, Detail: why})
	}

	var auth activities.CheckResult
	if err := workflow.ExecuteActivity(short, a.CheckAppAuth, in).Get(ctx, &auth); err != nil {
		return r, err
	}
	r.Checks = append(r.Checks, auth)
	if in.UserRef == "" {
		r.Passed = auth.Passed
		return r, nil
	}
	endpoints := endpointChecks(in.Apps)
	if !auth.Passed {
		skipped("user exists", "app authentication failed")
		for _, e := range endpoints {
			skipped(e.name, "app authentication failed")
		}
		return r, nil
	}
	var user activities.UserCheck
	if err := workflow.ExecuteActivity(short, a.CheckUser, in).Get(ctx, &user); err != nil {
		return r, err
	}
	r.Checks = append(r.Checks, user.CheckResult)
	if !user.Passed {
		for _, e := range endpoints {
			skipped(e.name, "the user was not found")
		}
		return r, nil
	}
	r.Passed = true
	for _, e := range endpoints {
		var c activities.CheckResult
		if err := workflow.ExecuteActivity(short, e.activity, activities.EndpointInput{TenantID: in.TenantID, UserID: user.UserID}).Get(ctx, &c); err != nil {
			return r, err
		}
		r.Checks = append(r.Checks, c)
		r.Passed = r.Passed && c.Passed
	}
	return r, nil
}

type endpointCheck struct {
	name     string
	activity any
}

// endpointChecks are the user endpoints the apps need.
func endpointChecks(apps []string) []endpointCheck {
	var out []endpointCheck
	for _, app := range apps {
		switch app {
		case "exchange":
			out = append(out, endpointCheck{"mailbox reachable", a.CheckMailbox})
		case "onedrive":
			out = append(out, endpointCheck{"drive present", a.CheckDrive})
		}
	}
	return out
}

func init() { register(VerifyConfigurationWorkflow) }
