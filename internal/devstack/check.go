package devstack

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/holdfast/holdfast/internal/graphsim"
)

// Files maps a path (relative to a drive root) to the lowercase hex
// SHA-256 of its content.
type Files map[string]string

// Manifest returns graphsim's truth for a user's drive: files and folders.
func (s *Stack) Manifest(ctx context.Context, userID string) (Files, map[string]bool, error) {
	var entries []graphsim.ManifestEntry
	if err := s.SimAdmin(ctx, "GET", "/manifest?user="+url.QueryEscape(userID), nil, &entries); err != nil {
		return nil, nil, err
	}
	files, folders := Files{}, map[string]bool{}
	for _, e := range entries {
		p := strings.Trim(e.Path, "/")
		if e.Folder || e.Package != "" {
			folders[p] = true
		} else {
			files[p] = strings.ToLower(e.SHA256)
		}
	}
	return files, folders, nil
}

// Users lists graphsim's users.
func (s *Stack) Users(ctx context.Context) ([]graphsim.UserInfo, error) {
	var users []graphsim.UserInfo
	return users, s.SimAdmin(ctx, "GET", "/users", nil, &users)
}

// ZipFiles reads a download: the files under root/ and their SHA-256.
func ZipFiles(path, root string) (Files, map[string]bool, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, nil, err
	}
	defer zr.Close()
	files, folders := Files{}, map[string]bool{}
	for _, f := range zr.File {
		name, ok := strings.CutPrefix(f.Name, root+"/")
		if !ok {
			return nil, nil, fmt.Errorf("%s is not under %s/", f.Name, root)
		}
		if strings.HasSuffix(name, "/") {
			folders[strings.TrimSuffix(name, "/")] = true
			continue
		}
		if name == "holdfast-manifest.json" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		files[name] = hex.EncodeToString(h.Sum(nil))
	}
	return files, folders, nil
}

// Under returns the files below prefix, with the prefix removed.
func (f Files) Under(prefix string) Files {
	out := Files{}
	for p, v := range f {
		if rest, ok := strings.CutPrefix(p, prefix+"/"); ok {
			out[rest] = v
		}
	}
	return out
}

// Diff lists how got differs from want, a line per path (at most max).
func Diff(want, got Files, max int) []string {
	var out []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			out = append(out, "missing "+p)
		case g != w:
			out = append(out, "different content "+p)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			out = append(out, "unexpected "+p)
		}
	}
	sort.Strings(out)
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("… and %d more", len(out)-max))
	}
	return out
}

// Bytes sums the sizes graphsim reports for a user's drive.
func (s *Stack) Bytes(ctx context.Context, userID string) (int64, int, error) {
	var entries []graphsim.ManifestEntry
	if err := s.SimAdmin(ctx, "GET", "/manifest?user="+url.QueryEscape(userID), nil, &entries); err != nil {
		return 0, 0, err
	}
	var n int64
	files := 0
	for _, e := range entries {
		if !e.Folder && e.Package == "" {
			n += e.Size
			files++
		}
	}
	return n, files, nil
}
