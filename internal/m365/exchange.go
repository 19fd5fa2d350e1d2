package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// Exchange Online (graphapi.Exchange) is read and written as raw JSON
// through the pipeline: every item keeps the service's JSON verbatim (Raw)
// beside the few fields the engine decides on, and pages are decoded with
// encoding/json, not the SDK's parse trees (see deltaPage).
//
// Files: mail.go (folders, messages, MIME), attachments.go, calendar.go,
// contacts.go, archive.go (the mailbox import/export API),
// exchange_write.go (mail writes and large attachments).

var _ graphapi.Exchange = (*Client)(nil)

// Headers of Outlook reads.
const (
	// Delta pages of 50 messages: bodies are in the items, so pages are
	// large; 50 keeps them well under a megabyte for ordinary mail.
	preferMessagePage = "odata.maxpagesize=50"
	// Times in UTC whatever the mailbox's zone (events).
	preferUTC = `outlook.timezone="UTC"`
	// Page size asked of plain collections (folders, events, items).
	collectionTop = "100"
)

// userURL is {base}/users/{userID}/{rest} with userID escaped; rest is
// taken as written (callers escape the IDs they put in it).
func (c *Client) userURL(userID, rest string) string {
	return c.base + "/users/" + url.PathEscape(userID) + "/" + rest
}

// mailboxURL is {base}/admin/exchange/mailboxes/{mailboxID}/{rest}.
func (c *Client) mailboxURL(mailboxID, rest string) string {
	u := c.base + "/admin/exchange/mailboxes/" + url.PathEscape(mailboxID)
	if rest != "" {
		u += "/" + rest
	}
	return u
}

// esc escapes an ID for a path segment.
func esc(id string) string { return url.PathEscape(id) }

// withQuery appends query parameters to u.
func withQuery(u string, q url.Values) string {
	if len(q) == 0 {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + q.Encode()
}

// withRaw decodes a value into T and keeps its JSON as it came.
type withRaw[T any] struct {
	v   T
	raw json.RawMessage
}

func (w *withRaw[T]) UnmarshalJSON(b []byte) error {
	w.raw = append(json.RawMessage(nil), b...)
	return json.Unmarshal(b, &w.v)
}

// getJSON GETs u and decodes a 200 response into out.
func (c *Client) getJSON(ctx context.Context, u string, hdr http.Header, out any, what string, args ...any) error {
	return c.doJSON(ctx, http.MethodGet, u, nil, hdr, out, what, args...)
}

// doJSON sends a request with an optional JSON body and decodes a 2xx
// response into out (nil: the body is discarded). Errors say what was
// being done and wrap the service's *graphapi.Error.
func (c *Client) doJSON(ctx context.Context, method, u string, body []byte, hdr http.Header, out any, what string, args ...any) error {
	h := http.Header{"Accept": {"application/json"}}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		h[k] = v
	}
	resp, err := c.send(ctx, method, u, body, h)
	doing := fmt.Sprintf(what, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %w", doing, readError(resp))
	}
	defer drain(resp)
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: bad response: %w", doing, err)
	}
	return nil
}

// collect pages through a collection (value, @odata.nextLink) from first
// to the end, converting every value with conv.
func collect[J any, U any](ctx context.Context, c *Client, first string, hdr http.Header, conv func(*J) U, what string, args ...any) ([]U, error) {
	var out []U
	for link := first; link != ""; {
		var page struct {
			Value    []J    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := c.getJSON(ctx, link, hdr, &page, what, args...); err != nil {
			return nil, err
		}
		for i := range page.Value {
			out = append(out, conv(&page.Value[i]))
		}
		link = page.NextLink
	}
	return out, nil
}

// marshal encodes a request body.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only plain maps and structs are encoded here
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// removeKeys returns a JSON object without the given keys (keys in the
// order encoding/json writes maps: sorted).
func removeKeys(obj json.RawMessage, keys ...string) (json.RawMessage, map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, nil, err
	}
	taken := map[string]json.RawMessage{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			taken[k] = v
			delete(m, k)
		}
	}
	if len(taken) == 0 {
		return obj, taken, nil
	}
	return marshal(m), taken, nil
}

// dateTimeTZ is Graph's dateTimeTimeZone.
type dateTimeTZ struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// utc reads a dateTimeTimeZone as an instant in UTC. The client asks for
// UTC (Prefer: outlook.timezone="UTC"); other zones are read with Go's
// zone database (IANA names) and, failing that, as UTC.
func (d *dateTimeTZ) utc() time.Time {
	if d == nil || d.DateTime == "" {
		return time.Time{}
	}
	loc := time.UTC
	if tz := d.TimeZone; tz != "" && !strings.EqualFold(tz, "UTC") {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.9999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, d.DateTime, loc); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// jsonAddress is an emailAddress holder (recipient).
type jsonAddress struct {
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
}

// removed is the @removed annotation of delta tombstones.
type removed struct {
	Reason string `json:"reason"`
}

// notFoundAs wraps err so that it also matches graphapi.ErrNotFound (a
// well-known folder name the mailbox lacks comes back as a malformed ID).
func notFoundAs(err error) error {
	var ge *graphapi.Error
	if errors.As(err, &ge) && ge.Status == http.StatusBadRequest && strings.EqualFold(ge.Code, "ErrorInvalidIdMalformed") {
		return fmt.Errorf("%w (%w)", err, graphapi.ErrNotFound)
	}
	return err
}
