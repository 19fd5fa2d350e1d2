package export

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestFileName(t *testing.T) {
	long := strings.Repeat("Quarterly planning meeting notes ", 13)[:400]
	cases := []struct {
		name, title, suffix string
		max                 int
		want                string
	}{
		{"the example", "Re: Q3 plan?", " [AAMk12].eml", 120, "Re_ Q3 plan_ [AAMk12].eml"},
		{"plain", "Budget 2025", ".eml", 120, "Budget 2025.eml"},
		{"empty", "", " [AAMk12].eml", 120, "(no subject) [AAMk12].eml"},
		{"only spaces and dots", "  . .. ", ".vcf", 120, "(no subject).vcf"},
		{"400 characters", long, " [AAMk12].eml", 120, strings.TrimRight(long[:107], " ") + " [AAMk12].eml"},
		{"slashes", `a/b\c`, ".eml", 120, "a_b_c.eml"},
		{"every reserved character", `<>:"/\|?*`, "", 120, "_________"},
		{"trailing dots and spaces", "Hello... ", ".eml", 120, "Hello.eml"},
		{"leading dots", "...hidden", ".eml", 120, "hidden.eml"},
		{"trailing dots without suffix", "end.", "", 120, "end"},
		{"CON", "CON", ".eml", 120, "_CON.eml"},
		{"con with extension", "con.txt", ".eml", 120, "_con.txt.eml"},
		{"LPT1 with spaces", "LPT1 ", ".vcf", 120, "_LPT1.vcf"},
		{"COM superscript", "COM¹", ".ics", 120, "_COM¹.ics"},
		{"CON before a bracketed ID is fine", "CON", " [AAMk12].eml", 120, "CON [AAMk12].eml"},
		{"CONTRACT cut to CON", "CONTRACT", ".eml", 7, "_ON.eml"},
		{"NULL is not NUL", "NULL", ".eml", 120, "NULL.eml"},
		{"unicode kept", "Café – Ünïcödé 日本語", ".eml", 120, "Café – Ünïcödé 日本語.eml"},
		{"NFD becomes NFC", "Cafe\u0301", ".eml", 120, "Caf\u00e9.eml"},
		{"emoji kept", "🎉 Party 👨‍👩‍👧 time", ".eml", 120, "🎉 Party 👨‍👩‍👧 time.eml"},
		{"control characters", "a\x00b\x1fc\x7fd\u0085e", ".eml", 120, "a_b_c_d e.eml"},
		{"white space collapses", "a \t\n\r b\u00a0\u2028c", ".eml", 120, "a b c.eml"},
		{"direction overrides dropped", "invoice\u202Efdp.exe", "", 120, "invoicefdp.exe"},
		{"zero-width and BOM dropped", "\ufeffa\u200bb", ".eml", 120, "ab.eml"},
		{"invalid UTF-8", "bad\xff\xfebytes", ".eml", 120, "bad_bytes.eml"},
		{"suffix longer than max keeps its end", "x", " [AAMk1234567890].eml", 10, "67890].eml"},
		{"suffix exactly max", "x", "[abc].eml", 9, "[abc].eml"},
		{"default max", strings.Repeat("a", 300), ".eml", 0, strings.Repeat("a", 251) + ".eml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := FileName(tc.title, tc.suffix, tc.max)
			require.Equal(t, tc.want, got)
			max := tc.max
			if max <= 0 {
				max = DefaultMaxNameLen
			}
			checkSafeName(t, got, max)
		})
	}
}

func TestFileNameCutsAtCharacterBoundaries(t *testing.T) {
	suffix := " [AAMk12].eml"
	for _, title := range []string{
		strings.Repeat("é", 300),
		strings.Repeat("日本語", 100),
		strings.Repeat("🎉", 100),
		strings.Repeat("👨‍👩‍👧", 40),        // a family: 5 code points joined, 18 bytes
		strings.Repeat("🇩🇪", 50),           // flags are pairs of regional indicators
		"x" + strings.Repeat("\u0301", 20), // one cluster longer than some limits (x has no precomposed form)
	} {
		for max := len(suffix); max <= 140; max++ {
			got := FileName(title, suffix, max)
			checkSafeName(t, got, max)
			require.True(t, strings.HasSuffix(got, strings.TrimLeft(suffix, " ")), "%q keeps its suffix", got)
			stem := strings.TrimSuffix(got, suffix)
			if !strings.HasSuffix(got, suffix) {
				stem = "" // no room for the title: the suffix alone, without its leading space
			}
			if stem == "" || strings.HasPrefix(title, stem) || strings.HasPrefix(NoSubject, stem) {
				continue
			}
			t.Fatalf("%q is not a prefix of the title", stem)
		}
	}
	family := "👨‍👩‍👧"
	got := FileName(strings.Repeat(family, 3), ".eml", len(family)*2+4+5)
	require.Equal(t, family+family+".eml", got, "an emoji sequence is not split")
	require.Equal(t, "🇩🇪.eml", FileName("🇩🇪🇫🇷", ".eml", 8+4+3), "nor is a flag")
}

// checkSafeName: the invariants every name keeps.
func checkSafeName(t *testing.T, name string, max int) {
	t.Helper()
	require.NotEmpty(t, name)
	require.LessOrEqual(t, len(name), max, "%q", name)
	require.True(t, utf8.ValidString(name), "%q", name)
	require.False(t, strings.ContainsAny(name, `/\:*?"<>|`), "%q", name)
	for _, r := range name {
		require.False(t, r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0), "%q has a control character", name)
	}
	require.False(t, strings.HasPrefix(name, ".") || strings.HasPrefix(name, " "), "%q", name)
	require.False(t, strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "), "%q", name)
	require.False(t, reservedName(name), "%q", name)
}

func TestFileNameRandom(t *testing.T) {
	alphabet := []rune("aZ09 .._-/\\:*?\"<>|\t\n\x00\x7féü日🎉\u200d\u202e\ufeffCONLPT1")
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		n := r.IntN(60)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		max := 8 + r.IntN(40)
		checkSafeName(t, FileName(b.String(), ".eml", max), max)
		checkSafeName(t, FileName(b.String(), "", max), max)
	}
}

func FuzzFileName(f *testing.F) {
	for _, s := range []string{"Re: Q3 plan?", "CON", "...", "🎉", "\xff"} {
		f.Add(s, " [id].eml", 40)
	}
	f.Fuzz(func(t *testing.T, title, suffix string, max int) {
		if max < 1 || max > 1000 {
			return
		}
		got := FileName(title, suffix, max)
		if got == "" {
			return // only a suffix made entirely of dots and spaces gives nothing
		}
		require.LessOrEqual(t, len(got), max)
		require.True(t, utf8.ValidString(got))
		require.False(t, strings.ContainsAny(got, `/\:*?"<>|`))
		require.False(t, reservedName(got), "%q", got)
	})
}
