package graphsim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const viewRange = "startDateTime=2025-04-01T00:00:00Z&endDateTime=2025-09-30T00:00:00Z"

func TestCalendarViewDelta(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 10, EventsPerMailbox: 14})
	c := authed(t, s)
	u := obrien(s)
	b := ubase(u)

	cals, _ := c.walk(b + "/calendars")
	require.Len(t, cals, 2)
	require.Equal(t, "Calendar", cals[0]["name"])
	require.Equal(t, true, cals[0]["isDefaultCalendar"])
	st, def := c.getJSON(b + "/calendar")
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, cals[0]["id"], def["id"])

	st, body := c.getJSON(b + "/calendarView/delta")
	require.Equal(t, http.StatusBadRequest, st, "startDateTime and endDateTime are required")
	require.Equal(t, "ErrorInvalidParameter", errCode(body))

	view, link := c.walk(b+"/calendarView/delta?"+viewRange, "Prefer", "odata.maxpagesize=4")
	require.Contains(t, link, "$deltatoken=")
	bySubject := map[string][]map[string]any{}
	for _, ev := range view {
		require.Equal(t, "#microsoft.graph.event", ev["@odata.type"])
		bySubject[ev["subject"].(string)] = append(bySubject[ev["subject"].(string)], ev)
	}
	// The weekly series: occurrences with seriesMasterId, one exception, one cancelled.
	weekly := bySubject["Weekly sync"]
	var master string
	for _, ev := range weekly {
		if ev["type"] == "occurrence" {
			master = ev["seriesMasterId"].(string)
		}
	}
	require.NotEmpty(t, master)
	occurrences := 0
	for _, ev := range weekly {
		if ev["seriesMasterId"] == master {
			require.Equal(t, "occurrence", ev["type"])
			require.NotEmpty(t, ev["originalStart"])
			occurrences++
		}
	}
	require.Len(t, bySubject["Weekly sync (moved)"], 1)
	ex := bySubject["Weekly sync (moved)"][0]
	require.Equal(t, "exception", ex["type"])
	require.Equal(t, master, ex["seriesMasterId"])
	// Mondays and Wednesdays from 2025-05-05 to 2025-09-01: 35, less the exception, less the cancelled one.
	require.Equal(t, 33, occurrences)
	require.Len(t, bySubject["Daily stand-up"], 9, "ten, one cancelled")
	hol := bySubject["Company holiday"][0]
	require.Equal(t, true, hol["isAllDay"])
	require.Equal(t, "2025-06-04T00:00:00.0000000", hol["start"].(map[string]any)["dateTime"])
	require.Equal(t, "2025-06-07T00:00:00.0000000", hol["end"].(map[string]any)["dateTime"])
	fl := bySubject["Flight SEA → JFK"][0]
	require.Equal(t, "Pacific Standard Time", fl["originalStartTimeZone"])
	require.Equal(t, "Eastern Standard Time", fl["originalEndTimeZone"])
	require.Equal(t, "2025-06-06T15:00:00.0000000", fl["start"].(map[string]any)["dateTime"], "08:00 PDT in UTC")
	require.Equal(t, "2025-06-06T20:30:00.0000000", fl["end"].(map[string]any)["dateTime"], "16:30 EDT in UTC")
	require.Equal(t, true, bySubject["Cancelled: Vendor demo"][0]["isCancelled"])
	require.NotEmpty(t, bySubject["Work anniversary"])

	// Another zone on request.
	resp := c.do(http.MethodGet, b+"/events/"+url.PathEscape(fl["id"].(string)), nil, "Prefer", `outlook.timezone="Pacific Standard Time"`)
	require.Equal(t, `outlook.timezone="Pacific Standard Time"`, resp.Header.Get("Preference-Applied"))
	_, flp := decodeResp(t, resp)
	require.Equal(t, map[string]any{"dateTime": "2025-06-06T08:00:00.0000000", "timeZone": "Pacific Standard Time"}, flp["start"])

	// /events lists masters and single events; the master carries the recurrence.
	evs, _ := c.walk(b + "/calendar/events?$top=50")
	var m map[string]any
	for _, ev := range evs {
		require.NotEqual(t, "occurrence", ev["type"])
		if ev["id"] == master {
			m = ev
		}
	}
	require.NotNil(t, m)
	require.Equal(t, "seriesMaster", m["type"])
	pat := m["recurrence"].(map[string]any)["pattern"].(map[string]any)
	require.Equal(t, "weekly", pat["type"])
	require.Equal(t, []any{"monday", "wednesday"}, pat["daysOfWeek"])
	inst, _ := c.walk(b + "/events/" + url.PathEscape(master) + "/instances?startDateTime=2025-05-01T00:00:00Z&endDateTime=2025-05-15T00:00:00Z")
	require.Len(t, inst, 3, "Mon 5, Wed 7, Mon 12 (the exception); Wed 14 is cancelled")
	require.Equal(t, "exception", inst[2]["type"])
	require.Equal(t, "2025-05-12T16:30:00Z", inst[2]["originalStart"], "when the occurrence was before it moved")
	st, _ = c.getJSON(b + "/events/" + url.PathEscape(master) + "/instances")
	require.Equal(t, http.StatusBadRequest, st)

	// Create a series, change one occurrence, cancel another: the next round reports them.
	st, created := c.sendJSON(http.MethodPost, b+"/calendars/"+url.PathEscape(def["id"].(string))+"/events", map[string]any{
		"subject":   "Restore drill",
		"body":      map[string]any{"contentType": "html", "content": "<p>drill</p>"},
		"start":     map[string]any{"dateTime": "2025-07-01T09:00:00", "timeZone": "W. Europe Standard Time"},
		"end":       map[string]any{"dateTime": "2025-07-01T10:00:00", "timeZone": "W. Europe Standard Time"},
		"attendees": []any{map[string]any{"type": "required", "emailAddress": map[string]any{"address": "zoe.angstrom@contoso.com", "name": "Zoë"}}},
		"recurrence": map[string]any{
			"pattern": map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": []string{"tuesday"}},
			"range":   map[string]any{"type": "numbered", "startDate": "2025-07-01", "numberOfOccurrences": 3},
		},
	})
	require.Equal(t, http.StatusCreated, st, "%v", created)
	require.Equal(t, "seriesMaster", created["type"])
	inst, _ = c.walk(b + "/events/" + url.PathEscape(created["id"].(string)) + "/instances?" + viewRange)
	require.Len(t, inst, 3)
	st, exc := c.sendJSON(http.MethodPatch, b+"/events/"+url.PathEscape(inst[1]["id"].(string)), map[string]any{"subject": "Restore drill (moved)",
		"start": map[string]any{"dateTime": "2025-07-08T14:00:00", "timeZone": "W. Europe Standard Time"},
		"end":   map[string]any{"dateTime": "2025-07-08T15:00:00", "timeZone": "W. Europe Standard Time"}})
	require.Equal(t, http.StatusOK, st, "%v", exc)
	require.Equal(t, "exception", exc["type"])
	require.Equal(t, inst[1]["id"], exc["id"], "an exception keeps the occurrence's ID")
	resp = c.do(http.MethodDelete, b+"/events/"+url.PathEscape(inst[2]["id"].(string)), nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	readAll(t, resp)
	var one map[string]any
	for _, ev := range view {
		if ev["type"] == "singleInstance" && ev["subject"] != "Company holiday" {
			one = ev
			break
		}
	}
	resp = c.do(http.MethodDelete, b+"/events/"+url.PathEscape(one["id"].(string)), nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	readAll(t, resp)
	vals, _ := c.walk(link)
	changed, removed := map[string]string{}, map[string]bool{}
	for _, v := range vals {
		if _, ok := v["@removed"]; ok {
			removed[v["id"].(string)] = true
		} else {
			changed[v["id"].(string)] = v["subject"].(string)
		}
	}
	require.Equal(t, map[string]string{inst[0]["id"].(string): "Restore drill", inst[1]["id"].(string): "Restore drill (moved)"}, changed)
	require.Equal(t, map[string]bool{inst[2]["id"].(string): true, one["id"].(string): true}, removed)

	evm, err := s.EventManifest(u.UPN)
	require.NoError(t, err)
	var drill EventEntry
	for _, e := range evm {
		if e.Subject == "Restore drill" {
			drill = e
		}
	}
	require.Equal(t, "FREQ=WEEKLY;BYDAY=TU;COUNT=3", drill.Recurrence)
	require.Equal(t, 1, drill.Exceptions)
	require.Equal(t, 1, drill.Cancelled)
	require.Equal(t, "W. Europe Standard Time", drill.TimeZone)
	require.Equal(t, []string{"zoe.angstrom@contoso.com"}, drill.Attendees)
	require.Equal(t, created["id"], drill.ID)

	// Bad input.
	st, body = c.sendJSON(http.MethodPost, b+"/events", map[string]any{"subject": "x",
		"start": map[string]any{"dateTime": "2025-07-01T09:00:00", "timeZone": "Mars/Olympus_Mons"},
		"end":   map[string]any{"dateTime": "2025-07-01T10:00:00", "timeZone": "UTC"}})
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "TimeZoneNotSupportedException", errCode(body))
	st, _ = c.sendJSON(http.MethodPost, b+"/events", map[string]any{"subject": "x", "isAllDay": true,
		"start": map[string]any{"dateTime": "2025-07-01T09:00:00", "timeZone": "UTC"},
		"end":   map[string]any{"dateTime": "2025-07-02T09:00:00", "timeZone": "UTC"}})
	require.Equal(t, http.StatusBadRequest, st, "all-day events start at midnight")
}

func TestEventAttachmentsAndMutation(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 10, EventsPerMailbox: 10})
	c := authed(t, s)
	u := obrien(s)
	b := ubase(u)
	evm, err := s.EventManifest(u.UPN)
	require.NoError(t, err)
	var withAtt EventEntry
	for _, e := range evm {
		if len(e.Attachments) > 0 {
			withAtt = e
		}
	}
	require.NotEmpty(t, withAtt.ID)
	atts, _ := c.walk(b + "/events/" + url.PathEscape(withAtt.ID) + "/attachments")
	require.Len(t, atts, len(withAtt.Attachments))
	for i, a := range atts {
		resp := c.do(http.MethodGet, b+"/events/"+url.PathEscape(withAtt.ID)+"/attachments/"+url.PathEscape(a["id"].(string))+"/$value", nil)
		require.Equal(t, withAtt.Attachments[i].SHA256, sum(readAll(t, resp)))
	}
	st, na := c.sendJSON(http.MethodPost, b+"/events/"+url.PathEscape(withAtt.ID)+"/attachments", map[string]any{
		"@odata.type": "#microsoft.graph.fileAttachment", "name": "minutes.txt", "contentBytes": base64.StdEncoding.EncodeToString([]byte("minutes"))})
	require.Equal(t, http.StatusCreated, st, "%v", na)
	st, sess := c.sendJSON(http.MethodPost, b+"/events/"+url.PathEscape(withAtt.ID)+"/attachments/createUploadSession",
		map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": "deck.pptx", "size": 3 << 20}})
	require.Equal(t, http.StatusCreated, st, "%v", sess)
	require.True(t, strings.Contains(sess["uploadUrl"].(string), "/Events('"))
	evm, _ = s.EventManifest(u.UPN)
	for _, e := range evm {
		if e.ID == withAtt.ID {
			require.Len(t, e.Attachments, len(withAtt.Attachments)+1)
		}
	}

	// Mutations: the next calendar-view round reports the events they touched.
	_, link := c.walk(b + "/calendarView/delta?" + viewRange)
	res, err := s.Mutate(MutateRequest{Seed: 4, Users: []string{u.UPN}, Events: &ItemMutation{Creates: 2, Updates: 3, Deletes: 1, FolderCreates: 1}})
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, ch := range res.Changes {
		kinds[ch.Kind+"."+ch.Op]++
	}
	require.Equal(t, 2, kinds["event.create"])
	require.Equal(t, 3, kinds["event.update"]+kinds["event.cancel"])
	require.Equal(t, 1, kinds["event.delete"])
	require.Equal(t, 1, kinds["calendar.create"])
	vals, _ := c.walk(link)
	require.NotEmpty(t, vals)
	cals, _ := c.walk(b + "/calendars")
	require.Len(t, cals, 3)

	// Calendars over HTTP: create, duplicate, rename, delete (not the default one).
	st, nc := c.sendJSON(http.MethodPost, b+"/calendars", map[string]any{"name": "Restored calendar"})
	require.Equal(t, http.StatusCreated, st)
	require.Equal(t, false, nc["isDefaultCalendar"])
	st, body := c.sendJSON(http.MethodPost, b+"/calendars", map[string]any{"name": "restored calendar"})
	require.Equal(t, http.StatusConflict, st)
	require.Equal(t, "ErrorFolderExists", errCode(body))
	st, rn := c.sendJSON(http.MethodPatch, b+"/calendars/"+url.PathEscape(nc["id"].(string)), map[string]any{"name": "Renamed calendar"})
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "Renamed calendar", rn["name"])
	resp := c.do(http.MethodDelete, b+"/calendars/"+url.PathEscape(nc["id"].(string)), nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	readAll(t, resp)
	_, def := c.getJSON(b + "/calendar")
	resp = c.do(http.MethodDelete, b+"/calendars/"+url.PathEscape(def["id"].(string)), nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "the default calendar stays")
	readAll(t, resp)

	// No mailbox, no calendar.
	none := firstOfKind(t, s, "none")
	st, body = c.getJSON(ubase(none) + "/calendars")
	require.Equal(t, http.StatusNotFound, st)
	require.Equal(t, "MailboxNotEnabledForRESTAPI", errCode(body))
}
