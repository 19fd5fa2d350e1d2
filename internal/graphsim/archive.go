package graphsim

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// The mailbox import/export API (https://learn.microsoft.com/graph/api/resources/mailbox,
// mailboxfolder, mailboxitem, mailbox-exportitems, mailbox-createimportsession,
// /graph/import-exchange-mailbox-item) — the only way to reach an In-Place Archive:
//
//	GET  /admin/exchange/mailboxes/{mailboxId}/folders                 folders below the top of
//	     the mailbox ($top default 10, $skip; well-known names work as IDs)
//	GET  …/folders/{id}, …/folders/{id}/childFolders, …/folders/{id}/items[/{id}]
//	POST …/exportItems {"itemIds":[…]} (at most 20) → [{itemId, changeKey, data}] or, per item,
//	     {itemId, error:{code,message}}
//	POST …/createImportSession → 201 {importUrl, expirationDateTime}; POST to importUrl
//	     (pre-authenticated: no Authorization header) {FolderId, Mode: create|update, Data,
//	     ItemId, ChangeKey} → {itemId, changeKey}
//	POST …/folders, …/folders/{id}/childFolders {displayName, type} → 201 mailboxFolder
//	     (MailboxFolder.ReadWrite.All; https://learn.microsoft.com/graph/api/mailbox-post-folders;
//	     mail folders, type IPF.Note, only; a taken name is 409 ErrorFolderExists)
//
// {mailboxId} is a primaryMailboxId or archiveMailboxId from /users/{id}/settings/exchange.
// The service's export data is an opaque FastTransfer stream; the simulator's is the base64 of a
// property line and the item's MIME (see exportHeader; opaque to clients all the same: import
// takes back exactly what export gave, properties included).
// Folder and item IDs of this API are its own (shorter than Graph's REST IDs). Only mail
// folders are listed. Requests count against the addressed mailbox's Outlook limits.

const maxExportItems = 20

type ieReq struct {
	mb   *mailbox
	segs []string // after mailboxes/{id}
}

func (s *Server) routeAdminExchange(r *http.Request, rest string) (*route, *apiError) {
	segs := splitSegs(rest)
	if len(segs) < 3 || lower(segs[0]) != "exchange" || lower(segs[1]) != "mailboxes" {
		if len(segs) == 0 {
			return nil, segmentNotFound("admin")
		}
		return nil, segmentNotFound(segs[len(segs)-1])
	}
	s.t.mu.RLock()
	mb := s.t.mailboxesByID[strings.ToLower(segs[2])]
	s.t.mu.RUnlock()
	if mb == nil {
		return nil, newAPIError(http.StatusNotFound, "ErrorMailboxNotFound", "The mailbox '"+segs[2]+"' was not found.")
	}
	q := &ieReq{mb: mb, segs: segs[3:]}
	mk := func(perm permKind, f func(http.ResponseWriter, *http.Request, *reqCtx, *ieReq)) (*route, *apiError) {
		return &route{class: "archive", perm: perm, mbx: mb, serve: func(w http.ResponseWriter, r *http.Request, rc *reqCtx) { f(w, r, rc, q) }}, nil
	}
	m, sg := r.Method, q.segs
	n := len(sg)
	switch {
	case n == 0 && m == http.MethodGet:
		return mk(permImportExportRead, s.serveIEMailbox)
	case n == 1 && lower(sg[0]) == "folders" && m == http.MethodGet:
		return mk(permImportExportRead, s.serveIEFolders)
	case n == 2 && lower(sg[0]) == "folders" && m == http.MethodGet:
		return mk(permImportExportRead, s.serveIEFolder)
	case n == 3 && lower(sg[0]) == "folders" && lower(sg[2]) == "childfolders" && m == http.MethodGet:
		return mk(permImportExportRead, s.serveIEFolders)
	case n == 3 && lower(sg[0]) == "folders" && lower(sg[2]) == "items" && m == http.MethodGet:
		return mk(permImportExportRead, s.serveIEItems)
	case n == 4 && lower(sg[0]) == "folders" && lower(sg[2]) == "items" && m == http.MethodGet:
		return mk(permImportExportRead, s.serveIEItem)
	case n == 1 && lower(sg[0]) == "folders" && m == http.MethodPost,
		n == 3 && lower(sg[0]) == "folders" && lower(sg[2]) == "childfolders" && m == http.MethodPost:
		return mk(permImportExportFolderWrite, s.serveIEFolderCreate)
	case n == 1 && fn(sg[0], "exportItems") && m == http.MethodPost:
		return mk(permImportExport, s.serveExportItems)
	case n == 1 && fn(sg[0], "createImportSession") && m == http.MethodPost:
		return mk(permImportExport, s.serveCreateImportSession)
	}
	if n > 0 {
		return nil, segmentNotFound(sg[n-1])
	}
	return nil, methodNotAllowed()
}

func (s *Server) ieFolderID(mb *mailbox, f int32) string {
	return s.t.ids.ieID(oid{mbx: mb.no, kind: oidFolder, a: uint32(f)})
}

func (s *Server) ieItemID(mb *mailbox, i int32) string {
	return s.t.ids.ieID(oid{mbx: mb.no, kind: oidMessage, a: uint32(i)})
}

func (s *Server) resolveIEFolder(mb *mailbox, key string) (int32, *apiError) {
	if f, ok := mb.wellKnown(key); ok && f != fRoot {
		return f, nil
	}
	o, ok := s.t.ids.parseIEID(key)
	return liveIndex(o, ok, mb, oidFolder, mb.liveFolder)
}

func (s *Server) resolveIEItem(mb *mailbox, key string) (int32, *apiError) {
	o, ok := s.t.ids.parseIEID(key)
	return liveIndex(o, ok, mb, oidMessage, mb.liveMsg)
}

func (s *Server) mailboxURL(r *http.Request, mb *mailbox) string {
	return requestBase(r) + "/v1.0/admin/exchange/mailboxes/" + mb.id
}

func (s *Server) ieFolderJSON(r *http.Request, mb *mailbox, f int32) map[string]any {
	fo := mb.folders[f]
	var wk any
	if fo.wellKnown != "" {
		wk = fo.wellKnown
	}
	parent := ""
	if fo.parent >= 0 {
		parent = s.ieFolderID(mb, fo.parent)
	}
	return map[string]any{
		"@odata.type":      "#microsoft.graph.mailboxFolder",
		"id":               s.ieFolderID(mb, f),
		"displayName":      fo.name,
		"parentFolderId":   parent,
		"parentMailboxUrl": s.mailboxURL(r, mb),
		"childFolderCount": len(fo.children),
		"totalItemCount":   len(fo.msgs),
		"wellKnownName":    wk,
		"type":             "IPF.Note",
	}
}

func (s *Server) serveIEMailbox(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *ieReq) {
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": requestBase(r) + "/v1.0/$metadata#admin/exchange/mailboxes/$entity",
		"@odata.type":    "#microsoft.graph.mailbox",
		"id":             q.mb.id,
	})
}

func (s *Server) serveIEFolders(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *ieReq) {
	top, skip, e := pageParams(r, mailDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.RLock()
	parent := fTop
	if len(q.segs) == 3 {
		parent, e = s.resolveIEFolder(mb, q.segs[1])
	}
	var vals []any
	n := 0
	if e == nil {
		kids := mb.folders[parent].children
		n = len(kids)
		for _, c := range kids[min(skip, n):min(n, skip+top)] {
			vals = append(vals, projectOutlook(s.ieFolderJSON(r, mb, c), parseSelect(r)))
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	next := ""
	if skip+top < n {
		next = nextSkipLink(r, skip+top)
	}
	writeCollection(w, requestBase(r)+"/v1.0/$metadata#admin/exchange/mailboxes/"+mb.id+"/folders", vals, next)
}

func (s *Server) serveIEFolder(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *ieReq) {
	s.t.mu.RLock()
	f, e := s.resolveIEFolder(q.mb, q.segs[1])
	var j map[string]any
	if e == nil {
		j = projectOutlook(s.ieFolderJSON(r, q.mb, f), parseSelect(r))
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, requestBase(r)+"/v1.0/$metadata#admin/exchange/mailboxes/"+q.mb.id+"/folders/$entity", j)
}

// serveIEFolderCreate creates a mail folder at the top of the mailbox or below a folder.
func (s *Server) serveIEFolderCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *ieReq) {
	var body struct {
		DisplayName string `json:"displayName"`
		Type        string `json:"type"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	switch {
	case !validFolderName(body.DisplayName):
		writeAPIError(w, rc, errInvalidRequest("The folder display name is missing or invalid."))
		return
	case body.Type == "":
		writeAPIError(w, rc, errInvalidRequest("The folder type is required."))
		return
	case !strings.EqualFold(body.Type, "IPF.Note") && !strings.HasPrefix(strings.ToUpper(body.Type), "IPF.NOTE."):
		writeAPIError(w, rc, errInvalidRequest("Only mail folders (IPF.Note) can be created in this simulator."))
		return
	}
	mb := q.mb
	s.t.mu.Lock()
	parent := fTop
	var e *apiError
	if len(q.segs) == 3 {
		parent, e = s.resolveIEFolder(mb, q.segs[1])
	}
	var j map[string]any
	if e == nil {
		if _, taken := mb.childFolder(parent, body.DisplayName); taken {
			e = errFolderExists()
		} else {
			j = s.ieFolderJSON(r, mb, mb.addFolder(parent, body.DisplayName, "", false, unixSec(rc.now)))
		}
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusCreated, requestBase(r)+"/v1.0/$metadata#admin/exchange/mailboxes('"+url.PathEscape(mb.id)+"')/folders/$entity", j)
}

// ieItemJSON renders a mailboxItem; size is that of the exported data's MIME.
func (s *Server) ieItemJSON(sn *msgSnap, c *msgContent) map[string]any {
	mb := sn.mb
	ck := s.t.ids.changeKey(oid{mbx: mb.no, kind: oidMessage, a: uint32(sn.idx)}, sn.m.seq)
	var size int64
	if b, err := s.t.mimeBytes(c); err == nil {
		size = int64(len(b))
	}
	cats := sn.cats
	if cats == nil {
		cats = []string{}
	}
	return map[string]any{
		"@odata.type":          "#microsoft.graph.mailboxItem",
		"@odata.etag":          etagOf(ck),
		"id":                   s.ieItemID(mb, sn.idx),
		"createdDateTime":      isoTime(sn.m.created),
		"lastModifiedDateTime": isoTime(sn.m.modified),
		"changeKey":            ck,
		"categories":           cats,
		"type":                 c.class,
		"size":                 size,
	}
}

func (s *Server) serveIEItems(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *ieReq) {
	top, skip, e := pageParams(r, mailDefaultPage)
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	mb := q.mb
	s.t.mu.RLock()
	f, e := s.resolveIEFolder(mb, q.segs[1])
	var snaps []msgSnap
	n := 0
	if e == nil {
		list := mb.folders[f].msgs
		n = len(list)
		for _, i := range list[min(skip, n):min(n, skip+top)] {
			snaps = append(snaps, s.snapMsg(mb, i))
		}
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	vals := make([]any, len(snaps))
	for i := range snaps {
		vals[i] = projectOutlook(s.ieItemJSON(&snaps[i], s.content(&snaps[i])), parseSelect(r))
	}
	next := ""
	if skip+top < n {
		next = nextSkipLink(r, skip+top)
	}
	writeCollection(w, requestBase(r)+"/v1.0/$metadata#admin/exchange/mailboxes/"+mb.id+"/folders('"+q.segs[1]+"')/items", vals, next)
}

func (s *Server) serveIEItem(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *ieReq) {
	s.t.mu.RLock()
	i, e := s.resolveIEItem(q.mb, q.segs[3])
	var sn msgSnap
	if e == nil {
		sn = s.snapMsg(q.mb, i)
	}
	s.t.mu.RUnlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeEntity(w, http.StatusOK, requestBase(r)+"/v1.0/$metadata#admin/exchange/mailboxes/"+q.mb.id+"/folders('"+q.segs[1]+"')/items/$entity",
		projectOutlook(s.ieItemJSON(&sn, s.content(&sn)), parseSelect(r)))
}

func (s *Server) serveExportItems(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *ieReq) {
	var body struct {
		ItemIDs []string `json:"itemIds"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	switch {
	case len(body.ItemIDs) == 0:
		writeAPIError(w, rc, errInvalidRequest("itemIds is required."))
		return
	case len(body.ItemIDs) > maxExportItems:
		writeAPIError(w, rc, errInvalidRequest(fmt.Sprintf("At most %d items can be exported in one request.", maxExportItems)))
		return
	}
	mb := q.mb
	type one struct {
		id   string
		sn   msgSnap
		fail *apiError
	}
	items := make([]one, len(body.ItemIDs))
	s.t.mu.RLock()
	for k, id := range body.ItemIDs {
		items[k].id = id
		i, e := s.resolveIEItem(mb, id)
		if e != nil {
			items[k].fail = e
			continue
		}
		items[k].sn = s.snapMsg(mb, i)
	}
	s.t.mu.RUnlock()
	vals := make([]any, 0, len(items))
	for k := range items {
		it := &items[k]
		if it.fail != nil {
			vals = append(vals, map[string]any{"itemId": it.id, "error": map[string]any{"code": it.fail.code, "message": it.fail.message}})
			continue
		}
		b, err := s.t.mimeBytes(s.content(&it.sn))
		if err != nil {
			vals = append(vals, map[string]any{"itemId": it.id, "error": map[string]any{"code": "ErrorInternalServerError", "message": err.Error()}})
			continue
		}
		vals = append(vals, map[string]any{
			"itemId":    it.id,
			"changeKey": s.t.ids.changeKey(oid{mbx: mb.no, kind: oidMessage, a: uint32(it.sn.idx)}, it.sn.m.seq),
			"data":      base64.StdEncoding.EncodeToString(append(exportHeader(&it.sn), b...)),
		})
	}
	writeCollection(w, requestBase(r)+"/v1.0/$metadata#Collection(microsoft.graph.exportItemResponse)", vals, "")
}

func (s *Server) serveCreateImportSession(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *ieReq) {
	us := &outlookSession{id: newSessionID(), import_: true, mbx: q.mb.no, expires: rc.now.Add(importSessionLife)}
	s.ouploads.add(us)
	base := requestBase(r)
	writeJSON(w, http.StatusCreated, map[string]any{
		"@odata.context":     base + "/v1.0/$metadata#microsoft.graph.mailboxItemImportSession",
		"importUrl":          base + "/api/gv1.0/Mailboxes('" + url.PathEscape(q.mb.id) + "')/importItem?authtoken=" + s.authToken(us.id, us.expires),
		"expirationDateTime": us.expires.UTC().Format(time.RFC3339Nano),
	})
}

// serveImportItem takes one item into the session's mailbox (create), or replaces one
// (update, when ItemId and ChangeKey match).
func (s *Server) serveImportItem(w http.ResponseWriter, r *http.Request, rc *reqCtx, us *outlookSession, mb *mailbox) {
	var body struct {
		FolderID  string `json:"FolderId"`
		Mode      string `json:"Mode"`
		Data      string `json:"Data"`
		ItemID    string `json:"ItemId"`
		ChangeKey string `json:"ChangeKey"`
	}
	// Data is the base64 of an item of up to the import limit (160 MiB here, as ingest below).
	if e := readJSONBodyMax(r, &body, 220<<20); e != nil {
		writeAPIError(w, rc, e)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(body.Data)
	if err != nil || len(raw) == 0 {
		writeAPIError(w, rc, errInvalidRequest("Data must be the base64 of an item from exportItems."))
		return
	}
	props, raw, hasProps := parseExportHeader(raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "ErrorInvalidItemData", "The item data could not be read: "+err.Error()))
		return
	}
	mode := strings.ToLower(body.Mode)
	if mode != "create" && mode != "update" {
		writeAPIError(w, rc, errInvalidRequest("Mode must be create or update."))
		return
	}
	if mode == "create" && (body.ItemID != "" || body.ChangeKey != "") {
		writeAPIError(w, rc, errInvalidRequest("ItemId and ChangeKey must not be given in create mode."))
		return
	}
	when := rc.now
	if d, err := mail.ParseDate(msg.Header.Get("Date")); err == nil {
		when = d
	}
	blob, err := s.t.blobs.ingest(bytes.NewReader(raw), 160<<20)
	if err != nil {
		writeAPIError(w, rc, newAPIError(http.StatusInternalServerError, "ErrorInternalServerError", err.Error()))
		return
	}
	now := unixSec(rc.now)
	s.t.mu.Lock()
	f, e := s.resolveIEFolder(mb, body.FolderID)
	var idx int32
	if e == nil {
		mb.stored = append(mb.stored, &msgContent{raw: blob, rawSize: int64(len(raw))})
		src := int32(len(mb.stored) - 1)
		switch mode {
		case "create":
			var m *message
			idx, m = mb.addMsg(f, now)
			m.src, m.flags = src, msgRead
			m.sent, m.received = unixSec(when), unixSec(when)
			if hasProps {
				m.sent, m.received, m.flags, m.flag = props.sent, props.received, props.flags, props.flag
				m.cats = mb.categorySet(props.cats)
			}
		case "update":
			if idx, e = s.resolveIEItem(mb, body.ItemID); e == nil {
				m := mb.msg(idx)
				switch {
				case m.folder != f:
					e = errItemNotFound()
				case s.t.ids.changeKey(oid{mbx: mb.no, kind: oidMessage, a: uint32(idx)}, m.seq) != body.ChangeKey:
					e = newAPIError(http.StatusConflict, "ErrorIrresolvableConflict", "The change key does not match the item's current version.")
				default:
					m.src = src
					m.version++
					mb.touchMsg(idx, now)
				}
			}
		}
	}
	var ck string
	if e == nil {
		ck = s.t.ids.changeKey(oid{mbx: mb.no, kind: oidMessage, a: uint32(idx)}, mb.msg(idx).seq)
	}
	s.t.mu.Unlock()
	if e != nil {
		writeAPIError(w, rc, e)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": requestBase(r) + "/api/gv1.0/$metadata#microsoft.graph.importMailboxItemResponse",
		"itemId":         s.ieItemID(mb, idx),
		"changeKey":      ck,
	})
}

// The service's export data is a FastTransfer stream carrying every property of the item. The
// simulator's carries the ones its messages have beyond their MIME — dates, read and draft
// state, follow-up flag — in a header line before the MIME, so that an import gives back what
// an export took, as the service's does.
const exportMagic = "GRAPHSIM-FXS/1"

func exportHeader(sn *msgSnap) []byte {
	cats := make([]string, len(sn.cats))
	for i, c := range sn.cats {
		cats[i] = url.PathEscape(c)
	}
	m := &sn.m
	return fmt.Appendf(nil, "%s sent=%d received=%d flags=%d flag=%d cats=%s\r\n", exportMagic, m.sent, m.received,
		m.flags&(msgRead|msgDraft), m.flag, strings.Join(cats, ","))
}

type exportProps struct {
	sent, received uint32
	flags, flag    uint8
	cats           []string
}

// parseExportHeader splits export data into its properties and MIME; data without the header
// (MIME from elsewhere) has none.
func parseExportHeader(data []byte) (exportProps, []byte, bool) {
	var p exportProps
	if !bytes.HasPrefix(data, []byte(exportMagic+" ")) {
		return p, data, false
	}
	line, rest, ok := bytes.Cut(data, []byte("\r\n"))
	if !ok {
		return p, data, false
	}
	var flags, flag int
	head, cats, _ := strings.Cut(string(line), " cats=")
	if _, err := fmt.Sscanf(head, exportMagic+" sent=%d received=%d flags=%d flag=%d", &p.sent, &p.received, &flags, &flag); err != nil {
		return p, data, false
	}
	for c := range strings.SplitSeq(cats, ",") {
		if name, err := url.PathUnescape(c); err == nil && name != "" {
			p.cats = append(p.cats, name)
		}
	}
	p.flags, p.flag = uint8(flags)&(msgRead|msgDraft), uint8(min(max(flag, 0), 2))
	return p, rest, true
}
