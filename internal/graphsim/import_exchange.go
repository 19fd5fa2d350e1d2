package graphsim

import (
	"bytes"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// --import DIR, Exchange side:
//
//	DIR/<email>/mail/<Folder/Sub>/*.eml   messages, served with their exact bytes as /$value;
//	                                      the folder path is display names below the mailbox
//	                                      top ("Inbox/Projects"); "Recoverable Items/Deletions"
//	                                      lands in Recoverable Items; missing folders are made
//	DIR/<email>/calendar/*.ics            events of the default calendar (RRULE, EXDATE and
//	                                      RECURRENCE-ID exceptions are understood)
//	DIR/<email>/contacts/*.vcf            contacts of the default folder (PHOTO included)
//
// A user with any of these gets no seeded mail, events or contacts.

func (t *tenant) importExchange(im importedUser, now uint32) error {
	if !im.hasExchange() {
		return nil
	}
	u := t.userByKey(im.email)
	if u == nil || u.mbx == nil {
		return nil // no mailbox (kind none): nothing to import into
	}
	mb := u.mbx
	if im.mail != "" {
		if err := t.importMail(mb, im.mail, now); err != nil {
			return err
		}
	}
	if im.calendar != "" {
		if err := t.importCalendar(mb, im.calendar, now); err != nil {
			return err
		}
	}
	if im.contacts != "" {
		if err := t.importContacts(mb, im.contacts, now); err != nil {
			return err
		}
	}
	return nil
}

func sortedFiles(root, ext string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(p), ext) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

func (t *tenant) importMail(mb *mailbox, root string, now uint32) error {
	// Folders first, so that empty ones exist too.
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		mb.importFolder(filepath.ToSlash(rel), now)
		return nil
	})
	if err != nil {
		return err
	}
	files, err := sortedFiles(root, ".eml")
	if err != nil {
		return err
	}
	for _, p := range files {
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		f := fTop
		if rel != "." {
			f = mb.importFolder(filepath.ToSlash(rel), now)
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		when := unixSec(st.ModTime())
		draft := false
		if fh, err := os.Open(p); err == nil {
			if m, err := mail.ReadMessage(fh); err == nil {
				if d, err := mail.ParseDate(m.Header.Get("Date")); err == nil {
					when = unixSec(d)
				}
				draft = m.Header.Get("X-Unsent") == "1"
			}
			fh.Close()
		}
		blob := t.blobs.addExternal(p, st.Size())
		mb.stored = append(mb.stored, &msgContent{raw: blob, rawSize: st.Size()})
		_, m := mb.addMsg(f, when)
		m.src = int32(len(mb.stored) - 1)
		m.sent, m.received, m.modified = when, when, when
		m.flags = msgRead
		if draft {
			m.flags |= msgDraft
		}
	}
	return nil
}

func (mb *mailbox) importFolder(rel string, now uint32) int32 {
	if r, ok := strings.CutPrefix(rel, "Recoverable Items"); ok && (r == "" || r[0] == '/') {
		return mb.ensurePath(fRecoverable, r, now)
	}
	return mb.ensurePath(fTop, rel, now)
}

func (t *tenant) importCalendar(mb *mailbox, root string, now uint32) error {
	files, err := sortedFiles(root, ".ics")
	if err != nil {
		return err
	}
	cal := mb.defaultCalendar()
	byUID := map[string]int32{}
	var exceptions []icsEvent
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, ie := range parseICS(data) {
			if ie.recurrenceD >= 0 {
				exceptions = append(exceptions, ie)
				continue
			}
			if ie.c.organizer.isZero() {
				ie.c.organizer = addr{mb.owner.displayName, mb.owner.mail}
			}
			idx := mb.addEvent(cal, ie.c, now)
			mb.events[idx].cancelled = ie.exdates
			if ie.c.uid != "" {
				byUID[ie.c.uid] = idx
			}
		}
	}
	for _, ie := range exceptions {
		m, ok := byUID[ie.c.uid]
		if !ok {
			continue
		}
		ie.c.recurrence = nil
		x := mb.addEvent(cal, ie.c, now)
		mb.events[x].master, mb.events[x].origDay = m, ie.recurrenceD
	}
	return nil
}

func (t *tenant) importContacts(mb *mailbox, root string, now uint32) error {
	files, err := sortedFiles(root, ".vcf")
	if err != nil {
		return err
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, v := range parseVCards(data) {
			x := mb.addContact(0, v.c, now)
			if len(v.photo) > 0 {
				if b, err := t.blobs.ingest(bytes.NewReader(v.photo), 4<<20); err == nil {
					mb.contacts[x].photo = b
				}
			}
		}
	}
	return nil
}
