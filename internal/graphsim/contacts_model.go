package graphsim

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"strings"
)

// Personal contacts (https://learn.microsoft.com/graph/api/resources/contact). Contact folder 0
// is the default "Contacts" folder; the others nest below it. Photos are small JPEGs generated
// from a key, or bytes a client PUT (kept as a blob).

type contactContent struct {
	given, surname, display string
	middle, nickname        string
	company, jobTitle, dept string
	emails                  []addr
	businessPhones          []string
	homePhones              []string
	mobile                  string
	street, city, state     string
	postal, country         string
	birthday                string // YYYY-MM-DD or ""
	notes                   string
	categories              []string
}

type contactFolder struct {
	name    string
	parent  int32 // -1 for the default folder
	deleted bool
	seq     uint32
	created uint32
}

type contact struct {
	folder   int32
	c        *contactContent
	seq      uint32
	created  uint32
	modified uint32
	version  uint32
	deleted  bool
	photoKey uint64 // generated photo (0 = none, unless photo ≥ 0)
	photo    int32  // uploaded photo blob, or -1
}

func (mb *mailbox) addContactFolder(name string, parent int32, now uint32) int32 {
	mb.contactFolders = append(mb.contactFolders, &contactFolder{name: name, parent: parent, seq: mb.bump(), created: now})
	return int32(len(mb.contactFolders) - 1)
}

func (mb *mailbox) liveContactFolder(i int32) bool {
	return i >= 0 && int(i) < len(mb.contactFolders) && !mb.contactFolders[i].deleted
}

func (mb *mailbox) liveContact(i int32) bool {
	return i >= 0 && int(i) < len(mb.contacts) && !mb.contacts[i].deleted
}

func (mb *mailbox) addContact(folder int32, c *contactContent, now uint32) int32 {
	mb.contacts = append(mb.contacts, &contact{folder: folder, c: c, seq: mb.bump(), created: now, modified: now, version: 1, photo: -1})
	return int32(len(mb.contacts) - 1)
}

func (mb *mailbox) touchContact(i int32, now uint32) {
	ct := mb.contacts[i]
	ct.modified = now
	ct.version++
	ct.seq = mb.bump()
}

// moveContact moves a contact; its old folder reports it removed.
func (mb *mailbox) moveContact(i, dst int32, now uint32) {
	ct := mb.contacts[i]
	if ct.folder == dst {
		return
	}
	seq := mb.bump()
	mb.ctRemoved = append(mb.ctRemoved, mailRemoval{folder: ct.folder, msg: i, seq: seq})
	ct.folder = dst
	ct.modified = now
	ct.seq = seq
}

func (mb *mailbox) deleteContact(i int32, now uint32) {
	ct := mb.contacts[i]
	ct.deleted = true
	ct.modified = now
	ct.seq = mb.bump()
	mb.ctRemoved = append(mb.ctRemoved, mailRemoval{folder: ct.folder, msg: i, seq: ct.seq})
}

// contactFolderPath is "Contacts" or "Contacts/Family/Kids".
func (mb *mailbox) contactFolderPath(f int32) string {
	var parts []string
	for i := f; i >= 0; i = mb.contactFolders[i].parent {
		parts = append([]string{mb.contactFolders[i].name}, parts...)
	}
	return strings.Join(parts, "/")
}

var companies = []string{"Contoso", "Fabrikam", "Northwind Traders", "Tailspin Toys", "Woodgrove Bank", "Litware", "Adventure Works"}

func genContact(r *rand.Rand, key uint64) *contactContent {
	given, surname := pick(r, givenNames), pick(r, surnames)
	if key%7 == 0 {
		given, surname = "Seán", "O'Brien"
	}
	company := pick(r, companies)
	domain := strings.ToLower(strings.ReplaceAll(company, " ", "")) + ".com"
	local := upnLocal(given, surname)
	c := &contactContent{
		given: given, surname: surname, display: given + " " + surname,
		company: company, jobTitle: pick(r, jobTitles), dept: pick(r, departments),
		emails:         []addr{{given + " " + surname, local + "@" + domain}},
		businessPhones: []string{fmt.Sprintf("+1 206 555 %04d", r.IntN(10000))},
		mobile:         fmt.Sprintf("+1 425 555 %04d", r.IntN(10000)),
		street:         fmt.Sprintf("%d Main St", 1+r.IntN(9000)), city: pick(r, []string{"Seattle", "Redmond", "München", "Zürich", "東京"}),
		state: "WA", postal: fmt.Sprintf("98%03d", r.IntN(1000)), country: "United States",
	}
	if r.IntN(3) == 0 {
		c.emails = append(c.emails, addr{c.display, local + "@example.com"})
		c.homePhones = []string{fmt.Sprintf("+1 360 555 %04d", r.IntN(10000))}
	}
	if r.IntN(4) == 0 {
		c.birthday = fmt.Sprintf("19%02d-%02d-%02d", 50+r.IntN(50), 1+r.IntN(12), 1+r.IntN(28))
		c.notes = sentence(r)
	}
	return c
}

// contactPhoto renders a generated profile photo (a small JPEG, deterministic for a key).
func contactPhoto(key uint64) []byte {
	const n = 48
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	s := key
	c1 := color.RGBA{uint8(splitmix64(&s)), uint8(splitmix64(&s)), uint8(splitmix64(&s)), 255}
	c2 := color.RGBA{uint8(splitmix64(&s)), uint8(splitmix64(&s)), uint8(splitmix64(&s)), 255}
	for y := range n {
		for x := range n {
			if (x/8+y/8)%2 == 0 {
				img.Set(x, y, c1)
			} else {
				img.Set(x, y, c2)
			}
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes()
}
