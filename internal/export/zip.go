// Package export writes downloads: a ZIP of selected snapshot items, with
// the folder tree, empty folders included, and a manifest.
package export

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/mailitem"
	"github.com/holdfast/holdfast/internal/tree"
)

// Opener streams the stored content of an item version.
type Opener func(ctx context.Context, content string) (io.ReadCloser, error)

// ManifestName is the manifest's name inside the ZIP.
const ManifestName = "holdfast-manifest.json"

// ManifestEntry describes one file of a download.
type ManifestEntry struct {
	Path     string    `json:"path"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	ItemID   string    `json:"itemId"`
	Error    string    `json:"error,omitempty"` // why the file is missing from the ZIP
}

// Result counts a written ZIP.
type Result struct {
	Files  int64
	Bytes  int64
	Failed int64
}

// storedExt are formats already compressed: deflating them wastes CPU.
var storedExt = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".zip": true,
	".gz": true, ".7z": true, ".mp4": true, ".mp3": true, ".docx": true, ".xlsx": true, ".pptx": true, ".pdf": true}

// Options shape a download.
type Options struct {
	// Mbox writes a mail folder's messages as one .mbox file instead of a
	// .eml file per message.
	Mbox bool
}

// WriteZip writes nodes (pre-order, as tree.Select returns) as a ZIP to w,
// under root/ (e.g. the user's name). A file whose content cannot be read
// is left out and named in the manifest; the ZIP is still written.
//
// Mailbox items become files a mail client reads: a message its .eml (the
// MIME exactly as stored), a calendar's events one .ics, a contact
// folder's contacts one .vcf, beside the folder they belong to.
func WriteZip(ctx context.Context, w io.Writer, root string, nodes []*tree.Node, open Opener, opts ...Options) (Result, error) {
	z := &zipper{zw: zip.NewWriter(w), root: root, open: open, groups: map[*tree.Node][]*tree.Node{},
		written: map[*tree.Node]bool{}, names: map[string]bool{}}
	if len(opts) > 0 {
		z.opts = opts[0]
	}
	for _, n := range nodes {
		if grouped(n.Kind, z.opts) && n.Parent != nil {
			z.groups[n.Parent] = append(z.groups[n.Parent], n)
		}
	}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return z.res, err
		}
		if err := z.node(ctx, n); err != nil {
			return z.res, err
		}
	}
	mw, err := z.zw.Create(path.Join(root, ManifestName))
	if err != nil {
		return z.res, err
	}
	enc := json.NewEncoder(mw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(z.manifest); err != nil {
		return z.res, err
	}
	return z.res, z.zw.Close()
}

// grouped says whether items of a kind are written together, one file per
// folder.
func grouped(kind string, o Options) bool {
	return kind == mailitem.KindEvent || kind == mailitem.KindContact || kind == mailitem.KindMessage && o.Mbox
}

type zipper struct {
	zw       *zip.Writer
	root     string
	open     Opener
	opts     Options
	res      Result
	manifest []ManifestEntry
	groups   map[*tree.Node][]*tree.Node // folder → its grouped items
	written  map[*tree.Node]bool         // folders whose group file is written
	names    map[string]bool             // names used in the archive
}

func (z *zipper) node(ctx context.Context, n *tree.Node) error {
	dir := z.dir(n.Parent)
	switch {
	case n.Kind == mailitem.KindCalendar || n.Kind == mailitem.KindContactFolder:
		// One file stands for the folder, written even when it is empty.
		if z.written[n] {
			return nil
		}
		z.written[n] = true
		return z.group(ctx, n)
	case n.IsFolder():
		if n.Kind == mailitem.KindMailFolder && z.opts.Mbox && !z.written[n] {
			z.written[n] = true
			if err := z.group(ctx, n); err != nil {
				return err
			}
		}
		_, err := z.zw.CreateHeader(&zip.FileHeader{Name: z.dir(n) + "/", Modified: n.Modified, Method: zip.Store})
		return err
	case grouped(n.Kind, z.opts):
		if z.written[n.Parent] {
			return nil
		}
		z.written[n.Parent] = true
		return z.group(ctx, n.Parent)
	case n.Kind == mailitem.KindMessage:
		return z.entry(ctx, n, z.unique(dir, FileName(n.Name, " ["+shortID(n.ItemID)+"].eml", 0)))
	case n.Kind == mailitem.KindArchiveItem:
		// The import/export API's own format: it imports back as is.
		return z.entry(ctx, n, z.unique(dir, FileName(n.Name, " ["+shortID(n.ItemID)+"].dat", 0)))
	}
	return z.entry(ctx, n, path.Join(dir, n.Name))
}

// entry copies one item's content into the archive under name.
func (z *zipper) entry(ctx context.Context, n *tree.Node, name string) error {
	e := ManifestEntry{Path: name, Size: n.Size, Modified: n.Modified, ItemID: n.ItemID}
	written, err := writeFile(ctx, z.zw, name, n, z.open)
	if err != nil {
		if written {
			// Part of the file is already in the archive: it is broken.
			return fmt.Errorf("export %s: %w", name, err)
		}
		e.Error = err.Error()
		z.res.Failed++
	} else {
		z.res.Files++
		z.res.Bytes += n.Size
	}
	z.manifest = append(z.manifest, e)
	return nil
}

// dir is a folder node's path in the archive; mailbox folder names (which
// may hold any character) are made safe.
func (z *zipper) dir(n *tree.Node) string {
	var names []string
	for ; n != nil && n.Parent != nil; n = n.Parent {
		name := n.Name
		if n.Kind == mailitem.KindRoot || n.Kind == mailitem.KindMailFolder || n.Kind == mailitem.KindCalendar ||
			n.Kind == mailitem.KindContactFolder || n.Kind == mailitem.KindArchiveFolder {
			name = FileName(n.Name, "", 0)
		}
		names = append(names, name)
	}
	slices.Reverse(names)
	return path.Join(append([]string{z.root}, names...)...)
}

// unique makes name unique in dir (case-insensitively, as Windows and
// macOS compare names).
func (z *zipper) unique(dir, name string) string {
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	p := path.Join(dir, name)
	for i := 2; z.names[strings.ToLower(p)]; i++ {
		p = path.Join(dir, fmt.Sprintf("%s (%d)%s", base, i, ext))
	}
	z.names[strings.ToLower(p)] = true
	return p
}

// group writes a folder's grouped items as one file beside the folder:
// Calendar.ics, Contacts.vcf, Inbox.mbox. An item that cannot be read is
// left out and named in the manifest.
func (z *zipper) group(ctx context.Context, folder *tree.Node) error {
	items := z.groups[folder]
	var ext string
	switch folder.Kind {
	case mailitem.KindCalendar:
		ext = ".ics"
	case mailitem.KindContactFolder:
		ext = ".vcf"
	default:
		ext = ".mbox"
	}
	name := z.unique(path.Dir(z.dir(folder)), path.Base(z.dir(folder))+ext)
	fail := func(n *tree.Node, err error) {
		z.manifest = append(z.manifest, ManifestEntry{Path: name, Size: n.Size, Modified: n.Modified, ItemID: n.ItemID, Error: err.Error()})
		z.res.Failed++
	}
	ok := func(n *tree.Node) {
		z.manifest = append(z.manifest, ManifestEntry{Path: name, Size: n.Size, Modified: n.Modified, ItemID: n.ItemID})
		z.res.Files++
		z.res.Bytes += n.Size
	}
	fw, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Modified: folder.Modified, Method: zip.Deflate})
	if err != nil {
		return err
	}
	switch ext {
	case ".ics":
		var evs []ICSEvent
		for _, n := range items {
			ev, err := z.icsEvent(ctx, n)
			if err != nil {
				fail(n, err)
				continue
			}
			evs = append(evs, ev)
			ok(n)
		}
		return WriteICS(fw, folder.Name, evs)
	case ".vcf":
		for _, n := range items {
			contact, err := z.read(ctx, n.Content)
			var photo []byte
			if err == nil {
				photo, err = z.read(ctx, catalog.DecodeExtra(n.Extra)[mailitem.ExtraPhoto])
			}
			if err != nil {
				fail(n, err)
				continue
			}
			var meta mailitem.Contact
			_ = json.Unmarshal([]byte(n.Meta), &meta)
			if err := WriteVCard(fw, contact, photo, meta.PhotoType); err != nil {
				return fmt.Errorf("export %s: %w", name, err)
			}
			ok(n)
		}
		return nil
	}
	for _, n := range items {
		mime, err := z.read(ctx, n.Content)
		if err != nil {
			fail(n, err)
			continue
		}
		var meta mailitem.Message
		_ = json.Unmarshal([]byte(n.Meta), &meta)
		if err := WriteMbox(fw, meta.From, meta.Received, mime); err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		ok(n)
	}
	return nil
}

func (z *zipper) icsEvent(ctx context.Context, n *tree.Node) (ICSEvent, error) {
	b, err := z.read(ctx, n.Content)
	if err != nil {
		return ICSEvent{}, err
	}
	var s mailitem.Series
	if err := json.Unmarshal(b, &s); err != nil {
		return ICSEvent{}, fmt.Errorf("stored event: %w", err)
	}
	ev := ICSEvent{Event: s.Event}
	for _, x := range s.Exceptions {
		ev.Exceptions = append(ev.Exceptions, x.Event)
	}
	ev.Cancelled = CancelledOccurrences(s)
	return ev, nil
}

// read reads a stored content into memory ("" is none).
func (z *zipper) read(ctx context.Context, content string) ([]byte, error) {
	if content == "" {
		return nil, nil
	}
	rc, err := z.open(ctx, content)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// shortID is a short, stable tag of an item ID for its file name: two
// messages with one subject stay apart, and the name finds the item.
func shortID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:4])
}

// writeFile copies one file into the archive; written reports whether any
// of it reached the archive.
func writeFile(ctx context.Context, zw *zip.Writer, name string, n *tree.Node, open Opener) (written bool, err error) {
	body, err := open(ctx, n.Content)
	if err != nil {
		return false, err
	}
	defer body.Close()
	method := zip.Deflate
	if storedExt[strings.ToLower(path.Ext(n.Name))] {
		method = zip.Store
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Modified: n.Modified, Method: method})
	if err != nil {
		return false, err
	}
	got, err := io.Copy(fw, body)
	if err == nil && got != n.Size {
		err = fmt.Errorf("content is %d bytes, expected %d", got, n.Size)
	}
	return true, err
}
