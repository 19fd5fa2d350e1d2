package m365

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/holdfast/holdfast/internal/graphapi"
)

var userFields = []string{"id", "userPrincipalName", "mail", "displayName", "accountEnabled", "department"}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// User implements graphapi.Directory. A name that is not an object ID is
// looked up with $filter on userPrincipalName and mail rather than put in
// the path: UPNs with an apostrophe or a leading "$" need special path
// syntax that is easy to get wrong.
func (c *Client) User(ctx context.Context, ref string) (graphapi.User, error) {
	if guidRE.MatchString(ref) {
		u, err := c.sdk.Users().ByUserId(ref).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields}})
		if err != nil {
			return graphapi.User{}, graphErr(err, "get user %s", ref)
		}
		return user(u), nil
	}
	q := strings.ReplaceAll(ref, "'", "''") // OData string literal escaping
	filter := fmt.Sprintf("userPrincipalName eq '%s' or mail eq '%s'", q, q)
	resp, err := c.sdk.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: userFields, Filter: &filter}})
	if err != nil {
		return graphapi.User{}, graphErr(err, "find user %s", ref)
	}
	found := resp.GetValue()
	if len(found) == 0 {
		return graphapi.User{}, fmt.Errorf("find user %s: %w", ref, &graphapi.Error{Status: 404, Code: "Request_ResourceNotFound",
			Message: "no user has this user principal name or mail address"})
	}
	u := user(found[0])
	// Requests naming the mailbox by UPN or by ID count against one mailbox.
	c.mailboxes.Alias(ref, u.ID)
	return u, nil
}

// Users implements graphapi.Directory.
func (c *Client) Users(ctx context.Context) ([]graphapi.User, error) {
	top := int32(999) // the documented maximum page size for users
	resp, err := c.sdk.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: userFields, Top: &top}})
	var out []graphapi.User
	for {
		if err != nil {
			return nil, graphErr(err, "list users")
		}
		for _, u := range resp.GetValue() {
			out = append(out, user(u))
		}
		next := deref(resp.GetOdataNextLink())
		if next == "" {
			return out, nil
		}
		resp, err = c.sdk.Users().WithUrl(next).Get(ctx, nil)
	}
}

func user(u models.Userable) graphapi.User {
	return graphapi.User{ID: deref(u.GetId()), UPN: deref(u.GetUserPrincipalName()), Mail: deref(u.GetMail()),
		DisplayName: deref(u.GetDisplayName()), Department: deref(u.GetDepartment()),
		Enabled: u.GetAccountEnabled() == nil || *u.GetAccountEnabled()}
}
