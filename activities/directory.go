package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
)

// DirectorySyncInput syncs a tenant's directory against its mapping rules.
type DirectorySyncInput struct {
	TenantID string
}

// DirectorySyncResult says what a sync did.
type DirectorySyncResult struct {
	Changed int         // directory changes read
	Added   []AddedUser // users the rules brought under protection
	Removed int         // protected users gone from the directory
	Invalid []RowError  // matching users that could not be added
}

// attributes the rules may match (Graph user properties).
var mappedAttributes = map[string]func(graphapi.User) string{
	"department": func(u graphapi.User) string { return u.Department },
}

// MappedAttributes lists the attributes a rule may match.
func MappedAttributes() []string {
	var out []string
	for k := range mappedAttributes {
		out = append(out, k)
	}
	return out
}

// SyncDirectory reads the directory's changes (users/delta, from where the
// last sync stopped), adds the users the mapping rules match — the first
// matching rule picks the profile — and marks protected users that left
// the directory as deleted (their backups stay until retention ends them).
// The delta link advances only after the changes are applied.
func (a *Activities) SyncDirectory(ctx context.Context, in DirectorySyncInput) (DirectorySyncResult, error) {
	var res DirectorySyncResult
	rules, err := a.Catalog.Mappings(ctx, in.TenantID)
	if err != nil || len(rules) == 0 {
		return res, err
	}
	g, err := a.graph(ctx, in.TenantID)
	if err != nil {
		return res, classify(err)
	}
	link, err := a.Catalog.DirectoryLink(ctx, in.TenantID)
	if err != nil {
		return res, err
	}
	changed := map[string]graphapi.User{}
	for {
		page, err := g.UsersDelta(ctx, link)
		if err != nil {
			return res, classify(err)
		}
		for _, u := range page.Items {
			changed[u.ID] = u
		}
		if page.DeltaLink != "" {
			link = page.DeltaLink
			break
		}
		link = page.NextLink
	}
	res.Changed = len(changed)

	// Group rules are read whole each time: membership changes are not
	// in users/delta.
	members := map[string]map[string]bool{}
	for _, r := range rules {
		if r.Kind != catalog.MappingGroup || members[r.GroupName] != nil {
			continue
		}
		grp, err := g.GroupByName(ctx, r.GroupName)
		if err != nil {
			return res, classify(fmt.Errorf("mapping %s: %w", r.ID, err))
		}
		users, err := g.GroupMembers(ctx, grp.ID)
		if err != nil {
			return res, classify(err)
		}
		members[r.GroupName] = map[string]bool{}
		for _, u := range users {
			members[r.GroupName][u.ID] = true
			if _, ok := changed[u.ID]; !ok {
				changed[u.ID] = u
			}
		}
	}

	var rows []UserRow
	for _, u := range changed {
		cur, err := a.Catalog.User(ctx, in.TenantID, u.ID)
		known := err == nil
		if u.Removed {
			if known && cur.State == "active" {
				if err := a.Catalog.SetUserState(ctx, in.TenantID, u.ID, "deleted"); err != nil {
					return res, err
				}
				res.Removed++
			}
			continue
		}
		if known && cur.State == "active" {
			continue // already protected; rules do not move people between profiles
		}
		for _, r := range rules {
			if matches(r, u, members) {
				rows = append(rows, UserRow{Ref: u.ID, ProfileID: r.ProfileID})
				break
			}
		}
	}
	if len(rows) > 0 {
		added, err := a.addUsers(ctx, g, AddUsersInput{TenantID: in.TenantID, Rows: rows, SkipInvalid: true, Actor: "directory-sync"})
		if err != nil {
			return res, err
		}
		res.Added, res.Invalid = added.Added, added.Invalid
	}
	return res, a.Catalog.SetDirectoryLink(ctx, in.TenantID, link)
}

func matches(r catalog.Mapping, u graphapi.User, members map[string]map[string]bool) bool {
	switch r.Kind {
	case catalog.MappingGroup:
		return members[r.GroupName][u.ID]
	case catalog.MappingAttribute:
		get, ok := mappedAttributes[strings.ToLower(r.Attribute)]
		return ok && strings.EqualFold(get(u), r.Value)
	}
	return false
}
