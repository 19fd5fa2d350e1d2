package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/graphsim"
)

// The simulator is an independent implementation of Graph with its own iCalendar and vCard
// readers (what its --import uses). These tests write .ics and .vcf files, import them into
// graphsim, read back what it serves, and write that again: what Holdfast would download after
// backing up a mailbox that was restored from its own download.

const importUser = "new.person@contoso.com"

// simClient talks to graphsim's Graph endpoints with an app-only token.
type simClient struct {
	t     *testing.T
	info  graphsim.Info
	hc    *http.Client
	token string
}

func newSimClient(t *testing.T, s *graphsim.Server) *simClient {
	info := s.Info()
	pem, err := os.ReadFile(info.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	c := &simClient{t: t, info: info, hc: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	resp, err := c.hc.PostForm(info.AuthorityURL+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {info.ClientID}, "client_secret": {info.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	c.token = tok.AccessToken
	return c
}

func (c *simClient) get(u string) []byte {
	c.t.Helper()
	if !strings.HasPrefix(u, "https://") {
		u = c.info.GraphURL + u
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusOK, resp.StatusCode, "%s: %s", u, body)
	return body
}

// list follows @odata.nextLink and returns every item as raw JSON.
func (c *simClient) list(u string) []json.RawMessage {
	c.t.Helper()
	var out []json.RawMessage
	for next := u; next != ""; {
		var page struct {
			Value []json.RawMessage `json:"value"`
			Next  string            `json:"@odata.nextLink"`
		}
		require.NoError(c.t, json.Unmarshal(c.get(next), &page))
		out = append(out, page.Value...)
		next = page.Next
	}
	return out
}

func startSimWithImport(t *testing.T, dir string) *graphsim.Server {
	t.Helper()
	s, err := graphsim.Start(context.Background(), graphsim.Options{StateDir: t.TempDir(), Seed: 7, Users: 1, FilesPerUser: -1,
		MessagesPerMailbox: -1, EventsPerMailbox: -1, ContactsPerMailbox: -1, SharedMailboxes: -1, RoomMailboxes: -1,
		EquipmentMailboxes: -1, UsersWithoutMailbox: -1, Groups: -1, ImportDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

// icsSummary is what both graphsim and Holdfast carry of each VEVENT, one comparable line each.
func icsSummary(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	for _, e := range parseCal(t, out).Events() {
		var b strings.Builder
		for _, name := range []string{ical.PropUID, ical.PropRecurrenceID, ical.PropSummary, ical.PropDateTimeStart, ical.PropDateTimeEnd,
			ical.PropRecurrenceRule, ical.PropLocation, ical.PropDescription, ical.PropCategories, ical.PropStatus} {
			if p := e.Props.Get(name); p != nil {
				b.WriteString(name + ";" + p.Params.Get(ical.PropTimezoneID) + ";" + p.Params.Get(ical.ParamValue) + ":" + p.Value + "\n")
			}
		}
		var ex []string
		for _, p := range e.Props.Values(ical.PropExceptionDates) {
			ex = append(ex, p.Params.Get(ical.PropTimezoneID)+":"+p.Value)
		}
		sort.Strings(ex)
		b.WriteString("EXDATE:" + strings.Join(ex, ",") + "\n")
		if p := e.Props.Get(ical.PropOrganizer); p != nil {
			b.WriteString("ORGANIZER:" + p.Value + "\n")
		}
		for _, p := range e.Props.Values(ical.PropAttendee) {
			b.WriteString("ATTENDEE;" + p.Params.Get(ical.ParamRole) + ":" + p.Value + "\n")
		}
		lines = append(lines, b.String())
	}
	sort.Strings(lines)
	return lines
}

func TestGraphsimImportsOurCalendar(t *testing.T) {
	pst, lon, tokyo, berlin := "Pacific Standard Time", "GMT Standard Time", "Tokyo Standard Time", "W. Europe Standard Time"
	attendees := []any{
		map[string]any{"type": "required", "status": map[string]any{"response": "accepted"}, "emailAddress": map[string]any{"name": "Adele Vance", "address": "adele.vance@contoso.com"}},
		map[string]any{"type": "optional", "status": map[string]any{"response": "declined"}, "emailAddress": map[string]any{"name": "Alex Wilber", "address": "alex.wilber@contoso.com"}},
	}
	organizer := map[string]any{"emailAddress": map[string]any{"name": "New Person", "address": importUser}}
	weekly := ICSEvent{
		Event: gEvent(t, map[string]any{"iCalUId": "series-weekly", "subject": "Weekly sync",
			"body":  map[string]any{"contentType": "html", "content": "<p>Status and risks.</p><p>Bring numbers.</p>"},
			"start": dt("2025-07-07T16:00:00.0000000", "UTC"), "end": dt("2025-07-07T16:30:00.0000000", "UTC"),
			"originalStartTimeZone": pst, "originalEndTimeZone": pst, "location": map[string]any{"displayName": "Room 1"},
			"categories": []string{"Blue category"}, "attendees": attendees, "organizer": organizer,
			"recurrence": recurrence(map[string]any{"type": "weekly", "daysOfWeek": []string{"monday"}},
				map[string]any{"type": "numbered", "numberOfOccurrences": 4, "recurrenceTimeZone": pst, "startDate": "2025-07-07"})}),
		Exceptions: []json.RawMessage{gEvent(t, map[string]any{"iCalUId": "x", "subject": "Weekly sync (moved)", "type": "exception",
			"start": dt("2025-07-21T18:00:00.0000000", "UTC"), "end": dt("2025-07-21T18:30:00.0000000", "UTC"),
			"originalStart": "2025-07-21T16:00:00Z", "originalStartTimeZone": pst, "originalEndTimeZone": pst,
			"location": map[string]any{"displayName": "Room 2"}, "attendees": attendees, "organizer": organizer})},
		Cancelled: []time.Time{time.Date(2025, 7, 14, 16, 0, 0, 0, time.UTC)},
	}
	holiday := ICSEvent{Event: gEvent(t, map[string]any{"iCalUId": "holiday", "subject": "Independence Day", "isAllDay": true,
		"start": dt("2025-07-04T00:00:00.0000000", "UTC"), "end": dt("2025-07-05T00:00:00.0000000", "UTC"), "organizer": organizer})}
	flight := ICSEvent{Event: gEvent(t, map[string]any{"iCalUId": "flight", "subject": "Flight SEA → JFK",
		"start": dt("2025-07-10T15:00:00.0000000", "UTC"), "end": dt("2025-07-10T20:30:00.0000000", "UTC"),
		"originalStartTimeZone": pst, "originalEndTimeZone": "Eastern Standard Time", "organizer": organizer})}
	monthly := ICSEvent{Event: gEvent(t, map[string]any{"iCalUId": "monthly-2tu", "subject": "Second Tuesday review",
		"start": dt("2025-07-08T14:00:00.0000000", lon), "end": dt("2025-07-08T15:00:00.0000000", lon), "organizer": organizer,
		"recurrence": recurrence(map[string]any{"type": "relativeMonthly", "daysOfWeek": []string{"tuesday"}, "index": "second"},
			map[string]any{"type": "numbered", "numberOfOccurrences": 3, "recurrenceTimeZone": lon})})}
	payday := ICSEvent{Event: gEvent(t, map[string]any{"iCalUId": "monthly-15", "subject": "Payday",
		"start": dt("2025-07-15T09:00:00.0000000", tokyo), "end": dt("2025-07-15T09:30:00.0000000", tokyo), "organizer": organizer,
		"recurrence": recurrence(map[string]any{"type": "absoluteMonthly", "dayOfMonth": 15},
			map[string]any{"type": "noEnd", "recurrenceTimeZone": tokyo})})}
	standup := ICSEvent{Event: gEvent(t, map[string]any{"iCalUId": "daily-2", "subject": "Every other day",
		"start": dt("2025-07-10T10:00:00.0000000", berlin), "end": dt("2025-07-10T10:15:00.0000000", berlin), "organizer": organizer,
		"recurrence": recurrence(map[string]any{"type": "daily", "interval": 2},
			map[string]any{"type": "endDate", "endDate": "2025-07-20", "recurrenceTimeZone": berlin})})}
	events := []ICSEvent{weekly, holiday, flight, monthly, payday, standup}

	var first bytes.Buffer
	require.NoError(t, WriteICS(&first, "Calendar", events))
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, importUser, "calendar", "Calendar.ics"), first.Bytes())
	s := startSimWithImport(t, dir)

	// What graphsim understood, series by series.
	man, err := s.EventManifest(importUser)
	require.NoError(t, err)
	byUID := map[string]graphsim.EventEntry{}
	for _, e := range man {
		byUID[e.ICalUID] = e
	}
	require.Len(t, byUID, 6)
	w := byUID["series-weekly"]
	require.Equal(t, "Weekly sync", w.Subject)
	require.Equal(t, "America/Los_Angeles", w.TimeZone)
	require.True(t, time.Date(2025, 7, 7, 16, 0, 0, 0, time.UTC).Equal(w.Start))
	require.True(t, time.Date(2025, 7, 7, 16, 30, 0, 0, time.UTC).Equal(w.End))
	require.Equal(t, "FREQ=WEEKLY;BYDAY=MO;COUNT=4", w.Recurrence)
	require.Equal(t, 1, w.Exceptions)
	require.Equal(t, 1, w.Cancelled)
	require.Equal(t, []string{"adele.vance@contoso.com", "alex.wilber@contoso.com"}, w.Attendees)
	h := byUID["holiday"]
	require.True(t, h.IsAllDay)
	require.True(t, time.Date(2025, 7, 4, 0, 0, 0, 0, time.UTC).Equal(h.Start))
	f := byUID["flight"]
	require.True(t, time.Date(2025, 7, 10, 15, 0, 0, 0, time.UTC).Equal(f.Start))
	require.True(t, time.Date(2025, 7, 10, 20, 30, 0, 0, time.UTC).Equal(f.End), "the end in another zone")
	require.Equal(t, "FREQ=MONTHLY;BYDAY=2TU;COUNT=3", byUID["monthly-2tu"].Recurrence)
	require.Equal(t, "FREQ=MONTHLY;BYMONTHDAY=15", byUID["monthly-15"].Recurrence)
	require.Equal(t, "FREQ=DAILY;INTERVAL=2;UNTIL=20250720", byUID["daily-2"].Recurrence)

	// graphsim's own expansion of the series gives the instances we meant.
	c := newSimClient(t, s)
	base := "/users/" + url.PathEscape(importUser)
	view := c.list(base + "/calendarView?startDateTime=2025-07-01T00:00:00Z&endDateTime=2025-08-01T00:00:00Z&$top=50")
	var got []string
	for _, raw := range view {
		var ev graphEvent
		require.NoError(t, json.Unmarshal(raw, &ev))
		got = append(got, ev.Start.DateTime[:16]+" "+ev.Subject)
	}
	sort.Strings(got)
	require.Equal(t, []string{
		"2025-07-04T00:00 Independence Day",
		"2025-07-07T16:00 Weekly sync",
		"2025-07-08T13:00 Second Tuesday review",
		"2025-07-10T08:00 Every other day",
		"2025-07-10T15:00 Flight SEA → JFK",
		"2025-07-12T08:00 Every other day",
		"2025-07-14T08:00 Every other day",
		"2025-07-15T00:00 Payday",
		"2025-07-16T08:00 Every other day",
		"2025-07-18T08:00 Every other day",
		"2025-07-20T08:00 Every other day",
		"2025-07-21T18:00 Weekly sync (moved)",
		"2025-07-28T16:00 Weekly sync",
	}, got)

	// Back again: the Graph JSON graphsim serves, as a backup would store it, written as ICS,
	// says the same as the first file.
	var again []ICSEvent
	for _, raw := range c.list(base + "/events?$top=50") {
		var ev struct {
			ID         string           `json:"id"`
			Recurrence *graphRecurrence `json:"recurrence"`
		}
		require.NoError(t, json.Unmarshal(raw, &ev))
		item := ICSEvent{Event: raw}
		if ev.Recurrence != nil {
			insts := c.list(base + "/events/" + url.PathEscape(ev.ID) + "/instances?startDateTime=2025-07-01T00:00:00Z&endDateTime=2025-08-01T00:00:00Z")
			seen := map[time.Time]bool{}
			for _, in := range insts {
				var x graphEvent
				var typ struct {
					Type string `json:"type"`
				}
				require.NoError(t, json.Unmarshal(in, &x))
				require.NoError(t, json.Unmarshal(in, &typ))
				orig, ok := parseInstant(x.OriginalStart)
				require.True(t, ok)
				seen[orig] = true
				if typ.Type == "exception" {
					item.Exceptions = append(item.Exceptions, in)
				}
			}
			all, err := SeriesOccurrences(raw, time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			for _, o := range all {
				if !seen[o] {
					item.Cancelled = append(item.Cancelled, o)
				}
			}
		}
		again = append(again, item)
	}
	var second bytes.Buffer
	require.NoError(t, WriteICS(&second, "Calendar", again))
	checkContentLines(t, second.String())
	want := icsSummary(t, first.String())
	require.Len(t, want, 7, "six items and an exception")
	require.Equal(t, want, icsSummary(t, second.String()))
}

func TestGraphsimImportsOurContacts(t *testing.T) {
	photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4}, 200)
	contacts := []string{
		`{"id":"c1","displayName":"Pavel Bansky","givenName":"Pavel","middleName":"J","surname":"Bansky","companyName":"Contoso",
		  "department":"Devices","jobTitle":"Engineer","emailAddresses":[{"name":"Pavel","address":"pavelb@example.com"},{"address":"pavel@contoso.com"}],
		  "businessPhones":["+1 425 555 0100"],"homePhones":["+1 206 555 0102"],"mobilePhone":"+1 206 555 0103",
		  "businessAddress":{"street":"1 Microsoft Way","city":"Redmond","state":"WA","postalCode":"98052","countryOrRegion":"United States"},
		  "birthday":"1974-07-22T11:59:00Z","personalNotes":"Met at Build.\nLikes tea, coffee.","categories":["VIP"]}`,
		`{"id":"c2","displayName":"Zoë Müller","givenName":"Zoë","surname":"Müller","emailAddresses":[{"address":"zoe@example.de"}]}`,
	}
	var vcf bytes.Buffer
	for i, c := range contacts {
		var p []byte
		if i == 0 {
			p = photo
		}
		require.NoError(t, WriteVCard(&vcf, json.RawMessage(c), p, "image/jpeg"))
	}
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, importUser, "contacts", "people.vcf"), vcf.Bytes())
	s := startSimWithImport(t, dir)

	man, err := s.ContactManifest(importUser)
	require.NoError(t, err)
	require.Len(t, man, 2)
	sort.Slice(man, func(i, j int) bool { return man[i].DisplayName < man[j].DisplayName })
	require.Equal(t, "Pavel Bansky", man[0].DisplayName)
	require.Equal(t, []string{"pavelb@example.com", "pavel@contoso.com"}, man[0].Emails)
	require.ElementsMatch(t, []string{"+1 425 555 0100", "+1 206 555 0102", "+1 206 555 0103"}, man[0].Phones)
	sum := sha256.Sum256(photo)
	require.Equal(t, hex.EncodeToString(sum[:]), man[0].PhotoSHA256)
	require.Equal(t, "Zoë Müller", man[1].DisplayName)
	require.False(t, man[1].HasPhoto)

	// Back again: what graphsim serves, written as vCard, says what the first vCards said.
	c := newSimClient(t, s)
	base := "/users/" + url.PathEscape(importUser)
	var second bytes.Buffer
	for _, raw := range c.list(base + "/contacts?$top=50") {
		var ct struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		}
		require.NoError(t, json.Unmarshal(raw, &ct))
		var p []byte
		if ct.DisplayName == "Pavel Bansky" {
			p = c.get(base + "/contacts/" + url.PathEscape(ct.ID) + "/photo/$value")
		}
		require.NoError(t, WriteVCard(&second, raw, p, "image/jpeg"))
	}
	carried := func(out string) []string {
		var keep []string
		for _, card := range strings.SplitAfter(out, "END:VCARD\r\n") {
			if card == "" {
				continue
			}
			var lines []string
			for _, p := range parseVCardLines(t, card) {
				switch p.name {
				case "N", "FN", "ORG", "TITLE", "EMAIL", "TEL", "ADR", "BDAY", "NOTE", "CATEGORIES", "PHOTO":
					lines = append(lines, p.name+":"+p.value)
				}
			}
			sort.Strings(lines)
			keep = append(keep, strings.Join(lines, "\n"))
		}
		sort.Strings(keep)
		return keep
	}
	want := carried(vcf.String())
	require.Len(t, want, 2)
	require.Contains(t, want[0], "PHOTO:/9j/4AECAwT/")
	require.Equal(t, want, carried(second.String()))
}
