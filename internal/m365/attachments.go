package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// maxAttachmentDepth bounds the nesting of item attachments Holdfast
// follows (the service nests message/rfc822 far less deeply in practice).
const maxAttachmentDepth = 32

// Attachments implements graphapi.Exchange. One request lists a message's
// or event's attachments with $expand=microsoft.graph.itemattachment/item:
// file bytes (contentBytes) and item attachments' items come inline, and
// each item carries its own attachments, nested to any depth. The response
// is decoded as a stream, attachment by attachment, rather than buffered by
// the pipeline (it may hold attachments of up to 150 MB); a connection
// dropped mid-body is retried here. A top-level file attachment whose
// listing carries no contentBytes is then read from its /$value.
func (c *Client) Attachments(ctx context.Context, userID, parent string) ([]graphapi.Attachment, error) {
	base, err := c.attachmentsURL(userID, parent)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("attachments of %s of user %s", parent, userID)
	var out []graphapi.Attachment
	link := withQuery(base, url.Values{"$expand": {"microsoft.graph.itemattachment/item"}})
	for link != "" {
		atts, next, err := c.attachmentPage(ctx, link, what)
		if err != nil {
			return nil, err
		}
		out = append(out, atts...)
		link = next
	}
	for i := range out {
		a := &out[i]
		if a.Kind != graphapi.AttachmentFile || a.Content != nil || a.ID == "" {
			continue
		}
		if a.Content, err = c.readAll(ctx, base+"/"+esc(a.ID)+"/$value", a.Size, "content of attachment %s of %s", a.ID, parent); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// attachmentsURL is the attachments collection of parent ("messages/{id}"
// or "events/{id}").
func (c *Client) attachmentsURL(userID, parent string) (string, error) {
	kind, id, ok := strings.Cut(parent, "/")
	switch k := strings.ToLower(kind); {
	case !ok || id == "" || k != "messages" && k != "events":
		return "", fmt.Errorf("attachments: parent %q is neither messages/{id} nor events/{id}", parent)
	}
	return c.userURL(userID, kind+"/"+esc(id)+"/attachments"), nil
}

// attachmentPage reads one page of attachments, trying again when the body
// breaks off (the pipeline retries failed requests, not broken bodies it
// does not buffer).
func (c *Client) attachmentPage(ctx context.Context, link, what string) ([]graphapi.Attachment, string, error) {
	for attempt := 1; ; attempt++ {
		atts, next, retry, err := c.attachmentPageOnce(ctx, link, what)
		if err == nil || !retry || attempt == 3 || ctx.Err() != nil {
			return atts, next, err
		}
	}
}

func (c *Client) attachmentPageOnce(ctx context.Context, link, what string) (atts []graphapi.Attachment, next string, retry bool, err error) {
	resp, err := c.send(context.WithValue(ctx, streamKey, true), http.MethodGet, link, nil, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, "", false, fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", false, fmt.Errorf("%s: %w", what, readError(resp))
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	broken := func(err error) ([]graphapi.Attachment, string, bool, error) {
		return nil, "", true, fmt.Errorf("%s: reading the response: %w", what, err)
	}
	if err := expectDelim(dec, '{'); err != nil {
		return broken(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return broken(err)
		}
		switch key, _ := tok.(string); key {
		case "value":
			if err := expectDelim(dec, '['); err != nil {
				return broken(err)
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return broken(err)
				}
				a, err := attachment(raw, 0)
				if err != nil {
					return nil, "", false, fmt.Errorf("%s: %w", what, err)
				}
				atts = append(atts, a)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return broken(err)
			}
		case "@odata.nextLink":
			if err := dec.Decode(&next); err != nil {
				return broken(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return broken(err)
			}
		}
	}
	return atts, next, false, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("expected %q, got %v", d, tok)
	}
	return nil
}

// attachment builds one attachment (and, for item attachments, its item's
// attachments below it) from the service's JSON. Raw is the JSON without
// contentBytes and item; Item is the item's JSON without its attachments.
func attachment(raw json.RawMessage, depth int) (graphapi.Attachment, error) {
	if depth > maxAttachmentDepth {
		return graphapi.Attachment{}, fmt.Errorf("item attachments nested deeper than %d levels", maxAttachmentDepth)
	}
	rest, taken, err := removeKeys(raw, "contentBytes", "item")
	if err != nil {
		return graphapi.Attachment{}, fmt.Errorf("bad attachment JSON: %w", err)
	}
	var j struct {
		Type        string `json:"@odata.type"`
		ID          string `json:"id"`
		Name        string `json:"name"`
		ContentType string `json:"contentType"`
		Size        int64  `json:"size"`
		IsInline    bool   `json:"isInline"`
	}
	if err := json.Unmarshal(rest, &j); err != nil {
		return graphapi.Attachment{}, fmt.Errorf("bad attachment JSON: %w", err)
	}
	a := graphapi.Attachment{ID: j.ID, Name: j.Name, ContentType: j.ContentType, Size: j.Size, IsInline: j.IsInline, Raw: rest}
	switch typ := strings.ToLower(strings.TrimPrefix(j.Type, "#microsoft.graph.")); typ {
	case "fileattachment":
		a.Kind = graphapi.AttachmentFile
		if b, ok := taken["contentBytes"]; ok && !isNull(b) {
			if err := json.Unmarshal(b, &a.Content); err != nil {
				return graphapi.Attachment{}, fmt.Errorf("attachment %q: bad contentBytes: %w", j.Name, err)
			}
			if a.Content == nil {
				a.Content = []byte{}
			}
		}
	case "itemattachment":
		a.Kind = graphapi.AttachmentItem
		if it, ok := taken["item"]; ok && !isNull(it) {
			item, kids, err := removeKeys(it, "attachments")
			if err != nil {
				return graphapi.Attachment{}, fmt.Errorf("attachment %q: bad item JSON: %w", j.Name, err)
			}
			a.Item = item
			var t struct {
				Type string `json:"@odata.type"`
			}
			_ = json.Unmarshal(item, &t)
			a.ItemType = itemType(t.Type)
			if k, ok := kids["attachments"]; ok && !isNull(k) {
				var children []json.RawMessage
				if err := json.Unmarshal(k, &children); err != nil {
					return graphapi.Attachment{}, fmt.Errorf("attachment %q: bad item attachments: %w", j.Name, err)
				}
				for _, cr := range children {
					child, err := attachment(cr, depth+1)
					if err != nil {
						return graphapi.Attachment{}, err
					}
					a.Children = append(a.Children, child)
				}
			}
		}
	case "referenceattachment":
		a.Kind = graphapi.AttachmentReference
	default:
		a.Kind = strings.TrimSuffix(typ, "attachment")
	}
	return a, nil
}

// itemType names the item of an item attachment: message (any kind of
// message: meeting requests are eventMessages), event or contact.
func itemType(odataType string) string {
	t := strings.TrimPrefix(odataType, "#")
	t = strings.TrimPrefix(t, "microsoft.graph.")
	switch lt := strings.ToLower(t); {
	case lt == "message" || strings.HasPrefix(lt, "eventmessage") || strings.HasSuffix(lt, "message"):
		return "message"
	case lt == "event":
		return "event"
	case lt == "contact":
		return "contact"
	default:
		return lt
	}
}

func isNull(b json.RawMessage) bool {
	return len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null"
}

// readAll GETs content whole (size is a capacity hint), trying again when
// the body breaks off.
func (c *Client) readAll(ctx context.Context, u string, size int64, what string, args ...any) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		rc, err := c.stream(ctx, u, what, args...)
		if err != nil {
			return nil, err
		}
		buf := bytes.NewBuffer(make([]byte, 0, max(min(size, 160<<20), 0)+bytes.MinRead))
		_, err = buf.ReadFrom(rc)
		rc.Close()
		if err == nil {
			return buf.Bytes(), nil
		}
		if attempt == 3 || ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", fmt.Sprintf(what, args...), err)
		}
	}
}
