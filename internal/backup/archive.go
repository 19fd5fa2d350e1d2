package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/mailitem"
)

// maxExportItems is how many items one exportItems call takes
// (https://learn.microsoft.com/graph/api/mailbox-exportitems: "up to 20").
const maxExportItems = 20

// archiveRun backs up one folder of the In-Place Archive through the
// mailbox import/export API, the only way Graph reaches an archive. The
// API has no delta: every run lists the folder and exports the items whose
// changeKey moved.
type archiveRun struct {
	*runner
	m *Mailbox
}

// ErrNoArchive means the user's archive mailbox is gone.
var ErrNoArchive = errors.New("the user has no In-Place Archive")

func (r *archiveRun) run(ctx context.Context) error {
	folderID, ok := strings.CutPrefix(r.ContainerID, mailitem.ArchivePrefix)
	if !ok {
		return fmt.Errorf("archive container %q: not an archive folder ID", r.ContainerID)
	}
	return r.full(ctx, "archive folder "+folderID, func(ctx context.Context) error {
		_, mbx, err := r.m.Graph.MailboxIDs(ctx, r.m.UserID)
		if err != nil {
			return err
		}
		if mbx == "" {
			return ErrNoArchive
		}
		items, err := r.m.Graph.ArchiveItems(ctx, mbx, folderID)
		if err != nil {
			return err
		}
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = mailitem.ArchivePrefix + it.ID
		}
		current, err := r.Catalog.CurrentVersions(ctx, r.Key, ids)
		if err != nil {
			return err
		}
		var changed []graphapi.ArchiveItem
		for i, it := range items {
			r.cur.Items++
			if prev, ok := current[ids[i]]; ok && prev.ETag == it.ChangeKey && prev.ContainerID == r.ContainerID {
				r.unchanged(ids[i])
				continue
			}
			changed = append(changed, it)
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(1, r.Concurrency/4))
		for start := 0; start < len(changed); start += maxExportItems {
			batch := changed[start:min(start+maxExportItems, len(changed))]
			g.Go(func() error { return r.export(gctx, mbx, batch) })
		}
		return g.Wait()
	})
}

// export exports a batch and stores each item's data. An item the batch
// did not bring is exported alone; one that still fails is recorded as
// failed.
func (r *archiveRun) export(ctx context.Context, mbx string, batch []graphapi.ArchiveItem) error {
	ids := make([]string, len(batch))
	for i, it := range batch {
		ids[i] = it.ID
	}
	data, err := r.m.Graph.ExportItems(ctx, mbx, ids)
	if err != nil {
		if fatal(ctx, err) {
			return err
		}
		data = nil
	}
	for _, it := range batch {
		id := mailitem.ArchivePrefix + it.ID
		name := archiveName(it)
		err := r.attempt(ctx, id, name, func() error {
			b, ok := data[it.ID]
			if !ok {
				one, err := r.m.Graph.ExportItems(ctx, mbx, []string{it.ID})
				if err != nil {
					return err
				}
				if b, ok = one[it.ID]; !ok {
					return errors.New("the service did not export the item")
				}
			}
			c, err := r.store(ctx, bytes.NewReader(b))
			if err != nil {
				return err
			}
			r.counted(c.Size)
			meta, _ := json.Marshal(mailitem.ArchiveItem{Type: it.Type})
			r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: catalog.ItemVersion{ItemID: id,
				ContainerID: r.ContainerID, ParentID: r.ContainerID, Name: name, Kind: mailitem.KindArchiveItem,
				Size: c.Size, Created: it.Created, Modified: it.Modified, ETag: it.ChangeKey, Content: c.Marshal(),
				Meta: string(meta)}})
			return nil
		}, func() { delete(data, it.ID) })
		if err != nil {
			return err
		}
	}
	return nil
}

// archiveName names an archive item: the API reports no subject.
func archiveName(it graphapi.ArchiveItem) string {
	t := it.Type
	if t == "" {
		t = "item"
	}
	return fmt.Sprintf("%s %s", t, it.Created.UTC().Format(time.DateTime))
}
