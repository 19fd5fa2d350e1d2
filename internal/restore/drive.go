// Package restore writes items of a snapshot back to a drive: to their
// original paths, or under a new folder, in the same or another user's
// drive, honouring a conflict policy for files that already exist.
package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"

	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/tree"
)

// Policy is what to do with a file whose name is taken at the destination.
type Policy string

const (
	Skip    Policy = "skip"    // leave the existing file, count it skipped
	Rename  Policy = "rename"  // restore beside it under a new name ("a 1.txt")
	Replace Policy = "replace" // overwrite it
)

// ParsePolicy checks a policy name.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(s)); p {
	case Skip, Rename, Replace:
		return p, nil
	case "":
		return Skip, nil
	}
	return "", fmt.Errorf("unknown conflict policy %q (want skip, rename or replace)", s)
}

func (p Policy) conflict() graphapi.Conflict {
	switch p {
	case Rename:
		return graphapi.ConflictRename
	case Replace:
		return graphapi.ConflictReplace
	}
	return graphapi.ConflictFail
}

// Opener streams the stored content of an item version.
type Opener func(ctx context.Context, content string) (io.ReadCloser, error)

// Drive restores nodes into a drive.
type Drive struct {
	Graph   graphapi.Drives
	Open    Opener
	DriveID string // destination drive
	RootID  string // its root item
	// Folder, when set, is a folder created at the root under which the
	// nodes keep their paths; "" restores to the original paths.
	Folder      string
	Policy      Policy
	Concurrency int // parallel uploads (default 4)
	// Resumed says an earlier attempt may have written some files already;
	// with Rename, a file found with the same size and hash is taken as
	// restored instead of being written again beside itself.
	Resumed bool
	// Progress receives the number of nodes done (in order) as it grows,
	// with the counts so far.
	Progress func(done int, so Result)
	Log      *slog.Logger
}

// Result counts a restore.
type Result struct {
	Restored int64
	Skipped  int64
	Failed   int64
	Bytes    int64
	Failures []string // "path: why", for the first few failures
}

const maxFailureLines = 20

// Run restores nodes[start:] (nodes in pre-order, as tree.Select returns).
func (d *Drive) Run(ctx context.Context, nodes []*tree.Node, start int) (Result, error) {
	if d.Concurrency <= 0 {
		d.Concurrency = 4
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	r := &restorer{Drive: d, folders: map[string]string{"": d.RootID},
		tracker: newTracker(len(nodes), start, d.Progress, d.Log)}
	return r.walk(ctx, nodes, start, d.Concurrency,
		func(ctx context.Context, n *tree.Node) error {
			_, err := r.folder(ctx, path.Join(d.Folder, n.Path))
			return err
		},
		func(ctx context.Context, n *tree.Node) (string, error) {
			return r.folder(ctx, path.Dir(path.Join(d.Folder, n.Path)))
		},
		r.file)
}

type restorer struct {
	*Drive
	*tracker
	folders map[string]string // destination path → item ID
}

// folder returns the ID of the folder at dest, creating it (and its
// parents) if missing. Existing folders are merged into, whatever the
// policy: the policy is about files.
func (r *restorer) folder(ctx context.Context, dest string) (string, error) {
	if dest == "." || dest == "/" {
		dest = ""
	}
	r.mu.Lock()
	id, ok := r.folders[dest]
	r.mu.Unlock()
	if ok {
		return id, nil
	}
	parent, err := r.folder(ctx, path.Dir(dest))
	if err != nil {
		return "", err
	}
	name := path.Base(dest)
	it, err := r.Graph.CreateFolder(ctx, r.DriveID, parent, name, graphapi.ConflictFail)
	if errors.Is(err, graphapi.ErrConflict) {
		it, err = r.Graph.ItemByPath(ctx, r.DriveID, dest)
		if err == nil && it.Kind == graphapi.KindFile {
			err = fmt.Errorf("a file named %q is where the folder %q belongs", name, dest)
		}
	}
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.folders[dest] = it.ID
	r.mu.Unlock()
	return it.ID, nil
}

func (r *restorer) file(ctx context.Context, n *tree.Node, parentID string) (skipped bool, err error) {
	if r.Resumed && r.Policy == Rename && r.alreadyThere(ctx, n) {
		return false, nil
	}
	body, err := r.Open(ctx, n.Content)
	if err != nil {
		return false, err
	}
	defer body.Close()
	_, err = r.Graph.Upload(ctx, r.DriveID, parentID, n.Name, n.Size, body, r.Policy.conflict())
	if errors.Is(err, graphapi.ErrConflict) && r.Policy == Skip {
		return true, nil
	}
	return false, err
}

// alreadyThere says whether the destination holds this very file (same
// size and content hash), as when an interrupted attempt wrote it.
func (r *restorer) alreadyThere(ctx context.Context, n *tree.Node) bool {
	it, err := r.Graph.ItemByPath(ctx, r.DriveID, path.Join(r.Folder, n.Path))
	if err != nil || it.Kind != graphapi.KindFile || it.Size != n.Size {
		return false
	}
	return n.Hash != "" && (n.Hash == "qxh:"+it.QuickXorHash || n.Hash == "sha256:"+it.SHA256Hash)
}
