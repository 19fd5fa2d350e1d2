package graphsim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Seeding of the Exchange side: the special users (shared, room and equipment mailboxes, users
// without a mailbox), every mailbox's folders, messages, calendars, events, contact folders and
// contacts, and In-Place Archives. Like drives, everything follows from Options.Seed and each
// mailbox draws from its own RNG stream, so adding a user never changes anyone else's mail.

var specialUsers = map[mailboxKind][]struct{ display, local, dept string }{
	mbxShared:    {{"Contoso Sales", "sales", "Sales"}, {"Help Desk", "helpdesk", "Operations"}, {"Info", "info", "Marketing"}},
	mbxRoom:      {{"Conference Room Rainier", "rainier", "Operations"}, {"Conference Room Baker", "baker", "Operations"}, {"Board Room", "boardroom", "Operations"}},
	mbxEquipment: {{"Projector 3", "projector3", "Operations"}, {"Company Car", "car", "Operations"}},
	mbxNone:      {{"Jordan Lee", "jordan.lee", "Engineering"}, {"Taylor Kim", "taylor.kim", "Finance"}, {"Morgan Diaz", "morgan.diaz", "Legal"}},
}

// seedSpecialUsers adds shared, room and equipment mailboxes and users without a mailbox after
// the seeded people. Shared and resource mailboxes have sign-in blocked (accountEnabled false).
func (t *tenant) seedSpecialUsers(o *Options, now uint32) {
	r := rand.New(rand.NewPCG(uint64(t.seed), 0x5bec))
	for _, k := range []struct {
		kind mailboxKind
		n    int
	}{{mbxShared, o.SharedMailboxes}, {mbxRoom, o.RoomMailboxes}, {mbxEquipment, o.EquipmentMailboxes}, {mbxNone, o.UsersWithoutMailbox}} {
		list := specialUsers[k.kind]
		for i := range k.n {
			sp := list[i%len(list)]
			local := sp.local
			if i >= len(list) {
				local = fmt.Sprintf("%s%d", sp.local, i/len(list)+1)
			}
			if t.userByKey(local+"@"+t.domain) != nil {
				continue
			}
			given, surname, _ := strings.Cut(sp.display, " ")
			u := t.addSeededUser(given, surname, local+"@"+t.domain, r, now)
			u.displayName = sp.display
			u.department = sp.dept
			u.kind = k.kind
			switch k.kind {
			case mbxShared, mbxRoom, mbxEquipment:
				u.accountEnabled = false
				u.jobTitle = ""
				if k.kind != mbxShared {
					u.givenName, u.surname = "", ""
				}
			case mbxNone:
				u.jobTitle = "Contractor"
			}
		}
	}
}

// addMailbox creates a user's primary mailbox (and archive when asked).
func (t *tenant) addMailbox(u *user, withArchive bool, now uint32) *mailbox {
	mb := newMailbox(int32(len(t.mailboxes)), t.ids.mailboxID(u.id, false), u, false, now)
	t.mailboxes = append(t.mailboxes, mb)
	t.mailboxesByID[strings.ToLower(mb.id)] = mb
	u.mbx = mb
	if withArchive {
		a := newMailbox(int32(len(t.mailboxes)), t.ids.mailboxID(u.id, true), u, true, now)
		t.mailboxes = append(t.mailboxes, a)
		t.mailboxesByID[strings.ToLower(a.id)] = a
		mb.arch = a
	}
	return mb
}

// hasArchive decides which seeded users have an In-Place Archive: two people in three.
func hasArchive(u *user) bool { return u.kind == mbxUser && u.no%3 != 2 }

// standardFolders creates the folders Exchange provisions in every mailbox.
func (mb *mailbox) standardFolders(now uint32) {
	if mb.archive {
		for _, wk := range wellKnownFolders[:4] {
			mb.addFolder(fTop, wk.display, wk.name, false, now)
		}
		return
	}
	for _, wk := range wellKnownFolders {
		mb.addFolder(fTop, wk.display, wk.name, wk.hidden, now)
	}
	si := mb.mustWellKnown("syncissues")
	mb.addFolder(si, "Conflicts", "conflicts", false, now)
	mb.addFolder(si, "Local Failures", "localfailures", false, now)
	mb.addFolder(si, "Server Failures", "serverfailures", false, now)
	mb.addFolder(fTop, "Conversation Action Settings", "", true, now)
	mb.addFolder(fTop, "Yammer Root", "", true, now)
	cal := mb.addCalendar("Calendar", "auto", true, now)
	_ = cal
	mb.addContactFolder("Contacts", -1, now)
}

func (t *tenant) seedMailboxes(o *Options, skip map[string]bool) {
	now := unixSec(seedEpoch) - seedHistory - 86400
	for _, u := range t.users {
		if u.kind == mbxNone {
			continue
		}
		mb := t.addMailbox(u, hasArchive(u), min(u.created, now))
		mb.standardFolders(mb.created)
		if mb.arch != nil {
			mb.arch.standardFolders(mb.created)
		}
		if skip[strings.ToLower(u.upn)] {
			continue
		}
		n := o.MessagesPerMailbox
		switch u.kind {
		case mbxShared:
			n /= 2
		case mbxRoom, mbxEquipment:
			n /= 5
		}
		t.seedMail(mb, n)
		if mb.arch != nil {
			t.seedMail(mb.arch, max(4, n/4))
		}
		t.seedCalendar(mb, o.EventsPerMailbox)
		t.seedContacts(mb, o.ContactsPerMailbox)
	}
}

type folderWeight struct {
	path   string
	weight int
	out    bool // messages here are sent by the owner
}

var seedMailFolders = []folderWeight{
	{"Inbox", 40, false}, {"Inbox/Projects", 5, false}, {"Inbox/Projects/Alpha", 4, false},
	{"Inbox/Newsletters", 4, false}, {"Inbox/Receipts 2024", 2, false}, {"Sent Items", 14, true},
	{"Deleted Items", 5, false}, {"Junk Email", 3, false}, {"Archive", 4, false}, {"Archive/2023", 3, false},
	{"O'Reilly & Partners", 3, false}, {"Résumés – 2025", 2, false}, {"Drafts", 2, true},
	{"@Recoverable Items/Deletions", 4, false}, {"@Recoverable Items/Purges", 2, false},
}

var seedArchiveFolders = []folderWeight{
	{"Inbox", 40, false}, {"Inbox/2019", 20, false}, {"Inbox/2020", 15, false}, {"Sent Items", 15, true},
	{"Projects (archived)", 10, false},
}

var tmplWeights = []struct {
	tmpl   uint8
	weight int
}{
	{tmplPlain, 24}, {tmplHTML, 34}, {tmplInline, 5}, {tmplFiles, 12}, {tmplNested, 2}, {tmplReference, 2},
	{tmplInvite, 3}, {tmplCharset, 2}, {tmplLong, 1}, {tmplApos, 1}, {tmplSMIME, 1}, {tmplItems, 1}, {tmplReply, 12},
}

func (mb *mailbox) seedFolderIndex(path string, now uint32) int32 {
	if p, ok := strings.CutPrefix(path, "@"); ok {
		return mb.ensurePath(fRoot, p, now)
	}
	return mb.ensurePath(fTop, path, now)
}

// seedMail fills a mailbox with n messages. The first messages of a primary mailbox go through
// every template (so even a small mailbox has each awkward kind), then Recoverable Items, Drafts
// and Sent Items get one each; the rest are drawn by weight.
func (t *tenant) seedMail(mb *mailbox, n int) {
	r := rand.New(rand.NewPCG(uint64(t.seed), 0x3a11<<32|uint64(mb.no)))
	end := unixSec(seedEpoch)
	folders := seedMailFolders
	span := uint32(seedHistory)
	base := end - span
	if mb.archive {
		folders = seedArchiveFolders
		base = end - 5*365*86400
		span = 3 * 365 * 86400
	}
	total := 0
	idx := make([]int32, len(folders))
	for i, f := range folders {
		idx[i] = mb.seedFolderIndex(f.path, mb.created)
		total += f.weight
	}
	if !mb.archive {
		inbox := mb.mustWellKnown("inbox")
		mb.ensurePath(inbox, "Projects/Empty subfolder", mb.created)
		mb.ensurePath(fTop, "Empty folder", mb.created)
	}
	tmplTotal := 0
	for _, w := range tmplWeights {
		tmplTotal += w.weight
	}
	threads := map[uint32]uint8{}
	nThreads := max(1, n/10)
	for i := range n {
		fi := 0
		tmpl := tmplPlain
		switch {
		case !mb.archive && i < int(tmplCount):
			tmpl = uint8(i)
		case !mb.archive && i < int(tmplCount)+4:
			fi = []int{13, 14, 12, 5}[i-int(tmplCount)] // Deletions, Purges, Drafts, Sent Items
			tmpl = tmplHTML
		default:
			x := r.IntN(total)
			for j, f := range folders {
				if x < f.weight {
					fi = j
					break
				}
				x -= f.weight
			}
			y := r.IntN(tmplTotal)
			for _, w := range tmplWeights {
				if y < w.weight {
					tmpl = w.tmpl
					break
				}
				y -= w.weight
			}
			if mb.archive && tmpl > tmplNested {
				tmpl = tmplHTML
			}
		}
		f := folders[fi]
		recv := base + uint32(r.IntN(int(span)))
		_, m := mb.addMsg(idx[fi], recv)
		m.key = mix64(uint64(t.seed), uint64(mb.no)<<32|uint64(i)) | 1<<63
		m.tmpl = tmpl
		if f.out {
			m.tmpl |= tmplOutgoing
		}
		if tmpl == tmplReply {
			m.thread = 1 + uint32(r.IntN(nThreads))
			m.tpos = threads[m.thread]
			if m.tpos < 250 {
				threads[m.thread]++
			}
		}
		m.received = recv
		m.sent = recv - 5 - uint32(r.IntN(600))
		m.modified = recv + uint32(r.IntN(3600))
		switch {
		case f.path == "Drafts":
			m.flags |= msgDraft | msgRead
			m.received = m.created
		case f.out, r.IntN(4) != 0:
			m.flags |= msgRead
		}
		switch x := r.IntN(25); {
		case x < 2:
			m.flag = 1
		case x == 2:
			m.flag = 2
		}
		if r.IntN(8) == 0 {
			cats := []string{pick(r, categoryNames)}
			if r.IntN(3) == 0 {
				if c2 := pick(r, categoryNames); c2 != cats[0] {
					cats = append(cats, c2)
				}
			}
			m.cats = mb.categorySet(cats)
		}
	}
}

var meetingSubjects = []string{"Weekly sync", "1:1", "Project Alpha kickoff", "Budget planning", "Design review",
	"Customer call – Fabrikam", "All hands", "Interview: Senior Engineer", "Offsite planning", "Café with Zoë"}

var meetingRooms = []string{"Conference Room Rainier", "Board Room", "Microsoft Teams Meeting", "Building 18/2111", "Café Müller, Zürich"}

// seedCalendar fills the default calendar (and a second one for people) with n events: the
// first ones are a weekly series with a modified and a cancelled occurrence, an all-day event,
// a flight across time zones, a numbered daily series with a cancelled day, a monthly relative
// series, an event with attachments, a meeting the organizer cancelled, and a yearly all-day
// series; the rest are single meetings around the seed epoch.
func (t *tenant) seedCalendar(mb *mailbox, n int) {
	if n <= 0 {
		return
	}
	r := rand.New(rand.NewPCG(uint64(t.seed), 0xca1<<32|uint64(mb.no)))
	now := unixSec(seedEpoch) - 90*86400
	def := mb.defaultCalendar()
	cals := []int32{def}
	if mb.owner.kind == mbxUser {
		cals = append(cals, mb.addCalendar("Team Calendar", "lightGreen", false, now))
	}
	owner := addr{mb.owner.displayName, mb.owner.mail}
	epoch := seedEpoch // 2025-06-01 (a Sunday)
	meet := func(subject string, start time.Time, dur time.Duration, tz string) *eventContent {
		c := &eventContent{subject: subject, body: "<html><body><p>" + htmlEscape(sentence(r)) + "</p></body></html>",
			start: start, end: start.Add(dur), startTZ: tz, endTZ: tz, organizer: owner, location: pick(r, meetingRooms),
			showAs: "busy", importance: "normal", sensitivity: "normal", reminder: 15,
			uid: fmt.Sprintf("040000008200E00074C5B7101A82E00800000000%08X%08X", uint32(mb.no), uint32(len(mb.events)))}
		for range r.IntN(3) {
			p := t.person(r, mb.owner)
			dup := false
			for _, a := range c.attendees {
				dup = dup || a.email == p.email
			}
			if !dup {
				c.attendees = append(c.attendees, attendee{addr: p, kind: pick(r, []string{"required", "required", "optional"}), response: "none"})
			}
		}
		return c
	}
	add := func(i int, c *eventContent) int32 {
		cal := cals[0]
		if i%5 == 4 && len(cals) > 1 {
			cal = cals[1]
		}
		return mb.addEvent(cal, c, now+uint32(i)*60)
	}
	for i := range n {
		var c *eventContent
		switch i {
		case 0: // weekly series, Monday and Wednesday, with one exception and one cancellation
			c = meet("Weekly sync", epoch.AddDate(0, 0, -27).Add(9*time.Hour+30*time.Minute), 30*time.Minute, "Pacific Standard Time")
			c.recurrence = &recurrence{ptype: "weekly", interval: 1, daysOfWeek: []string{"monday", "wednesday"},
				rtype: "endDate", startDate: dayDate(dayNumber(c.start)), endDate: epoch.AddDate(0, 3, 0), tz: c.startTZ, firstDay: "sunday"}
			m := add(i, c)
			days := mb.occurrenceDaysOf(m, dayNumber(epoch.AddDate(0, 3, 0)))
			if len(days) > 4 {
				ex := *c
				ex.recurrence = nil
				ex.subject = "Weekly sync (moved)"
				d := dayDate(days[2])
				ex.start = time.Date(d.Year(), d.Month(), d.Day(), 14, 0, 0, 0, time.UTC)
				ex.end = ex.start.Add(45 * time.Minute)
				x := mb.addEvent(mb.events[m].cal, &ex, now+uint32(i)*60)
				mb.events[x].master, mb.events[x].origDay = m, days[2]
				mb.events[m].cancelled = append(mb.events[m].cancelled, days[3])
			}
			continue
		case 1:
			c = meet("Company holiday", epoch.AddDate(0, 0, 3), 3*24*time.Hour, "UTC")
			c.allDay, c.showAs, c.attendees, c.location = true, "oof", nil, ""
		case 2:
			c = meet("Flight SEA → JFK", epoch.AddDate(0, 0, 5).Add(8*time.Hour), 0, "Pacific Standard Time")
			c.end, c.endTZ = epoch.AddDate(0, 0, 5).Add(16*time.Hour+30*time.Minute), "Eastern Standard Time"
			c.attendees = nil
		case 3:
			c = meet("Daily stand-up", epoch.AddDate(0, 0, -3).Add(10*time.Hour), 15*time.Minute, "W. Europe Standard Time")
			c.recurrence = &recurrence{ptype: "daily", interval: 1, rtype: "numbered", count: 10, startDate: epoch.AddDate(0, 0, -3), tz: c.startTZ, firstDay: "sunday"}
			m := add(i, c)
			mb.events[m].cancelled = []int32{dayNumber(epoch.AddDate(0, 0, 2))}
			continue
		case 4:
			c = meet("Monthly review", epoch.AddDate(0, 0, 1).Add(15*time.Hour), time.Hour, "Eastern Standard Time")
			c.recurrence = &recurrence{ptype: "relativeMonthly", interval: 1, daysOfWeek: []string{"monday"}, index: "first",
				rtype: "noEnd", startDate: epoch.AddDate(0, 0, 1), tz: c.startTZ, firstDay: "sunday"}
		case 5:
			c = meet("Contract signing", epoch.AddDate(0, 0, 8).Add(13*time.Hour), time.Hour, "GMT Standard Time")
			name, _ := randomFileName(r)
			c.atts = append(c.atts, &attContent{kind: attFile, name: name, ctype: mimeType(name), size: 2048 + int64(r.IntN(60000)),
				key: t.contentKey(extOf(name), mix64(uint64(mb.no), 0xe5)), blob: -1, modified: epoch},
				&attContent{kind: attFile, name: "agenda.txt", ctype: "text/plain", size: 900, key: t.contentKey(".txt", mix64(uint64(mb.no), 0xe6)), blob: -1, modified: epoch})
		case 6:
			c = meet("Cancelled: Vendor demo", epoch.AddDate(0, 0, 2).Add(11*time.Hour), time.Hour, "Tokyo Standard Time")
			c.isCancelled = true
			c.organizer = t.person(r, mb.owner)
		case 7:
			c = meet("Work anniversary", epoch.AddDate(0, 0, 10), 24*time.Hour, "UTC")
			c.allDay, c.attendees, c.location, c.showAs = true, nil, "", "free"
			c.recurrence = &recurrence{ptype: "absoluteYearly", interval: 1, month: int(epoch.AddDate(0, 0, 10).Month()),
				dayOfMonth: epoch.AddDate(0, 0, 10).Day(), rtype: "noEnd", startDate: epoch.AddDate(0, 0, 10), tz: "UTC", firstDay: "sunday"}
		default:
			tz := pick(r, seedTimeZones)
			day := epoch.AddDate(0, 0, r.IntN(150)-60)
			c = meet(pick(r, meetingSubjects), day.Add(time.Duration(8+r.IntN(9))*time.Hour+time.Duration(r.IntN(2))*30*time.Minute),
				time.Duration(1+r.IntN(4))*30*time.Minute, tz)
			if r.IntN(6) == 0 {
				c.categories = []string{pick(r, categoryNames)}
			}
		}
		add(i, c)
	}
}

// seedContacts fills the default contact folder and a few subfolders (one of them empty).
func (t *tenant) seedContacts(mb *mailbox, n int) {
	if n <= 0 || len(mb.contactFolders) == 0 {
		return
	}
	r := rand.New(rand.NewPCG(uint64(t.seed), 0xc0c<<32|uint64(mb.no)))
	now := unixSec(seedEpoch) - 200*86400
	family := mb.addContactFolder("Family", 0, now)
	vendors := mb.addContactFolder("Vendors", 0, now)
	mb.addContactFolder("Archive (empty)", vendors, now)
	for i := range n {
		f := int32(0)
		switch {
		case i%7 == 3:
			f = family
		case i%5 == 2:
			f = vendors
		}
		key := mix64(uint64(t.seed), uint64(mb.no)<<32|uint64(i)|0xc<<28)
		c := genContact(r, key)
		x := mb.addContact(f, c, now+uint32(i)*3600)
		if i%3 == 0 {
			mb.contacts[x].photoKey = key | 1
		}
	}
}
