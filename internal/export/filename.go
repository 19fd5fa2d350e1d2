package export

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
	"golang.org/x/text/unicode/norm"
)

// NoSubject names an item whose title is empty.
const NoSubject = "(no subject)"

// DefaultMaxNameLen is the length FileName uses when given maxLen <= 0: what most file systems
// allow for one name, in bytes.
const DefaultMaxNameLen = 255

// FileName makes a safe file name from an item's title (subject, display name) and a suffix (a
// short ID and the extension, e.g. " [AAMk12].eml"), which is kept whole:
//
//   - characters Windows, macOS or ZIP tools reject (/ \ : * ? " < > |, control characters) become
//     '_'; white space of any kind becomes one space; invisible direction overrides, zero-width
//     spaces and byte-order marks are dropped; invalid UTF-8 becomes '_'; the text is NFC;
//   - no leading or trailing dots or spaces (Windows drops trailing ones, and a leading dot hides
//     the file on macOS and Linux);
//   - Windows device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, with or without an extension) get
//     a leading '_';
//   - at most maxLen bytes of valid UTF-8: the title is cut at a character (grapheme cluster)
//     boundary, so that neither a UTF-8 sequence nor an emoji sequence is split.
//
// An empty title becomes "(no subject)". If the suffix alone is longer than maxLen, only its end
// (the extension) is kept.
func FileName(title, suffix string, maxLen int) string {
	if maxLen <= 0 {
		maxLen = DefaultMaxNameLen
	}
	suffix = strings.TrimRight(cleanName(suffix, false), ". ")
	if len(suffix) > maxLen {
		cut := len(suffix) - maxLen
		for cut < len(suffix) && !utf8.RuneStart(suffix[cut]) {
			cut++
		}
		return strings.TrimLeft(suffix[cut:], ". ")
	}
	t := trimName(cleanName(title, true))
	if t == "" {
		t = NoSubject
	}
	if reservedName(t + suffix) {
		t = "_" + t
	}
	budget := maxLen - len(suffix)
	cut := trimName(cutGraphemes(t, budget))
	if cut == "" {
		cut = trimName(cutGraphemes(NoSubject, budget))
	}
	name := strings.TrimLeft(cut+suffix, ". ")
	if reservedName(name) {
		// Cutting made a device name ("CONTRACT" → "CON"): same length, no longer one.
		name = "_" + name[1:]
	}
	return name
}

// cleanName replaces what file systems and archivers reject. collapse turns runs of white space
// into one space (the suffix keeps its own spacing).
func cleanName(s string, collapse bool) string {
	s = strings.ToValidUTF8(s, "_")
	s = norm.NFC.String(s)
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case strings.ContainsRune(`/\:*?"<>|`, r):
			r = '_'
		case unicode.IsSpace(r):
			r = ' '
		case invisibleRune(r):
			continue
		case unicode.IsControl(r):
			r = '_'
		}
		if r == ' ' && space && collapse {
			continue
		}
		space = r == ' '
		b.WriteRune(r)
	}
	return b.String()
}

// invisibleRune reports characters that only hide or reorder what a name shows.
func invisibleRune(r rune) bool {
	switch {
	case r == 0x200B || r == 0x2060 || r == 0xFEFF: // zero-width space, word joiner, BOM
		return true
	case r == 0x200E || r == 0x200F || r == 0x061C: // direction marks
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069: // embeddings, overrides, isolates
		return true
	}
	return false
}

func trimName(s string) string {
	return strings.Trim(s, ". ")
}

// cutGraphemes returns the longest prefix of s of at most n bytes that ends at a grapheme
// cluster boundary (at a rune boundary if even the first cluster is longer).
func cutGraphemes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	end := 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		_, to := g.Positions()
		if to > n {
			break
		}
		end = to
	}
	if end == 0 {
		end = n
		for end > 0 && !utf8.RuneStart(s[end]) {
			end--
		}
	}
	return s[:end]
}

var reservedNames = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM¹": true, "COM²": true, "COM³": true, "LPT¹": true, "LPT²": true, "LPT³": true}

func init() {
	for _, d := range "0123456789" {
		reservedNames["COM"+string(d)] = true
		reservedNames["LPT"+string(d)] = true
	}
}

// reservedName reports names Windows takes for devices: the part before the first dot, without
// trailing spaces, is a device name.
func reservedName(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	return reservedNames[strings.ToUpper(strings.TrimRight(stem, " "))]
}
