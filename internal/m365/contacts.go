package m365

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/holdfast/holdfast/internal/graphapi"
)

type jsonContactFolder struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	ParentFolderID string `json:"parentFolderId"`
}

func contactFolder(w *withRaw[jsonContactFolder]) graphapi.ContactFolder {
	return graphapi.ContactFolder{ID: w.v.ID, ParentID: w.v.ParentFolderID, DisplayName: w.v.DisplayName, Raw: w.raw}
}

// ContactFolders implements graphapi.Exchange: the default Contacts folder
// (contactFolders/contacts; WellKnownName "contacts", ParentID "") and,
// breadth first, every folder below it.
func (c *Client) ContactFolders(ctx context.Context, userID string) ([]graphapi.ContactFolder, error) {
	var w withRaw[jsonContactFolder]
	if err := c.getJSON(ctx, c.userURL(userID, "contactFolders/contacts"), nil, &w, "default contact folder of user %s", userID); err != nil {
		return nil, err
	}
	root := contactFolder(&w)
	root.WellKnownName, root.ParentID = "contacts", ""
	out := []graphapi.ContactFolder{root}
	seen := map[string]bool{root.ID: true}
	for i := 0; i < len(out); i++ {
		u := withQuery(c.userURL(userID, "contactFolders/"+esc(out[i].ID)+"/childFolders"), url.Values{"$top": {collectionTop}})
		kids, err := collect(ctx, c, u, nil, contactFolder, "contact folders below %s of user %s", out[i].ID, userID)
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			if !seen[k.ID] {
				seen[k.ID] = true
				out = append(out, k)
			}
		}
	}
	return out, nil
}

type jsonContact struct {
	ID             string   `json:"id"`
	ParentFolderID string   `json:"parentFolderId"`
	ChangeKey      string   `json:"changeKey"`
	DisplayName    string   `json:"displayName"`
	Removed        *removed `json:"@removed"`
}

func contact(w *withRaw[jsonContact]) graphapi.Contact {
	j := &w.v
	return graphapi.Contact{ID: j.ID, FolderID: j.ParentFolderID, ChangeKey: j.ChangeKey, DisplayName: j.DisplayName,
		Removed: j.Removed != nil, Raw: w.raw}
}

// contactsPath is a contact folder's contacts ("" for the default folder).
func contactsPath(folderID string) string {
	if folderID == "" {
		return "contacts"
	}
	return "contactFolders/" + esc(folderID) + "/contacts"
}

// ContactDelta implements graphapi.Exchange.
func (c *Client) ContactDelta(ctx context.Context, userID, folderID, link string) (graphapi.DeltaPage[graphapi.Contact], error) {
	first := c.userURL(userID, contactsPath(folderID)+"/delta")
	return deltaPageWith(ctx, c, link, first, fmt.Sprintf("contact delta of folder %s of user %s", folderID, userID),
		http.Header{"Prefer": {"odata.maxpagesize=100"}}, contact)
}

// ContactPhoto implements graphapi.Exchange (404: ErrNotFound).
func (c *Client) ContactPhoto(ctx context.Context, userID, contactID string) (io.ReadCloser, error) {
	return c.stream(ctx, c.userURL(userID, "contacts/"+esc(contactID)+"/photo/$value"), "photo of contact %s of user %s", contactID, userID)
}

// CreateContactFolder implements graphapi.ExchangeWriter.
func (c *Client) CreateContactFolder(ctx context.Context, userID, name string) (graphapi.ContactFolder, error) {
	var w withRaw[jsonContactFolder]
	err := c.doJSON(ctx, http.MethodPost, c.userURL(userID, "contactFolders"), marshal(map[string]string{"displayName": name}), nil, &w,
		"create contact folder %q of user %s", name, userID)
	if err != nil {
		return graphapi.ContactFolder{}, err
	}
	return contactFolder(&w), nil
}

// CreateContact implements graphapi.ExchangeWriter.
func (c *Client) CreateContact(ctx context.Context, userID, folderID string, ct json.RawMessage) (graphapi.Contact, error) {
	var w withRaw[jsonContact]
	err := c.doJSON(ctx, http.MethodPost, c.userURL(userID, contactsPath(folderID)), ct, nil, &w,
		"create a contact in folder %s of user %s", folderID, userID)
	if err != nil {
		return graphapi.Contact{}, err
	}
	return contact(&w), nil
}

// DeleteContact implements graphapi.ExchangeWriter.
func (c *Client) DeleteContact(ctx context.Context, userID, contactID string) error {
	return c.doJSON(ctx, http.MethodDelete, c.userURL(userID, "contacts/"+esc(contactID)), nil, nil, nil,
		"delete contact %s of user %s", contactID, userID)
}

// SetContactPhoto implements graphapi.ExchangeWriter.
func (c *Client) SetContactPhoto(ctx context.Context, userID, contactID, contentType string, photo []byte) error {
	if contentType == "" {
		contentType = "image/jpeg"
	}
	return c.doJSON(ctx, http.MethodPut, c.userURL(userID, "contacts/"+esc(contactID)+"/photo/$value"), photo,
		http.Header{"Content-Type": {contentType}}, nil, "set the photo of contact %s of user %s", contactID, userID)
}
