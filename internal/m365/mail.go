package m365

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// MailboxIDs implements graphapi.Exchange: the primary and In-Place
// Archive mailbox IDs from /users/{id}/settings/exchange (archiveMailboxId,
// or the beta name inPlaceArchiveMailboxId). The primary ID is also taught
// to the mailbox limiter, so that the import/export API and the user's
// REST paths share one mailbox's limits.
func (c *Client) MailboxIDs(ctx context.Context, userID string) (primary, archive string, err error) {
	var s struct {
		Primary string `json:"primaryMailboxId"`
		Archive string `json:"archiveMailboxId"`
		InPlace string `json:"inPlaceArchiveMailboxId"`
	}
	if err := c.getJSON(ctx, c.userURL(userID, "settings/exchange"), nil, &s, "mailbox IDs of user %s", userID); err != nil {
		return "", "", err
	}
	archive = s.Archive
	if archive == "" {
		archive = s.InPlace
	}
	c.mailboxes.Alias(s.Primary, userID)
	return s.Primary, archive, nil
}

// jsonFolder is the part of a mailFolder (or, from the import/export API,
// a mailboxFolder) Holdfast reads.
type jsonFolder struct {
	ID             string   `json:"id"`
	DisplayName    string   `json:"displayName"`
	ParentFolderID string   `json:"parentFolderId"`
	IsHidden       bool     `json:"isHidden"`
	TotalItemCount int      `json:"totalItemCount"`
	ChildCount     int      `json:"childFolderCount"`
	WellKnownName  string   `json:"wellKnownName"` // import/export API (and beta)
	Removed        *removed `json:"@removed"`
}

func mailFolder(w *withRaw[jsonFolder]) graphapi.MailFolder {
	j := &w.v
	return graphapi.MailFolder{ID: j.ID, ParentID: j.ParentFolderID, DisplayName: j.DisplayName, WellKnownName: j.WellKnownName,
		Hidden: j.IsHidden, TotalItems: j.TotalItemCount, Raw: w.raw}
}

// wellKnownFolders are the folders MailFolders names (beside
// msgfolderroot): the ones a restore maps back by name.
var wellKnownFolders = []string{"inbox", "drafts", "sentitems", "deleteditems", "junkemail", "archive", "outbox"}

// MailFolders implements graphapi.Exchange: msgfolderroot, then the whole
// hierarchy below it from mailFolders/delta (hidden folders included, each
// with its parentFolderId), with the well-known folders named.
func (c *Client) MailFolders(ctx context.Context, userID string) ([]graphapi.MailFolder, error) {
	root, err := c.WellKnownFolder(ctx, userID, "msgfolderroot")
	if err != nil {
		return nil, err
	}
	names, err := c.wellKnownIDs(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []graphapi.MailFolder{root}
	first := c.userURL(userID, "mailFolders/delta")
	hdr := http.Header{"Prefer": {"odata.maxpagesize=100"}}
	seen := map[string]bool{root.ID: true}
	for link := ""; ; {
		page, err := deltaPageWith(ctx, c, link, first, "mail folders of user "+userID, hdr, mailFolderDelta)
		if err != nil {
			return nil, err
		}
		for _, f := range page.Items {
			if f.ID == "" || seen[f.ID] || f.Raw == nil { // tombstones (nil Raw) do not belong in a full walk
				continue
			}
			seen[f.ID] = true
			if f.WellKnownName == "" {
				f.WellKnownName = names[f.ID]
			}
			out = append(out, f)
		}
		if page.DeltaLink != "" {
			return out, nil
		}
		link = page.NextLink
	}
}

func mailFolderDelta(w *withRaw[jsonFolder]) graphapi.MailFolder {
	if w.v.Removed != nil {
		return graphapi.MailFolder{ID: w.v.ID}
	}
	return mailFolder(w)
}

// wellKnownIDs fetches the IDs of wellKnownFolders (the ones the mailbox
// has), by ID.
func (c *Client) wellKnownIDs(ctx context.Context, userID string) (map[string]string, error) {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		names = map[string]string{}
		errs  []error
	)
	for _, name := range wellKnownFolders {
		wg.Go(func() {
			var f struct {
				ID string `json:"id"`
			}
			u := withQuery(c.userURL(userID, "mailFolders/"+name), url.Values{"$select": {"id"}})
			err := notFoundAs(c.getJSON(ctx, u, nil, &f, "well-known folder %s of user %s", name, userID))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, graphapi.ErrNoMailbox) || err != nil && !errors.Is(err, graphapi.ErrNotFound):
				errs = append(errs, err)
			case err == nil:
				names[f.ID] = name
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return names, nil
}

// WellKnownFolder implements graphapi.Exchange.
func (c *Client) WellKnownFolder(ctx context.Context, userID, name string) (graphapi.MailFolder, error) {
	var w withRaw[jsonFolder]
	err := c.getJSON(ctx, c.userURL(userID, "mailFolders/"+esc(name)), nil, &w, "well-known folder %s of user %s", name, userID)
	if err != nil {
		return graphapi.MailFolder{}, notFoundAs(err)
	}
	f := mailFolder(&w)
	f.WellKnownName = strings.ToLower(name)
	if f.WellKnownName == "msgfolderroot" {
		f.ParentID = "" // the top of the hierarchy Holdfast walks
	}
	return f, nil
}

// ChildFolders implements graphapi.Exchange (hidden folders included).
func (c *Client) ChildFolders(ctx context.Context, userID, folderID string) ([]graphapi.MailFolder, error) {
	u := withQuery(c.userURL(userID, "mailFolders/"+esc(folderID)+"/childFolders"),
		url.Values{"includeHiddenFolders": {"true"}, "$top": {collectionTop}})
	return collect(ctx, c, u, nil, mailFolder, "child folders of %s of user %s", folderID, userID)
}

// jsonMessage is the part of a message Holdfast reads.
type jsonMessage struct {
	ID                string       `json:"id"`
	ChangeKey         string       `json:"changeKey"`
	ParentFolderID    string       `json:"parentFolderId"`
	InternetMessageID string       `json:"internetMessageId"`
	Subject           string       `json:"subject"`
	From              *jsonAddress `json:"from"`
	ReceivedDateTime  time.Time    `json:"receivedDateTime"`
	SentDateTime      time.Time    `json:"sentDateTime"`
	IsRead            bool         `json:"isRead"`
	IsDraft           bool         `json:"isDraft"`
	HasAttachments    bool         `json:"hasAttachments"`
	Removed           *removed     `json:"@removed"`
}

func message(w *withRaw[jsonMessage]) graphapi.Message {
	j := &w.v
	m := graphapi.Message{ID: j.ID, FolderID: j.ParentFolderID, ChangeKey: j.ChangeKey, InternetMessageID: j.InternetMessageID,
		Subject: j.Subject, Received: j.ReceivedDateTime.UTC(), Sent: j.SentDateTime.UTC(), IsRead: j.IsRead, IsDraft: j.IsDraft,
		HasAttachments: j.HasAttachments, Removed: j.Removed != nil, Raw: w.raw}
	if j.From != nil {
		m.From = j.From.EmailAddress.Address
	}
	return m
}

// MessageDelta implements graphapi.Exchange: pages of 50 messages with
// their bodies (nothing is $selected away), tombstones as Removed.
func (c *Client) MessageDelta(ctx context.Context, userID, folderID, link string) (graphapi.DeltaPage[graphapi.Message], error) {
	first := c.userURL(userID, "mailFolders/"+esc(folderID)+"/messages/delta")
	return deltaPageWith(ctx, c, link, first, fmt.Sprintf("message delta of folder %s of user %s", folderID, userID),
		http.Header{"Prefer": {preferMessagePage}}, message)
}

// Message implements graphapi.Exchange.
func (c *Client) Message(ctx context.Context, userID, messageID string) (graphapi.Message, error) {
	var w withRaw[jsonMessage]
	if err := c.getJSON(ctx, c.userURL(userID, "messages/"+esc(messageID)), nil, &w, "message %s of user %s", messageID, userID); err != nil {
		return graphapi.Message{}, err
	}
	return message(&w), nil
}

// MessageMIME implements graphapi.Exchange: the body streams (and holds
// one of the mailbox's request slots until it is read or closed).
func (c *Client) MessageMIME(ctx context.Context, userID, messageID string) (io.ReadCloser, error) {
	return c.stream(ctx, c.userURL(userID, "messages/"+esc(messageID)+"/$value"), "MIME of message %s of user %s", messageID, userID)
}

// stream GETs content and returns its body unread.
func (c *Client) stream(ctx context.Context, u, what string, args ...any) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, u, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fmt.Sprintf(what, args...), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %w", fmt.Sprintf(what, args...), readError(resp))
	}
	return resp.Body, nil
}
