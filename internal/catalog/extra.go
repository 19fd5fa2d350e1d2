package catalog

import (
	"slices"
	"strings"
)

// An item version's extra column holds named vault contents beside its main
// content, as "name=content" fields separated by spaces, sorted by name
// (vault contents hold neither spaces nor "=").

// EncodeExtra makes the extra column's value of named contents (empty
// contents are left out).
func EncodeExtra(contents map[string]string) string {
	names := make([]string, 0, len(contents))
	for n, c := range contents {
		if c != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(contents[n])
	}
	return b.String()
}

// DecodeExtra reads the extra column's named contents.
func DecodeExtra(s string) map[string]string {
	out := map[string]string{}
	for f := range strings.FieldsSeq(s) {
		if n, c, ok := strings.Cut(f, "="); ok {
			out[n] = c
		}
	}
	return out
}

// ExtraContents lists the extra column's contents, for reachability.
func ExtraContents(s string) []string {
	var out []string
	for f := range strings.FieldsSeq(s) {
		if _, c, ok := strings.Cut(f, "="); ok && c != "" {
			out = append(out, c)
		}
	}
	return out
}
