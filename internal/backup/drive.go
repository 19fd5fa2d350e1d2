// Package backup runs the backup of one container — here a OneDrive — into
// the vault and the catalog: it follows the container's delta query,
// fetches what changed, stores it, and stages the new item versions for the
// snapshot's commit.
//
// Progress is made durable in steps: content first goes into the vault
// session, and only after the session's pack is uploaded (Flush) are the
// items staged in the catalog and the cursor (the delta page link to
// continue from) reported. A run that dies is resumed from the last
// reported cursor; what it repeats is deduplicated.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/quickxor"
	"github.com/holdfast/holdfast/internal/vault"
)

// Drive backs up one drive (Config.ContainerID is its drive ID).
type Drive struct {
	Config
	Graph graphapi.Drives
	// Exclude leaves items out (a profile's exclusions); excluded items
	// backed up before drop out of the snapshot.
	Exclude Exclusions
}

// run holds the state of one drive backup.
type run struct {
	*runner
	d    *Drive
	tree *folderTree // for exclusions by folder
}

// Run backs up the drive from cursor from (the zero Cursor for a new run)
// and records the container as finished in the snapshot.
func (d *Drive) Run(ctx context.Context, from Cursor) (Result, error) {
	r := &run{runner: newRunner(&d.Config, from), d: d}
	err := r.begin(ctx)
	if err == nil && !d.Exclude.Empty() {
		err = r.loadTree(ctx)
	}
	if err == nil {
		err = r.loop(ctx)
	}
	return r.result(ctx, err)
}

func (r *run) loop(ctx context.Context) error {
	if !r.cur.RetriesDone {
		if err := r.retryOwed(ctx); err != nil {
			return err
		}
		r.cur.RetriesDone = true
	}
	return r.runner.loop(ctx, "drive "+r.ContainerID, func(ctx context.Context, link string) (string, string, error) {
		page, err := r.d.Graph.DriveDelta(ctx, r.ContainerID, link)
		if err != nil {
			return "", "", err
		}
		if err := r.page(ctx, page.Items); err != nil {
			return "", "", err
		}
		return page.NextLink, page.DeltaLink, nil
	})
}

// retryOwed fetches the items earlier runs failed: the delta link moved
// past them when those runs committed.
func (r *run) retryOwed(ctx context.Context) error {
	ids, err := r.Catalog.RetryItems(ctx, r.Key, r.ContainerID)
	if err != nil || len(ids) == 0 {
		return err
	}
	var items []graphapi.DriveItem
	for _, id := range ids {
		it, err := r.d.Graph.DriveItem(ctx, r.ContainerID, id)
		switch {
		case errors.Is(err, graphapi.ErrNotFound):
			items = append(items, graphapi.DriveItem{ID: id, Deleted: true})
		case err != nil:
			return err
		default:
			items = append(items, it)
		}
	}
	return r.page(ctx, items)
}

// page processes one page of delta items.
func (r *run) page(ctx context.Context, items []graphapi.DriveItem) error {
	if r.tree != nil {
		r.learnFolders(items)
	}
	items, current, err := latest(ctx, r.runner, items, func(it graphapi.DriveItem) string { return it.ID })
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.Concurrency)
	for _, it := range items {
		id := it.ID
		prev, known := current[id]
		r.cur.Items++
		if r.tree != nil && !it.Deleted && r.excluded(it) {
			if known {
				r.removed(id)
			}
			continue
		}
		switch decide(it, prev, known) {
		case skip:
		case seen:
			r.unchanged(id)
		case remove:
			r.removed(id)
		case metadata:
			v := r.version(it)
			v.Content = prev.Content
			r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: v})
		case fetch:
			g.Go(func() error { return r.fetch(gctx, it) })
		}
	}
	return g.Wait()
}

type decision int

const (
	skip     decision = iota // nothing to record
	seen                     // unchanged; a full enumeration notes it
	remove                   // gone
	metadata                 // new metadata, same content (renamed, moved, touched)
	fetch                    // new content
)

func decide(it graphapi.DriveItem, prev catalog.ItemVersion, known bool) decision {
	switch {
	case it.Deleted:
		if known {
			return remove
		}
		return skip
	case it.Kind != graphapi.KindFile:
		if known && prev.Name == it.Name && prev.ParentID == it.ParentID && prev.Kind == string(it.Kind) {
			return seen
		}
		return metadata
	case !known || prev.Content == "" && it.Size > 0:
		return fetch
	case prev.Hash != contentHash(it) || prev.Hash == "" || prev.Size != it.Size:
		return fetch
	case prev.Name == it.Name && prev.ParentID == it.ParentID && prev.Modified.Equal(it.Modified.Truncate(time.Millisecond)):
		return seen
	}
	return metadata
}

// contentHash is the service's hash of a file, as stored in the catalog.
func contentHash(it graphapi.DriveItem) string {
	switch {
	case it.SHA256Hash != "":
		return "sha256:" + it.SHA256Hash
	case it.QuickXorHash != "":
		return "qxh:" + it.QuickXorHash
	}
	return ""
}

// itemMeta is what the catalog keeps of a drive item beyond the columns.
type itemMeta struct {
	MimeType     string `json:"mimeType,omitempty"`
	PackageType  string `json:"packageType,omitempty"`
	CTag         string `json:"cTag,omitempty"`
	QuickXorHash string `json:"quickXorHash,omitempty"`
}

func (r *run) version(it graphapi.DriveItem) catalog.ItemVersion {
	meta, _ := json.Marshal(itemMeta{MimeType: it.MimeType, PackageType: it.PackageType, CTag: it.CTag, QuickXorHash: it.QuickXorHash})
	return catalog.ItemVersion{ItemID: it.ID, ContainerID: r.ContainerID, ParentID: it.ParentID, Name: it.Name,
		Kind: string(it.Kind), Size: it.Size, Created: it.Created, Modified: it.Modified,
		ETag: it.ETag, Hash: contentHash(it), Meta: string(meta)}
}

// fetch downloads a file into the vault, checking it against the
// service's hash.
func (r *run) fetch(ctx context.Context, it graphapi.DriveItem) error {
	return r.attempt(ctx, it.ID, it.Name, func() error {
		content, err := r.download(ctx, it)
		if err != nil {
			return err
		}
		v := r.version(it)
		v.Content = content.Marshal()
		r.counted(content.Size)
		r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: v})
		return nil
	}, func() {
		// The download URL may have expired; ask for a fresh one.
		if fresh, err := r.d.Graph.DriveItem(ctx, r.ContainerID, it.ID); err == nil {
			it = fresh
		}
	})
}

// ErrContentMismatch means the bytes received do not match the size or hash
// the service reported for the file.
var ErrContentMismatch = errors.New("downloaded content does not match the service's size or hash")

func (r *run) download(ctx context.Context, it graphapi.DriveItem) (vault.Content, error) {
	if r.Downloads != nil {
		if err := r.Downloads.Acquire(ctx, 1); err != nil {
			return vault.Content{}, err
		}
		defer r.Downloads.Release(1)
	}
	body, err := r.d.Graph.Download(ctx, r.ContainerID, it)
	if err != nil {
		return vault.Content{}, err
	}
	defer body.Close()
	h := quickxor.New()
	content, err := r.store(ctx, io.TeeReader(body, h))
	if err != nil {
		return vault.Content{}, err
	}
	if content.Size != it.Size || (it.QuickXorHash != "" && quickxor.Base64(h) != it.QuickXorHash) {
		return vault.Content{}, fmt.Errorf("%w (got %d bytes)", ErrContentMismatch, content.Size)
	}
	return content, nil
}

// loadTree reads the drive's current folders, to place items by path.
func (r *run) loadTree(ctx context.Context) error {
	folders, err := r.Catalog.CurrentFolders(ctx, r.Key, r.ContainerID)
	if err != nil {
		return err
	}
	r.tree = &folderTree{folders: map[string]folderNode{}}
	for _, f := range folders {
		if f.Kind == string(graphapi.KindRoot) {
			r.tree.root = f.ItemID
			continue
		}
		r.tree.folders[f.ItemID] = folderNode{name: f.Name, parent: f.ParentID}
	}
	return nil
}

// learnFolders updates the tree with a page's folders (before any item of
// the page is placed: a page may list a file before its folder).
func (r *run) learnFolders(items []graphapi.DriveItem) {
	for _, it := range items {
		switch {
		case it.Kind == graphapi.KindRoot:
			r.tree.root = it.ID
		case it.Deleted:
			delete(r.tree.folders, it.ID)
		case it.Kind != graphapi.KindFile:
			r.tree.folders[it.ID] = folderNode{name: it.Name, parent: it.ParentID}
		}
	}
}

func (r *run) excluded(it graphapi.DriveItem) bool {
	if it.Kind == graphapi.KindRoot {
		return false
	}
	p, ok := r.tree.pathOf(it.ParentID, it.Name)
	return ok && r.d.Exclude.Match(p, it.Kind != graphapi.KindFile)
}
