package graphsim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

const importEML = "From: \"Zoë Müller\" <zoe.muller@example.de>\r\nTo: new.person@contoso.com\r\n" +
	"Subject: =?iso-8859-1?Q?Caf=E9?=\r\nDate: Mon, 03 Feb 2025 08:00:00 +0000\r\nMessage-ID: <imported-1@example.de>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n" +
	"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 au lait\r\n" +
	"--b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" +
	"From: a@example.com\r\nSubject: inner\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\ninner body\r\n" +
	"--b1\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"

const importICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:series-1@example.com\r\nSUMMARY:Imported weekly\r\n" +
	"DTSTART;TZID=Pacific Standard Time:20250707T090000\r\nDTEND;TZID=Pacific Standard Time:20250707T093000\r\n" +
	"RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4\r\nEXDATE;TZID=Pacific Standard Time:20250714T090000\r\n" +
	"ATTENDEE;CN=Adele;ROLE=REQ-PARTICIPANT:mailto:adele.vance@contoso.com\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:series-1@example.com\r\nRECURRENCE-ID;TZID=Pacific Standard Time:20250721T090000\r\n" +
	"SUMMARY:Imported weekly (moved)\r\nDTSTART;TZID=Pacific Standard Time:20250721T110000\r\nDTEND;TZID=Pacific Standard Time:20250721T113000\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:allday-1@example.com\r\nSUMMARY:Holiday\r\nDTSTART;VALUE=DATE:20250704\r\nDTEND;VALUE=DATE:20250705\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestImportExchange(t *testing.T) {
	dir := t.TempDir()
	write := func(p string, content []byte) {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, content, 0o644))
	}
	write("new.person@contoso.com/mail/Inbox/Projects/a.eml", []byte(importEML))
	write("new.person@contoso.com/mail/Recoverable Items/Deletions/b.eml", []byte("From: x@example.com\r\nSubject: gone\r\n\r\nbye\r\n"))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "new.person@contoso.com/mail/Empty/Deeper"), 0o755))
	write("new.person@contoso.com/calendar/cal.ics", []byte(importICS))
	photo := contactPhoto(7)
	write("new.person@contoso.com/contacts/people.vcf", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Bansky;Pavel;;;\r\nFN:Pavel Bansky\r\n"+
		"EMAIL;TYPE=INTERNET:pavelb@example.com\r\nTEL;TYPE=CELL:+1 555 0100\r\nPHOTO;ENCODING=b;TYPE=JPEG:"+base64.StdEncoding.EncodeToString(photo)+"\r\nEND:VCARD\r\n"))

	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 10, ImportDir: dir})
	c := authed(t, s)
	u := userByUPN(t, s, "new.person@contoso.com")
	require.Equal(t, "user", u.Kind)

	man, err := s.MailManifest(u.UPN)
	require.NoError(t, err)
	require.Len(t, man, 2, "an imported mailbox holds only its import")
	byFolder := map[string]MailEntry{}
	for _, e := range man {
		byFolder[e.Folder] = e
	}
	a := byFolder["Inbox/Projects"]
	require.Equal(t, "Café", a.Subject)
	require.Equal(t, "<imported-1@example.de>", a.InternetMessageID)
	require.Equal(t, sum([]byte(importEML)), a.MIMESHA256)
	require.Len(t, a.Attachments, 2)
	require.Equal(t, "inner", a.Attachments[0].Item.Subject)
	require.Equal(t, "doc.pdf", a.Attachments[1].Name)
	require.Contains(t, byFolder, "Recoverable Items/Deletions")
	resp := c.do(http.MethodGet, ubase(u)+"/messages/"+url.PathEscape(a.ID)+"/$value", nil)
	require.Equal(t, importEML, string(readAll(t, resp)), "imported .eml bytes are served exactly")
	st, j := c.getJSON(ubase(u) + "/messages/" + url.PathEscape(a.ID))
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "Café au lait", j["body"].(map[string]any)["content"])
	paths := c.folderPaths(u)
	require.Contains(t, paths, "Empty/Deeper", "empty folders come along")

	evs, err := s.EventManifest(u.UPN)
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, "Imported weekly", evs[0].Subject)
	require.Equal(t, "FREQ=WEEKLY;BYDAY=MO;COUNT=4", evs[0].Recurrence)
	require.Equal(t, 1, evs[0].Exceptions)
	require.Equal(t, 1, evs[0].Cancelled)
	require.Equal(t, "series-1@example.com", evs[0].ICalUID)
	require.True(t, evs[1].IsAllDay)
	view, _ := c.walk(ubase(u) + "/calendarView?startDateTime=2025-07-01T00:00:00Z&endDateTime=2025-08-01T00:00:00Z")
	var subjects []string
	for _, v := range view {
		subjects = append(subjects, v["subject"].(string))
	}
	require.ElementsMatch(t, []string{"Imported weekly", "Imported weekly (moved)", "Imported weekly", "Holiday"}, subjects)

	cts, err := s.ContactManifest(u.UPN)
	require.NoError(t, err)
	require.Len(t, cts, 1)
	require.Equal(t, "Pavel Bansky", cts[0].DisplayName)
	require.Equal(t, []string{"pavelb@example.com"}, cts[0].Emails)
	require.Equal(t, sum(photo), cts[0].PhotoSHA256)
}

func TestAdminExchangeRoutes(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 20})
	c := authed(t, s)
	u := obrien(s)
	var mm []MailEntry
	require.Equal(t, 200, c.admin("GET", "/manifest/mail?user="+url.QueryEscape(u.UPN), nil, &mm))
	direct, err := s.MailManifest(u.ID)
	require.NoError(t, err)
	require.Equal(t, len(direct), len(mm))
	require.Equal(t, direct[0].MIMESHA256, mm[0].MIMESHA256)
	var em []EventEntry
	require.Equal(t, 200, c.admin("GET", "/manifest/events?user="+url.QueryEscape(u.UPN), nil, &em))
	require.NotEmpty(t, em)
	var cm []ContactEntry
	require.Equal(t, 200, c.admin("GET", "/manifest/contacts?user="+url.QueryEscape(u.UPN), nil, &cm))
	require.NotEmpty(t, cm)
	require.Equal(t, 404, c.admin("GET", "/manifest/mail?user=jordan.lee%40contoso.com", nil, nil), "no mailbox")

	// Mutate over HTTP with the Exchange parts; drive parts behave as before.
	var res MutateResult
	require.Equal(t, 200, c.admin("POST", "/mutate", map[string]any{"seed": 1, "users": []string{u.UPN}, "creates": 1,
		"mail": map[string]any{"creates": 1, "deletes": 2, "folder_creates": 1}, "events": map[string]any{"creates": 1}, "contacts": map[string]any{"updates": 1}}, &res))
	kinds := map[string]int{}
	for _, ch := range res.Changes {
		kinds[ch.Kind]++
	}
	require.Equal(t, map[string]int{"": 1, "message": 3, "mailFolder": 1, "event": 1, "contact": 1}, kinds)
	again, err := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 20}).Mutate(MutateRequest{Seed: 1, Users: []string{u.UPN}, Creates: 1,
		Mail: &ItemMutation{Creates: 1, Deletes: 2, FolderCreates: 1}, Events: &ItemMutation{Creates: 1}, Contacts: &ItemMutation{Updates: 1}})
	require.NoError(t, err)
	require.Equal(t, res, again, "deterministic for the same seed and state")

	require.Equal(t, 200, c.admin("POST", "/config", map[string]any{"mailbox_latency_ms": 0}, nil))
	require.Equal(t, 200, c.admin("POST", "/delta/invalidate", map[string]any{"user": u.UPN}, nil))
	require.Equal(t, 400, c.admin("POST", "/delta/invalidate", map[string]any{"user": "jordan.lee@contoso.com"}, nil))
}
