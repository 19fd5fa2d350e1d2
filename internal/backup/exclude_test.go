package backup

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExclusions(t *testing.T) {
	e := Exclusions{Extensions: []string{".tmp", ".iso"}, Folders: []string{"/Temp", "node_modules", "/Projects/Old"}}
	for p, want := range map[string]bool{
		"a.tmp":                       true,
		"Docs/A.TMP":                  true,
		"Docs/a.txt":                  false,
		"Temp/a.txt":                  true,
		"Docs/Temp/a.txt":             false, // "/Temp" is from the root
		"src/node_modules/x/index.js": true,
		"Projects/Old/plan.docx":      true,
		"Projects/Older/plan.docx":    false,
		"Projects/old/sub/plan.docx":  true,
		"tmp.txt":                     false,
	} {
		assert.Equal(t, want, e.Match(p, false), p)
	}
	assert.True(t, e.Match("Temp", true), "the folder itself")
	assert.False(t, Exclusions{}.Match("a.tmp", false))
}

func TestFolderTreePaths(t *testing.T) {
	tr := &folderTree{root: "r", folders: map[string]folderNode{"d": {"Docs", "r"}, "s": {"Sub", "d"}}}
	p, ok := tr.pathOf("s", "a.txt")
	assert.True(t, ok)
	assert.Equal(t, "Docs/Sub/a.txt", p)
	_, ok = tr.pathOf("unknown", "a.txt")
	assert.False(t, ok)
}
