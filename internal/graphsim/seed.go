package graphsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Deterministic seeding: every user, folder, file name, size, timestamp and content key follows
// from Options.Seed, so two simulators with the same seed and options hold identical tenants.

const seedDomain = "contoso.com"

// seedEpoch is the "now" of the seeded history; seeded items are dated in the two years before.
var seedEpoch = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

const seedHistory = 2 * 365 * 86400

type sharedContent struct {
	key  uint64
	size int64
	ext  string
}

func newTenant(o *Options, blobs *blobStore, now time.Time) *tenant {
	ids := newIDMaker(o.Seed)
	t := &tenant{
		ids:        ids,
		seed:       o.Seed,
		tenantID:   ids.guid("tenant"),
		domain:     seedDomain,
		created:    now,
		byKey:      map[string]*user{},
		drivesByID: map[string]*drive{},
		blobs:      blobs,

		mailboxesByID: map[string]*mailbox{},
	}
	r := rand.New(rand.NewPCG(uint64(o.Seed), 0x5ead))
	sz := newSizer(o.FileSizeMean, o.FileSizeMax)
	for i := range 32 {
		e := fileExts[i%len(fileExts)]
		t.shared = append(t.shared, sharedContent{
			key:  t.contentKey(e.ext, 1<<40+uint64(i)),
			size: max(1, sz.draw(r)),
			ext:  e.ext,
		})
	}
	return t
}

// contentKey derives a content key for an extension (text flag, CSV flavour) and a discriminator.
func (t *tenant) contentKey(ext string, disc uint64) uint64 {
	k := withTextFlag(mix64(uint64(t.seed), disc), textExt("x"+ext))
	if strings.EqualFold(ext, ".csv") {
		k |= 2
	} else {
		k &^= 2
	}
	return k
}

// sizer draws seeded file sizes: 3% empty files, a few multi-MiB ones (1 MiB..max), the rest
// exponential, with parameters chosen so that the overall mean is about the configured mean.
type sizer struct {
	max, bigLo  int64
	pZero, pBig float64
	restMean    float64
}

func newSizer(mean, maxSize int64) sizer {
	s := sizer{max: maxSize, bigLo: min(1<<20, maxSize), pZero: 0.03}
	bigMean := float64(s.bigLo+maxSize) / 2
	s.pBig = math.Min(0.005, 0.2*float64(mean)/bigMean)
	s.restMean = (float64(mean) - s.pBig*bigMean) / (1 - s.pZero - s.pBig)
	return s
}

func (s sizer) draw(r *rand.Rand) int64 {
	u := r.Float64()
	switch {
	case u < s.pZero:
		return 0
	case u < s.pZero+s.pBig:
		return s.bigLo + r.Int64N(s.max-s.bigLo+1)
	}
	return min(s.max, max(1, int64(r.ExpFloat64()*s.restMean)))
}

func (t *tenant) seedUsers(n int, now uint32) {
	r := rand.New(rand.NewPCG(uint64(t.seed), 0x05e25))
	for i := range n {
		var p personName
		if i < len(fixedPeople) {
			p = fixedPeople[i]
		} else {
			p.given, p.surname = pick(r, givenNames), pick(r, surnames)
			p.upnLocal = upnLocal(p.given, p.surname)
		}
		local := p.upnLocal
		for k := 2; t.userByKey(local+"@"+t.domain) != nil; k++ {
			local = fmt.Sprintf("%s%d", p.upnLocal, k)
		}
		t.addSeededUser(p.given, p.surname, local+"@"+t.domain, r, now)
	}
}

func (t *tenant) addSeededUser(given, surname, upn string, r *rand.Rand, now uint32) *user {
	display := strings.TrimSpace(given + " " + surname)
	if isCJK(surname) {
		display = surname + given // family name first, no space
	}
	u := &user{
		id:                t.ids.guid("user", strings.ToLower(upn)),
		upn:               upn,
		mail:              upn,
		displayName:       display,
		givenName:         given,
		surname:           surname,
		jobTitle:          pick(r, jobTitles),
		officeLocation:    pick(r, offices),
		mobilePhone:       fmt.Sprintf("+1 425 555 %04d", r.IntN(10000)),
		preferredLanguage: pick(r, []string{"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "zh-CN"}),
		usageLocation:     pick(r, []string{"US", "GB", "DE", "FR", "JP", "CN"}),
		created:           unixSec(seedEpoch) - uint32(r.IntN(3*365*86400)),
		accountEnabled:    true,
	}
	u.department = departments[mix64(uint64(t.seed), uint64(fnvHash(strings.ToLower(upn))))%uint64(len(departments))]
	t.addUser(u)
	t.addDrive(u, min(u.created, unixSec(seedEpoch)-seedHistory-86400))
	return u
}

func isCJK(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// seedDrive fills a drive with a folder tree and files (files counts every file, notebook
// sections included).
func (t *tenant) seedDrive(d *drive, files int, o *Options) {
	r := rand.New(rand.NewPCG(uint64(t.seed), 0xd21e<<32|uint64(d.no)))
	sz := newSizer(o.FileSizeMean, o.FileSizeMax)
	end := unixSec(seedEpoch)
	// stamp dates a new item after its parent's creation, within the seeded history.
	stamp := func(parent int32) uint32 {
		c := end - seedHistory + uint32(r.IntN(int(seedHistory)))
		if pc := d.item(parent).created; c < pc {
			c = min(end, pc+uint32(r.IntN(86400)))
		}
		return c
	}

	folder := func(parent int32, name string, kind itemKind) int32 {
		name = d.uniqueName(parent, name, true)
		idx, it := d.create(parent, name, kind, stamp(parent))
		it.modified = min(end, it.created+uint32(r.IntN(30*86400)))
		return idx
	}
	file := func(parent int32, name string, size int64, key uint64) {
		name = d.uniqueName(parent, name, false)
		idx, it := d.create(parent, name, kindFile, stamp(parent))
		it.modified = min(end, it.created+uint32(r.IntN(120*86400)))
		it.size = size
		if key == 0 {
			ext := name[strings.LastIndexByte(name, '.')+1:]
			key = t.contentKey("."+ext, uint64(d.no)<<32|uint64(idx))
		}
		it.content = key
	}

	root := int32(0)
	var targets []int32 // where regular files may go
	tops := map[string]int32{}
	for _, n := range topFolders {
		tops[n] = folder(root, n, kindFolder)
		if n != "Notebooks" {
			targets = append(targets, tops[n])
		}
	}
	folder(root, "Empty folder", kindFolder)
	targets = append(targets, root)

	// A deep chain, and an empty nested chain.
	cur := tops["Projects"]
	for _, n := range []string{"2024", "Q1", "Client A", "Drafts", "Old versions", "Do not delete"} {
		cur = folder(cur, n, kindFolder)
		targets = append(targets, cur)
	}
	folder(folder(tops["Projects"], "Empty nested", kindFolder), "Deeper", kindFolder)

	// Random folders below the existing ones.
	for range max(2, files/15) {
		targets = append(targets, folder(pick(r, targets), randomFolderName(r), kindFolder))
	}

	remaining := files
	if files >= 12 {
		docs := tops["Documents"]
		file(docs, "empty.txt", 0, 0)
		sh := t.shared[0]
		file(docs, "Company Handbook"+sh.ext, sh.size, sh.key)
		long := "Quarterly business review – " + strings.Repeat("appendix and supporting material ", 5) + "(final version).docx"
		file(docs, long, sz.draw(r), 0)
		file(docs, "Résumé – Zoë (final) ✓.docx", sz.draw(r), 0)
		file(docs, "O'Brien's notes #3 – 100% done.txt", sz.draw(r), 0)
		file(tops["Archive"], "Backup archive.zip", min(o.FileSizeMax, 2<<20+r.Int64N(2<<20)), 0)
		nb := folder(tops["Notebooks"], d.owner.givenName+"'s Notebook", kindNotebook)
		for _, s := range []string{"Quick Notes.one", "Meeting Notes.one", "Open Notebook.onetoc2"} {
			file(nb, s, 8<<10+r.Int64N(120<<10), 0)
		}
		file(folder(nb, "Projects", kindFolder), "Plans.one", 8<<10+r.Int64N(60<<10), 0)
		remaining -= 10
	}
	for range remaining {
		parent := pick(r, targets)
		if r.IntN(50) == 0 { // identical content in several users' drives
			sh := pick(r, t.shared)
			stem, _ := randomFileName(r)
			file(parent, strings.TrimSuffix(stem, stem[strings.LastIndexByte(stem, '.'):])+sh.ext, sh.size, sh.key)
			continue
		}
		name, _ := randomFileName(r)
		file(parent, name, sz.draw(r), 0)
	}
	d.checkpoint(end)
}
