package export

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Graph contact JSON (v1.0), only what vCard can carry.
type graphContact struct {
	ID                   string           `json:"id"`
	DisplayName          string           `json:"displayName"`
	GivenName            string           `json:"givenName"`
	MiddleName           string           `json:"middleName"`
	Surname              string           `json:"surname"`
	Initials             string           `json:"initials"`
	NickName             string           `json:"nickName"`
	Title                string           `json:"title"` // courtesy title: Mr., Dr.
	Generation           string           `json:"generation"`
	YomiGivenName        string           `json:"yomiGivenName"`
	YomiSurname          string           `json:"yomiSurname"`
	YomiCompanyName      string           `json:"yomiCompanyName"`
	FileAs               string           `json:"fileAs"`
	CompanyName          string           `json:"companyName"`
	Department           string           `json:"department"`
	JobTitle             string           `json:"jobTitle"`
	Profession           string           `json:"profession"`
	Manager              string           `json:"manager"`
	AssistantName        string           `json:"assistantName"`
	EmailAddresses       []graphEmail     `json:"emailAddresses"`
	BusinessPhones       []string         `json:"businessPhones"`
	HomePhones           []string         `json:"homePhones"`
	MobilePhone          string           `json:"mobilePhone"`
	BusinessAddress      *graphPostalAddr `json:"businessAddress"`
	HomeAddress          *graphPostalAddr `json:"homeAddress"`
	OtherAddress         *graphPostalAddr `json:"otherAddress"`
	BusinessHomePage     string           `json:"businessHomePage"`
	Birthday             string           `json:"birthday"`
	PersonalNotes        string           `json:"personalNotes"`
	Categories           []string         `json:"categories"`
	IMAddresses          []string         `json:"imAddresses"`
	SpouseName           string           `json:"spouseName"`
	Children             []string         `json:"children"`
	LastModifiedDateTime string           `json:"lastModifiedDateTime"`
}

type graphPostalAddr struct {
	Street          string `json:"street"`
	City            string `json:"city"`
	State           string `json:"state"`
	PostalCode      string `json:"postalCode"`
	CountryOrRegion string `json:"countryOrRegion"`
}

func (a *graphPostalAddr) empty() bool {
	return a == nil || strings.TrimSpace(a.Street+a.City+a.State+a.PostalCode+a.CountryOrRegion) == ""
}

// VCardProductID is the PRODID of the vCards Holdfast writes.
const VCardProductID = "-//Holdfast//Holdfast Backup//EN"

// WriteVCard writes one vCard 3.0 (RFC 2426) for a Graph contact, with PHOTO (base64, its type)
// when photo is not empty.
//
// Version 3.0 because that is what the clients people restore contacts into read best: Outlook
// imports 2.1 and 3.0 but not 4.0, and macOS/iOS Contacts write and read 3.0 (4.0 only partly);
// Google reads both. Apple's conventions (X-ABRELATEDNAMES with X-ABLabel, X-PHONETIC-*) carry
// what 3.0 has no property for: spouse, children, manager, assistant, yomi names; Outlook's
// X-MS-IMADDRESS carries IM addresses beside IMPP.
//
// The encoding is our own rather than go-vcard's Encoder, which neither folds lines nor escapes
// ';' (so N, ADR and ORG components and NOTE text containing one are corrupted) and escapes the
// commas that separate CATEGORIES.
func WriteVCard(w io.Writer, contact json.RawMessage, photo []byte, photoType string) error {
	var c graphContact
	if err := json.Unmarshal(contact, &c); err != nil {
		return fmt.Errorf("export: contact: %w", err)
	}
	fw := newFoldWriter(w)
	line := func(name, value string) {
		io.WriteString(fw, name+":"+value+"\r\n")
	}
	text := func(name, value string) {
		if v := strings.TrimSpace(cleanText(value)); v != "" {
			line(name, vcText(v))
		}
	}
	line("BEGIN", "VCARD")
	line("VERSION", "3.0")
	line("PRODID", VCardProductID)
	line("N", vcStructured(c.Surname, c.GivenName, c.MiddleName, c.Title, c.Generation))
	line("FN", vcText(formattedName(&c)))
	text("NICKNAME", c.NickName)
	text("SORT-STRING", c.FileAs)
	text("X-PHONETIC-FIRST-NAME", c.YomiGivenName)
	text("X-PHONETIC-LAST-NAME", c.YomiSurname)
	if strings.TrimSpace(c.CompanyName+c.Department) != "" {
		line("ORG", vcStructured(c.CompanyName, c.Department))
	}
	text("X-PHONETIC-ORG", c.YomiCompanyName)
	text("TITLE", c.JobTitle)
	text("ROLE", c.Profession)
	first := true
	for _, e := range c.EmailAddresses {
		addr := strings.TrimSpace(cleanText(e.Address))
		if addr == "" || strings.Contains(addr, "\n") {
			continue
		}
		typ := "INTERNET"
		if first {
			typ, first = "INTERNET,PREF", false
		}
		line("EMAIL;TYPE="+typ, vcText(addr))
	}
	phone := func(typ, number string) {
		if n := strings.TrimSpace(cleanText(number)); n != "" {
			line("TEL;TYPE="+typ, vcText(n))
		}
	}
	for _, p := range c.BusinessPhones {
		phone("WORK,VOICE", p)
	}
	for _, p := range c.HomePhones {
		phone("HOME,VOICE", p)
	}
	phone("CELL,VOICE", c.MobilePhone)
	for _, a := range []struct {
		typ  string
		addr *graphPostalAddr
	}{{"WORK", c.BusinessAddress}, {"HOME", c.HomeAddress}, {"OTHER", c.OtherAddress}} {
		if a.addr.empty() {
			continue
		}
		line("ADR;TYPE="+a.typ, vcStructured("", "", a.addr.Street, a.addr.City, a.addr.State, a.addr.PostalCode, a.addr.CountryOrRegion))
	}
	uri := func(name, value string) { // URI values are not TEXT: no escaping, but one line
		if v := strings.TrimSpace(cleanParam(value)); v != "" {
			line(name, v)
		}
	}
	uri("URL", c.BusinessHomePage)
	if len(c.Birthday) >= 10 {
		if d, err := time.Parse("2006-01-02", c.Birthday[:10]); err == nil && d.Year() > 1 {
			line("BDAY", d.Format("2006-01-02"))
		}
	}
	for _, im := range c.IMAddresses {
		im = strings.TrimSpace(cleanParam(im))
		if im == "" {
			continue
		}
		if strings.Contains(im, ":") {
			uri("IMPP", im)
		} else {
			uri("IMPP", "sip:"+im)
		}
		line("X-MS-IMADDRESS", vcText(im))
	}
	item := 0
	related := func(label, name string) {
		if n := strings.TrimSpace(cleanText(name)); n != "" {
			item++
			g := fmt.Sprintf("item%d.", item)
			line(g+"X-ABRELATEDNAMES", vcText(n))
			line(g+"X-ABLabel", "_$!<"+label+">!$_")
		}
	}
	related("Spouse", c.SpouseName)
	for _, ch := range c.Children {
		related("Child", ch)
	}
	related("Manager", c.Manager)
	related("Assistant", c.AssistantName)
	text("NOTE", c.PersonalNotes)
	var cats []string
	for _, cat := range c.Categories {
		if cat = strings.TrimSpace(cleanText(cat)); cat != "" {
			cats = append(cats, vcText(cat))
		}
	}
	if len(cats) > 0 {
		line("CATEGORIES", strings.Join(cats, ","))
	}
	if t, ok := parseInstant(c.LastModifiedDateTime); ok {
		line("REV", t.Format("20060102T150405Z"))
	}
	if c.ID != "" {
		text("UID", c.ID)
	}
	if len(photo) > 0 {
		line("PHOTO;ENCODING=b;TYPE="+photoTypeParam(photoType, photo), base64.StdEncoding.EncodeToString(photo))
	}
	if _, err := io.WriteString(fw, "END:VCARD\r\n"); err != nil {
		return err
	}
	return fw.Close()
}

// formattedName is FN, which vCard 3.0 requires: the display name, else the parts of the name,
// else the company, else the first e-mail address.
func formattedName(c *graphContact) string {
	for _, s := range []string{c.DisplayName,
		strings.Join(strings.Fields(strings.Join([]string{c.Title, c.GivenName, c.MiddleName, c.Surname, c.Generation}, " ")), " "),
		c.CompanyName} {
		if s = strings.TrimSpace(cleanText(s)); s != "" {
			return s
		}
	}
	for _, e := range c.EmailAddresses {
		if s := strings.TrimSpace(cleanText(e.Address)); s != "" {
			return s
		}
	}
	return ""
}

// vcText escapes a TEXT value (RFC 2426 §4: backslash, comma, semicolon, newline).
func vcText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`, "\n", `\n`).Replace(s)
}

// vcStructured joins the components of N, ADR or ORG, each escaped.
func vcStructured(parts ...string) string {
	for i, p := range parts {
		parts[i] = vcText(strings.TrimSpace(cleanText(p)))
	}
	return strings.Join(parts, ";")
}

// photoTypeParam is the TYPE of a PHOTO: the image subtype of its content type ("image/jpeg" →
// JPEG), else sniffed from the bytes.
func photoTypeParam(contentType string, photo []byte) string {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	sub, ok := strings.CutPrefix(ct, "image/")
	if !ok || sub == "" {
		switch {
		case len(photo) >= 3 && photo[0] == 0xFF && photo[1] == 0xD8 && photo[2] == 0xFF:
			sub = "jpeg"
		case len(photo) >= 8 && string(photo[:8]) == "\x89PNG\r\n\x1a\n":
			sub = "png"
		case len(photo) >= 6 && (string(photo[:6]) == "GIF87a" || string(photo[:6]) == "GIF89a"):
			sub = "gif"
		default:
			sub = "jpeg" // what Exchange stores contact photos as
		}
	}
	if sub == "jpg" || sub == "pjpeg" {
		sub = "jpeg"
	}
	sub = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '+' {
			return r
		}
		return -1
	}, sub)
	return strings.ToUpper(sub)
}
