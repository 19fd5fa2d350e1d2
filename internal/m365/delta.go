package m365

import (
	"context"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// deltaResponse is what every generated delta response offers.
type deltaResponse[T any] interface {
	GetValue() []T
	GetOdataNextLink() *string
	GetOdataDeltaLink() *string
}

// deltaPage fetches one page of any delta query: the first page when link
// is "", else the page link points at. Expired links come back as errors
// that match graphapi.ErrResyncRequired (410, or a resync code, possibly
// nested in innerError), so callers start over with a full enumeration.
func deltaPage[R deltaResponse[T], T any, U any](ctx context.Context, link string,
	first func(context.Context) (R, error), at func(context.Context, string) (R, error), conv func(T) U) (graphapi.DeltaPage[U], error) {
	var resp R
	var err error
	if link == "" {
		resp, err = first(ctx)
	} else {
		resp, err = at(ctx, link)
	}
	if err != nil {
		return graphapi.DeltaPage[U]{}, err
	}
	page := graphapi.DeltaPage[U]{NextLink: deref(resp.GetOdataNextLink()), DeltaLink: deref(resp.GetOdataDeltaLink())}
	values := resp.GetValue()
	page.Items = make([]U, 0, len(values))
	for _, v := range values {
		page.Items = append(page.Items, conv(v))
	}
	if page.NextLink == "" && page.DeltaLink == "" {
		return page, &graphapi.Error{Status: 502, Code: "invalidDeltaPage", Message: "delta page has neither @odata.nextLink nor @odata.deltaLink"}
	}
	return page, nil
}
