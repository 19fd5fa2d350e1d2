package graphsim

import (
	"slices"
	"strings"
)

// The Exchange side of the tenant model: mailboxes with a folder tree, messages, calendars,
// events, contact folders and contacts. Callers hold tenant.mu (read lock for lookups, write
// lock for changes); nothing here does I/O.
//
// Memory: a message is ~48 bytes; the content of a seeded message (headers, bodies,
// attachments, nested items) is a function of its key and is generated when needed, never
// stored. Messages created by clients or imported keep their content (JSON-created: in memory;
// MIME and imports: as blobs). Events and contacts are few per mailbox and are stored as they
// are. 100 mailboxes × 2,000 messages hold ~10 MB of message records.

type mailboxKind uint8

const (
	mbxUser mailboxKind = iota
	mbxShared
	mbxRoom
	mbxEquipment
	mbxNone // the user has no Exchange Online mailbox (unlicensed)
)

var mailboxKindNames = [...]string{"user", "shared", "room", "equipment", "none"}

func (k mailboxKind) String() string { return mailboxKindNames[k] }

func parseMailboxKind(s string) (mailboxKind, bool) {
	if s == "" {
		return mbxUser, true
	}
	for i, n := range mailboxKindNames {
		if strings.EqualFold(s, n) {
			return mailboxKind(i), true
		}
	}
	return 0, false
}

type mailbox struct {
	no      int32
	id      string // MBX:…@…
	owner   *user
	archive bool     // this is an In-Place Archive
	arch    *mailbox // the owner's In-Place Archive, or nil
	created uint32

	folders []*mailFolder
	msgs    chunked[message]
	seq     uint32        // change counter shared by folders, messages, events and contacts
	removed []mailRemoval // messages that left a folder, in change order
	stored  []*msgContent // content of client-created and imported messages
	catSets [][]string    // category sets referenced by message.cats (0 = none)

	calendars      []*calendar
	events         []*event
	evRemoved      []eventRemoval
	contactFolders []*contactFolder
	contacts       []*contact
	ctRemoved      []mailRemoval // contacts that left a folder

	tokenGen   uint32 // delta tokens minted under an older generation get 410
	resyncCode string
}

// Folder indexes every mailbox has.
const (
	fRoot        int32 = 0 // the mailbox root (not exposed)
	fTop         int32 = 1 // msgfolderroot, "Top of Information Store"
	fRecoverable int32 = 2 // "Recoverable Items"
	fDeletions   int32 = 3
	fPurges      int32 = 4
	fVersions    int32 = 5
)

type mailFolder struct {
	name      string
	parent    int32
	children  []int32
	wellKnown string
	hidden    bool
	msgs      []int32 // live messages, ascending index
	seq       uint32
	created   uint32
	modified  uint32
	deleted   bool
}

type message struct {
	key      uint64 // generated content (seed, mailbox, message, template)
	src      int32  // index in mailbox.stored, or -1 for generated content
	folder   int32
	seq      uint32
	created  uint32
	modified uint32
	received uint32
	sent     uint32
	thread   uint32 // generated: conversation number (0 = none)
	cats     uint16 // index in mailbox.catSets
	version  uint16
	tmpl     uint8 // generated: template
	tpos     uint8 // generated: position in the conversation
	flags    uint8
	flag     uint8 // 0 notFlagged, 1 flagged, 2 complete
}

const (
	msgRead uint8 = 1 << iota
	msgDraft
	msgGone // hard-deleted (no longer in any folder)
)

var flagNames = [...]string{"notFlagged", "flagged", "complete"}

type mailRemoval struct {
	folder int32
	msg    int32
	seq    uint32
}

// chunked stores values in fixed chunks so that pointers stay valid as it grows.
type chunked[T any] struct {
	chunks [][]T
	n      int32
}

const chunkBits = 10

func (c *chunked[T]) get(i int32) *T { return &c.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

func (c *chunked[T]) add() (int32, *T) {
	if int(c.n)>>chunkBits == len(c.chunks) {
		c.chunks = append(c.chunks, make([]T, 1<<chunkBits))
	}
	i := c.n
	c.n++
	return i, c.get(i)
}

// Well-known folder names (https://learn.microsoft.com/graph/api/resources/mailfolder).
var wellKnownFolders = []struct {
	name, display string
	hidden        bool
}{
	{"inbox", "Inbox", false},
	{"drafts", "Drafts", false},
	{"sentitems", "Sent Items", false},
	{"deleteditems", "Deleted Items", false},
	{"junkemail", "Junk Email", false},
	{"archive", "Archive", false},
	{"outbox", "Outbox", false},
	{"conversationhistory", "Conversation History", false},
	{"scheduled", "Scheduled", false},
	{"syncissues", "Sync Issues", false},
	{"searchfolders", "Search Folders", true},
	{"clutter", "Clutter", false},
}

func newMailbox(no int32, id string, owner *user, archive bool, now uint32) *mailbox {
	mb := &mailbox{no: no, id: id, owner: owner, archive: archive, created: now, catSets: [][]string{nil}}
	mb.folders = append(mb.folders, &mailFolder{name: "Root", parent: -1, wellKnown: "root", hidden: true, created: now, modified: now})
	mb.addFolder(fRoot, "Top of Information Store", "msgfolderroot", false, now)
	mb.addFolder(fRoot, "Recoverable Items", "recoverableitemsroot", true, now)
	mb.addFolder(fRecoverable, "Deletions", "recoverableitemsdeletions", true, now)
	mb.addFolder(fRecoverable, "Purges", "recoverableitemspurges", true, now)
	mb.addFolder(fRecoverable, "Versions", "recoverableitemsversions", true, now)
	return mb
}

func (mb *mailbox) bump() uint32 {
	mb.seq++
	return mb.seq
}

func (mb *mailbox) folder(i int32) *mailFolder { return mb.folders[i] }

func (mb *mailbox) liveFolder(i int32) bool {
	return i >= 0 && int(i) < len(mb.folders) && !mb.folders[i].deleted
}

func (mb *mailbox) msg(i int32) *message { return mb.msgs.get(i) }

func (mb *mailbox) liveMsg(i int32) bool {
	return i >= 0 && i < mb.msgs.n && mb.msg(i).flags&msgGone == 0
}

func (mb *mailbox) addFolder(parent int32, name, wellKnown string, hidden bool, now uint32) int32 {
	idx := int32(len(mb.folders))
	f := &mailFolder{name: name, parent: parent, wellKnown: wellKnown, hidden: hidden, created: now, modified: now}
	f.seq = mb.bump()
	mb.folders = append(mb.folders, f)
	if parent >= 0 {
		p := mb.folders[parent]
		p.children = append(p.children, idx)
	}
	return idx
}

// wellKnown finds a folder by well-known name.
func (mb *mailbox) wellKnown(name string) (int32, bool) {
	for i, f := range mb.folders {
		if !f.deleted && f.wellKnown != "" && strings.EqualFold(f.wellKnown, name) {
			return int32(i), true
		}
	}
	return -1, false
}

func (mb *mailbox) mustWellKnown(name string) int32 {
	i, _ := mb.wellKnown(name)
	return i
}

// childFolder finds a live child by display name (case-insensitive, as Exchange compares).
func (mb *mailbox) childFolder(parent int32, name string) (int32, bool) {
	for _, c := range mb.folders[parent].children {
		if strings.EqualFold(mb.folders[c].name, name) {
			return c, true
		}
	}
	return -1, false
}

// ensurePath returns the folder at a "/"-separated display path below base, creating folders.
func (mb *mailbox) ensurePath(base int32, p string, now uint32) int32 {
	cur := base
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			continue
		}
		if c, ok := mb.childFolder(cur, seg); ok {
			cur = c
			continue
		}
		cur = mb.addFolder(cur, seg, "", false, now)
	}
	return cur
}

// folderPath is the display path of f: below msgfolderroot for ordinary folders
// ("Inbox/Projects"), below the root for the Recoverable Items tree
// ("Recoverable Items/Deletions").
func (mb *mailbox) folderPath(f int32) string {
	var parts []string
	for i := f; i > fTop && i != fRoot; i = mb.folders[i].parent {
		parts = append(parts, mb.folders[i].name)
	}
	slices.Reverse(parts)
	return strings.Join(parts, "/")
}

// isWithinFolder reports whether f is a or below a.
func (mb *mailbox) isWithinFolder(f, a int32) bool {
	for ; f >= 0; f = mb.folders[f].parent {
		if f == a {
			return true
		}
	}
	return false
}

// visibleFolder reports whether a folder is part of the mailFolders hierarchy (below
// msgfolderroot).
func (mb *mailbox) visibleFolder(f int32) bool {
	return f != fTop && mb.isWithinFolder(f, fTop)
}

func (mb *mailbox) moveFolder(f, newParent int32, now uint32) {
	fo := mb.folders[f]
	if fo.parent != newParent {
		removeIdx(&mb.folders[fo.parent].children, f)
		np := mb.folders[newParent]
		np.children = append(np.children, f)
		fo.parent = newParent
	}
	fo.modified = now
	fo.seq = mb.bump()
}

// deleteFolder removes f and its subtree for good; their messages are purged to Recoverable
// Items/Purges.
func (mb *mailbox) deleteFolder(f int32, now uint32) {
	for _, c := range slices.Clone(mb.folders[f].children) {
		mb.deleteFolder(c, now)
	}
	fo := mb.folders[f]
	for _, m := range slices.Clone(fo.msgs) {
		if f != fPurges {
			mb.moveMsg(m, fPurges, now)
		}
	}
	removeIdx(&mb.folders[fo.parent].children, f)
	fo.deleted = true
	fo.seq = mb.bump()
}

func removeIdx(s *[]int32, v int32) {
	if i := slices.Index(*s, v); i >= 0 {
		*s = slices.Delete(*s, i, i+1)
	}
}

// addMsg places a new message record in folder f.
func (mb *mailbox) addMsg(f int32, now uint32) (int32, *message) {
	idx, m := mb.msgs.add()
	m.src = -1
	m.folder = f
	m.created, m.modified = now, now
	m.version = 1
	m.seq = mb.bump()
	fo := mb.folders[f]
	fo.msgs = append(fo.msgs, idx) // indexes only grow
	return idx, m
}

// moveMsg moves a message to another folder. Like the service's default IDs, the ID changes:
// the message gets a new record (new index) in the destination, and the folder it left
// reports the old one removed. It returns the new index.
func (mb *mailbox) moveMsg(i, dst int32, now uint32) int32 {
	old := mb.msg(i)
	if old.folder == dst {
		return i
	}
	from := old.folder
	removeIdx(&mb.folders[from].msgs, i)
	seq := mb.bump()
	mb.removed = append(mb.removed, mailRemoval{folder: from, msg: i, seq: seq})
	old.flags |= msgGone
	old.seq = seq
	n, m := mb.msgs.add()
	*m = *mb.msg(i)
	m.flags &^= msgGone
	m.folder = dst
	m.modified = now
	m.seq = mb.bump()
	mb.folders[dst].msgs = append(mb.folders[dst].msgs, n) // the newest index: stays sorted
	return n
}

// touchMsg records a property change.
func (mb *mailbox) touchMsg(i int32, now uint32) {
	m := mb.msg(i)
	m.modified = now
	m.seq = mb.bump()
}

// categorySet returns the index of a category set, adding it if new.
func (mb *mailbox) categorySet(cats []string) uint16 {
	if len(cats) == 0 {
		return 0
	}
	for i, c := range mb.catSets {
		if slices.Equal(c, cats) {
			return uint16(i)
		}
	}
	if len(mb.catSets) >= 1<<16-1 {
		return 0
	}
	mb.catSets = append(mb.catSets, slices.Clone(cats))
	return uint16(len(mb.catSets) - 1)
}

func (mb *mailbox) categories(m *message) []string {
	if int(m.cats) < len(mb.catSets) {
		return mb.catSets[m.cats]
	}
	return nil
}

// unread counts unread messages of a folder.
func (mb *mailbox) unread(f int32) int {
	n := 0
	for _, i := range mb.folders[f].msgs {
		if mb.msg(i).flags&msgRead == 0 {
			n++
		}
	}
	return n
}

// allMailFolders lists live folders in pre-order below (not including) a folder.
func (mb *mailbox) subtreeFolders(f int32) []int32 {
	var out []int32
	var walk func(int32)
	walk = func(x int32) {
		for _, c := range mb.folders[x].children {
			out = append(out, c)
			walk(c)
		}
	}
	walk(f)
	return out
}
