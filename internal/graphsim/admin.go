package graphsim

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// The admin API under /_sim (not Graph; no token; loopback clients only) and its Go
// equivalents on *Server.
//
//	POST /_sim/mutate            MutateRequest → MutateResult
//	POST /_sim/delta/invalidate  {"drive_id":"", "code":"…"} ("" = every drive, and users/delta)
//	POST /_sim/config            {"throttle_scale":F,"fault_rate":F} (either optional)
//	POST /_sim/tokens/revoke     every access token issued so far gets 401
//	POST /_sim/consent           {"consented":bool,"roles":[…]} sets the app's grant directly
//	GET  /_sim/counters          Counters;  POST /_sim/counters/reset
//	GET  /_sim/manifest?user=X   []ManifestEntry
//	GET  /_sim/users             []UserInfo;  POST /_sim/users  AddUserRequest → UserInfo
//	GET  /_sim/manifest/mail?user=X, /_sim/manifest/events?user=X, /_sim/manifest/contacts?user=X
//	GET  /_sim/info              Info

// ManifestEntry is one item of a drive as the simulator holds it (the truth restores are
// compared with). Paths are relative to the drive root, "/"-separated; the root is omitted.
type ManifestEntry struct {
	Path         string    `json:"path"`
	ID           string    `json:"id"`
	Size         int64     `json:"size"`
	SHA256       string    `json:"sha256"`         // lowercase hex; "" for folders
	QuickXorHash string    `json:"quick_xor_hash"` // base64; "" for folders
	Folder       bool      `json:"folder"`
	Package      string    `json:"package"` // "oneNote" for notebooks
	Modified     time.Time `json:"modified"`
}

// UserInfo identifies a user, their drive and their mailboxes.
type UserInfo struct {
	ID               string `json:"id"`
	UPN              string `json:"upn"`
	Mail             string `json:"mail"`
	DisplayName      string `json:"display_name"`
	DriveID          string `json:"drive_id"`           // "" when the user has no OneDrive
	Kind             string `json:"kind"`               // mailbox kind: user | shared | room | equipment | none
	MailboxID        string `json:"mailbox_id"`         // primaryMailboxId, "" without a mailbox
	ArchiveMailboxID string `json:"archive_mailbox_id"` // the In-Place Archive's, "" without one
	Department       string `json:"department"`
}

func userInfo(u *user) UserInfo {
	ui := UserInfo{ID: u.id, UPN: u.upn, Mail: u.mail, DisplayName: u.displayName, Kind: u.kind.String(), Department: u.department}
	if u.kind == mbxNone {
		ui.Mail = ""
	}
	if u.drive != nil {
		ui.DriveID = u.drive.id
	}
	if u.mbx != nil {
		ui.MailboxID = u.mbx.id
		if u.mbx.arch != nil {
			ui.ArchiveMailboxID = u.mbx.arch.id
		}
	}
	return ui
}

// Users lists the tenant's users in directory order.
func (s *Server) Users() []UserInfo {
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	out := make([]UserInfo, 0, len(s.t.users))
	for _, u := range s.t.users {
		out = append(out, userInfo(u))
	}
	return out
}

// Manifest lists a user's drive (user = id or UPN) in pre-order, with content hashes.
func (s *Server) Manifest(userKey string) ([]ManifestEntry, error) {
	s.t.mu.RLock()
	u := s.t.userByKey(userKey)
	if u == nil {
		s.t.mu.RUnlock()
		return nil, fmt.Errorf("graphsim: unknown user %q", userKey)
	}
	d := u.drive
	if d == nil {
		s.t.mu.RUnlock()
		return nil, fmt.Errorf("graphsim: user %q has no drive", userKey)
	}
	order := d.ensureCache().order
	snaps := make([]itemSnap, 0, len(order))
	for _, idx := range order[1:] {
		snaps = append(snaps, s.snap(d, idx, renderOpts{withPath: true}))
	}
	s.t.mu.RUnlock()
	s.fillHashes(snaps)
	out := make([]ManifestEntry, 0, len(snaps))
	for i := range snaps {
		sn := &snaps[i]
		e := ManifestEntry{Path: sn.path, ID: s.t.itemID(d, sn.idx), Folder: sn.kind != kindFile,
			Modified: fromUnix(sn.modified)}
		switch sn.kind {
		case kindFile:
			e.Size = sn.size
			if sn.hashes != nil {
				e.SHA256 = hex.EncodeToString(sn.hashes.sha256[:])
				e.QuickXorHash = base64.StdEncoding.EncodeToString(sn.hashes.quickXor[:])
			}
		case kindNotebook:
			e.Package = "oneNote"
		}
		out = append(out, e)
	}
	return out, nil
}

// Counters returns a snapshot of the request counters.
func (s *Server) Counters() Counters { return s.ctr.snapshot() }

// ResetCounters zeroes the request counters.
func (s *Server) ResetCounters() { s.ctr.reset() }

// SetThrottleScale changes the throttling budget multiplier (0 turns throttling off).
func (s *Server) SetThrottleScale(f float64) {
	s.thr.setScale(f)
	s.othr.setScale(f)
}

// SetMailboxLatency delays every Outlook request by d while it counts as in flight.
func (s *Server) SetMailboxLatency(d time.Duration) { s.othr.setLatency(d) }

// SetFaultRate changes the fraction of requests that get an injected fault.
func (s *Server) SetFaultRate(f float64) { s.flt.setRate(f) }

// InvalidateDeltaTokens makes every delta token of a drive ("" = all drives and users/delta)
// answer 410 from now on.
func (s *Server) InvalidateDeltaTokens(driveID string) {
	s.invalidate(driveID, "resyncChangesApplyDifferences")
}

func (s *Server) invalidate(driveID, code string) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	for _, d := range s.t.drives {
		if driveID == "" || d.id == driveID {
			d.tokenGen++
			d.resyncCode = code
		}
	}
	if driveID == "" {
		s.t.usersGen++
		s.t.groupsGen++
		for _, mb := range s.t.mailboxes {
			mb.tokenGen++
			mb.resyncCode = ""
		}
	}
}

// InvalidateMailboxDeltaTokens makes every mail, folder, contact and calendar-view delta token
// of a user's mailbox (and archive) answer 410 from now on, with code ("" = SyncStateNotFound).
func (s *Server) InvalidateMailboxDeltaTokens(userKey, code string) error {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	u, err := s.mailboxOf(userKey)
	if err != nil {
		return err
	}
	for _, mb := range []*mailbox{u.mbx, u.mbx.arch} {
		if mb != nil {
			mb.tokenGen++
			mb.resyncCode = code
		}
	}
	return nil
}

// RevokeTokens makes every access token issued so far fail with 401.
func (s *Server) RevokeTokens() {
	s.app.mu.Lock()
	defer s.app.mu.Unlock()
	s.app.revokedTo = s.app.serial
}

// SetConsent sets the app's consent state and granted roles directly (nil roles = the roles
// consent grants).
func (s *Server) SetConsent(consented bool, roles []string) {
	s.app.mu.Lock()
	defer s.app.mu.Unlock()
	s.app.consented = consented
	switch {
	case !consented:
		s.app.roles = nil
	case roles == nil:
		s.app.roles = append([]string(nil), s.app.grant...)
	default:
		s.app.roles = append([]string(nil), roles...)
	}
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r.RemoteAddr) {
		writeJSONPlain(w, http.StatusForbidden, map[string]string{"error": "the admin API only answers loopback clients"})
		return
	}
	bad := func(err error) { writeJSONPlain(w, http.StatusBadRequest, map[string]string{"error": err.Error()}) }
	decode := func(v any) bool {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			err = json.Unmarshal(b, v)
		}
		if err != nil {
			bad(err)
			return false
		}
		return true
	}
	route := r.Method + " " + strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/_sim"), "/")
	switch route {
	case "GET /info", "GET ":
		writeJSONPlain(w, http.StatusOK, s.Info())
	case "GET /users":
		writeJSONPlain(w, http.StatusOK, s.Users())
	case "POST /mutate":
		var req MutateRequest
		if !decode(&req) {
			return
		}
		res, err := s.Mutate(req)
		if err != nil {
			bad(err)
			return
		}
		writeJSONPlain(w, http.StatusOK, res)
	case "POST /delta/invalidate":
		var req struct {
			DriveID string `json:"drive_id"`
			User    string `json:"user"` // a mailbox's delta tokens instead
			Code    string `json:"code"`
		}
		if !decode(&req) {
			return
		}
		if req.User != "" {
			if err := s.InvalidateMailboxDeltaTokens(req.User, req.Code); err != nil {
				bad(err)
				return
			}
			writeJSONPlain(w, http.StatusOK, map[string]any{"invalidated": req.User})
			return
		}
		if req.Code == "" {
			req.Code = "resyncChangesApplyDifferences"
		}
		s.invalidate(req.DriveID, req.Code)
		writeJSONPlain(w, http.StatusOK, map[string]any{"invalidated": req.DriveID})
	case "POST /config":
		var req struct {
			ThrottleScale    *float64 `json:"throttle_scale"`
			FaultRate        *float64 `json:"fault_rate"`
			MailboxLatencyMS *int     `json:"mailbox_latency_ms"`
		}
		if !decode(&req) {
			return
		}
		if req.MailboxLatencyMS != nil {
			s.SetMailboxLatency(time.Duration(*req.MailboxLatencyMS) * time.Millisecond)
		}
		if req.ThrottleScale != nil {
			s.SetThrottleScale(*req.ThrottleScale)
		}
		if req.FaultRate != nil {
			s.SetFaultRate(*req.FaultRate)
		}
		writeJSONPlain(w, http.StatusOK, map[string]any{"ok": true})
	case "POST /tokens/revoke":
		s.RevokeTokens()
		writeJSONPlain(w, http.StatusOK, map[string]any{"ok": true})
	case "POST /consent":
		var req struct {
			Consented bool     `json:"consented"`
			Roles     []string `json:"roles"`
		}
		if !decode(&req) {
			return
		}
		s.SetConsent(req.Consented, req.Roles)
		writeJSONPlain(w, http.StatusOK, map[string]any{"ok": true})
	case "GET /counters":
		writeJSONPlain(w, http.StatusOK, s.Counters())
	case "POST /counters/reset":
		s.ResetCounters()
		writeJSONPlain(w, http.StatusOK, map[string]any{"ok": true})
	case "POST /users":
		var req AddUserRequest
		if !decode(&req) {
			return
		}
		ui, err := s.AddUser(req)
		if err != nil {
			bad(err)
			return
		}
		writeJSONPlain(w, http.StatusCreated, ui)
	case "GET /manifest/mail", "GET /manifest/events", "GET /manifest/contacts":
		var v any
		var err error
		switch user := r.URL.Query().Get("user"); route {
		case "GET /manifest/mail":
			v, err = s.MailManifest(user)
		case "GET /manifest/events":
			v, err = s.EventManifest(user)
		default:
			v, err = s.ContactManifest(user)
		}
		if err != nil {
			writeJSONPlain(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSONPlain(w, http.StatusOK, v)
	case "GET /manifest":
		m, err := s.Manifest(r.URL.Query().Get("user"))
		if err != nil {
			writeJSONPlain(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSONPlain(w, http.StatusOK, m)
	default:
		writeJSONPlain(w, http.StatusNotFound, map[string]string{"error": "unknown admin route " + route})
	}
}
