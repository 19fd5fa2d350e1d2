package graphsim

import (
	"fmt"
	"path"
	"strings"
)

// Drive operations on the tenant model. Callers hold tenant.mu (read lock for lookups, write lock
// for changes); nothing here does I/O.

func (d *drive) item(i int32) *item { return d.items.get(i) }

func (d *drive) valid(i int32) bool { return i >= 0 && i < d.items.n }

// live reports whether index i is an existing, undeleted item.
func (d *drive) live(i int32) bool { return d.valid(i) && !d.item(i).deleted }

// childByName finds a live child by name; OneDrive names are case-insensitive.
func (d *drive) childByName(parent int32, name string) (int32, bool) {
	for _, c := range d.item(parent).children {
		if strings.EqualFold(d.item(c).name, name) {
			return c, true
		}
	}
	return -1, false
}

// resolvePath walks rel ("/a/b.txt" or "a/b.txt") from base.
func (d *drive) resolvePath(base int32, rel string) (int32, bool) {
	cur := base
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" {
			continue
		}
		if !d.item(cur).kind.container() {
			return -1, false
		}
		next, ok := d.childByName(cur, seg)
		if !ok {
			return -1, false
		}
		cur = next
	}
	return cur, true
}

// path returns the item's path below the root ("/Documents/a.txt"); the root is "".
func (d *drive) path(i int32) string {
	var parts []string
	for it := d.item(i); it.kind != kindRoot; it = d.item(it.parent) {
		parts = append(parts, it.name)
		if it.parent < 0 {
			break
		}
	}
	var b strings.Builder
	for j := len(parts) - 1; j >= 0; j-- {
		b.WriteByte('/')
		b.WriteString(parts[j])
	}
	return b.String()
}

// isWithin reports whether i is a or below a.
func (d *drive) isWithin(i, a int32) bool {
	for ; i >= 0; i = d.item(i).parent {
		if i == a {
			return true
		}
	}
	return false
}

// insideNotebook reports whether i is a notebook or inside one.
func (d *drive) insideNotebook(i int32) bool {
	for ; i >= 0; i = d.item(i).parent {
		if d.item(i).kind == kindNotebook {
			return true
		}
	}
	return false
}

func (d *drive) bump(it *item) {
	d.seq++
	it.seq = d.seq
	d.cache = nil
}

// create adds a live item under parent. The caller checked that the name is free.
func (d *drive) create(parent int32, name string, kind itemKind, now uint32) (int32, *item) {
	idx, it := d.items.add()
	it.name = name
	it.kind = kind
	it.parent = parent
	it.blob = -1
	it.version = 1
	it.created, it.modified = now, now
	p := d.item(parent)
	p.children = append(p.children, idx)
	d.bump(it)
	return idx, it
}

func removeChild(p *item, c int32) {
	for j, x := range p.children {
		if x == c {
			p.children = append(p.children[:j], p.children[j+1:]...)
			return
		}
	}
}

// remove deletes i and everything below it; every removed item becomes a delta tombstone.
// It returns the removed indexes, deepest first.
func (d *drive) remove(i int32) []int32 {
	var out []int32
	var walk func(int32)
	walk = func(x int32) {
		it := d.item(x)
		for _, c := range it.children {
			walk(c)
		}
		it.children = nil
		it.deleted = true
		d.bump(it)
		out = append(out, x)
	}
	removeChild(d.item(d.item(i).parent), i)
	walk(i)
	return out
}

// move reparents and/or renames i.
func (d *drive) move(i, newParent int32, newName string, now uint32) {
	it := d.item(i)
	if it.parent != newParent {
		removeChild(d.item(it.parent), i)
		np := d.item(newParent)
		np.children = append(np.children, i)
		it.parent = newParent
	}
	it.name = newName
	it.modified = now
	d.bump(it)
}

// uniqueName returns name, or "stem 1.ext", "stem 2.ext", … — OneDrive's conflictBehavior=rename.
func (d *drive) uniqueName(parent int32, name string, folder bool) string {
	if _, taken := d.childByName(parent, name); !taken {
		return name
	}
	stem, ext := name, ""
	if !folder {
		ext = path.Ext(name)
		stem = strings.TrimSuffix(name, ext)
	}
	for n := 1; ; n++ {
		c := fmt.Sprintf("%s %d%s", stem, n, ext)
		if _, taken := d.childByName(parent, c); !taken {
			return c
		}
	}
}

// ensureCache returns the pre-order and folder sizes; callers hold at least the read lock.
func (d *drive) ensureCache() *driveCache {
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	if d.cache != nil {
		return d.cache
	}
	c := &driveCache{order: make([]int32, 0, d.items.n), sizes: make([]int64, d.items.n)}
	var walk func(int32) int64
	walk = func(i int32) int64 {
		c.order = append(c.order, i)
		it := d.item(i)
		s := int64(0)
		if it.kind == kindFile {
			s = it.size
		}
		for _, ch := range it.children {
			s += walk(ch)
		}
		c.sizes[i] = s
		return s
	}
	walk(0)
	d.cache = c
	return c
}

func (d *drive) checkpoint(now uint32) {
	if n := len(d.checkpoints); n > 0 && d.checkpoints[n-1].at == now {
		d.checkpoints[n-1].seq = d.seq
		return
	}
	d.checkpoints = append(d.checkpoints, checkpoint{seq: d.seq, at: now})
}

// seqAt returns the change number the drive had reached at time at (for token=<timestamp>).
func (d *drive) seqAt(at uint32) uint32 {
	s := uint32(0)
	for _, c := range d.checkpoints {
		if c.at > at {
			break
		}
		s = c.seq
	}
	return s
}

// liveOfKind lists live files (or live containers), root excluded, in index order.
func (d *drive) liveOfKind(files bool) []int32 {
	var out []int32
	for i := int32(1); i < d.items.n; i++ {
		it := d.item(i)
		if it.deleted || (it.kind == kindFile) != files {
			continue
		}
		out = append(out, i)
	}
	return out
}
