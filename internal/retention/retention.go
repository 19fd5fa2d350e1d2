// Package retention decides which snapshots retention expires. Decide is a
// pure, deterministic function of the facts the catalog holds and of
// "now", so RetentionWorkflow calls it with workflow.Now and its choices
// replay identically and are tested without a database.
//
// The rules, in order:
//
//  1. A running snapshot is never expired (it is not finished).
//  2. Nothing of a user on legal hold is expired, whatever the profile
//     says and whether or not the user is still active.
//  3. The newest complete snapshot and the newest usable (complete or
//     partial) snapshot of an active user-app (user active, app enabled)
//     are never expired: it must always be possible to restore what the
//     user has now. A deleted user's or a disabled app's data has no such
//     floor: it expires by retention like everything else.
//  4. Anything else (complete, partial or failed) expires once it is older
//     than the retention of its user-app's profile for that app, measured
//     from when it finished. A user without a profile gets the default
//     retention; OneDrive is fixed at seven years (catalog.Profile.RetentionFor).
//
// Failed snapshots hold no item versions, so expiring them frees nothing
// but tidies the listings; they are subject to the same age rule.
package retention

import (
	"fmt"
	"time"

	"github.com/holdfast/holdfast/internal/catalog"
)

// Snapshot is one snapshot as retention sees it.
type Snapshot struct {
	ID    int64
	State string    // running | complete | partial | failed (expired ones are not listed)
	Taken time.Time // when it finished (when it started, if it never finished)
}

// UserApp is the facts about one user-app. Snapshots may be a fragment of
// the user-app's snapshots (pages are bounded); the other fields describe
// the whole user-app, so each fragment is decided on its own.
type UserApp struct {
	UserID         string
	App            string
	Active         bool          // the user is active and the app enabled
	Held           bool          // the user is on legal hold
	Retention      time.Duration // how long the app's snapshots are kept; 0 = catalog.DefaultRetention
	NewestComplete int64         // the user-app's newest complete snapshot (0 if none)
	NewestUsable   int64         // its newest complete or partial snapshot (0 if none)
	Snapshots      []Snapshot
}

// Expiry is a snapshot to expire and why.
type Expiry struct {
	SnapshotID int64
	UserID     string
	App        string
	Reason     string
}

// Plan is what Decide chose for a set of user-apps.
type Plan struct {
	Expire []Expiry // in input order

	Examined    int // snapshots looked at
	KeptHeld    int // older than retention, kept by a legal hold
	KeptNewest  int // older than retention, kept as the newest of an active user-app
	KeptRunning int // running
	KeptYoung   int // within retention
}

// Kept is how many examined snapshots the plan keeps.
func (p Plan) Kept() int { return p.KeptHeld + p.KeptNewest + p.KeptRunning + p.KeptYoung }

// Decide applies the rules (see the package comment) to apps at now.
func Decide(now time.Time, apps []UserApp) Plan {
	var p Plan
	for _, ua := range apps {
		keep := ua.Retention
		if keep <= 0 {
			keep = catalog.DefaultRetention
		}
		for _, s := range ua.Snapshots {
			p.Examined++
			old := now.Sub(s.Taken) > keep
			switch {
			case s.State == catalog.StateRunning || s.State == catalog.StateExpired:
				// Running: not finished. Expired: already done (never listed).
				p.KeptRunning++
			case !old:
				p.KeptYoung++
			case ua.Held:
				p.KeptHeld++
			case ua.Active && (s.ID == ua.NewestComplete || s.ID == ua.NewestUsable):
				p.KeptNewest++
			default:
				p.Expire = append(p.Expire, Expiry{SnapshotID: s.ID, UserID: ua.UserID, App: ua.App, Reason: reason(s, keep)})
			}
		}
	}
	return p
}

func reason(s Snapshot, keep time.Duration) string {
	what := "older than"
	if s.State == catalog.StateFailed {
		what = "failed, and older than"
	}
	return fmt.Sprintf("%s the retention of %s", what, days(keep))
}

// days writes a retention for people: "2555 days" (7 years), "30 days",
// or hours below a day.
func days(d time.Duration) string {
	if d < 24*time.Hour {
		return d.String()
	}
	n := d / (24 * time.Hour)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
