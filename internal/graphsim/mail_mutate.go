package graphsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// A day of Exchange activity for Mutate: new mail arrives, the user reads, flags and
// categorizes messages, deletes some (to Deleted Items, or — shift+delete, or deleting from
// Deleted Items — to Recoverable Items/Deletions), files some into folders, and creates,
// renames and deletes folders; events are created (some recurring), rescheduled (some single
// occurrences, which become exceptions), cancelled and moved between calendars; contacts are
// added, edited, deleted and moved. Deterministic for the same seed and state.

type mailMutator struct {
	s       *Server
	u       *user
	mb      *mailbox
	req     MutateRequest
	rng     *rand.Rand
	now     uint32
	changes []Change
}

func (mm *mailMutator) record(kind, op, id, path, prevID, prevPath string) {
	mm.changes = append(mm.changes, Change{User: mm.u.upn, Kind: kind, Op: op, ItemID: id, Path: path,
		PrevItemID: prevID, PrevPath: prevPath})
}

func (mm *mailMutator) run() {
	if mm.req.Mail != nil {
		mm.mail(mm.req.Mail)
	}
	if mm.req.Events != nil && mm.mb.defaultCalendar() >= 0 {
		mm.events(mm.req.Events)
	}
	if mm.req.Contacts != nil && len(mm.mb.contactFolders) > 0 {
		mm.contacts(mm.req.Contacts)
	}
}

// userFolders lists the folders a user files mail in (visible, not Drafts/Outbox/Sync Issues).
func (mm *mailMutator) userFolders() []int32 {
	mb := mm.mb
	var out []int32
	skip := map[string]bool{"drafts": true, "outbox": true, "syncissues": true, "conflicts": true, "localfailures": true,
		"serverfailures": true, "scheduled": true, "conversationhistory": true, "clutter": true}
	for _, f := range mb.subtreeFolders(fTop) {
		fo := mb.folders[f]
		if fo.hidden || skip[fo.wellKnown] || mb.isWithinFolder(f, mb.mustWellKnown("syncissues")) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// pickMsg picks a live message in the given folders.
func (mm *mailMutator) pickMsg(folders []int32) (int32, bool) {
	var all []int32
	for _, f := range folders {
		all = append(all, mm.mb.folders[f].msgs...)
	}
	if len(all) == 0 {
		return -1, false
	}
	return all[mm.rng.IntN(len(all))], true
}

func (mm *mailMutator) mail(req *ItemMutation) {
	mb, s := mm.mb, mm.s
	inbox := mb.mustWellKnown("inbox")
	for range req.Creates {
		f := inbox
		if fs := mm.userFolders(); mm.rng.IntN(5) == 0 && len(fs) > 0 {
			f = fs[mm.rng.IntN(len(fs))]
		}
		idx, m := mb.addMsg(f, mm.now)
		m.key = mix64(uint64(mm.req.Seed)^0x3e11, uint64(mb.no)<<32|uint64(idx)) | 1<<63
		m.tmpl = pick(mm.rng, []uint8{tmplPlain, tmplHTML, tmplHTML, tmplFiles, tmplInline, tmplNested, tmplReply})
		if m.tmpl == tmplReply {
			m.thread = 1 + uint32(mm.rng.IntN(8))
			m.tpos = uint8(1 + mm.rng.IntN(3))
		}
		m.received, m.sent = mm.now, mm.now-uint32(5+mm.rng.IntN(300))
		mm.record("message", "create", s.messageID(mb, idx), mb.folderPath(f), "", "")
	}
	for range req.Updates {
		i, ok := mm.pickMsg(mm.userFolders())
		if !ok {
			break
		}
		m := mb.msg(i)
		switch mm.rng.IntN(3) {
		case 0:
			m.flags ^= msgRead
		case 1:
			m.flag = uint8((int(m.flag) + 1 + mm.rng.IntN(2)) % 3)
		default:
			cats := slices.Clone(mb.categories(m))
			if len(cats) > 0 && mm.rng.IntN(2) == 0 {
				cats = cats[:len(cats)-1]
			} else if c := pick(mm.rng, categoryNames); !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
			m.cats = mb.categorySet(cats)
		}
		mb.touchMsg(i, mm.now)
		mm.record("message", "update", s.messageID(mb, i), mb.folderPath(m.folder), "", "")
	}
	del := mb.mustWellKnown("deleteditems")
	for range req.Deletes {
		i, ok := mm.pickMsg(mm.userFolders())
		if !ok {
			break
		}
		from := mb.msg(i).folder
		prev, prevPath := s.messageID(mb, i), mb.folderPath(from)
		op := "delete"
		var n int32
		if mb.isWithinFolder(from, del) || mm.rng.IntN(4) == 0 {
			op, n = "soft_delete", mb.moveMsg(i, fDeletions, mm.now)
		} else {
			n = mb.moveMsg(i, del, mm.now)
		}
		mm.record("message", op, s.messageID(mb, n), mb.folderPath(mb.msg(n).folder), prev, prevPath)
	}
	for range req.Moves {
		fs := mm.userFolders()
		i, ok := mm.pickMsg(fs)
		if !ok || len(fs) < 2 {
			break
		}
		from := mb.msg(i).folder
		dst := fs[mm.rng.IntN(len(fs))]
		for dst == from {
			dst = fs[mm.rng.IntN(len(fs))]
		}
		prev, prevPath := s.messageID(mb, i), mb.folderPath(from)
		n := mb.moveMsg(i, dst, mm.now)
		mm.record("message", "move", s.messageID(mb, n), mb.folderPath(dst), prev, prevPath)
	}
	for range req.FolderCreates {
		fs := mm.userFolders()
		parent := fs[mm.rng.IntN(len(fs))]
		name := mb.uniqueFolderName(parent, randomFolderName(mm.rng))
		f := mb.addFolder(parent, name, "", false, mm.now)
		mm.record("mailFolder", "create", s.folderID(mb, f), mb.folderPath(f), "", "")
	}
	custom := func() []int32 {
		var out []int32
		for _, f := range mm.userFolders() {
			if mb.folders[f].wellKnown == "" {
				out = append(out, f)
			}
		}
		return out
	}
	for range req.FolderRenames {
		cs := custom()
		if len(cs) == 0 {
			break
		}
		f := cs[mm.rng.IntN(len(cs))]
		prevPath := mb.folderPath(f)
		fo := mb.folders[f]
		fo.name = mb.uniqueFolderName(fo.parent, randomFolderName(mm.rng)+" (renamed)")
		fo.modified, fo.seq = mm.now, mb.bump()
		mm.record("mailFolder", "rename", s.folderID(mb, f), mb.folderPath(f), "", prevPath)
	}
	for range req.FolderDeletes {
		cs := custom()
		if len(cs) == 0 {
			break
		}
		f := cs[mm.rng.IntN(len(cs))]
		prevPath := mb.folderPath(f)
		mb.softDeleteFolder(f, mm.now)
		path := ""
		if !mb.folders[f].deleted {
			path = mb.folderPath(f)
		}
		mm.record("mailFolder", "delete", s.folderID(mb, f), path, "", prevPath)
	}
}

func (mm *mailMutator) liveEvents() []int32 {
	var out []int32
	for i, ev := range mm.mb.events {
		if !ev.deleted && ev.master < 0 && !mm.mb.calendars[ev.cal].deleted {
			out = append(out, int32(i))
		}
	}
	return out
}

func (mm *mailMutator) events(req *ItemMutation) {
	mb, s, r := mm.mb, mm.s, mm.rng
	def := mb.defaultCalendar()
	now := fromUnix(mm.now)
	owner := addr{mm.u.displayName, mm.u.mail}
	for i := range req.Creates {
		start := localTime(now.AddDate(0, 0, 1+r.IntN(20)).Truncate(time.Hour).Add(time.Duration(r.IntN(8)) * time.Hour))
		tz := pick(r, seedTimeZones)
		c := &eventContent{subject: pick(r, meetingSubjects), body: "<html><body><p>" + htmlEscape(sentence(r)) + "</p></body></html>",
			start: start, end: start.Add(time.Duration(1+r.IntN(3)) * 30 * time.Minute), startTZ: tz, endTZ: tz,
			organizer: owner, location: pick(r, meetingRooms), showAs: "busy", importance: "normal", sensitivity: "normal", reminder: 15,
			uid: fmt.Sprintf("040000008200E00074C5B7101A82E00800000000%08X%08X%04X", uint32(mm.req.Seed), mm.now, i)}
		if r.IntN(5) == 0 {
			c.recurrence = &recurrence{ptype: "weekly", interval: 1, daysOfWeek: []string{weekdayNames[start.Weekday()]},
				rtype: "numbered", count: 4 + r.IntN(6), startDate: dayDate(dayNumber(start)), tz: tz, firstDay: "sunday"}
		}
		x := mb.addEvent(def, c, mm.now)
		mm.record("event", "create", s.eventID(mb, x), mb.calendars[def].name, "", "")
	}
	for range req.Updates {
		evs := mm.liveEvents()
		if len(evs) == 0 {
			break
		}
		i := evs[r.IntN(len(evs))]
		ev := mb.events[i]
		cal := mb.calendars[ev.cal].name
		if ev.c.recurrence != nil && r.IntN(3) != 0 {
			days := mb.occurrenceDaysOf(i, dayNumber(now.AddDate(1, 0, 0)))
			if len(days) > 0 {
				d := days[r.IntN(len(days))]
				if r.IntN(2) == 0 {
					mb.cancelOccurrence(i, d, mm.now)
					mm.record("event", "cancel", s.occurrenceID(mb, i, d), cal, "", "")
				} else {
					c := *ev.c
					if x := mb.exceptionOf(i, d); x >= 0 {
						c = *mb.events[x].c
						c.subject += " (updated)"
						mb.events[x].c = &c
						mb.touchEvent(x, mm.now)
					} else {
						c.recurrence, c.atts = nil, nil
						c.start, c.end = shiftToDay(c.start, c.end, d)
						c.start, c.end = c.start.Add(time.Hour), c.end.Add(time.Hour)
						c.subject += " (moved)"
						x := mb.addEvent(ev.cal, &c, mm.now)
						mb.events[x].master, mb.events[x].origDay = i, d
					}
					mb.touchEvent(i, mm.now)
					mm.record("event", "update", s.occurrenceID(mb, i, d), cal, "", "")
				}
				continue
			}
		}
		c := *ev.c
		c.subject = stripSubjectPrefix(c.subject)
		if r.IntN(2) == 0 {
			c.location = pick(r, meetingRooms)
		} else {
			c.start, c.end = c.start.Add(30*time.Minute), c.end.Add(30*time.Minute)
		}
		ev.c = &c
		mb.touchEvent(i, mm.now)
		mm.record("event", "update", s.eventID(mb, i), cal, "", "")
	}
	for range req.Deletes {
		evs := mm.liveEvents()
		if len(evs) == 0 {
			break
		}
		i := evs[r.IntN(len(evs))]
		id, cal := s.eventID(mb, i), mb.calendars[mb.events[i].cal].name
		mb.deleteEvent(i, mm.now)
		mm.record("event", "delete", id, cal, "", "")
	}
	for range req.Moves {
		evs := mm.liveEvents()
		var cals []int32
		for i, c := range mb.calendars {
			if !c.deleted {
				cals = append(cals, int32(i))
			}
		}
		if len(evs) == 0 || len(cals) < 2 {
			break
		}
		i := evs[r.IntN(len(evs))]
		ev := mb.events[i]
		dst := cals[r.IntN(len(cals))]
		for dst == ev.cal {
			dst = cals[r.IntN(len(cals))]
		}
		prev, prevCal := s.eventID(mb, i), mb.calendars[ev.cal].name
		c := *ev.c
		cancelled := slices.Clone(ev.cancelled)
		var exceptions []*event
		for _, x := range mb.events {
			if x.master == i && !x.deleted {
				exceptions = append(exceptions, x)
			}
		}
		mb.deleteEvent(i, mm.now)
		n := mb.addEvent(dst, &c, mm.now)
		mb.events[n].cancelled = cancelled
		for _, x := range exceptions {
			xc := *x.c
			k := mb.addEvent(dst, &xc, mm.now)
			mb.events[k].master, mb.events[k].origDay = n, x.origDay
		}
		mm.record("event", "move", s.eventID(mb, n), mb.calendars[dst].name, prev, prevCal)
	}
	for range req.FolderCreates {
		name := randomFolderName(r) + " calendar"
		for mb.calendarByName(name) >= 0 {
			name += " 2"
		}
		c := mb.addCalendar(name, "lightBlue", false, mm.now)
		mm.record("calendar", "create", s.calendarID(mb, c), name, "", "")
	}
	nonDefault := func() []int32 {
		var out []int32
		for i, c := range mb.calendars {
			if !c.deleted && !c.isDefault {
				out = append(out, int32(i))
			}
		}
		return out
	}
	for range req.FolderRenames {
		cs := nonDefault()
		if len(cs) == 0 {
			break
		}
		c := cs[r.IntN(len(cs))]
		prev := mb.calendars[c].name
		name := randomFolderName(r) + " (renamed)"
		for mb.calendarByName(name) >= 0 {
			name += " 2"
		}
		mb.calendars[c].name, mb.calendars[c].seq = name, mb.bump()
		mm.record("calendar", "rename", s.calendarID(mb, c), name, "", prev)
	}
	for range req.FolderDeletes {
		cs := nonDefault()
		if len(cs) == 0 {
			break
		}
		c := cs[r.IntN(len(cs))]
		prev := mb.calendars[c].name
		mb.deleteCalendar(c, mm.now)
		mm.record("calendar", "delete", s.calendarID(mb, c), "", "", prev)
	}
}

func (mm *mailMutator) liveContacts() []int32 {
	var out []int32
	for i, ct := range mm.mb.contacts {
		if !ct.deleted {
			out = append(out, int32(i))
		}
	}
	return out
}

func (mm *mailMutator) liveContactFolders(withDefault bool) []int32 {
	var out []int32
	for i, f := range mm.mb.contactFolders {
		if !f.deleted && (withDefault || i != 0) {
			out = append(out, int32(i))
		}
	}
	return out
}

func (mm *mailMutator) contacts(req *ItemMutation) {
	mb, s, r := mm.mb, mm.s, mm.rng
	for range req.Creates {
		fs := mm.liveContactFolders(true)
		f := int32(0)
		if r.IntN(4) == 0 {
			f = fs[r.IntN(len(fs))]
		}
		key := mix64(uint64(mm.req.Seed)^0xc0, uint64(mb.no)<<32|uint64(len(mb.contacts)))
		x := mb.addContact(f, genContact(r, key), mm.now)
		if r.IntN(3) == 0 {
			mb.contacts[x].photoKey = key | 1
		}
		mm.record("contact", "create", s.contactID(mb, x), mb.contactFolderPath(f), "", "")
	}
	for range req.Updates {
		cs := mm.liveContacts()
		if len(cs) == 0 {
			break
		}
		i := cs[r.IntN(len(cs))]
		c := *mb.contacts[i].c
		c.jobTitle = pick(r, jobTitles)
		c.businessPhones = []string{fmt.Sprintf("+1 206 555 %04d", r.IntN(10000))}
		mb.contacts[i].c = &c
		mb.touchContact(i, mm.now)
		mm.record("contact", "update", s.contactID(mb, i), mb.contactFolderPath(mb.contacts[i].folder), "", "")
	}
	for range req.Deletes {
		cs := mm.liveContacts()
		if len(cs) == 0 {
			break
		}
		i := cs[r.IntN(len(cs))]
		path := mb.contactFolderPath(mb.contacts[i].folder)
		mb.deleteContact(i, mm.now)
		mm.record("contact", "delete", s.contactID(mb, i), "", "", path)
	}
	for range req.Moves {
		cs, fs := mm.liveContacts(), mm.liveContactFolders(true)
		if len(cs) == 0 || len(fs) < 2 {
			break
		}
		i := cs[r.IntN(len(cs))]
		from := mb.contacts[i].folder
		dst := fs[r.IntN(len(fs))]
		for dst == from {
			dst = fs[r.IntN(len(fs))]
		}
		prevPath := mb.contactFolderPath(from)
		mb.moveContact(i, dst, mm.now)
		mm.record("contact", "move", s.contactID(mb, i), mb.contactFolderPath(dst), s.contactID(mb, i), prevPath)
	}
	for range req.FolderCreates {
		fs := mm.liveContactFolders(true)
		parent := fs[r.IntN(len(fs))]
		name := randomFolderName(r)
		for mb.contactChild(parent, name) >= 0 {
			name += " 2"
		}
		f := mb.addContactFolder(name, parent, mm.now)
		mm.record("contactFolder", "create", s.contactFolderID(mb, f), mb.contactFolderPath(f), "", "")
	}
	for range req.FolderRenames {
		fs := mm.liveContactFolders(false)
		if len(fs) == 0 {
			break
		}
		f := fs[r.IntN(len(fs))]
		prev := mb.contactFolderPath(f)
		fo := mb.contactFolders[f]
		name := randomFolderName(r) + " (renamed)"
		for mb.contactChild(fo.parent, name) >= 0 {
			name += " 2"
		}
		fo.name, fo.seq = name, mb.bump()
		mm.record("contactFolder", "rename", s.contactFolderID(mb, f), mb.contactFolderPath(f), "", prev)
	}
	for range req.FolderDeletes {
		fs := mm.liveContactFolders(false)
		if len(fs) == 0 {
			break
		}
		f := fs[r.IntN(len(fs))]
		prev := mb.contactFolderPath(f)
		mb.deleteContactFolder(f, mm.now)
		mm.record("contactFolder", "delete", s.contactFolderID(mb, f), "", "", prev)
	}
}
