package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// CreateMailFolder implements graphapi.ExchangeWriter: below parentID, or
// at the top of the mailbox (under msgfolderroot) for "". A taken name is
// 409 ErrorFolderExists: ErrConflict.
func (c *Client) CreateMailFolder(ctx context.Context, userID, parentID, name string) (graphapi.MailFolder, error) {
	u := c.userURL(userID, "mailFolders")
	if parentID != "" {
		u = c.userURL(userID, "mailFolders/"+esc(parentID)+"/childFolders")
	}
	var w withRaw[jsonFolder]
	if err := c.doJSON(ctx, http.MethodPost, u, marshal(map[string]string{"displayName": name}), nil, &w,
		"create mail folder %q of user %s", name, userID); err != nil {
		return graphapi.MailFolder{}, err
	}
	return mailFolder(&w), nil
}

// CreateMessage implements graphapi.ExchangeWriter.
func (c *Client) CreateMessage(ctx context.Context, userID, folderID string, msg json.RawMessage) (graphapi.Message, error) {
	var w withRaw[jsonMessage]
	if err := c.doJSON(ctx, http.MethodPost, c.userURL(userID, "mailFolders/"+esc(folderID)+"/messages"), msg, nil, &w,
		"create a message in folder %s of user %s", folderID, userID); err != nil {
		return graphapi.Message{}, err
	}
	return message(&w), nil
}

// DeleteMessage implements graphapi.ExchangeWriter: DELETE, which the
// service turns into a move to Deleted Items (from there: to Recoverable
// Items).
func (c *Client) DeleteMessage(ctx context.Context, userID, messageID string) error {
	return c.doJSON(ctx, http.MethodDelete, c.userURL(userID, "messages/"+esc(messageID)), nil, nil, nil,
		"delete message %s of user %s", messageID, userID)
}

// AddAttachment implements graphapi.ExchangeWriter.
func (c *Client) AddAttachment(ctx context.Context, userID, parent string, att json.RawMessage) error {
	u, err := c.attachmentsURL(userID, parent)
	if err != nil {
		return err
	}
	return c.doJSON(ctx, http.MethodPost, u, att, nil, nil, "add an attachment to %s of user %s", parent, userID)
}

// UploadAttachment implements graphapi.ExchangeWriter. Files under 3 MiB
// are POSTed whole (an upload session refuses them); larger ones go
// through attachments/createUploadSession and byte ranges of at most
// attachmentChunkSize PUT, in order, to the pre-authenticated uploadUrl —
// which is not under the Graph base URL, so the pipeline sends it no
// Authorization header.
//
// Ranges are PUT through the pipeline, which retries them on connection
// errors and 5xx. A range the service had received before the connection
// broke is refused when sent again (400: ranges must come in order), and a
// retried last range finds the session gone (404, the attachment made):
// both are recognised, by the attempt count, as "arrived".
func (c *Client) UploadAttachment(ctx context.Context, userID, parent, name, contentType string, size int64, isInline bool, r io.Reader) error {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if size < attachmentSessionMin {
		data, err := io.ReadAll(io.LimitReader(r, size+1))
		if err != nil {
			return err
		}
		if int64(len(data)) != size {
			return fmt.Errorf("attachment %q: content is %d bytes, expected %d", name, len(data), size)
		}
		return c.AddAttachment(ctx, userID, parent, marshal(map[string]any{
			"@odata.type": "#microsoft.graph.fileAttachment", "name": name, "contentType": contentType,
			"isInline": isInline, "contentBytes": data}))
	}
	u, err := c.attachmentsURL(userID, parent)
	if err != nil {
		return err
	}
	var sess struct {
		UploadURL string `json:"uploadUrl"`
	}
	req := map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": name, "size": size,
		"contentType": contentType, "isInline": isInline}}
	if err := c.doJSON(ctx, http.MethodPost, u+"/createUploadSession", marshal(req), nil, &sess,
		"start uploading attachment %q to %s of user %s", name, parent, userID); err != nil {
		return err
	}
	if sess.UploadURL == "" {
		return fmt.Errorf("start uploading attachment %q: the session has no uploadUrl", name)
	}
	what := fmt.Sprintf("upload attachment %q to %s of user %s", name, parent, userID)
	buf := make([]byte, attachmentChunkSize)
	var offset int64
	for offset < size {
		n, err := io.ReadFull(r, buf[:min(int64(len(buf)), size-offset)])
		if err != nil {
			return fmt.Errorf("%s: reading content at %d: %w", what, offset, err)
		}
		end := offset + int64(n)
		var attempts atomic.Int32
		hdr := http.Header{"Content-Range": {fmt.Sprintf("bytes %d-%d/%d", offset, end-1, size)},
			"Content-Type": {"application/octet-stream"}}
		resp, err := c.send(context.WithValue(ctx, attemptsKey, &attempts), http.MethodPut, sess.UploadURL, buf[:n], hdr)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		resent := attempts.Load() > 1
		switch {
		case resp.StatusCode == http.StatusCreated:
			drain(resp)
			if end != size {
				return fmt.Errorf("%s: the service completed the attachment at byte %d of %d", what, end, size)
			}
			return nil
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted:
			next, err := nextExpectedStart(resp)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if next != end {
				return fmt.Errorf("%s: the service expects byte %d, we sent up to %d", what, next, end)
			}
			offset = end
		case resent && resp.StatusCode == http.StatusBadRequest && end < size:
			// The first send arrived; the service wants the next range.
			drain(resp)
			offset = end
		case resent && resp.StatusCode == http.StatusNotFound && end == size:
			// The first send of the last range completed the attachment.
			drain(resp)
			return nil
		default:
			return fmt.Errorf("%s: %w", what, readError(resp))
		}
	}
	return fmt.Errorf("%s: the service did not complete the attachment", what)
}

// nextExpectedStart reads the first of an upload session's
// nextExpectedRanges ("{start}", "{start}-" or "{start}-{end}"), for
// Outlook's and OneDrive's sessions alike.
func nextExpectedStart(resp *http.Response) (int64, error) {
	defer drain(resp)
	var st struct {
		NextExpectedRanges []string `json:"nextExpectedRanges"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || len(st.NextExpectedRanges) == 0 {
		return 0, errors.New("the upload session's answer has no nextExpectedRanges")
	}
	start, _, _ := strings.Cut(st.NextExpectedRanges[0], "-")
	return strconv.ParseInt(start, 10, 64)
}
