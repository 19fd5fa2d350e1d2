package graphsim

import (
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
)

// A "day of user activity": deterministic creates, updates, deletes, moves and renames in
// chosen users' drives. The same seed on the same state makes the same changes (timestamps
// aside). Every touched item gets a new change number, so the next incremental delta reports
// exactly these items (plus, unless deltaExcludeParent, their parent folders).

// MutateRequest asks for N operations of each kind in each selected user's drive.
type MutateRequest struct {
	Seed    int64    `json:"seed"`
	Users   []string `json:"users"` // ids or UPNs; empty = every person (kind user; shared, resource and unlicensed accounts only when named)
	Creates int      `json:"creates"`
	Updates int      `json:"updates"`
	Deletes int      `json:"deletes"`
	Moves   int      `json:"moves"`
	Renames int      `json:"renames"`

	// Exchange: a day of mail, calendar and contacts activity (absent: none).
	Mail     *ItemMutation `json:"mail,omitempty"`
	Events   *ItemMutation `json:"events,omitempty"`
	Contacts *ItemMutation `json:"contacts,omitempty"`
}

// ItemMutation asks for N operations of each kind on messages, events or contacts and their
// folders (mail folders, calendars, contact folders).
type ItemMutation struct {
	Creates       int `json:"creates"`
	Updates       int `json:"updates"`
	Deletes       int `json:"deletes"`
	Moves         int `json:"moves"`
	FolderCreates int `json:"folder_creates"`
	FolderRenames int `json:"folder_renames"`
	FolderDeletes int `json:"folder_deletes"`
}

// MutateResult lists every item changed, in the order the changes happened.
type MutateResult struct {
	Changes []Change `json:"changes"`
}

// Change is one changed item. A deleted folder contributes one "delete" per item below it.
//
// Exchange changes say what they touched in Kind (message, mailFolder, event, calendar,
// contact, contactFolder; "" for drive items). A message that moved — "move", "delete" (to
// Deleted Items) or "soft_delete" (to Recoverable Items/Deletions) — has a new ID, as on the
// service: ItemID is the new one, PrevItemID the one it had, Path the folder it is in and
// PrevPath the folder it left. Message changes are made before folder changes, so their paths
// are those of the folders before any rename. Event updates of a single occurrence are
// "update" (now an exception) or "cancel" (the occurrence deleted) with the occurrence's ID.
type Change struct {
	User       string `json:"user"`
	DriveID    string `json:"drive_id"`
	ItemID     string `json:"item_id"`
	Op         string `json:"op"` // create | update | delete | move | rename | soft_delete | cancel
	Path       string `json:"path"`
	Kind       string `json:"kind,omitempty"`
	PrevItemID string `json:"prev_item_id,omitempty"`
	PrevPath   string `json:"prev_path,omitempty"`
}

// Mutate applies a MutateRequest.
func (s *Server) Mutate(req MutateRequest) (MutateResult, error) {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	var targets []*user
	if len(req.Users) == 0 {
		for _, u := range t.users {
			if u.kind == mbxUser {
				targets = append(targets, u)
			}
		}
	}
	for _, k := range req.Users {
		u := t.userByKey(k)
		if u == nil {
			return MutateResult{}, fmt.Errorf("graphsim: unknown user %q", k)
		}
		targets = append(targets, u)
	}
	res := MutateResult{Changes: []Change{}}
	now := unixSec(s.now())
	for _, u := range targets {
		if u.drive != nil {
			m := &mutator{s: s, d: u.drive, req: req, now: now,
				rng: rand.New(rand.NewPCG(uint64(req.Seed), uint64(u.drive.no)<<32|uint64(u.drive.seq))),
				sz:  newSizer(s.opts.FileSizeMean, s.opts.FileSizeMax)}
			m.run()
			res.Changes = append(res.Changes, m.changes...)
			u.drive.checkpoint(now)
		}
		if u.mbx != nil && (req.Mail != nil || req.Events != nil || req.Contacts != nil) {
			mm := &mailMutator{s: s, u: u, mb: u.mbx, req: req, now: now,
				rng: rand.New(rand.NewPCG(uint64(req.Seed), 0x4a11<<40|uint64(u.mbx.no)<<32|uint64(u.mbx.seq)))}
			mm.run()
			res.Changes = append(res.Changes, mm.changes...)
		}
	}
	return res, nil
}

type mutator struct {
	s       *Server
	d       *drive
	req     MutateRequest
	rng     *rand.Rand
	sz      sizer
	now     uint32
	changes []Change
}

func (m *mutator) record(idx int32, op string) {
	m.changes = append(m.changes, Change{User: m.d.owner.upn, DriveID: m.d.id,
		ItemID: m.s.t.itemID(m.d, idx), Op: op, Path: m.d.path(idx)})
}

// candidates lists live items (not the root, nothing inside OneNote notebooks) of a kind.
func (m *mutator) candidates(files bool) []int32 {
	var out []int32
	for _, i := range m.d.liveOfKind(files) {
		if !m.d.insideNotebook(i) {
			out = append(out, i)
		}
	}
	return out
}

func (m *mutator) pickLive(list []int32) (int32, bool) {
	for range 8 {
		if len(list) == 0 {
			return -1, false
		}
		if i := list[m.rng.IntN(len(list))]; m.d.live(i) {
			return i, true
		}
	}
	return -1, false
}

func (m *mutator) run() {
	files, folders := m.candidates(true), m.candidates(false)
	containers := append([]int32{0}, folders...)
	for range m.req.Creates {
		parent, ok := m.pickLive(containers)
		if !ok {
			parent = 0
		}
		if m.rng.IntN(5) == 0 {
			f := m.newFolder(parent)
			containers = append(containers, f)
			for range 1 + m.rng.IntN(3) {
				files = append(files, m.newFile(f))
			}
			continue
		}
		files = append(files, m.newFile(parent))
	}
	for range m.req.Updates {
		if i, ok := m.pickLive(files); ok {
			m.update(i)
		}
	}
	for range m.req.Deletes {
		list := files
		if m.rng.IntN(7) == 0 && len(folders) > 0 {
			list = folders
		}
		if i, ok := m.pickLive(list); ok {
			for _, x := range m.subtree(i) {
				m.record(x, "delete")
			}
			m.d.remove(i)
		}
	}
	for range m.req.Moves {
		list := files
		if m.rng.IntN(5) == 0 && len(folders) > 0 {
			list = folders
		}
		i, ok := m.pickLive(list)
		if !ok {
			continue
		}
		for range 8 {
			dst, ok := m.pickLive(containers)
			if !ok || dst == m.d.item(i).parent || m.d.isWithin(dst, i) {
				continue
			}
			it := m.d.item(i)
			m.d.move(i, dst, m.d.uniqueName(dst, it.name, it.kind.container()), m.now)
			m.record(i, "move")
			break
		}
	}
	for range m.req.Renames {
		list := files
		if m.rng.IntN(4) == 0 && len(folders) > 0 {
			list = folders
		}
		i, ok := m.pickLive(list)
		if !ok {
			continue
		}
		it := m.d.item(i)
		var name string
		if it.kind == kindFile {
			n, _ := randomFileName(m.rng)
			name = strings.TrimSuffix(n, path.Ext(n)) + path.Ext(it.name)
		} else {
			name = randomFolderName(m.rng)
		}
		if strings.EqualFold(name, it.name) {
			name += " (renamed)"
		}
		m.d.move(i, it.parent, m.d.uniqueName(it.parent, name, it.kind.container()), m.now)
		m.record(i, "rename")
	}
}

// subtree lists i and everything below it, deepest first (the order remove reports them).
func (m *mutator) subtree(i int32) []int32 {
	var out []int32
	var walk func(int32)
	walk = func(x int32) {
		for _, c := range m.d.item(x).children {
			walk(c)
		}
		out = append(out, x)
	}
	walk(i)
	return out
}

func (m *mutator) newFolder(parent int32) int32 {
	idx, _ := m.d.create(parent, m.d.uniqueName(parent, randomFolderName(m.rng), true), kindFolder, m.now)
	m.record(idx, "create")
	return idx
}

func (m *mutator) newFile(parent int32) int32 {
	name, _ := randomFileName(m.rng)
	idx, it := m.d.create(parent, m.d.uniqueName(parent, name, false), kindFile, m.now)
	it.size = m.sz.draw(m.rng)
	it.content = m.s.t.contentKey(path.Ext(it.name), mix64(uint64(m.req.Seed), uint64(m.d.no)<<32|uint64(idx)))
	m.record(idx, "create")
	return idx
}

func (m *mutator) update(i int32) {
	it := m.d.item(i)
	it.version++
	it.blob = -1
	it.size = m.sz.draw(m.rng)
	it.content = m.s.t.contentKey(path.Ext(it.name),
		mix64(uint64(m.req.Seed)^uint64(it.version)<<48, uint64(m.d.no)<<32|uint64(i)))
	it.modified = m.now
	it.hashes.Store(nil)
	m.d.bump(it)
	m.record(i, "update")
}
