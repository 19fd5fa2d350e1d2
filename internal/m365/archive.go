package m365

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// The mailbox import/export API (/admin/exchange/mailboxes/{id}/…), the
// only way Graph reaches an In-Place Archive. Its folder and item IDs are
// its own; exported items are opaque data that only importItem takes back.
// https://learn.microsoft.com/graph/api/resources/mailbox-import-export-api-overview

// maxExportItems is the most items one exportItems call takes.
// https://learn.microsoft.com/graph/api/mailbox-exportitems
const maxExportItems = 20

// ArchiveFolders implements graphapi.Exchange: the folders below the top of
// the mailbox (ParentID "") and, recursively, their child folders.
func (c *Client) ArchiveFolders(ctx context.Context, mailboxID string) ([]graphapi.MailFolder, error) {
	q := url.Values{"$top": {collectionTop}}
	top, err := collect(ctx, c, withQuery(c.mailboxURL(mailboxID, "folders"), q), nil, mailFolder, "folders of mailbox %s", mailboxID)
	if err != nil {
		return nil, err
	}
	for i := range top {
		top[i].ParentID = "" // the top of the mailbox, which the API does not list
	}
	out := top
	for i := 0; i < len(out); i++ {
		var j struct {
			ChildCount *int `json:"childFolderCount"`
		}
		if err := json.Unmarshal(out[i].Raw, &j); err == nil && j.ChildCount != nil && *j.ChildCount == 0 {
			continue
		}
		u := withQuery(c.mailboxURL(mailboxID, "folders/"+esc(out[i].ID)+"/childFolders"), q)
		kids, err := collect(ctx, c, u, nil, mailFolder, "child folders of %s of mailbox %s", out[i].ID, mailboxID)
		if err != nil {
			return nil, err
		}
		for k := range kids {
			if kids[k].ParentID == "" {
				kids[k].ParentID = out[i].ID
			}
		}
		out = append(out, kids...)
	}
	return out, nil
}

type jsonMailboxItem struct {
	ID        string    `json:"id"`
	ChangeKey string    `json:"changeKey"`
	Type      string    `json:"type"`
	Size      int64     `json:"size"`
	Created   time.Time `json:"createdDateTime"`
	Modified  time.Time `json:"lastModifiedDateTime"`
}

// ArchiveItems implements graphapi.Exchange.
func (c *Client) ArchiveItems(ctx context.Context, mailboxID, folderID string) ([]graphapi.ArchiveItem, error) {
	u := withQuery(c.mailboxURL(mailboxID, "folders/"+esc(folderID)+"/items"), url.Values{"$top": {collectionTop}})
	return collect(ctx, c, u, nil, func(w *withRaw[jsonMailboxItem]) graphapi.ArchiveItem {
		j := &w.v
		return graphapi.ArchiveItem{ID: j.ID, FolderID: folderID, ChangeKey: j.ChangeKey, Type: j.Type, Size: j.Size,
			Created: j.Created.UTC(), Modified: j.Modified.UTC(), Raw: w.raw}
	}, "items of folder %s of mailbox %s", folderID, mailboxID)
}

// ExportItems implements graphapi.Exchange, 20 items per call (more IDs
// take more calls). Items the service reports as gone (ErrorItemNotFound)
// are absent from the map; any other per-item failure is an error (with
// the items exported so far).
func (c *Client) ExportItems(ctx context.Context, mailboxID string, itemIDs []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(itemIDs))
	for start := 0; start < len(itemIDs); start += maxExportItems {
		ids := itemIDs[start:min(start+maxExportItems, len(itemIDs))]
		var resp struct {
			Value []struct {
				ItemID string `json:"itemId"`
				Data   []byte `json:"data"` // base64
				Error  *struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			} `json:"value"`
		}
		// exportItems is a POST: the pipeline does not buffer its answer,
		// which may be large; it is decoded as it arrives.
		err := c.doJSON(ctx, http.MethodPost, c.mailboxURL(mailboxID, "exportItems"), marshal(map[string][]string{"itemIds": ids}), nil, &resp,
			"export %d items of mailbox %s", len(ids), mailboxID)
		if err != nil {
			return out, err
		}
		var errs []error
		for _, v := range resp.Value {
			switch {
			case v.Error == nil:
				out[v.ItemID] = v.Data
			case strings.EqualFold(v.Error.Code, "ErrorItemNotFound"):
			default:
				errs = append(errs, fmt.Errorf("export item %s of mailbox %s: %w", v.ItemID, mailboxID,
					&graphapi.Error{Status: http.StatusOK, Code: v.Error.Code, Message: v.Error.Message}))
			}
		}
		if len(errs) > 0 {
			return out, errors.Join(errs...)
		}
	}
	return out, nil
}

// importSession is an open mailbox import session: its pre-authenticated
// URL takes any number of items until it expires.
type importSession struct {
	url     string
	expires time.Time
}

// importSessionMargin is how long before its expiry a session is replaced.
const importSessionMargin = 5 * time.Minute

// ImportItem implements graphapi.ExchangeWriter: a POST of the exported
// data to the mailbox's import session (created on first use and reused
// until shortly before it expires; a refused session is replaced once).
// The importUrl is pre-authenticated: outside the Graph base URL, it gets
// no Authorization header from the pipeline.
func (c *Client) ImportItem(ctx context.Context, mailboxID, folderID string, data []byte) (string, error) {
	body := marshal(map[string]string{"FolderId": folderID, "Mode": "create", "Data": base64.StdEncoding.EncodeToString(data)})
	for attempt := 1; ; attempt++ {
		sess, err := c.importSession(ctx, mailboxID, attempt > 1)
		if err != nil {
			return "", err
		}
		var resp struct {
			ItemID string `json:"itemId"`
		}
		err = c.doJSON(ctx, http.MethodPost, sess.url, body, nil, &resp, "import an item into folder %s of mailbox %s", folderID, mailboxID)
		if err == nil {
			return resp.ItemID, nil
		}
		var ge *graphapi.Error
		if attempt == 1 && errors.As(err, &ge) && (ge.Status == http.StatusUnauthorized || ge.Status == http.StatusNotFound) {
			continue // the session expired or was dropped: take a new one (once)
		}
		return "", err
	}
}

func (c *Client) importSession(ctx context.Context, mailboxID string, renew bool) (importSession, error) {
	key := strings.ToLower(mailboxID)
	c.importMu.Lock()
	s, ok := c.imports[key]
	c.importMu.Unlock()
	if ok && !renew && time.Until(s.expires) > importSessionMargin {
		return s, nil
	}
	var resp struct {
		ImportURL  string    `json:"importUrl"`
		Expiration time.Time `json:"expirationDateTime"`
	}
	if err := c.doJSON(ctx, http.MethodPost, c.mailboxURL(mailboxID, "createImportSession"), []byte("{}"), nil, &resp,
		"create an import session for mailbox %s", mailboxID); err != nil {
		return importSession{}, err
	}
	if resp.ImportURL == "" {
		return importSession{}, fmt.Errorf("create an import session for mailbox %s: the response has no importUrl", mailboxID)
	}
	if resp.Expiration.IsZero() {
		resp.Expiration = time.Now().Add(importSessionMargin * 2)
	}
	s = importSession{url: resp.ImportURL, expires: resp.Expiration}
	c.importMu.Lock()
	c.imports[key] = s
	c.importMu.Unlock()
	return s, nil
}

// CreateArchiveFolder implements graphapi.ExchangeWriter: POST
// …/folders (parentID "": the top of the mailbox) or
// …/folders/{parentID}/childFolders, a mail folder (IPF.Note). A taken
// name is ErrConflict. It needs MailboxFolder.ReadWrite.All.
// https://learn.microsoft.com/graph/api/mailbox-post-folders
func (c *Client) CreateArchiveFolder(ctx context.Context, mailboxID, parentID, name string) (graphapi.MailFolder, error) {
	u := c.mailboxURL(mailboxID, "folders")
	if parentID != "" {
		u = c.mailboxURL(mailboxID, "folders/"+esc(parentID)+"/childFolders")
	}
	var w withRaw[jsonFolder]
	if err := c.doJSON(ctx, http.MethodPost, u, marshal(map[string]string{"displayName": name, "type": "IPF.Note"}), nil, &w,
		"create folder %q in mailbox %s", name, mailboxID); err != nil {
		return graphapi.MailFolder{}, err
	}
	f := mailFolder(&w)
	f.ParentID = parentID
	return f, nil
}
