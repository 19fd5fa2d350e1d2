package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/drives"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/holdfast/holdfast/internal/graphapi"
)

const downloadURLKey = "@microsoft.graph.downloadUrl"

// UserDrive implements graphapi.Drives.
func (c *Client) UserDrive(ctx context.Context, userID string) (graphapi.Drive, error) {
	d, err := c.sdk.Users().ByUserId(userID).Drive().Get(ctx, nil)
	if err != nil {
		return graphapi.Drive{}, graphErr(err, "get the OneDrive of user %s", userID)
	}
	return graphapi.Drive{ID: deref(d.GetId()), Name: deref(d.GetName()), DriveType: deref(d.GetDriveType()), RootID: "root"}, nil
}

// DriveDelta implements graphapi.Drives.
func (c *Client) DriveDelta(ctx context.Context, driveID, link string) (graphapi.DeltaPage[graphapi.DriveItem], error) {
	req, err := c.sdk.Drives().ByDriveId(driveID).Items().ByDriveItemId("root").Delta().ToGetRequestInformation(ctx, nil)
	if err != nil {
		return graphapi.DeltaPage[graphapi.DriveItem]{}, err
	}
	first, err := req.GetUri()
	if err != nil {
		return graphapi.DeltaPage[graphapi.DriveItem]{}, err
	}
	return deltaPage(ctx, c, link, first.String(), "delta of drive "+driveID, (*jsonItem).item)
}

// DriveItem implements graphapi.Drives.
func (c *Client) DriveItem(ctx context.Context, driveID, itemID string) (graphapi.DriveItem, error) {
	it, err := c.sdk.Drives().ByDriveId(driveID).Items().ByDriveItemId(itemID).Get(ctx, nil)
	if err != nil {
		return graphapi.DriveItem{}, graphErr(err, "get item %s of drive %s", itemID, driveID)
	}
	return driveItem(it), nil
}

// ItemByPath implements graphapi.Drives.
func (c *Client) ItemByPath(ctx context.Context, driveID, path string) (graphapi.DriveItem, error) {
	path = strings.Trim(path, "/")
	id := "root"
	if path != "" {
		id = "root:/" + path + ":"
	}
	it, err := c.sdk.Drives().ByDriveId(driveID).Items().ByDriveItemId(id).Get(ctx, nil)
	if err != nil {
		return graphapi.DriveItem{}, graphErr(err, "get %q in drive %s", path, driveID)
	}
	return driveItem(it), nil
}

// Children implements graphapi.Drives.
func (c *Client) Children(ctx context.Context, driveID, itemID string) ([]graphapi.DriveItem, error) {
	children := c.sdk.Drives().ByDriveId(driveID).Items().ByDriveItemId(itemID).Children()
	resp, err := children.Get(ctx, nil)
	var out []graphapi.DriveItem
	for {
		if err != nil {
			return nil, graphErr(err, "list children of %s in drive %s", itemID, driveID)
		}
		for _, it := range resp.GetValue() {
			out = append(out, driveItem(it))
		}
		next := deref(resp.GetOdataNextLink())
		if next == "" {
			return out, nil
		}
		resp, err = children.WithUrl(next).Get(ctx, nil)
	}
}

// CreateFolder implements graphapi.Drives.
func (c *Client) CreateFolder(ctx context.Context, driveID, parentID, name string, conflict graphapi.Conflict) (graphapi.DriveItem, error) {
	body := models.NewDriveItem()
	body.SetName(&name)
	body.SetFolder(models.NewFolder())
	body.SetAdditionalData(map[string]any{"@microsoft.graph.conflictBehavior": string(conflict)})
	it, err := c.sdk.Drives().ByDriveId(driveID).Items().ByDriveItemId(parentID).Children().Post(ctx, body, nil)
	if err != nil {
		return graphapi.DriveItem{}, graphErr(err, "create folder %q in drive %s", name, driveID)
	}
	return driveItem(it), nil
}

// Download implements graphapi.Drives: through the item's pre-authenticated
// download URL while it is valid, else through /content (which redirects
// to a fresh one). The body streams; nothing is buffered whole.
func (c *Client) Download(ctx context.Context, driveID string, item graphapi.DriveItem) (io.ReadCloser, error) {
	if item.DownloadURL != "" {
		resp, err := c.send(ctx, http.MethodGet, item.DownloadURL, nil, nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			return resp.Body, nil
		}
		if err == nil {
			drain(resp)
		}
		var throttled *graphapi.ThrottledError
		if errors.As(err, &throttled) || ctx.Err() != nil {
			return nil, err
		}
		// Expired or refused: fall back to /content.
	}
	u := fmt.Sprintf("%s/drives/%s/items/%s/content", c.base, url.PathEscape(driveID), url.PathEscape(item.ID))
	resp, err := c.send(ctx, http.MethodGet, u, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("download item %s of drive %s: %w", item.ID, driveID, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download item %s of drive %s: %w", item.ID, driveID, readError(resp))
	}
	return resp.Body, nil
}

// Upload implements graphapi.Drives: a simple PUT for small files, an
// upload session in fragments for the rest.
func (c *Client) Upload(ctx context.Context, driveID, parentID, name string, size int64, r io.Reader, conflict graphapi.Conflict) (graphapi.DriveItem, error) {
	if size <= simpleUploadMax {
		data, err := io.ReadAll(io.LimitReader(r, size+1))
		if err != nil {
			return graphapi.DriveItem{}, err
		}
		if int64(len(data)) != size {
			return graphapi.DriveItem{}, fmt.Errorf("upload %q: content is %d bytes, expected %d", name, len(data), size)
		}
		u := fmt.Sprintf("%s/drives/%s/items/%s:/%s:/content?%s", c.base, url.PathEscape(driveID), url.PathEscape(parentID),
			url.PathEscape(name), url.Values{"@microsoft.graph.conflictBehavior": {string(conflict)}}.Encode())
		resp, err := c.send(ctx, http.MethodPut, u, data, http.Header{"Content-Type": {"application/octet-stream"}})
		if err != nil {
			return graphapi.DriveItem{}, fmt.Errorf("upload %q: %w", name, err)
		}
		return decodeItem(resp, "upload %q", name)
	}
	return c.uploadSession(ctx, driveID, parentID, name, size, r, conflict)
}

func (c *Client) uploadSession(ctx context.Context, driveID, parentID, name string, size int64, r io.Reader, conflict graphapi.Conflict) (graphapi.DriveItem, error) {
	props := models.NewDriveItemUploadableProperties()
	props.SetAdditionalData(map[string]any{"@microsoft.graph.conflictBehavior": string(conflict)})
	req := drives.NewItemItemsItemCreateUploadSessionPostRequestBody()
	req.SetItem(props)
	sess, err := c.sdk.Drives().ByDriveId(driveID).Items().ByDriveItemId(parentID+":/"+name+":").CreateUploadSession().Post(ctx, req, nil)
	if err != nil {
		return graphapi.DriveItem{}, graphErr(err, "start uploading %q to drive %s", name, driveID)
	}
	uploadURL := deref(sess.GetUploadUrl())
	done := false
	defer func() {
		if !done { // release the session's reserved space
			if resp, err := c.send(context.WithoutCancel(ctx), http.MethodDelete, uploadURL, nil, nil); err == nil {
				drain(resp)
			}
		}
	}()
	buf := make([]byte, uploadFragmentSize)
	var offset int64
	for offset < size {
		n, err := io.ReadFull(r, buf[:min(int64(len(buf)), size-offset)])
		if err != nil {
			return graphapi.DriveItem{}, fmt.Errorf("upload %q: reading content at %d: %w", name, offset, err)
		}
		hdr := http.Header{"Content-Range": {fmt.Sprintf("bytes %d-%d/%d", offset, offset+int64(n)-1, size)}}
		resp, err := c.send(ctx, http.MethodPut, uploadURL, buf[:n], hdr)
		if err != nil {
			return graphapi.DriveItem{}, fmt.Errorf("upload %q: %w", name, err)
		}
		switch resp.StatusCode {
		case http.StatusAccepted:
			drain(resp)
			offset += int64(n)
		case http.StatusOK, http.StatusCreated:
			done = true
			return decodeItem(resp, "upload %q", name)
		case http.StatusRequestedRangeNotSatisfiable:
			// A retried fragment had arrived after all: ask where to go on.
			drain(resp)
			next, err := c.nextExpected(ctx, uploadURL)
			if err != nil {
				return graphapi.DriveItem{}, fmt.Errorf("upload %q: %w", name, err)
			}
			if next != offset+int64(n) {
				return graphapi.DriveItem{}, fmt.Errorf("upload %q: the service expects byte %d, we are at %d", name, next, offset)
			}
			offset = next
		default:
			return graphapi.DriveItem{}, fmt.Errorf("upload %q: %w", name, readError(resp))
		}
	}
	return graphapi.DriveItem{}, fmt.Errorf("upload %q: the service did not complete the upload", name)
}

// nextExpected asks an upload session which byte it expects next.
func (c *Client) nextExpected(ctx context.Context, uploadURL string) (int64, error) {
	resp, err := c.send(ctx, http.MethodGet, uploadURL, nil, nil)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, readError(resp)
	}
	return nextExpectedStart(resp)
}

// send issues a raw request through the pipeline; body, if any, is
// replayable for retries.
func (c *Client) send(ctx context.Context, method, u string, body []byte, hdr http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	return c.http.Do(req)
}

// readError reads a Graph error body into a *graphapi.Error.
func readError(resp *http.Response) error {
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Code string `json:"code"`
			} `json:"innerError"`
		} `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	return &graphapi.Error{Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message, Inner: body.Error.InnerError.Code}
}

// jsonItem is the part of a driveItem Holdfast reads from raw responses.
type jsonItem struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	Size                 int64     `json:"size"`
	ETag                 string    `json:"eTag"`
	CTag                 string    `json:"cTag"`
	CreatedDateTime      time.Time `json:"createdDateTime"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime"`
	ParentReference      struct {
		ID string `json:"id"`
	} `json:"parentReference"`
	File *struct {
		MimeType string `json:"mimeType"`
		Hashes   struct {
			QuickXorHash string `json:"quickXorHash"`
			SHA256Hash   string `json:"sha256Hash"`
		} `json:"hashes"`
	} `json:"file"`
	Folder  *struct{} `json:"folder"`
	Package *struct {
		Type string `json:"type"`
	} `json:"package"`
	Root        *struct{} `json:"root"`
	Deleted     *struct{} `json:"deleted"`
	DownloadURL string    `json:"@microsoft.graph.downloadUrl"`
}

func (j *jsonItem) item() graphapi.DriveItem {
	it := graphapi.DriveItem{ID: j.ID, Name: j.Name, Size: j.Size, ETag: j.ETag, CTag: j.CTag, ParentID: j.ParentReference.ID,
		Created: j.CreatedDateTime.UTC(), Modified: j.LastModifiedDateTime.UTC(), Kind: graphapi.KindFile, DownloadURL: j.DownloadURL}
	switch {
	case j.Deleted != nil:
		it.Deleted = true
	case j.Root != nil:
		it.Kind = graphapi.KindRoot
	case j.Package != nil:
		it.Kind, it.PackageType = graphapi.KindPackage, j.Package.Type
	case j.Folder != nil:
		it.Kind = graphapi.KindFolder
	case j.File != nil:
		it.MimeType, it.QuickXorHash, it.SHA256Hash = j.File.MimeType, j.File.Hashes.QuickXorHash, j.File.Hashes.SHA256Hash
	}
	return it
}

func decodeItem(resp *http.Response, what string, args ...any) (graphapi.DriveItem, error) {
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return graphapi.DriveItem{}, fmt.Errorf(what+": %w", append(args, readError(resp))...)
	}
	defer resp.Body.Close()
	var j jsonItem
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		return graphapi.DriveItem{}, fmt.Errorf(what+": bad driveItem JSON: %w", append(args, err)...)
	}
	return j.item(), nil
}

// driveItem converts the SDK's model.
func driveItem(m models.DriveItemable) graphapi.DriveItem {
	it := graphapi.DriveItem{ID: deref(m.GetId()), Name: deref(m.GetName()), Size: deref(m.GetSize()),
		ETag: deref(m.GetETag()), CTag: deref(m.GetCTag()), Kind: graphapi.KindFile}
	if p := m.GetParentReference(); p != nil {
		it.ParentID = deref(p.GetId())
	}
	if t := m.GetCreatedDateTime(); t != nil {
		it.Created = t.UTC()
	}
	if t := m.GetLastModifiedDateTime(); t != nil {
		it.Modified = t.UTC()
	}
	switch {
	case m.GetDeleted() != nil:
		it.Deleted = true
	case m.GetRoot() != nil:
		it.Kind = graphapi.KindRoot
	case m.GetPackageEscaped() != nil:
		it.Kind, it.PackageType = graphapi.KindPackage, deref(m.GetPackageEscaped().GetTypeEscaped())
	case m.GetFolder() != nil:
		it.Kind = graphapi.KindFolder
	case m.GetFile() != nil:
		f := m.GetFile()
		it.MimeType = deref(f.GetMimeType())
		if h := f.GetHashes(); h != nil {
			it.QuickXorHash, it.SHA256Hash = deref(h.GetQuickXorHash()), deref(h.GetSha256Hash())
		}
	}
	if u, ok := m.GetAdditionalData()[downloadURLKey].(*string); ok {
		it.DownloadURL = deref(u)
	}
	return it
}
