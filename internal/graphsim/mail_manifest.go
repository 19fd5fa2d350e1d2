package graphsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Manifests of the Exchange side: the truth a backup or restore is compared with. Every
// message of a mailbox is listed — Recoverable Items and the In-Place Archive included — with
// the SHA-256 of exactly the bytes /$value (or exportItems, for the archive) serves, of the
// body as the JSON reports it, and the attachment tree.

// MailEntry is one message as the simulator holds it.
type MailEntry struct {
	Folder            string            `json:"folder"` // "Inbox/Projects", "Recoverable Items/Deletions", "Archive:/Inbox"
	ID                string            `json:"id"`     // Graph ID (archive: the import/export API's item ID)
	InternetMessageID string            `json:"internet_message_id"`
	Subject           string            `json:"subject"`
	From              string            `json:"from"`
	To                []string          `json:"to"`
	Sent              time.Time         `json:"sent"`
	Received          time.Time         `json:"received"`
	IsRead            bool              `json:"is_read"`
	IsDraft           bool              `json:"is_draft"`
	Flag              string            `json:"flag"` // notFlagged | flagged | complete
	Importance        string            `json:"importance"`
	Categories        []string          `json:"categories"`
	MIMESHA256        string            `json:"mime_sha256"` // lowercase hex of the bytes /$value serves
	BodySHA256        string            `json:"body_sha256"` // of body.content as the JSON reports it
	Attachments       []AttachmentEntry `json:"attachments"`
}

// AttachmentEntry is one attachment; item attachments holding a message nest further.
type AttachmentEntry struct {
	Name        string     `json:"name"`
	Kind        string     `json:"kind"` // file | item | reference
	ContentType string     `json:"content_type"`
	Size        int64      `json:"size"`
	SHA256      string     `json:"sha256"` // file: of the bytes; item: of its $value
	IsInline    bool       `json:"is_inline"`
	SourceURL   string     `json:"source_url"` // reference attachments
	Item        *MailEntry `json:"item"`       // the item of an item attachment (events, contacts: Subject only)
}

// EventEntry is one event or series (occurrences are summarized: exceptions and cancelled
// occurrences are counted on the series).
type EventEntry struct {
	Calendar    string            `json:"calendar"`
	ID          string            `json:"id"`
	ICalUID     string            `json:"ical_uid"`
	Subject     string            `json:"subject"`
	Start       time.Time         `json:"start"` // the instant (all-day: the date at 00:00 UTC)
	End         time.Time         `json:"end"`
	TimeZone    string            `json:"time_zone"` // the start's original zone
	IsAllDay    bool              `json:"is_all_day"`
	Recurrence  string            `json:"recurrence"` // RRULE text, or ""
	Exceptions  int               `json:"exceptions"`
	Cancelled   int               `json:"cancelled"`
	Attendees   []string          `json:"attendees"`
	Attachments []AttachmentEntry `json:"attachments"`
}

// ContactEntry is one contact.
type ContactEntry struct {
	Folder      string   `json:"folder"` // "Contacts", "Contacts/Family"
	ID          string   `json:"id"`
	DisplayName string   `json:"display_name"`
	Emails      []string `json:"emails"`
	Phones      []string `json:"phones"`
	HasPhoto    bool     `json:"has_photo"`
	PhotoSHA256 string   `json:"photo_sha256"`
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (s *Server) mailboxOf(userKey string) (*user, error) {
	u := s.t.userByKey(userKey)
	if u == nil {
		return nil, fmt.Errorf("graphsim: unknown user %q", userKey)
	}
	if u.mbx == nil {
		return nil, fmt.Errorf("graphsim: user %q has no mailbox", userKey)
	}
	return u, nil
}

// MailManifest lists every message of a user's mailbox, Recoverable Items and the archive
// included, folder by folder (pre-order).
func (s *Server) MailManifest(userKey string) ([]MailEntry, error) {
	type entry struct {
		folder string
		id     string
		sn     msgSnap
	}
	var list []entry
	s.t.mu.RLock()
	u, err := s.mailboxOf(userKey)
	if err != nil {
		s.t.mu.RUnlock()
		return nil, err
	}
	for _, mb := range []*mailbox{u.mbx, u.mbx.arch} {
		if mb == nil {
			continue
		}
		for _, f := range mb.subtreeFolders(fRoot) {
			path := mb.folderPath(f)
			if mb.archive {
				path = "Archive:/" + path
			}
			for _, i := range mb.folders[f].msgs {
				id := s.messageID(mb, i)
				if mb.archive {
					id = s.ieItemID(mb, i)
				}
				list = append(list, entry{folder: path, id: id, sn: s.snapMsg(mb, i)})
			}
		}
	}
	s.t.mu.RUnlock()
	out := make([]MailEntry, 0, len(list))
	for i := range list {
		e := &list[i]
		c := s.content(&e.sn)
		me, err := s.mailEntry(c)
		if err != nil {
			return nil, err
		}
		me.Folder, me.ID = e.folder, e.id
		m := &e.sn.m
		me.Sent, me.Received = fromUnix(m.sent), fromUnix(m.received)
		me.IsRead, me.IsDraft = m.flags&msgRead != 0, m.flags&msgDraft != 0
		me.Flag = flagNames[m.flag]
		me.Categories = append([]string{}, e.sn.cats...)
		out = append(out, *me)
	}
	return out, nil
}

// mailEntry describes content (mailbox state left to the caller).
func (s *Server) mailEntry(c *msgContent) (*MailEntry, error) {
	b, err := s.t.mimeBytes(c)
	if err != nil {
		return nil, err
	}
	_, body := c.bodyContent()
	me := &MailEntry{InternetMessageID: c.messageID, Subject: c.subject, From: c.from.email, To: []string{},
		Sent: c.date, Received: c.date, IsRead: true, Flag: "notFlagged", Importance: c.importance, Categories: []string{},
		MIMESHA256: sha256Hex(b), BodySHA256: sha256Hex([]byte(body))}
	for _, a := range c.to {
		me.To = append(me.To, a.email)
	}
	me.Attachments, err = s.attachmentEntries(c.atts)
	return me, err
}

func (s *Server) attachmentEntries(atts []*attContent) ([]AttachmentEntry, error) {
	out := []AttachmentEntry{}
	for _, a := range atts {
		e := AttachmentEntry{Name: a.name, Kind: attKindNames[a.kind], ContentType: a.ctype, IsInline: a.inline}
		switch a.kind {
		case attFile:
			rc, err := s.t.openAtt(a)
			if err != nil {
				return nil, err
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
			e.Size, e.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		case attItem:
			b, _, err := s.t.itemBytes(a)
			if err != nil {
				return nil, err
			}
			e.Size, e.SHA256 = int64(len(b)), sha256Hex(b)
			switch {
			case a.msg != nil:
				if e.Item, err = s.mailEntry(a.msg); err != nil {
					return nil, err
				}
			case a.event != nil:
				e.Item = &MailEntry{Subject: a.event.subject, InternetMessageID: a.event.uid, To: []string{}, Categories: []string{}, Attachments: []AttachmentEntry{}}
			case a.contact != nil:
				e.Item = &MailEntry{Subject: a.contact.display, To: []string{}, Categories: []string{}, Attachments: []AttachmentEntry{}}
			}
		case attRef:
			e.SourceURL = a.url
		}
		out = append(out, e)
	}
	return out, nil
}

// EventManifest lists the events and series of every calendar of a user's mailbox.
func (s *Server) EventManifest(userKey string) ([]EventEntry, error) {
	type entry struct {
		e   EventEntry
		c   *eventContent
		ref evRef
	}
	var list []entry
	s.t.mu.RLock()
	u, err := s.mailboxOf(userKey)
	if err != nil {
		s.t.mu.RUnlock()
		return nil, err
	}
	mb := u.mbx
	for i, ev := range mb.events {
		if ev.deleted || ev.master >= 0 || mb.calendars[ev.cal].deleted {
			continue
		}
		st, en := eventSpan(ev.c, -1)
		e := EventEntry{Calendar: mb.calendars[ev.cal].name, ID: s.eventID(mb, int32(i)), ICalUID: ev.c.uid,
			Subject: ev.c.subject, Start: st, End: en, TimeZone: ev.c.startTZ, IsAllDay: ev.c.allDay,
			Recurrence: ev.c.recurrence.rrule(), Cancelled: len(ev.cancelled), Attendees: []string{}}
		for _, x := range mb.events {
			if x.master == int32(i) && !x.deleted {
				e.Exceptions++
			}
		}
		for _, a := range ev.c.attendees {
			e.Attendees = append(e.Attendees, a.email)
		}
		list = append(list, entry{e: e, c: ev.c})
	}
	s.t.mu.RUnlock()
	out := make([]EventEntry, 0, len(list))
	for _, x := range list {
		atts, err := s.attachmentEntries(x.c.atts)
		if err != nil {
			return nil, err
		}
		x.e.Attachments = atts
		out = append(out, x.e)
	}
	return out, nil
}

// ContactManifest lists every contact of a user's mailbox.
func (s *Server) ContactManifest(userKey string) ([]ContactEntry, error) {
	type entry struct {
		e     ContactEntry
		photo func() ([]byte, error)
	}
	var list []entry
	s.t.mu.RLock()
	u, err := s.mailboxOf(userKey)
	if err != nil {
		s.t.mu.RUnlock()
		return nil, err
	}
	mb := u.mbx
	for i, ct := range mb.contacts {
		if ct.deleted {
			continue
		}
		e := ContactEntry{Folder: mb.contactFolderPath(ct.folder), ID: s.contactID(mb, int32(i)), DisplayName: ct.c.display,
			Emails: []string{}, Phones: []string{}}
		for _, a := range ct.c.emails {
			e.Emails = append(e.Emails, a.email)
		}
		e.Phones = append(append(e.Phones, ct.c.businessPhones...), ct.c.homePhones...)
		if ct.c.mobile != "" {
			e.Phones = append(e.Phones, ct.c.mobile)
		}
		list = append(list, entry{e: e, photo: s.contactPhotoFunc(mb, int32(i))})
	}
	s.t.mu.RUnlock()
	out := make([]ContactEntry, 0, len(list))
	for _, x := range list {
		if x.photo != nil {
			b, err := x.photo()
			if err != nil {
				return nil, err
			}
			x.e.HasPhoto, x.e.PhotoSHA256 = true, sha256Hex(b)
		}
		out = append(out, x.e)
	}
	return out, nil
}

// MailFolderManifest lists the paths of every mail folder of a user's mailbox, empty and hidden
// ones included, in MailManifest's form: "Inbox/Projects", "Recoverable Items/Deletions",
// "Archive:/Inbox".
func (s *Server) MailFolderManifest(userKey string) ([]string, error) {
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	u, err := s.mailboxOf(userKey)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, mb := range []*mailbox{u.mbx, u.mbx.arch} {
		if mb == nil {
			continue
		}
		for _, f := range mb.subtreeFolders(fRoot) {
			path := mb.folderPath(f)
			if path == "" || mb.folders[f].deleted {
				continue
			}
			if mb.archive {
				path = "Archive:/" + path
			}
			out = append(out, path)
		}
	}
	return out, nil
}
