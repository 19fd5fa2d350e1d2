// Package tree rebuilds the folder tree of a snapshot from its item
// versions (which store only parent links, because a folder rename or move
// must not rewrite every descendant) and selects subtrees of it by path or
// item ID, in an order where folders come before their contents.
package tree

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/mailitem"
)

// Node is an item placed in its tree.
type Node struct {
	catalog.ItemVersion
	Path     string // "/"-separated from the root, without a leading slash; "" for the root
	Parent   *Node
	Children []*Node
}

// IsFolder says whether the node holds other nodes.
func (n *Node) IsFolder() bool { return n.Kind != "file" && !mailitem.Leaf(n.Kind) }

// Tree is a snapshot's items as a tree.
type Tree struct {
	Root    *Node
	ByID    map[string]*Node
	Orphans int // items whose parent is not in the snapshot (left out)
}

// Build places items in a tree. The root is the item of kind "root" (or,
// failing that, a synthetic one). Items whose ancestry does not reach the
// root — their folder was deleted and the service did not report them —
// are left out and counted.
func Build(items []catalog.ItemVersion) *Tree {
	t := &Tree{ByID: make(map[string]*Node, len(items))}
	for _, it := range items {
		n := &Node{ItemVersion: it}
		t.ByID[it.ItemID] = n
		if it.Kind == "root" && t.Root == nil {
			t.Root = n
		}
	}
	if t.Root == nil {
		t.Root = &Node{ItemVersion: catalog.ItemVersion{Kind: "root"}}
	}
	for _, n := range t.ByID {
		if n == t.Root {
			continue
		}
		p, ok := t.ByID[n.ParentID]
		if !ok && (n.ParentID == "" || n.ParentID == t.Root.ItemID) {
			p, ok = t.Root, true
		}
		if ok {
			n.Parent = p
			p.Children = append(p.Children, n)
		}
	}
	// Paths from the root down; what is not reached is orphaned (this also
	// breaks any parent cycle).
	reached := map[*Node]bool{t.Root: true}
	var walk func(*Node)
	walk = func(n *Node) {
		slices.SortFunc(n.Children, func(a, b *Node) int { return strings.Compare(a.Name, b.Name) })
		for _, c := range n.Children {
			if reached[c] {
				continue
			}
			reached[c] = true
			c.Path = path.Join(n.Path, c.Name)
			walk(c)
		}
	}
	walk(t.Root)
	for id, n := range t.ByID {
		if !reached[n] {
			delete(t.ByID, id)
			t.Orphans++
		}
	}
	return t
}

// Walk visits the subtree under n (n included) in pre-order: every folder
// before what it contains, children by name.
func Walk(n *Node, fn func(*Node)) {
	fn(n)
	for _, c := range n.Children {
		Walk(c, fn)
	}
}

// Lookup finds a node by path, case-insensitively as OneDrive and
// SharePoint compare names. "" and "/" are the root.
func (t *Tree) Lookup(p string) (*Node, bool) {
	n := t.Root
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "" {
			continue
		}
		var next *Node
		for _, c := range n.Children {
			if strings.EqualFold(c.Name, seg) {
				next = c
				break
			}
		}
		if next == nil {
			return nil, false
		}
		n = next
	}
	return n, true
}

// Select returns the nodes chosen by paths and item IDs, each with its
// whole subtree, in pre-order and without duplicates. With neither, it
// selects the whole tree (root excluded). An unknown path or ID is an
// error naming it.
func (t *Tree) Select(paths, ids []string) ([]*Node, error) {
	var roots []*Node
	for _, p := range paths {
		n, ok := t.Lookup(p)
		if !ok {
			return nil, fmt.Errorf("no item at path %q in this snapshot", p)
		}
		roots = append(roots, n)
	}
	for _, id := range ids {
		n, ok := t.ByID[id]
		if !ok {
			return nil, fmt.Errorf("no item with ID %q in this snapshot", id)
		}
		roots = append(roots, n)
	}
	if len(paths) == 0 && len(ids) == 0 {
		roots = []*Node{t.Root}
	}
	chosen := map[*Node]bool{}
	for _, r := range roots {
		Walk(r, func(n *Node) { chosen[n] = true })
	}
	var out []*Node
	Walk(t.Root, func(n *Node) {
		if chosen[n] && n != t.Root {
			out = append(out, n)
		}
	})
	return out, nil
}
