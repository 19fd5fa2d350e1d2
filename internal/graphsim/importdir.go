package graphsim

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// --import DIR: DIR/<user-email>/onedrive/<any tree> becomes that user's drive (the user is
// created if the tenant does not have it); mail, calendar and contacts are in
// import_exchange.go. Files are served from where they lie; a directory
// holding a .onetoc2 file becomes a OneNote notebook. Names OneDrive would refuse get their
// invalid characters replaced by '_'.

type importedUser struct {
	email    string
	root     string // DIR/<email>/onedrive, or "" when there is none
	mail     string // DIR/<email>/mail, or ""
	calendar string // DIR/<email>/calendar, or ""
	contacts string // DIR/<email>/contacts, or ""
}

func (im importedUser) hasExchange() bool {
	return im.mail != "" || im.calendar != "" || im.contacts != ""
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func scanImportDir(dir string) ([]importedUser, error) {
	if dir == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []importedUser
	for _, e := range ents {
		if !e.IsDir() || !strings.Contains(e.Name(), "@") {
			continue
		}
		im := importedUser{email: e.Name()}
		for _, x := range []struct {
			sub string
			p   *string
		}{{"onedrive", &im.root}, {"mail", &im.mail}, {"calendar", &im.calendar}, {"contacts", &im.contacts}} {
			if p := filepath.Join(dir, e.Name(), x.sub); isDir(p) {
				*x.p = p
			}
		}
		if im.root != "" || im.hasExchange() {
			out = append(out, im)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].email < out[j].email })
	return out, nil
}

func sanitizeName(n string) string {
	n = strings.Map(func(r rune) rune {
		if strings.ContainsRune("\"*:<>?/\\|", r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(n))
	if n == "" || n == "." || n == ".." {
		return "_"
	}
	return n
}

// importUser builds a drive from an import tree; caller holds the write lock.
func (t *tenant) importUser(im importedUser, now uint32) error {
	u := t.userByKey(im.email)
	if u == nil {
		local, _, _ := strings.Cut(im.email, "@")
		parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
		given, surname := titleCase(local), ""
		if len(parts) >= 2 {
			given, surname = titleCase(parts[0]), titleCase(strings.Join(parts[1:], " "))
		}
		r := rand.New(rand.NewPCG(uint64(t.seed), uint64(len(t.users))))
		u = t.addSeededUser(given, surname, strings.ToLower(im.email), r, now)
	}
	d := u.drive
	if im.root == "" || d == nil {
		return nil
	}
	dirs := map[string]int32{im.root: 0}
	defer d.checkpoint(now)
	return filepath.WalkDir(im.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == im.root {
			return err
		}
		parent, ok := dirs[filepath.Dir(p)]
		if !ok {
			return nil // below a skipped entry
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		mod := unixSec(info.ModTime())
		name := d.uniqueName(parent, sanitizeName(e.Name()), e.IsDir())
		switch {
		case e.IsDir():
			kind := kindFolder
			if hasNotebookTOC(p) {
				kind = kindNotebook
			}
			idx, it := d.create(parent, name, kind, mod)
			it.modified = mod
			dirs[p] = idx
		case info.Mode().IsRegular():
			_, it := d.create(parent, name, kindFile, mod)
			it.blob = t.blobs.addExternal(p, info.Size())
			it.size = info.Size()
		}
		return nil
	})
}

func hasNotebookTOC(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.onetoc2"))
	return len(m) > 0
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
