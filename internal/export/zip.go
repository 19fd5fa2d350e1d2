// Package export writes downloads: a ZIP of selected snapshot items, with
// the folder tree, empty folders included, and a manifest.
package export

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

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

// WriteZip writes nodes (pre-order, as tree.Select returns) as a ZIP to w,
// under root/ (e.g. the user's name). A file whose content cannot be read
// is left out and named in the manifest; the ZIP is still written.
func WriteZip(ctx context.Context, w io.Writer, root string, nodes []*tree.Node, open Opener) (Result, error) {
	zw := zip.NewWriter(w)
	var res Result
	var manifest []ManifestEntry
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		name := path.Join(root, n.Path)
		if n.IsFolder() {
			if _, err := zw.CreateHeader(&zip.FileHeader{Name: name + "/", Modified: n.Modified, Method: zip.Store}); err != nil {
				return res, err
			}
			continue
		}
		entry := ManifestEntry{Path: name, Size: n.Size, Modified: n.Modified, ItemID: n.ItemID}
		written, err := writeFile(ctx, zw, name, n, open)
		if err != nil {
			if written {
				// Part of the file is already in the archive: it is broken.
				return res, fmt.Errorf("export %s: %w", name, err)
			}
			entry.Error = err.Error()
			res.Failed++
		} else {
			res.Files++
			res.Bytes += n.Size
		}
		manifest = append(manifest, entry)
	}
	mw, err := zw.Create(path.Join(root, ManifestName))
	if err != nil {
		return res, err
	}
	enc := json.NewEncoder(mw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(manifest); err != nil {
		return res, err
	}
	return res, zw.Close()
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
