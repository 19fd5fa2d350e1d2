package m365

import (
	"context"
	"fmt"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// jsonUser is the part of a user Holdfast reads from users/delta pages.
type jsonUser struct {
	ID             string `json:"id"`
	UPN            string `json:"userPrincipalName"`
	Mail           string `json:"mail"`
	DisplayName    string `json:"displayName"`
	Department     string `json:"department"`
	AccountEnabled *bool  `json:"accountEnabled"`
	Removed        *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

func (j *jsonUser) user() graphapi.User {
	return graphapi.User{ID: j.ID, UPN: j.UPN, Mail: j.Mail, DisplayName: j.DisplayName, Department: j.Department,
		Enabled: j.AccountEnabled == nil || *j.AccountEnabled, Removed: j.Removed != nil}
}

// UsersDelta implements graphapi.Directory.
func (c *Client) UsersDelta(ctx context.Context, link string) (graphapi.DeltaPage[graphapi.User], error) {
	req, err := c.sdk.Users().Delta().ToGetRequestInformation(ctx, &users.DeltaRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{Select: append(userFields, "department")}})
	if err != nil {
		return graphapi.DeltaPage[graphapi.User]{}, err
	}
	first, err := req.GetUri()
	if err != nil {
		return graphapi.DeltaPage[graphapi.User]{}, err
	}
	return deltaPage(ctx, c, link, first.String(), "users delta", (*jsonUser).user)
}

// GroupByName implements graphapi.Directory.
func (c *Client) GroupByName(ctx context.Context, name string) (graphapi.Group, error) {
	filter := fmt.Sprintf("displayName eq '%s'", strings.ReplaceAll(name, "'", "''"))
	resp, err := c.sdk.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: &filter, Select: []string{"id", "displayName"}}})
	if err != nil {
		return graphapi.Group{}, graphErr(err, "find group %q", name)
	}
	for _, g := range resp.GetValue() {
		return graphapi.Group{ID: deref(g.GetId()), DisplayName: deref(g.GetDisplayName())}, nil
	}
	return graphapi.Group{}, fmt.Errorf("find group %q: %w", name, &graphapi.Error{Status: 404, Code: "Request_ResourceNotFound", Message: "no group has this name"})
}

// GroupMembers implements graphapi.Directory.
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]graphapi.User, error) {
	members := c.sdk.Groups().ByGroupId(groupID).Members()
	resp, err := members.Get(ctx, nil)
	var out []graphapi.User
	for {
		if err != nil {
			return nil, graphErr(err, "list members of group %s", groupID)
		}
		for _, m := range resp.GetValue() {
			if u, ok := m.(models.Userable); ok {
				out = append(out, user(u))
			}
		}
		next := deref(resp.GetOdataNextLink())
		if next == "" {
			return out, nil
		}
		resp, err = members.WithUrl(next).Get(ctx, nil)
	}
}

// MailboxKind implements graphapi.Mailboxes.
func (c *Client) MailboxKind(ctx context.Context, userID string) (string, error) {
	s, err := c.sdk.Users().ByUserId(userID).MailboxSettings().Get(ctx, nil)
	if err != nil {
		return "", graphErr(err, "mailbox settings of user %s", userID)
	}
	if p := s.GetUserPurpose(); p != nil {
		return p.String(), nil
	}
	return graphapi.MailboxUser, nil
}

// CheckMailbox implements graphapi.Mailboxes.
func (c *Client) CheckMailbox(ctx context.Context, userID string) error {
	_, err := c.sdk.Users().ByUserId(userID).MailFolders().ByMailFolderId("inbox").Get(ctx, nil)
	return graphErr(err, "read the Inbox of user %s", userID)
}
