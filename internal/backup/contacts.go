package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/mailitem"
)

// contactRun backs up one contact folder through its contact delta.
type contactRun struct {
	*runner
	m *Mailbox
}

func (r *contactRun) run(ctx context.Context) error {
	if err := r.begin(ctx); err != nil {
		return err
	}
	return r.loop(ctx, "contact folder "+r.ContainerID, func(ctx context.Context, link string) (string, string, error) {
		page, err := r.m.Graph.ContactDelta(ctx, r.m.UserID, r.ContainerID, link)
		if err != nil {
			return "", "", err
		}
		if err := r.page(ctx, page.Items); err != nil {
			return "", "", err
		}
		return page.NextLink, page.DeltaLink, nil
	})
}

func (r *contactRun) page(ctx context.Context, cs []graphapi.Contact) error {
	cs, current, err := latest(ctx, r.runner, cs, func(c graphapi.Contact) string { return c.ID })
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.Concurrency)
	for _, c := range cs {
		id := c.ID
		prev, known := current[id]
		r.cur.Items++
		switch {
		case c.Removed:
			if known && prev.ContainerID == r.ContainerID {
				r.removed(id)
			}
		case known && prev.ETag == c.ChangeKey && prev.ContainerID == r.ContainerID:
			r.unchanged(id)
		default:
			g.Go(func() error { return r.fetch(gctx, c) })
		}
	}
	return g.Wait()
}

// fetch stores a contact's JSON (the delta gives every property) and its
// photo.
func (r *contactRun) fetch(ctx context.Context, c graphapi.Contact) error {
	name := c.DisplayName
	if name == "" {
		name = "(no name)"
	}
	return r.attempt(ctx, c.ID, name, func() error {
		content, err := r.store(ctx, bytes.NewReader(c.Raw))
		if err != nil {
			return err
		}
		r.counted(content.Size)
		var meta mailitem.Contact
		extra := map[string]string{}
		photo, err := r.m.Graph.ContactPhoto(ctx, r.m.UserID, c.ID)
		switch {
		case errors.Is(err, graphapi.ErrNotFound):
		case err != nil:
			return err
		default:
			b, err := readAll(photo)
			if err != nil {
				return err
			}
			meta.PhotoType = http.DetectContentType(b)
			if extra[mailitem.ExtraPhoto], err = r.storeBytes(ctx, b); err != nil {
				return err
			}
		}
		mj, _ := json.Marshal(meta)
		modified := lastModified(c.Raw, time.Time{})
		r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: catalog.ItemVersion{ItemID: c.ID,
			ContainerID: r.ContainerID, ParentID: r.ContainerID, Name: name, Kind: mailitem.KindContact,
			Size: content.Size, Created: modified, Modified: modified, ETag: c.ChangeKey, Content: content.Marshal(),
			Extra: catalog.EncodeExtra(extra), Meta: string(mj)}})
		return nil
	}, nil)
}
