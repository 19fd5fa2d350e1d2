package tree

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
)

func item(id, parent, name, kind string) catalog.ItemVersion {
	return catalog.ItemVersion{ItemID: id, ParentID: parent, Name: name, Kind: kind}
}

func paths(nodes []*Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Path)
	}
	return out
}

func TestBuildAndSelect(t *testing.T) {
	tr := Build([]catalog.ItemVersion{
		item("r", "", "", "root"),
		item("docs", "r", "Documents", "folder"),
		item("a", "docs", "a.txt", "file"),
		item("sub", "docs", "Sub", "folder"),
		item("b", "sub", "b.txt", "file"),
		item("empty", "r", "Empty", "folder"),
		item("nb", "r", "Notebook", "package"),
		item("sec", "nb", "Section.one", "file"),
		item("lost", "gone-folder", "orphan.txt", "file"),
	})
	assert.Equal(t, 1, tr.Orphans)

	all, err := tr.Select(nil, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"Documents", "Documents/Sub", "Documents/Sub/b.txt", "Documents/a.txt",
		"Empty", "Notebook", "Notebook/Section.one"}, paths(all))

	sel, err := tr.Select([]string{"/documents/sub"}, []string{"a", "b"})
	require.NoError(t, err)
	assert.Equal(t, []string{"Documents/Sub", "Documents/Sub/b.txt", "Documents/a.txt"}, paths(sel))

	_, err = tr.Select([]string{"/nope"}, nil)
	assert.ErrorContains(t, err, `"/nope"`)
	_, err = tr.Select(nil, []string{"zzz"})
	assert.ErrorContains(t, err, `"zzz"`)
}

func TestParentCycleIsOrphaned(t *testing.T) {
	tr := Build([]catalog.ItemVersion{item("r", "", "", "root"), item("x", "y", "x", "folder"), item("y", "x", "y", "folder")})
	assert.Equal(t, 2, tr.Orphans)
}
