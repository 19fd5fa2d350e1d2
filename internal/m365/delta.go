package m365

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// deltaPage fetches one page of any delta query — first (a full URL) when
// link is "", else the page link points at — decoding each value as J and
// converting it with conv. Pages are decoded with encoding/json into the
// fields Holdfast reads: on a first enumeration every item of a container
// passes through here, and the SDK's generic parse tree cost more CPU than
// all the rest of the client's work per item (measured by `make bench`).
//
// Expired links come back as errors matching graphapi.ErrResyncRequired
// (410, or a resync code, possibly nested in innerError), so callers start
// over with a full enumeration.
func deltaPage[J any, U any](ctx context.Context, c *Client, link, first, what string, conv func(*J) U) (graphapi.DeltaPage[U], error) {
	return deltaPageWith(ctx, c, link, first, what, nil, conv)
}

// deltaPageWith is deltaPage with extra request headers (Prefer).
func deltaPageWith[J any, U any](ctx context.Context, c *Client, link, first, what string, hdr http.Header, conv func(*J) U) (graphapi.DeltaPage[U], error) {
	if link == "" {
		link = first
	}
	h := http.Header{"Accept": {"application/json"}}
	for k, v := range hdr {
		h[k] = v
	}
	resp, err := c.send(ctx, http.MethodGet, link, nil, h)
	if err != nil {
		return graphapi.DeltaPage[U]{}, fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return graphapi.DeltaPage[U]{}, fmt.Errorf("%s: %w", what, readError(resp))
	}
	defer resp.Body.Close()
	var body struct {
		Value     []J    `json:"value"`
		NextLink  string `json:"@odata.nextLink"`
		DeltaLink string `json:"@odata.deltaLink"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return graphapi.DeltaPage[U]{}, fmt.Errorf("%s: bad page: %w", what, err)
	}
	page := graphapi.DeltaPage[U]{NextLink: body.NextLink, DeltaLink: body.DeltaLink, Items: make([]U, len(body.Value))}
	for i := range body.Value {
		page.Items[i] = conv(&body.Value[i])
	}
	if page.NextLink == "" && page.DeltaLink == "" {
		return page, fmt.Errorf("%s: %w", what, &graphapi.Error{Status: http.StatusBadGateway, Code: "invalidDeltaPage",
			Message: "delta page has neither @odata.nextLink nor @odata.deltaLink"})
	}
	return page, nil
}
