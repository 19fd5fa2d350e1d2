package graphsim

import (
	"bytes"
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestContacts(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 10, ContactsPerMailbox: 12})
	c := authed(t, s)
	u := obrien(s)
	b := ubase(u)

	folders, _ := c.walk(b + "/contactFolders")
	byName := map[string]string{}
	for _, f := range folders {
		byName[f["displayName"].(string)] = f["id"].(string)
	}
	require.Contains(t, byName, "Family")
	require.Contains(t, byName, "Vendors")
	kids, _ := c.walk(b + "/contactFolders/" + url.PathEscape(byName["Vendors"]) + "/childFolders")
	require.Len(t, kids, 1)
	require.Equal(t, "Archive (empty)", kids[0]["displayName"])
	byName["Archive (empty)"] = kids[0]["id"].(string)

	// Every folder's delta together is the manifest.
	man, err := s.ContactManifest(u.UPN)
	require.NoError(t, err)
	want := map[string]ContactEntry{}
	for _, e := range man {
		want[e.ID] = e
	}
	links := map[string]string{}
	got := map[string]bool{}
	for name, id := range map[string]string{"Contacts": "", "Family": byName["Family"], "Vendors": byName["Vendors"], "Archive (empty)": byName["Archive (empty)"]} {
		first := b + "/contacts/delta"
		if id != "" {
			first = b + "/contactFolders/" + url.PathEscape(id) + "/contacts/delta"
		}
		vals, dl := c.walk(first, "Prefer", "odata.maxpagesize=4")
		links[name] = dl
		for _, v := range vals {
			e, ok := want[v["id"].(string)]
			require.True(t, ok)
			require.Equal(t, "Contacts"+map[bool]string{true: "", false: "/"}[name == "Contacts"]+map[bool]string{true: "", false: name}[name == "Contacts"], e.Folder)
			require.Equal(t, e.DisplayName, v["displayName"])
			if name == "Archive (empty)" {
				t.Fatal("the empty folder has no contacts")
			}
			got[v["id"].(string)] = true
		}
	}
	require.Len(t, got, len(want))

	// Photos: JPEG bytes that hash as the manifest says; 404 without one.
	withPhoto, without := "", ""
	for _, e := range man {
		if e.HasPhoto && withPhoto == "" {
			withPhoto = e.ID
			resp := c.do(http.MethodGet, b+"/contacts/"+url.PathEscape(e.ID)+"/photo/$value", nil)
			data := readAll(t, resp)
			require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
			require.True(t, bytes.HasPrefix(data, []byte{0xFF, 0xD8}))
			require.Equal(t, e.PhotoSHA256, sum(data))
			st, meta := c.getJSON(b + "/contacts/" + url.PathEscape(e.ID) + "/photo")
			require.Equal(t, http.StatusOK, st)
			require.EqualValues(t, 48, meta["width"])
		}
		if !e.HasPhoto {
			without = e.ID
		}
	}
	require.NotEmpty(t, withPhoto)
	st, body := c.getJSON(b + "/contacts/" + url.PathEscape(without) + "/photo/$value")
	require.Equal(t, http.StatusNotFound, st)
	require.Equal(t, "ErrorItemNotFound", errCode(body))
	photo := contactPhoto(12345)
	resp := c.do(http.MethodPut, b+"/contacts/"+url.PathEscape(without)+"/photo/$value", bytes.NewReader(photo), "Content-Type", "image/jpeg")
	readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp = c.do(http.MethodGet, b+"/contacts/"+url.PathEscape(without)+"/photo/$value", nil)
	require.Equal(t, photo, readAll(t, resp))

	// CRUD, then the next round of the default folder's delta.
	st, nc := c.sendJSON(http.MethodPost, b+"/contacts", map[string]any{"givenName": "Pavel", "surname": "Bansky",
		"emailAddresses": []any{map[string]any{"address": "pavelb@fabrikam.onmicrosoft.com", "name": "Pavel Bansky"}},
		"businessPhones": []string{"+1 732 555 0102"}})
	require.Equal(t, http.StatusCreated, st, "%v", nc)
	require.Equal(t, "Pavel Bansky", nc["displayName"])
	st, pc := c.sendJSON(http.MethodPatch, b+"/contacts/"+url.PathEscape(nc["id"].(string)), map[string]any{"jobTitle": "Buyer"})
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "Buyer", pc["jobTitle"])
	var victim string
	for _, e := range man {
		if e.Folder == "Contacts" && e.ID != without {
			victim = e.ID
		}
	}
	resp = c.do(http.MethodDelete, b+"/contacts/"+url.PathEscape(victim), nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	readAll(t, resp)
	vals, _ := c.walk(links["Contacts"])
	changed, removed := []string{}, []string{}
	for _, v := range vals {
		if _, ok := v["@removed"]; ok {
			removed = append(removed, v["id"].(string))
		} else {
			changed = append(changed, v["id"].(string))
		}
	}
	exp := []string{nc["id"].(string), without}
	sort.Strings(exp)
	sort.Strings(changed)
	require.Equal(t, exp, changed, "the new contact and the one with a new photo")
	require.Equal(t, []string{victim}, removed)

	// Folders: create, duplicate, delta.
	_, fl := c.walk(b+"/contactFolders/delta", "Prefer", "odata.maxpagesize=50")
	st, nf := c.sendJSON(http.MethodPost, b+"/contactFolders", map[string]any{"displayName": "Partners"})
	require.Equal(t, http.StatusCreated, st)
	st, body = c.sendJSON(http.MethodPost, b+"/contactFolders", map[string]any{"displayName": "partners"})
	require.Equal(t, http.StatusConflict, st)
	require.Equal(t, "ErrorFolderExists", errCode(body))
	fvals, _ := c.walk(fl)
	require.True(t, ids(fvals)[nf["id"].(string)])

	// Mutations.
	res, err := s.Mutate(MutateRequest{Seed: 2, Users: []string{u.UPN}, Contacts: &ItemMutation{Creates: 2, Updates: 2, Deletes: 1, Moves: 1}})
	require.NoError(t, err)
	require.Len(t, res.Changes, 6)
	man2, err := s.ContactManifest(u.UPN)
	require.NoError(t, err)
	require.Equal(t, len(man)+1-1+2-1, len(man2), "one created and one deleted by hand, two created and one deleted by Mutate")
}
