package backup

import (
	"path"
	"strings"
)

// Exclusions are a profile's rules for what never to back up.
type Exclusions struct {
	Extensions []string // ".tmp", lower case
	// Folders are names (any folder so named, anywhere) or paths from the
	// drive root ("/Temp"); whatever is inside is left out too.
	Folders []string
}

// Empty says there is nothing to exclude.
func (e Exclusions) Empty() bool { return len(e.Extensions) == 0 && len(e.Folders) == 0 }

// Match says whether the item at p ("/"-separated from the root, no
// leading slash) is excluded.
func (e Exclusions) Match(p string, folder bool) bool {
	segs := strings.Split(p, "/")
	dirs := segs
	if !folder {
		dirs = segs[:len(segs)-1]
		ext := strings.ToLower(path.Ext(p))
		for _, x := range e.Extensions {
			if ext == x {
				return true
			}
		}
	}
	for _, rule := range e.Folders {
		if strings.HasPrefix(rule, "/") {
			want := strings.Split(strings.Trim(rule, "/"), "/")
			if len(dirs) >= len(want) && equalFold(dirs[:len(want)], want) {
				return true
			}
			continue
		}
		for _, d := range dirs {
			if strings.EqualFold(d, rule) {
				return true
			}
		}
	}
	return false
}

func equalFold(a, b []string) bool {
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// folderTree resolves items' paths from parent links during a run: the
// catalog's current folders, updated as the delta reports folders.
type folderTree struct {
	root    string
	folders map[string]folderNode
}

type folderNode struct {
	name, parent string
}

// pathOf is the path of an item named name under parent; ok is false when
// the parent chain cannot be resolved (yet).
func (t *folderTree) pathOf(parent, name string) (string, bool) {
	var segs []string
	if name != "" {
		segs = append(segs, name)
	}
	for id, depth := parent, 0; id != t.root && id != ""; depth++ {
		n, ok := t.folders[id]
		if !ok || depth > 1000 {
			return "", false
		}
		segs = append(segs, n.name)
		id = n.parent
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, "/"), true
}
