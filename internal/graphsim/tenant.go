package graphsim

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The tenant model. One RWMutex guards it: Graph reads share it, writes (uploads, deletes,
// admin mutations) take it briefly. Expensive work — hashing, generating and streaming content —
// always happens after the lock is released, on values copied out under it.
//
// Memory: an item is ~100 bytes plus its name; content of seeded files is never stored, and
// hashes are computed on first need and cached (60 bytes). 100 users × 10,000 files is a few
// hundred MB.

type tenant struct {
	mu sync.RWMutex

	ids      *idMaker
	seed     int64
	tenantID string
	domain   string
	created  time.Time

	users    []*user
	byKey    map[string]*user // lower-cased id, UPN and mail
	usersSeq uint32           // change counter for users/delta
	usersGen uint32           // bumped to invalidate users/delta tokens

	drives     []*drive
	drivesByID map[string]*drive

	blobs  *blobStore
	shared []sharedContent // content shared by several users' drives (dedup fodder)

	mailboxes      []*mailbox          // primary and archive mailboxes, by number
	mailboxesByID  map[string]*mailbox // MBX:… IDs
	correspondents []*user             // who seeded mail is from and to (fixed after seeding)

	groups    []*group
	groupsSeq uint32 // change counter for groups/delta
	groupsGen uint32
}

type user struct {
	no                int
	id                string
	upn               string
	mail              string
	displayName       string
	givenName         string
	surname           string
	jobTitle          string
	officeLocation    string
	mobilePhone       string
	preferredLanguage string
	usageLocation     string
	department        string
	accountEnabled    bool
	created           uint32
	seq               uint32
	drive             *drive      // nil: no OneDrive
	kind              mailboxKind // user, shared, room, equipment, or none
	mbx               *mailbox    // primary mailbox; nil when kind is none
}

type itemKind uint8

const (
	kindFile itemKind = iota
	kindFolder
	kindRoot
	kindNotebook // OneNote notebook: a folder-like item with the package facet
)

func (k itemKind) container() bool { return k != kindFile }

// item is one driveItem. Never copy it (it holds an atomic pointer); address it in its table.
type item struct {
	name     string
	children []int32 // live children, in creation order (containers only)
	hashes   atomic.Pointer[fileHashes]
	size     int64
	content  uint64 // generated-content key (when blob < 0)
	parent   int32  // -1 for the root
	blob     int32  // index in tenant.blobs, or -1 for generated content
	version  uint32
	seq      uint32 // drive change counter value of the item's last change
	created  uint32 // unix seconds
	modified uint32
	kind     itemKind
	deleted  bool
	byApp    bool // created or last modified by the app (restores), not the owner
}

// itemTable stores items in fixed chunks so that pointers stay valid as it grows.
type itemTable struct {
	chunks [][]item
	n      int32
}

const itemChunkBits = 10

func (t *itemTable) get(i int32) *item {
	return &t.chunks[i>>itemChunkBits][i&(1<<itemChunkBits-1)]
}

func (t *itemTable) add() (int32, *item) {
	if int(t.n)>>itemChunkBits == len(t.chunks) {
		t.chunks = append(t.chunks, make([]item, 1<<itemChunkBits))
	}
	i := t.n
	t.n++
	return i, t.get(i)
}

type drive struct {
	no      int32
	id      string
	owner   *user
	items   itemTable
	seq     uint32 // last change number handed out
	created uint32

	tokenGen   uint32 // delta tokens minted under an older generation get 410
	resyncCode string // innerError code sent with that 410

	checkpoints []checkpoint // when each change batch happened, for token=<timestamp>

	cacheMu sync.Mutex
	cache   *driveCache // nil when stale
}

type checkpoint struct {
	seq uint32
	at  uint32
}

// driveCache holds what is expensive to recompute per request: the pre-order of live items
// (delta pages walk it so parents always precede their children) and folder sizes.
type driveCache struct {
	order []int32
	sizes []int64 // aggregate size per item index (files: own size)
}

func unixSec(t time.Time) uint32 { return uint32(t.Unix()) }

func fromUnix(s uint32) time.Time { return time.Unix(int64(s), 0).UTC() }

func (t *tenant) userByKey(k string) *user {
	return t.byKey[strings.ToLower(k)]
}

func (t *tenant) addUser(u *user) {
	u.no = len(t.users)
	t.users = append(t.users, u)
	t.usersSeq++
	u.seq = t.usersSeq
	for _, k := range []string{u.id, u.upn, u.mail} {
		if k != "" {
			t.byKey[strings.ToLower(k)] = u
		}
	}
}

func (t *tenant) addDrive(u *user, now uint32) *drive {
	d := &drive{no: int32(len(t.drives)), id: t.ids.driveID(u.id), owner: u, created: now}
	t.drives = append(t.drives, d)
	t.drivesByID[d.id] = d
	u.drive = d
	_, root := d.items.add()
	root.name = "root"
	root.kind = kindRoot
	root.parent = -1
	root.blob = -1
	root.created, root.modified = now, now
	root.version = 1
	d.seq++
	root.seq = d.seq
	return d
}

func (t *tenant) itemID(d *drive, idx int32) string { return t.ids.itemID(d.no, idx) }
