package graphsim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// driveItem JSON (https://learn.microsoft.com/graph/api/resources/driveitem). Rendering is two
// steps: itemSnap copies what is needed under the tenant lock; after the lock is released the
// missing hashes are computed (fillHashes) and the JSON is built.

type driveItemJSON struct {
	DownloadURL          string         `json:"@microsoft.graph.downloadUrl,omitempty"`
	CreatedDateTime      string         `json:"createdDateTime,omitempty"`
	ETag                 string         `json:"eTag,omitempty"`
	ID                   string         `json:"id"`
	LastModifiedDateTime string         `json:"lastModifiedDateTime,omitempty"`
	Name                 string         `json:"name,omitempty"`
	WebURL               string         `json:"webUrl,omitempty"`
	CTag                 string         `json:"cTag,omitempty"`
	Size                 *int64         `json:"size,omitempty"`
	CreatedBy            *identitySet   `json:"createdBy,omitempty"`
	LastModifiedBy       *identitySet   `json:"lastModifiedBy,omitempty"`
	ParentReference      *itemReference `json:"parentReference,omitempty"`
	FileSystemInfo       *fsInfo        `json:"fileSystemInfo,omitempty"`
	File                 *fileFacet     `json:"file,omitempty"`
	Folder               *folderFacet   `json:"folder,omitempty"`
	Package              *packageFacet  `json:"package,omitempty"`
	Root                 *struct{}      `json:"root,omitempty"`
	Deleted              *deletedFacet  `json:"deleted,omitempty"`
}

type identity struct {
	Email       string `json:"email,omitempty"`
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

type identitySet struct {
	Application *identity `json:"application,omitempty"`
	User        *identity `json:"user,omitempty"`
}

type itemReference struct {
	DriveType string `json:"driveType"`
	DriveID   string `json:"driveId"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Path      string `json:"path,omitempty"`
}

type fsInfo struct {
	CreatedDateTime      string `json:"createdDateTime"`
	LastModifiedDateTime string `json:"lastModifiedDateTime"`
}

type fileFacet struct {
	MimeType string       `json:"mimeType"`
	Hashes   *hashesFacet `json:"hashes,omitempty"`
}

type hashesFacet struct {
	QuickXorHash string `json:"quickXorHash"`
	SHA256Hash   string `json:"sha256Hash"`
}

type folderFacet struct {
	ChildCount int `json:"childCount"`
}

type packageFacet struct {
	Type string `json:"type"`
}

type deletedFacet struct {
	State string `json:"state"`
}

// itemSnap is an item's state copied out under the lock.
type itemSnap struct {
	d          *drive
	it         *item // only for caching hashes (atomic); never read other fields after unlock
	idx        int32
	name       string
	kind       itemKind
	deleted    bool
	size       int64
	created    uint32
	modified   uint32
	version    uint32
	parent     int32
	parentName string
	path       string // item path below root, for webUrl and parentReference.path
	childCount int
	content    uint64
	blob       int32
	hashes     *fileHashes
	byApp      bool
}

type renderOpts struct {
	delta    bool // delta shape: no parentReference.path/name, no cTag (OneDrive for Business)
	withPath bool // compute paths (GET item, children); delta omits them
}

// snap copies item idx; caller holds the tenant read lock.
func (s *Server) snap(d *drive, idx int32, o renderOpts) itemSnap {
	it := d.item(idx)
	sn := itemSnap{d: d, it: it, idx: idx, name: it.name, kind: it.kind, deleted: it.deleted,
		size: it.size, created: it.created, modified: it.modified, version: it.version,
		parent: it.parent, content: it.content, blob: it.blob, byApp: it.byApp}
	if it.kind.container() && !it.deleted {
		sn.childCount = len(it.children)
		sn.size = d.ensureCache().sizes[idx]
	}
	if it.kind == kindFile && !it.deleted {
		sn.hashes = it.hashes.Load()
	}
	if o.withPath && !it.deleted {
		sn.path = d.path(idx)
		if it.parent >= 0 {
			sn.parentName = d.item(it.parent).name
		}
	}
	return sn
}

// fillHashes computes hashes that are not cached yet (outside the lock).
func (s *Server) fillHashes(snaps []itemSnap) {
	for i := range snaps {
		sn := &snaps[i]
		if sn.kind != kindFile || sn.deleted {
			continue
		}
		if sn.blob >= 0 {
			if h, err := s.t.blobs.get(sn.blob).hashesOf(); err == nil {
				sn.hashes = h
			}
			continue
		}
		if sn.hashes != nil && sn.hashes.key == sn.content {
			continue
		}
		h := hashGenerated(sn.content, sn.size)
		sn.hashes = h
		sn.it.hashes.Store(h) // readers check key, so a racing update is harmless
	}
}

func isoTime(s uint32) string { return fromUnix(s).Format(time.RFC3339) }

func (s *Server) render(base string, sn *itemSnap, o renderOpts, now time.Time) *driveItemJSON {
	d := sn.d
	id := s.t.itemID(d, sn.idx)
	ref := &itemReference{DriveType: "business", DriveID: d.id}
	if sn.parent >= 0 {
		ref.ID = s.t.itemID(d, sn.parent)
		if !o.delta && sn.parentName != "" {
			if sn.parent != 0 {
				ref.Name = sn.parentName
			} else {
				ref.Name = "root"
			}
			ref.Path = "/drive/root:" + parentPath(sn.path)
		}
	}
	if sn.deleted {
		return &driveItemJSON{ID: id, ParentReference: ref, Deleted: &deletedFacet{State: "deleted"}}
	}
	guid := s.t.ids.etagGUID(d.no, sn.idx)
	size := sn.size
	j := &driveItemJSON{
		CreatedDateTime:      isoTime(sn.created),
		ETag:                 `"{` + guid + `},` + strconv.Itoa(int(sn.version)) + `"`,
		ID:                   id,
		LastModifiedDateTime: isoTime(sn.modified),
		Name:                 sn.name,
		Size:                 &size,
		ParentReference:      ref,
		FileSystemInfo:       &fsInfo{CreatedDateTime: isoTime(sn.created), LastModifiedDateTime: isoTime(sn.modified)},
	}
	if o.withPath {
		j.WebURL = s.webURL(d, sn.path)
	}
	owner := &identitySet{User: &identity{Email: d.owner.mail, ID: d.owner.id, DisplayName: d.owner.displayName}}
	j.CreatedBy, j.LastModifiedBy = owner, owner
	if sn.byApp {
		j.LastModifiedBy = &identitySet{Application: &identity{ID: s.app.clientID, DisplayName: s.app.displayName},
			User: &identity{DisplayName: "SharePoint App"}}
	}
	switch sn.kind {
	case kindRoot:
		j.Name = "root"
		j.Root = &struct{}{}
		j.Folder = &folderFacet{ChildCount: sn.childCount}
		j.ParentReference = &itemReference{DriveType: "business", DriveID: d.id}
	case kindFolder:
		j.Folder = &folderFacet{ChildCount: sn.childCount}
	case kindNotebook:
		j.Package = &packageFacet{Type: "oneNote"}
	case kindFile:
		if !o.delta {
			j.CTag = `"c:{` + guid + `},` + strconv.Itoa(int(sn.version)) + `"`
		}
		f := &fileFacet{MimeType: mimeType(sn.name)}
		if h := sn.hashes; h != nil {
			f.Hashes = &hashesFacet{
				QuickXorHash: base64.StdEncoding.EncodeToString(h.quickXor[:]),
				SHA256Hash:   strings.ToUpper(hex.EncodeToString(h.sha256[:])),
			}
		}
		j.File = f
		j.DownloadURL = s.downloadURL(base, d.no, sn.idx, now)
	}
	return j
}

func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return ""
}

func (s *Server) webURL(d *drive, p string) string {
	site := strings.NewReplacer(".", "_", "@", "_", "'", "_").Replace(strings.ToLower(d.owner.upn))
	u := "https://" + strings.Split(s.t.domain, ".")[0] + "-my.sharepoint.com/personal/" + site + "/Documents"
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg != "" {
			u += "/" + url.PathEscape(seg)
		}
	}
	return u
}

// downloadURL is the pre-authenticated, short-lived content URL (valid one hour).
func (s *Server) downloadURL(base string, drive, idx int32, now time.Time) string {
	var p [12]byte
	binary.BigEndian.PutUint32(p[0:], uint32(drive))
	binary.BigEndian.PutUint32(p[4:], uint32(idx))
	binary.BigEndian.PutUint32(p[8:], uint32(now.Add(downloadURLLifetime).Unix()))
	tok := append(p[:], s.sign(p[:])...)
	return base + "/_dl/" + base64.RawURLEncoding.EncodeToString(tok)
}

const downloadURLLifetime = time.Hour

// selectFields applies $select to a rendered entity. Annotations such as
// @microsoft.graph.downloadUrl are only kept when selected by name, as on the real service.
func selectFields(v any, sel []string) any {
	if len(sel) == 0 {
		return v
	}
	b, _ := json.Marshal(v)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	out := make(map[string]json.RawMessage, len(sel))
	for k, raw := range m {
		for _, f := range sel {
			if strings.EqualFold(k, f) {
				out[k] = raw
			}
		}
	}
	return out
}

// parseSelect reads $select (also "select" without the dollar, which Graph tolerates).
func parseSelect(r *http.Request) []string {
	q := r.URL.Query()
	raw := q.Get("$select")
	if raw == "" {
		raw = q.Get("select")
	}
	if raw == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(raw, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
