package graphsim

import (
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
)

// Names for seeded users, folders and files. Deliberately awkward: apostrophes, non-ASCII,
// '#', '%', '&', long names and names that differ only in case from a sibling's would-be name.

type personName struct{ given, surname, upnLocal string }

// fixedPeople come first so that even a 3-user tenant has the awkward ones.
var fixedPeople = []personName{
	{"Adele", "Vance", "adele.vance"},
	{"Seán", "O'Brien", "o'brien"},
	{"Zoë", "Ångström", "zoe.angstrom"},
	{"雷", "李", "li.lei"},
	{"Renée", "Müller-Lüdenscheidt", "renee.muller"},
}

var givenNames = []string{
	"Alex", "Megan", "Lidia", "Lynne", "Isaiah", "Johanna", "Joni", "Miriam", "Nestor", "Patti",
	"Pradeep", "Grady", "Henrietta", "Irvin", "Diego", "Christie", "Debra", "Enrico", "Allan",
	"Brian", "Cameron", "Lee", "Raul", "Sanjay", "Amélie", "Björn", "Chloé", "Dağ", "Øyvind",
	"Łukasz", "Søren", "Yuki", "Mateo", "Aisha", "Kwame", "Priya", "Olga", "Tomás", "Ingrid", "Hana",
}

var surnames = []string{
	"Wilber", "Bowen", "Holloway", "Robbins", "Langer", "Lambert", "Sherman", "Caldwell", "Wilkins",
	"Fernandez", "Gupta", "Archie", "Cermak", "Bellew", "Soto", "Cline", "Berg", "Catteneo", "Deyoung",
	"Johnson", "Carter", "Gu", "Flores", "Mehta", "Dubois", "Nyström", "Lefèvre", "Yılmaz", "Hansen",
	"Kowalski", "Nørgaard", "Tanaka", "García", "Bello", "Mensah", "Iyer", "Ivanova", "Ó Súilleabháin",
}

var jobTitles = []string{"Marketing Manager", "Engineer", "Paralegal", "Sales Lead", "Director",
	"Accountant", "Designer", "Support Analyst", "Product Owner", "Researcher"}

// departments users report (seeded from the UPN, so adding users never shifts anyone else's).
var departments = []string{"Sales", "Engineering", "Finance", "Legal", "Marketing", "Human Resources", "Operations"}

var offices = []string{"18/2111", "20/1101", "131/1104", "24/1106", "12/1110", "Remote"}

// asciiFold maps the non-ASCII letters used above to ASCII for UPN local parts.
var asciiFold = strings.NewReplacer("é", "e", "è", "e", "ë", "e", "á", "a", "å", "a", "Å", "a",
	"ä", "a", "ö", "o", "ø", "o", "Ø", "o", "ü", "u", "ú", "u", "í", "i", "ı", "i", "ó", "o", "Ó", "o",
	"ğ", "g", "ş", "s", "ç", "c", "ł", "l", "Ł", "l", "ñ", "n", "ß", "ss", "Ö", "o")

func upnLocal(given, surname string) string {
	s := strings.ToLower(asciiFold.Replace(given + "." + surname))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '\'':
			b.WriteRune(r)
		}
	}
	return b.String()
}

var topFolders = []string{"Documents", "Pictures", "Desktop", "Attachments", "Projects", "Archive",
	"Résumés & Lettres", "日本語の資料", "Team #1 – 100% done", "Notebooks"}

var folderWords = []string{"Budget", "Reports", "Marketing", "Invoices", "Photos", "Travel",
	"Clients", "Contracts", "Design", "Research", "Meeting notes", "Drafts", "Old", "Misc",
	"Templates", "Presentations", "Legal", "HR", "Finance", "Q1", "Q2", "Q3", "Q4", "2023", "2024",
	"Scans", "Receipts", "Données", "Präsentationen", "Backups", "Shared", "Onboarding", "Specs"}

var fileStems = []string{"report", "Budget", "minutes", "Invoice", "proposal", "Summary", "notes",
	"plan", "draft", "IMG", "scan", "contract", "Roadmap", "agenda", "export", "data", "Résumé",
	"présentation", "Übersicht", "報告書", "O'Neil review", "Q&A", "budget #2", "50% plan"}

var fileQualifiers = []string{"", "", " final", " v2", " (1)", " copy", " 2024", " 2025-03-14",
	" - Copy", " DRAFT", " reviewed", "_old"}

type extInfo struct {
	ext  string
	mime string
	text bool // generated content is compressible text
}

var fileExts = []extInfo{
	{".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", true},
	{".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", false},
	{".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", false},
	{".pdf", "application/pdf", false},
	{".txt", "text/plain", true},
	{".csv", "text/csv", true},
	{".md", "text/markdown", true},
	{".log", "text/plain", true},
	{".json", "application/json", true},
	{".jpg", "image/jpeg", false},
	{".png", "image/png", false},
	{".zip", "application/x-zip-compressed", false},
	{".mp4", "video/mp4", false},
}

var mimeByExt = func() map[string]string {
	m := map[string]string{".one": "application/msonenote", ".onetoc2": "application/msonenote",
		".html": "text/html", ".xml": "text/xml", ".gif": "image/gif", ".eml": "message/rfc822"}
	for _, e := range fileExts {
		m[e.ext] = e.mime
	}
	return m
}()

func mimeType(name string) string {
	if m, ok := mimeByExt[strings.ToLower(path.Ext(name))]; ok {
		return m
	}
	return "application/octet-stream"
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func randomFolderName(r *rand.Rand) string {
	n := pick(r, folderWords)
	if r.IntN(4) == 0 {
		n += " " + pick(r, folderWords)
	}
	return n
}

// randomFileName returns a file name and whether its content is text.
func randomFileName(r *rand.Rand) (string, bool) {
	e := pick(r, fileExts)
	stem := pick(r, fileStems) + pick(r, fileQualifiers)
	if r.IntN(3) == 0 {
		stem += fmt.Sprintf(" %d", r.IntN(1000))
	}
	return stem + e.ext, e.text
}

func textExt(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	for _, e := range fileExts {
		if e.ext == ext {
			return e.text
		}
	}
	return false
}
