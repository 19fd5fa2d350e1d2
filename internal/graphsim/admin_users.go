package graphsim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
)

// AddUserRequest adds a user to the directory (the admin API's POST /_sim/users). The user
// shows up in /users and, as a change, in /users/delta.
type AddUserRequest struct {
	UPN         string   `json:"upn"`
	DisplayName string   `json:"display_name"`
	Department  string   `json:"department"`
	Groups      []string `json:"groups"`  // group display names or IDs
	Mailbox     string   `json:"mailbox"` // user (default) | shared | room | equipment | none
	Drive       bool     `json:"drive"`   // give the user a OneDrive
	Archive     bool     `json:"archive"` // an In-Place Archive too
}

// AddUser adds a user with an empty mailbox (standard folders, a default calendar and contact
// folder, as the service provisions them) unless Mailbox is "none", and an empty OneDrive when
// Drive is set.
func (s *Server) AddUser(req AddUserRequest) (UserInfo, error) {
	upn := strings.TrimSpace(req.UPN)
	local, domain, ok := strings.Cut(upn, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(upn, " /\\") {
		return UserInfo{}, fmt.Errorf("graphsim: %q is not a user principal name", req.UPN)
	}
	kind, ok := parseMailboxKind(req.Mailbox)
	if !ok {
		return UserInfo{}, fmt.Errorf("graphsim: mailbox must be user, shared, room, equipment or none, not %q", req.Mailbox)
	}
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.userByKey(upn) != nil {
		return UserInfo{}, fmt.Errorf("graphsim: user %q exists", upn)
	}
	var groups []*group
	for _, g := range req.Groups {
		gr := t.groupByName(g)
		if gr == nil {
			return UserInfo{}, fmt.Errorf("graphsim: unknown group %q", g)
		}
		groups = append(groups, gr)
	}
	if kind != mbxUser && kind != mbxNone && req.Archive {
		return UserInfo{}, errors.New("graphsim: only user mailboxes get an In-Place Archive here")
	}
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(upn)))
	r := rand.New(rand.NewPCG(uint64(t.seed), h.Sum64()))
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	given, surname := titleCase(local), ""
	if len(parts) >= 2 {
		given, surname = titleCase(parts[0]), titleCase(strings.Join(parts[1:], " "))
	}
	now := unixSec(s.now())
	u := t.addSeededUser(given, surname, upn, r, now)
	u.created = now
	if req.DisplayName != "" {
		u.displayName = req.DisplayName
	}
	if req.Department != "" {
		u.department = req.Department
	}
	u.kind = kind
	if kind == mbxShared || kind == mbxRoom || kind == mbxEquipment {
		u.accountEnabled = false
	}
	if !req.Drive {
		d := u.drive
		t.drives = t.drives[:len(t.drives)-1]
		delete(t.drivesByID, d.id)
		u.drive = nil
	} else {
		u.drive.checkpoint(now)
	}
	if kind != mbxNone {
		mb := t.addMailbox(u, req.Archive, now)
		mb.standardFolders(now)
		if mb.arch != nil {
			mb.arch.standardFolders(now)
		}
	}
	for _, g := range groups {
		g.members = append(g.members, u)
		t.touchGroup(g)
	}
	return userInfo(u), nil
}
