package export

import (
	"bytes"
	"encoding/json"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"
	"github.com/stretchr/testify/require"
	"github.com/teambition/rrule-go"
)

// gEvent builds Graph event JSON: a base event with the given fields on top.
func gEvent(t *testing.T, fields map[string]any) json.RawMessage {
	t.Helper()
	base := map[string]any{
		"id": "AAMkAD1", "iCalUId": "040000008200E00074C5B7101A82E0080000000001", "subject": "Event",
		"body":     map[string]any{"contentType": "html", "content": ""},
		"isAllDay": false,
		"showAs":   "busy", "sensitivity": "normal", "importance": "normal", "isCancelled": false,
		"categories": []string{}, "attendees": []any{},
		"location":        map[string]any{"displayName": ""},
		"recurrence":      nil,
		"createdDateTime": "2025-06-01T10:00:00.1234567Z", "lastModifiedDateTime": "2025-06-02T11:00:00Z",
	}
	maps.Copy(base, fields)
	b, err := json.Marshal(base)
	require.NoError(t, err)
	return b
}

func dt(dateTime, tz string) map[string]any {
	return map[string]any{"dateTime": dateTime, "timeZone": tz}
}

func recurrence(pattern, rng map[string]any) map[string]any {
	p := map[string]any{"type": "daily", "interval": 1, "month": 0, "dayOfMonth": 0, "daysOfWeek": []string{},
		"firstDayOfWeek": "sunday", "index": "first"}
	r := map[string]any{"type": "noEnd", "startDate": "2025-01-01", "endDate": "0001-01-01", "recurrenceTimeZone": "",
		"numberOfOccurrences": 0}
	maps.Copy(p, pattern)
	maps.Copy(r, rng)
	return map[string]any{"pattern": p, "range": r}
}

// writeICS writes events and checks the framing of every line.
func writeICS(t *testing.T, name string, events ...ICSEvent) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, WriteICS(&b, name, events))
	checkContentLines(t, b.String())
	return b.String()
}

// checkContentLines: CRLF only, ≤ 75 octets a line, folds never split a UTF-8 sequence.
func checkContentLines(t *testing.T, out string) {
	t.Helper()
	require.True(t, strings.HasSuffix(out, "\r\n"), "ends with CRLF")
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	for i, l := range lines {
		require.NotContains(t, l, "\n", "bare LF in line %d", i)
		require.NotContains(t, l, "\r", "bare CR in line %d", i)
		require.LessOrEqual(t, len(l), 75, "line %d is %d octets: %q", i, len(l), l)
		require.True(t, utf8.ValidString(l), "line %d splits a UTF-8 sequence: %q", i, l)
		require.NotEmpty(t, l, "empty line %d", i)
	}
}

func parseCal(t *testing.T, out string) *ical.Calendar {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(out)).Decode()
	require.NoError(t, err)
	return cal
}

// masterAndExceptions splits a calendar's VEVENTs.
func vevents(cal *ical.Calendar) (masters, exceptions []ical.Event) {
	for _, e := range cal.Events() {
		if e.Props.Get(ical.PropRecurrenceID) != nil {
			exceptions = append(exceptions, e)
		} else {
			masters = append(masters, e)
		}
	}
	return
}

func propValue(e ical.Event, name string) string {
	if p := e.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}

func propText(t *testing.T, e ical.Event, name string) string {
	t.Helper()
	s, err := e.Props.Text(name)
	require.NoError(t, err)
	return s
}

// expand lists the first n occurrences of a parsed VEVENT (RRULE and EXDATE applied) as local
// wall times ("2006-01-02 15:04") in its DTSTART zone, or dates for all-day events.
func expand(t *testing.T, e ical.Event, n int) []string {
	t.Helper()
	startProp := e.Props.Get(ical.PropDateTimeStart)
	require.NotNil(t, startProp)
	allDay := startProp.ValueType() == ical.ValueDate
	start, err := e.DateTimeStart(nil)
	require.NoError(t, err)
	opt, err := e.Props.RecurrenceRule()
	require.NoError(t, err)
	layout := "2006-01-02 15:04"
	if allDay {
		layout = "2006-01-02"
	}
	if opt == nil {
		return []string{start.Format(layout)}
	}
	opt.Dtstart = start
	r, err := rrule.NewRRule(*opt)
	require.NoError(t, err)
	set := rrule.Set{}
	set.RRule(r)
	for _, p := range e.Props.Values(ical.PropExceptionDates) {
		x, err := p.DateTime(nil)
		require.NoError(t, err)
		set.ExDate(x)
	}
	var out []string
	next := set.Iterator()
	for len(out) < n {
		o, ok := next()
		if !ok {
			break
		}
		out = append(out, o.In(start.Location()).Format(layout))
	}
	return out
}

func TestICSRecurrence(t *testing.T) {
	pst, et := "Pacific Standard Time", "Eastern Standard Time"
	cases := []struct {
		name       string
		start, end map[string]any
		allDay     bool
		origTZ     string
		pattern    map[string]any
		rng        map[string]any
		rrule      string
		tzid       string // DTSTART's TZID ("" for UTC or dates)
		want       []string
	}{
		{name: "daily interval numbered", start: dt("2025-07-07T09:00:00.0000000", pst), end: dt("2025-07-07T09:30:00.0000000", pst),
			pattern: map[string]any{"type": "daily", "interval": 2}, rng: map[string]any{"type": "numbered", "numberOfOccurrences": 5},
			rrule: "FREQ=DAILY;INTERVAL=2;COUNT=5", tzid: "America/Los_Angeles",
			want: []string{"2025-07-07 09:00", "2025-07-09 09:00", "2025-07-11 09:00", "2025-07-13 09:00", "2025-07-15 09:00"}},
		{name: "daily no end, zone given by Prefer", start: dt("2025-07-07T09:00:00.0000000", "Tokyo Standard Time"), end: dt("2025-07-07T10:00:00.0000000", "Tokyo Standard Time"),
			pattern: map[string]any{"type": "daily"}, rng: map[string]any{"type": "noEnd"},
			rrule: "FREQ=DAILY", tzid: "Asia/Tokyo",
			want: []string{"2025-07-07 09:00", "2025-07-08 09:00", "2025-07-09 09:00"}},
		{name: "weekly days end date", start: dt("2025-07-07T16:00:00.0000000", "UTC"), end: dt("2025-07-07T16:30:00.0000000", "UTC"), origTZ: pst,
			pattern: map[string]any{"type": "weekly", "daysOfWeek": []string{"monday", "wednesday", "friday"}},
			rng:     map[string]any{"type": "endDate", "endDate": "2025-07-16", "recurrenceTimeZone": pst},
			rrule:   "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20250716T160000Z", tzid: "America/Los_Angeles",
			want: []string{"2025-07-07 09:00", "2025-07-09 09:00", "2025-07-11 09:00", "2025-07-14 09:00", "2025-07-16 09:00"}},
		{name: "weekly every other week, week starts monday", start: dt("2025-07-01T08:00:00.0000000", "UTC"), end: dt("2025-07-01T09:00:00.0000000", "UTC"),
			origTZ:  "W. Europe Standard Time",
			pattern: map[string]any{"type": "weekly", "interval": 2, "daysOfWeek": []string{"tuesday", "thursday"}, "firstDayOfWeek": "monday"},
			rng:     map[string]any{"type": "noEnd", "recurrenceTimeZone": "W. Europe Standard Time"},
			rrule:   "FREQ=WEEKLY;BYDAY=TU,TH;WKST=MO;INTERVAL=2", tzid: "Europe/Berlin",
			want: []string{"2025-07-01 10:00", "2025-07-03 10:00", "2025-07-15 10:00", "2025-07-17 10:00", "2025-07-29 10:00"}},
		{name: "weekly across the end of DST keeps the local time", start: dt("2025-10-27T16:00:00.0000000", "UTC"), end: dt("2025-10-27T17:00:00.0000000", "UTC"),
			origTZ:  pst,
			pattern: map[string]any{"type": "weekly", "daysOfWeek": []string{"monday"}},
			rng:     map[string]any{"type": "numbered", "numberOfOccurrences": 3, "recurrenceTimeZone": pst},
			rrule:   "FREQ=WEEKLY;BYDAY=MO;COUNT=3", tzid: "America/Los_Angeles",
			want: []string{"2025-10-27 09:00", "2025-11-03 09:00", "2025-11-10 09:00"}},
		{name: "absolute monthly", start: dt("2025-01-15T08:00:00.0000000", et), end: dt("2025-01-15T09:00:00.0000000", et),
			pattern: map[string]any{"type": "absoluteMonthly", "dayOfMonth": 15}, rng: map[string]any{"type": "numbered", "numberOfOccurrences": 4},
			rrule: "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=4", tzid: "America/New_York",
			want: []string{"2025-01-15 08:00", "2025-02-15 08:00", "2025-03-15 08:00", "2025-04-15 08:00"}},
		{name: "absolute monthly day 31 is the last day", start: dt("2025-01-31T12:00:00.0000000", "UTC"), end: dt("2025-01-31T13:00:00.0000000", "UTC"),
			pattern: map[string]any{"type": "absoluteMonthly", "dayOfMonth": 31}, rng: map[string]any{"type": "numbered", "numberOfOccurrences": 4},
			rrule: "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4",
			want:  []string{"2025-01-31 12:00", "2025-02-28 12:00", "2025-03-31 12:00", "2025-04-30 12:00"}},
		{name: "relative monthly second tuesday", start: dt("2025-07-08T14:00:00.0000000", "GMT Standard Time"), end: dt("2025-07-08T15:00:00.0000000", "GMT Standard Time"),
			pattern: map[string]any{"type": "relativeMonthly", "daysOfWeek": []string{"tuesday"}, "index": "second"},
			rng:     map[string]any{"type": "numbered", "numberOfOccurrences": 3},
			rrule:   "FREQ=MONTHLY;BYDAY=2TU;COUNT=3", tzid: "Europe/London",
			want: []string{"2025-07-08 14:00", "2025-08-12 14:00", "2025-09-09 14:00"}},
		{name: "relative monthly last friday every other month until", start: dt("2025-01-31T16:00:00.0000000", "Tokyo Standard Time"), end: dt("2025-01-31T17:00:00.0000000", "Tokyo Standard Time"),
			pattern: map[string]any{"type": "relativeMonthly", "interval": 2, "daysOfWeek": []string{"friday"}, "index": "last"},
			rng:     map[string]any{"type": "endDate", "endDate": "2025-12-31"},
			rrule:   "FREQ=MONTHLY;BYDAY=-1FR;INTERVAL=2;UNTIL=20251231T070000Z", tzid: "Asia/Tokyo",
			want: []string{"2025-01-31 16:00", "2025-03-28 16:00", "2025-05-30 16:00", "2025-07-25 16:00", "2025-09-26 16:00", "2025-11-28 16:00"}},
		{name: "relative monthly first weekday", start: dt("2025-06-02T09:00:00.0000000", "India Standard Time"), end: dt("2025-06-02T09:15:00.0000000", "India Standard Time"),
			pattern: map[string]any{"type": "relativeMonthly", "daysOfWeek": []string{"monday", "tuesday", "wednesday", "thursday", "friday"}, "index": "first"},
			rng:     map[string]any{"type": "numbered", "numberOfOccurrences": 3},
			rrule:   "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1;COUNT=3", tzid: "Asia/Kolkata",
			want: []string{"2025-06-02 09:00", "2025-07-01 09:00", "2025-08-01 09:00"}},
		{name: "absolute yearly all-day", start: dt("2025-03-15T00:00:00.0000000", "UTC"), end: dt("2025-03-16T00:00:00.0000000", "UTC"), allDay: true,
			pattern: map[string]any{"type": "absoluteYearly", "month": 3, "dayOfMonth": 15}, rng: map[string]any{"type": "numbered", "numberOfOccurrences": 3},
			rrule: "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15;COUNT=3",
			want:  []string{"2025-03-15", "2026-03-15", "2027-03-15"}},
		{name: "absolute yearly february 29", start: dt("2028-02-29T10:00:00.0000000", "UTC"), end: dt("2028-02-29T11:00:00.0000000", "UTC"),
			pattern: map[string]any{"type": "absoluteYearly", "month": 2, "dayOfMonth": 29}, rng: map[string]any{"type": "numbered", "numberOfOccurrences": 3},
			rrule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1;COUNT=3",
			want:  []string{"2028-02-29 10:00", "2029-02-28 10:00", "2030-02-28 10:00"}},
		{name: "relative yearly last monday of may", start: dt("2025-05-26T00:00:00.0000000", pst), end: dt("2025-05-27T00:00:00.0000000", pst), allDay: true,
			pattern: map[string]any{"type": "relativeYearly", "month": 5, "daysOfWeek": []string{"monday"}, "index": "last"},
			rng:     map[string]any{"type": "numbered", "numberOfOccurrences": 3},
			rrule:   "FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO;COUNT=3",
			want:    []string{"2025-05-26", "2026-05-25", "2027-05-31"}},
		{name: "relative yearly fourth thursday of november no end", start: dt("2025-11-27T00:00:00.0000000", et), end: dt("2025-11-28T00:00:00.0000000", et), allDay: true,
			pattern: map[string]any{"type": "relativeYearly", "month": 11, "daysOfWeek": []string{"thursday"}, "index": "fourth"},
			rng:     map[string]any{"type": "noEnd"},
			rrule:   "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
			want:    []string{"2025-11-27", "2026-11-26", "2027-11-25"}},
		{name: "all-day weekly until a date", start: dt("2025-07-04T00:00:00.0000000", "UTC"), end: dt("2025-07-05T00:00:00.0000000", "UTC"), allDay: true,
			pattern: map[string]any{"type": "weekly", "daysOfWeek": []string{"friday"}}, rng: map[string]any{"type": "endDate", "endDate": "2025-07-25"},
			rrule: "FREQ=WEEKLY;BYDAY=FR;UNTIL=20250725",
			want:  []string{"2025-07-04", "2025-07-11", "2025-07-18", "2025-07-25"}},
		{name: "evening series until a date ends the next day in UTC", start: dt("2025-07-08T01:00:00.0000000", "UTC"), end: dt("2025-07-08T02:00:00.0000000", "UTC"),
			origTZ:  pst,
			pattern: map[string]any{"type": "weekly", "daysOfWeek": []string{"monday"}},
			rng:     map[string]any{"type": "endDate", "endDate": "2025-07-21", "recurrenceTimeZone": pst},
			rrule:   "FREQ=WEEKLY;BYDAY=MO;UNTIL=20250722T010000Z", tzid: "America/Los_Angeles",
			want: []string{"2025-07-07 18:00", "2025-07-14 18:00", "2025-07-21 18:00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fields := map[string]any{"subject": tc.name, "start": tc.start, "end": tc.end, "isAllDay": tc.allDay,
				"recurrence": recurrence(tc.pattern, tc.rng)}
			if tc.origTZ != "" {
				fields["originalStartTimeZone"], fields["originalEndTimeZone"] = tc.origTZ, tc.origTZ
			}
			out := writeICS(t, "Calendar", ICSEvent{Event: gEvent(t, fields)})
			cal := parseCal(t, out)
			masters, _ := vevents(cal)
			require.Len(t, masters, 1)
			ev := masters[0]
			require.Equal(t, tc.rrule, propValue(ev, ical.PropRecurrenceRule))
			st := ev.Props.Get(ical.PropDateTimeStart)
			require.Equal(t, tc.tzid, st.Params.Get(ical.PropTimezoneID))
			if tc.allDay {
				require.Equal(t, ical.ValueDate, st.ValueType())
			}
			n := len(tc.want)
			if tc.rng["type"] != "noEnd" {
				n++ // a series that ends gives no more than its occurrences
			}
			require.Equal(t, tc.want, expand(t, ev, n), "occurrences")
			if tc.tzid != "" {
				require.Contains(t, out, "BEGIN:VTIMEZONE\r\nTZID:"+tc.tzid+"\r\n")
			} else {
				require.NotContains(t, out, "BEGIN:VTIMEZONE")
			}
		})
	}
}

// A series ending with the count gives exactly its occurrences; asking for one more gives none.
func TestICSRecurrenceEndsAreRespected(t *testing.T) {
	ev := gEvent(t, map[string]any{"start": dt("2025-07-07T09:00:00", "UTC"), "end": dt("2025-07-07T10:00:00", "UTC"),
		"recurrence": recurrence(map[string]any{"type": "daily"}, map[string]any{"type": "numbered", "numberOfOccurrences": 2})})
	masters, _ := vevents(parseCal(t, writeICS(t, "", ICSEvent{Event: ev})))
	require.Equal(t, []string{"2025-07-07 09:00", "2025-07-08 09:00"}, expand(t, masters[0], 10))
}

func TestICSAllDay(t *testing.T) {
	out := writeICS(t, "Holidays", ICSEvent{Event: gEvent(t, map[string]any{"subject": "Independence Day", "isAllDay": true,
		"start": dt("2025-07-04T00:00:00.0000000", "UTC"), "end": dt("2025-07-05T00:00:00.0000000", "UTC"),
		"originalStartTimeZone": "Pacific Standard Time", "showAs": "free"})},
		ICSEvent{Event: gEvent(t, map[string]any{"iCalUId": "multi", "subject": "Conference", "isAllDay": true,
			"start": dt("2025-09-01T00:00:00.0000000", "Pacific Standard Time"), "end": dt("2025-09-04T00:00:00.0000000", "Pacific Standard Time")})})
	require.Contains(t, out, "DTSTART;VALUE=DATE:20250704\r\n")
	require.Contains(t, out, "DTEND;VALUE=DATE:20250705\r\n")
	require.Contains(t, out, "DTSTART;VALUE=DATE:20250901\r\n")
	require.Contains(t, out, "DTEND;VALUE=DATE:20250904\r\n", "three days, end exclusive")
	require.NotContains(t, out, "VTIMEZONE", "dates need no zone")
	masters, _ := vevents(parseCal(t, out))
	require.Len(t, masters, 2)
	require.Equal(t, "TRANSPARENT", propValue(masters[0], ical.PropTransparency), "showAs free")
	end, err := masters[1].DateTimeEnd(nil)
	require.NoError(t, err)
	require.Equal(t, time.Date(2025, 9, 4, 0, 0, 0, 0, time.UTC), end)
}

func TestICSTimeZones(t *testing.T) {
	flight := gEvent(t, map[string]any{"iCalUId": "flight", "subject": "Flight SEA → JFK",
		"start": dt("2025-07-10T15:00:00.0000000", "UTC"), "end": dt("2025-07-10T20:30:00.0000000", "UTC"),
		"originalStartTimeZone": "Pacific Standard Time", "originalEndTimeZone": "Eastern Standard Time"})
	prefer := gEvent(t, map[string]any{"iCalUId": "prefer", "subject": "Given in a Windows zone",
		"start": dt("2025-12-01T09:00:00.0000000", "W. Europe Standard Time"), "end": dt("2025-12-01T10:00:00.0000000", "W. Europe Standard Time")})
	iana := gEvent(t, map[string]any{"iCalUId": "iana", "subject": "Given in an IANA zone",
		"start": dt("2026-01-15T08:00:00", "Australia/Sydney"), "end": dt("2026-01-15T09:00:00", "Australia/Sydney")})
	custom := gEvent(t, map[string]any{"iCalUId": "custom", "subject": "Custom zone",
		"start": dt("2025-07-10T15:00:00.0000000", "UTC"), "end": dt("2025-07-10T16:00:00.0000000", "UTC"),
		"originalStartTimeZone": "Customized Time Zone", "originalEndTimeZone": "tzone://Microsoft/Custom"})
	utc := gEvent(t, map[string]any{"iCalUId": "utc", "subject": "UTC",
		"start": dt("2025-07-10T15:00:00.0000000", "UTC"), "end": dt("2025-07-10T16:00:00.0000000", "UTC"),
		"originalStartTimeZone": "UTC", "originalEndTimeZone": "tzone://Microsoft/Utc"})
	out := writeICS(t, "Travel", ICSEvent{Event: flight}, ICSEvent{Event: prefer}, ICSEvent{Event: iana}, ICSEvent{Event: custom}, ICSEvent{Event: utc})

	require.Contains(t, out, "DTSTART;TZID=America/Los_Angeles:20250710T080000\r\n")
	require.Contains(t, out, "DTEND;TZID=America/New_York:20250710T163000\r\n")
	require.Contains(t, out, "DTSTART;TZID=Europe/Berlin:20251201T090000\r\n")
	require.Contains(t, out, "DTSTART;TZID=Australia/Sydney:20260115T080000\r\n")
	require.Contains(t, out, "DTSTART:20250710T150000Z\r\n", "unknown zones fall back to UTC")

	cal := parseCal(t, out)
	var tzids []string
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			tzids = append(tzids, c.Props.Get(ical.PropTimezoneID).Value)
		}
	}
	require.Equal(t, []string{"America/Los_Angeles", "America/New_York", "Australia/Sydney", "Europe/Berlin"}, tzids,
		"one VTIMEZONE per zone used, before the events")
	require.Equal(t, ical.CompTimezone, cal.Children[0].Name)

	byUID := map[string]ical.Event{}
	for _, e := range cal.Events() {
		byUID[propValue(e, ical.PropUID)] = e
	}
	instants := map[string][2]time.Time{
		"flight": {time.Date(2025, 7, 10, 15, 0, 0, 0, time.UTC), time.Date(2025, 7, 10, 20, 30, 0, 0, time.UTC)},
		"prefer": {time.Date(2025, 12, 1, 8, 0, 0, 0, time.UTC), time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC)},
		"iana":   {time.Date(2026, 1, 14, 21, 0, 0, 0, time.UTC), time.Date(2026, 1, 14, 22, 0, 0, 0, time.UTC)},
		"custom": {time.Date(2025, 7, 10, 15, 0, 0, 0, time.UTC), time.Date(2025, 7, 10, 16, 0, 0, 0, time.UTC)},
		"utc":    {time.Date(2025, 7, 10, 15, 0, 0, 0, time.UTC), time.Date(2025, 7, 10, 16, 0, 0, 0, time.UTC)},
	}
	for uid, want := range instants {
		e := byUID[uid]
		st, err := e.DateTimeStart(nil)
		require.NoError(t, err)
		en, err := e.DateTimeEnd(nil)
		require.NoError(t, err)
		require.True(t, want[0].Equal(st), "%s start %v", uid, st)
		require.True(t, want[1].Equal(en), "%s end %v", uid, en)
	}
}

// vtzOnsets evaluates a VTIMEZONE independently of how it was made: every onset (as an instant)
// of every observance up to until, with the offset it sets.
type onset struct {
	at  time.Time
	off time.Duration
}

func parseUTCOffset(t *testing.T, s string) time.Duration {
	t.Helper()
	sign := time.Duration(1)
	if s[0] == '-' {
		sign = -1
	}
	s = s[1:]
	h, m, sec := s[0:2], s[2:4], "00"
	if len(s) == 6 {
		sec = s[4:6]
	}
	d, err := time.ParseDuration(h + "h" + m + "m" + sec + "s")
	require.NoError(t, err)
	return sign * d
}

func vtzOnsets(t *testing.T, tz *ical.Component, until time.Time) []onset {
	t.Helper()
	var out []onset
	for _, obs := range tz.Children {
		wall, err := time.Parse("20060102T150405", obs.Props.Get(ical.PropDateTimeStart).Value)
		require.NoError(t, err)
		from := parseUTCOffset(t, obs.Props.Get(ical.PropTimezoneOffsetFrom).Value)
		to := parseUTCOffset(t, obs.Props.Get(ical.PropTimezoneOffsetTo).Value)
		walls := []time.Time{wall}
		if rr := obs.Props.Get(ical.PropRecurrenceRule); rr != nil {
			opt, err := rrule.StrToROption(rr.Value)
			require.NoError(t, err)
			opt.Dtstart = wall
			r, err := rrule.NewRRule(*opt)
			require.NoError(t, err)
			walls = r.Between(wall, until, true)
		}
		for _, w := range walls {
			out = append(out, onset{w.Add(-from), to})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

func TestVTimezoneMatchesZoneData(t *testing.T) {
	cases := []struct {
		zone     string
		from, to int // years
		rules    int // observances with an RRULE
	}{
		{"America/Los_Angeles", 2025, 2025, 2},
		{"America/Los_Angeles", 2005, 2009, 2}, // the 2007 US change: earlier years are one-time observances
		{"Europe/London", 2024, 2026, 2},
		{"Europe/Berlin", 2025, 2030, 2},
		{"Europe/Berlin", 2036, 2040, 2}, // past 2037 Go computes zones from the TZ rule
		{"America/New_York", 2099, 2101, 2},
		{"Australia/Sydney", 2025, 2026, 2}, // southern hemisphere: DST over New Year
		{"Australia/Lord_Howe", 2025, 2025, 2},
		{"Pacific/Chatham", 2025, 2025, 2},
		{"America/Sao_Paulo", 2017, 2021, 0}, // DST abolished in 2019
		{"Asia/Tehran", 2020, 2024, 0},       // fixed dates, then abolished
		{"Africa/Casablanca", 2023, 2025, 0}, // Ramadan-dependent
		{"Europe/Dublin", 2025, 2025, 2},
		{"America/Santiago", 2024, 2026, 2}, // "Sun>=2": BYMONTHDAY=2,…,8;BYDAY=SU
		{"Asia/Kolkata", 2025, 2025, 0},
		{"Asia/Tokyo", 2025, 2025, 0},
		{"Etc/GMT+8", 2025, 2025, 0},
	}
	for _, tc := range cases {
		t.Run(tc.zone+"/"+time.Date(tc.from, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006"), func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			require.NoError(t, err)
			min := time.Date(tc.from, 3, 1, 0, 0, 0, 0, loc)
			max := time.Date(tc.to, 10, 1, 0, 0, 0, 0, loc)
			tz := vtimezone(loc, min, max)

			// It encodes, and reads back.
			cal := ical.NewCalendar()
			cal.Props.SetText(ical.PropProductID, "x")
			cal.Props.SetText(ical.PropVersion, "2.0")
			cal.Children = []*ical.Component{tz}
			var b bytes.Buffer
			fw := newFoldWriter(&b)
			require.NoError(t, ical.NewEncoder(fw).Encode(cal))
			require.NoError(t, fw.Close())
			checkContentLines(t, b.String())
			back := parseCal(t, b.String())
			tz = back.Children[0]
			require.Equal(t, tc.zone, tz.Props.Get(ical.PropTimezoneID).Value)

			rules := 0
			for _, obs := range tz.Children {
				if obs.Props.Get(ical.PropRecurrenceRule) != nil {
					rules++
				}
			}
			if tc.rules >= 0 {
				require.Equal(t, tc.rules, rules, "observances with a yearly rule")
			}

			// Every instant of the span, and the years after it for zones whose rules go on, has
			// the offset Go's zone data gives.
			end := time.Date(tc.to+1, 1, 1, 0, 0, 0, 0, loc)
			if rules > 0 {
				end = end.AddDate(5, 0, 0)
			}
			onsets := vtzOnsets(t, tz, end)
			require.NotEmpty(t, onsets)
			check := func(x time.Time) {
				i := sort.Search(len(onsets), func(i int) bool { return onsets[i].at.After(x) }) - 1
				require.GreaterOrEqual(t, i, 0, "no observance covers %v", x)
				_, off := x.In(loc).Zone()
				require.Equal(t, time.Duration(off)*time.Second, onsets[i].off, "offset at %v (%s)", x.UTC(), x.In(loc))
			}
			start := time.Date(tc.from, 1, 1, 0, 0, 0, 0, loc)
			for x := start; x.Before(end); x = x.Add(6 * time.Hour) {
				check(x)
			}
			// Right around every real transition.
			for _, tr := range zoneTransitions(loc, start, end, 1000) {
				if tr.at.Before(start) {
					continue
				}
				check(tr.at)
				check(tr.at.Add(-time.Second))
			}
		})
	}
}

func TestICSExceptionsAndCancellations(t *testing.T) {
	pst := "Pacific Standard Time"
	master := gEvent(t, map[string]any{"iCalUId": "series-1", "subject": "Weekly sync",
		"start": dt("2025-07-07T16:00:00.0000000", "UTC"), "end": dt("2025-07-07T16:30:00.0000000", "UTC"),
		"originalStartTimeZone": pst, "originalEndTimeZone": pst,
		"recurrence": recurrence(map[string]any{"type": "weekly", "daysOfWeek": []string{"monday"}},
			map[string]any{"type": "numbered", "numberOfOccurrences": 4, "recurrenceTimeZone": pst, "startDate": "2025-07-07"})})
	moved := gEvent(t, map[string]any{"iCalUId": "occurrence-uid-differs", "subject": "Weekly sync (moved)", "type": "exception",
		"start": dt("2025-07-21T18:00:00.0000000", "UTC"), "end": dt("2025-07-21T18:30:00.0000000", "UTC"),
		"originalStart": "2025-07-21T16:00:00Z", "originalStartTimeZone": pst, "originalEndTimeZone": pst,
		"location": map[string]any{"displayName": "Room 2"}})
	elsewhere := gEvent(t, map[string]any{"iCalUId": "other", "subject": "Weekly sync (from New York)", "type": "exception",
		"start": dt("2025-07-28T17:00:00.0000000", "UTC"), "end": dt("2025-07-28T17:30:00.0000000", "UTC"),
		"originalStart": "2025-07-28T16:00:00Z", "originalStartTimeZone": "Eastern Standard Time", "originalEndTimeZone": "Eastern Standard Time"})
	cancelledMeeting := gEvent(t, map[string]any{"iCalUId": "cancelled", "subject": "Canceled: Budget", "isCancelled": true,
		"start": dt("2025-07-09T16:00:00.0000000", "UTC"), "end": dt("2025-07-09T17:00:00.0000000", "UTC")})

	out := writeICS(t, "Calendar", ICSEvent{Event: master, Exceptions: []json.RawMessage{moved, elsewhere},
		Cancelled: []time.Time{time.Date(2025, 7, 14, 16, 0, 0, 0, time.UTC)}}, ICSEvent{Event: cancelledMeeting})

	require.Contains(t, out, "EXDATE;TZID=America/Los_Angeles:20250714T090000\r\n")
	require.Contains(t, out, "RECURRENCE-ID;TZID=America/Los_Angeles:20250721T090000\r\n")
	require.Contains(t, out, "RECURRENCE-ID;TZID=America/Los_Angeles:20250728T090000\r\n")
	require.Contains(t, out, "DTSTART;TZID=America/New_York:20250728T130000\r\n", "an exception keeps its own zone")

	cal := parseCal(t, out)
	masters, exceptions := vevents(cal)
	require.Len(t, masters, 2)
	require.Len(t, exceptions, 2)
	require.Equal(t, []string{"2025-07-07 09:00", "2025-07-21 09:00", "2025-07-28 09:00"}, expand(t, masters[0], 10),
		"the cancelled occurrence is gone; exceptions replace theirs")
	for _, x := range exceptions {
		require.Equal(t, "series-1", propValue(x, ical.PropUID), "exceptions share the series' UID")
		require.Nil(t, x.Props.Get(ical.PropRecurrenceRule))
	}
	require.Equal(t, "Weekly sync (moved)", propText(t, exceptions[0], ical.PropSummary))
	require.Equal(t, "Room 2", propText(t, exceptions[0], ical.PropLocation))
	rid, err := exceptions[0].Props.DateTime(ical.PropRecurrenceID, nil)
	require.NoError(t, err)
	require.True(t, rid.Equal(time.Date(2025, 7, 21, 16, 0, 0, 0, time.UTC)))
	st, err := exceptions[0].DateTimeStart(nil)
	require.NoError(t, err)
	require.True(t, st.Equal(time.Date(2025, 7, 21, 18, 0, 0, 0, time.UTC)))

	require.Equal(t, "CANCELLED", propValue(masters[1], ical.PropStatus))
	require.Equal(t, "CONFIRMED", propValue(masters[0], ical.PropStatus))
}

func TestICSAllDaySeriesExceptions(t *testing.T) {
	pst := "Pacific Standard Time"
	master := gEvent(t, map[string]any{"iCalUId": "holidays", "subject": "Office closed", "isAllDay": true,
		"start": dt("2025-12-22T00:00:00.0000000", pst), "end": dt("2025-12-23T00:00:00.0000000", pst), "originalStartTimeZone": pst,
		"recurrence": recurrence(map[string]any{"type": "daily"}, map[string]any{"type": "numbered", "numberOfOccurrences": 5, "recurrenceTimeZone": pst})})
	x := gEvent(t, map[string]any{"subject": "Office open half day", "isAllDay": true,
		"start": dt("2025-12-26T00:00:00.0000000", pst), "end": dt("2025-12-27T00:00:00.0000000", pst), "originalStart": "2025-12-26T00:00:00Z"})
	out := writeICS(t, "", ICSEvent{Event: master, Exceptions: []json.RawMessage{x}, Cancelled: []time.Time{
		time.Date(2025, 12, 25, 0, 0, 0, 0, time.UTC), // midnight UTC of the date
		time.Date(2025, 12, 24, 8, 0, 0, 0, time.UTC), // midnight in the series' zone
	}})
	require.Contains(t, out, "EXDATE;VALUE=DATE:20251225\r\n")
	require.Contains(t, out, "EXDATE;VALUE=DATE:20251224\r\n")
	require.Contains(t, out, "RECURRENCE-ID;VALUE=DATE:20251226\r\n")
	masters, exceptions := vevents(parseCal(t, out))
	require.Len(t, exceptions, 1)
	require.Equal(t, []string{"2025-12-22", "2025-12-23", "2025-12-26"}, expand(t, masters[0], 10))
	require.NotContains(t, out, "VTIMEZONE")
}

func TestICSAttendees(t *testing.T) {
	att := func(name, addr, typ, resp string) map[string]any {
		return map[string]any{"type": typ, "status": map[string]any{"response": resp, "time": "0001-01-01T00:00:00Z"},
			"emailAddress": map[string]any{"name": name, "address": addr}}
	}
	ev := gEvent(t, map[string]any{"subject": "Planning",
		"start": dt("2025-07-09T16:00:00.0000000", "UTC"), "end": dt("2025-07-09T17:00:00.0000000", "UTC"),
		"organizer": map[string]any{"emailAddress": map[string]any{"name": "Adele Vance", "address": "adele@contoso.com"}},
		"attendees": []any{
			att("Adele Vance", "adele@contoso.com", "required", "organizer"),
			att("Vance, Alex", "alex@contoso.com", "required", "accepted"),
			att(`Megan "Meg" Bowen`, "megan@contoso.com", "optional", "declined"),
			att("Lee Gu", "lee@contoso.com", "required", "tentativelyAccepted"),
			att("Lidia Holloway", "lidia@contoso.com", "optional", "none"),
			att("Nestor; Wilke", "nestor@contoso.com", "required", "notResponded"),
			att("Conf Room Rainier", "rainier@contoso.com", "resource", "accepted"),
			att("No address", "", "required", "accepted"),
		}})
	cal := parseCal(t, writeICS(t, "", ICSEvent{Event: ev}))
	e := cal.Events()[0]
	org := e.Props.Get(ical.PropOrganizer)
	require.Equal(t, "mailto:adele@contoso.com", org.Value)
	require.Equal(t, "Adele Vance", org.Params.Get(ical.ParamCommonName))

	type a struct{ cn, addr, role, partstat, cutype, rsvp string }
	var got []a
	for _, p := range e.Props.Values(ical.PropAttendee) {
		got = append(got, a{p.Params.Get(ical.ParamCommonName), p.Value, p.Params.Get(ical.ParamRole),
			p.Params.Get(ical.ParamParticipationStatus), p.Params.Get(ical.ParamCalendarUserType), p.Params.Get(ical.ParamRSVP)})
	}
	require.Equal(t, []a{
		{"Adele Vance", "mailto:adele@contoso.com", "REQ-PARTICIPANT", "ACCEPTED", "INDIVIDUAL", ""},
		{"Vance, Alex", "mailto:alex@contoso.com", "REQ-PARTICIPANT", "ACCEPTED", "INDIVIDUAL", ""},
		{"Megan 'Meg' Bowen", "mailto:megan@contoso.com", "OPT-PARTICIPANT", "DECLINED", "INDIVIDUAL", ""},
		{"Lee Gu", "mailto:lee@contoso.com", "REQ-PARTICIPANT", "TENTATIVE", "INDIVIDUAL", ""},
		{"Lidia Holloway", "mailto:lidia@contoso.com", "OPT-PARTICIPANT", "NEEDS-ACTION", "INDIVIDUAL", "TRUE"},
		{"Nestor; Wilke", "mailto:nestor@contoso.com", "REQ-PARTICIPANT", "NEEDS-ACTION", "INDIVIDUAL", "TRUE"},
		{"Conf Room Rainier", "mailto:rainier@contoso.com", "NON-PARTICIPANT", "ACCEPTED", "RESOURCE", ""},
	}, got, "an attendee without an address is left out")
}

func TestICSProperties(t *testing.T) {
	lat, lon := 47.6423, -122.1391
	long := strings.Repeat("Ünïcødé text with emoji 🎉 and more; ", 20)
	ev := gEvent(t, map[string]any{"iCalUId": "props", "subject": "Q3 review, part 1; \\final\\ 🎉\nsecond line",
		"body": map[string]any{"contentType": "html", "content": "<html><head><meta charset=utf-8><style>p {margin:0}</style></head>" +
			"<body><div><p>Hi all,</p><p>Agenda&nbsp;for&nbsp;<b>Q3</b>:</p><ul><li>Numbers</li><li>Plans</li></ul>" +
			"<p>Join: <a href=\"https://teams.microsoft.com/l/meetup-join/abc\">Click here</a></p><p>" + long + "</p></div></body></html>"},
		"start": dt("2025-07-09T16:00:00.0000000", "UTC"), "end": dt("2025-07-09T17:00:00.0000000", "UTC"),
		"location":    map[string]any{"displayName": "Building 92, Room 1", "coordinates": map[string]any{"latitude": lat, "longitude": lon}},
		"categories":  []string{"Red category", "Projects, 2025", ""},
		"sensitivity": "confidential", "importance": "high", "showAs": "oof",
		"isReminderOn": true, "reminderMinutesBeforeStart": 15})
	plain := gEvent(t, map[string]any{"iCalUId": "plain", "subject": "",
		"body":  map[string]any{"contentType": "text", "content": "line 1\r\nline 2\r\n"},
		"start": dt("2025-07-10T16:00:00.0000000", "UTC"), "end": dt("2025-07-10T17:00:00.0000000", "UTC"),
		"sensitivity": "private", "importance": "low", "showAs": "tentative", "lastModifiedDateTime": nil})
	out := writeICS(t, "Adele's calendar, main; 🎉", ICSEvent{Event: ev}, ICSEvent{Event: plain})
	cal := parseCal(t, out)

	require.Equal(t, ICSProductID, cal.Props.Get(ical.PropProductID).Value)
	require.Contains(t, ICSProductID, "Holdfast")
	require.Equal(t, "2.0", cal.Props.Get(ical.PropVersion).Value)
	name, err := cal.Props.Text("X-WR-CALNAME")
	require.NoError(t, err)
	require.Equal(t, "Adele's calendar, main; 🎉", name)

	byUID := map[string]ical.Event{}
	for _, e := range cal.Events() {
		byUID[propValue(e, ical.PropUID)] = e
	}
	e := byUID["props"]
	require.Equal(t, "Q3 review, part 1; \\final\\ 🎉\nsecond line", propText(t, e, ical.PropSummary))
	desc := propText(t, e, ical.PropDescription)
	require.True(t, strings.HasPrefix(desc, "Hi all,\nAgenda for Q3:\n- Numbers\n- Plans\nJoin: Click here <https://teams.microsoft.com/l/meetup-join/abc>\n"), desc)
	require.NotContains(t, desc, "margin", "styles are dropped")
	require.Contains(t, desc, strings.TrimSpace(long))
	alt := e.Props.Get("X-ALT-DESC")
	require.Equal(t, "text/html", alt.Params.Get("FMTTYPE"))
	require.Equal(t, "Building 92, Room 1", propText(t, e, ical.PropLocation))
	require.Equal(t, "47.6423;-122.1391", propValue(e, ical.PropGeo))
	cats, err := e.Props.Get(ical.PropCategories).TextList()
	require.NoError(t, err)
	require.Equal(t, []string{"Red category", "Projects, 2025"}, cats)
	require.Equal(t, "CONFIDENTIAL", propValue(e, ical.PropClass))
	require.Equal(t, "1", propValue(e, ical.PropPriority))
	require.Equal(t, "OPAQUE", propValue(e, ical.PropTransparency))
	require.Equal(t, "OOF", propValue(e, "X-MICROSOFT-CDO-BUSYSTATUS"))
	require.Equal(t, "20250602T110000Z", propValue(e, ical.PropDateTimeStamp))
	require.Equal(t, "20250601T100000Z", propValue(e, ical.PropCreated))
	require.Equal(t, "20250602T110000Z", propValue(e, ical.PropLastModified))
	require.Len(t, e.Children, 1)
	require.Equal(t, ical.CompAlarm, e.Children[0].Name)
	require.Equal(t, "-PT15M", e.Children[0].Props.Get(ical.PropTrigger).Value)

	p := byUID["plain"]
	require.Nil(t, p.Props.Get(ical.PropSummary), "no subject, no SUMMARY")
	require.Equal(t, "line 1\nline 2", propText(t, p, ical.PropDescription))
	require.Nil(t, p.Props.Get("X-ALT-DESC"))
	require.Equal(t, "PRIVATE", propValue(p, ical.PropClass))
	require.Equal(t, "9", propValue(p, ical.PropPriority))
	require.Equal(t, "TENTATIVE", propValue(p, "X-MICROSOFT-CDO-BUSYSTATUS"))
	require.Equal(t, "20250601T100000Z", propValue(p, ical.PropDateTimeStamp), "DTSTAMP falls back to createdDateTime")
	require.Empty(t, p.Children, "no reminder, no VALARM")
	require.NotContains(t, out, "VALUE=TEXT", "extension properties are TEXT by default")
}

func TestICSEmptyCalendar(t *testing.T) {
	out := writeICS(t, "Empty, really")
	require.Equal(t, "BEGIN:VCALENDAR\r\nCALSCALE:GREGORIAN\r\nPRODID:"+ICSProductID+"\r\nVERSION:2.0\r\nX-WR-CALNAME:Empty\\, really\r\nEND:VCALENDAR\r\n", out)
	cal := parseCal(t, out)
	require.Empty(t, cal.Children)
}

func TestICSUIDFallbacks(t *testing.T) {
	noUID := gEvent(t, map[string]any{"iCalUId": "", "id": "AAMkID", "start": dt("2025-07-10T16:00:00", "UTC")})
	nothing := gEvent(t, map[string]any{"iCalUId": "", "id": "", "start": dt("2025-07-11T16:00:00", "UTC")})
	cal := parseCal(t, writeICS(t, "", ICSEvent{Event: noUID}, ICSEvent{Event: nothing}))
	evs := cal.Events()
	require.Equal(t, "AAMkID@holdfast", propValue(evs[0], ical.PropUID))
	require.Regexp(t, `^[0-9a-f]{32}@holdfast$`, propValue(evs[1], ical.PropUID))
	en, err := evs[0].DateTimeEnd(nil)
	require.NoError(t, err)
	st, _ := evs[0].DateTimeStart(nil)
	require.Equal(t, st, en, "no end: a zero-length event")
}

func TestICSErrors(t *testing.T) {
	var b bytes.Buffer
	err := WriteICS(&b, "", []ICSEvent{{Event: json.RawMessage(`{"subject":`)}})
	require.ErrorContains(t, err, "calendar item 0")
	err = WriteICS(&b, "", []ICSEvent{{Event: gEvent(t, map[string]any{"subject": "No start"})}})
	require.ErrorContains(t, err, `"No start": no start`)
	err = WriteICS(&b, "", []ICSEvent{{Event: gEvent(t, map[string]any{"start": dt("2025-07-10T16:00:00", "UTC")}),
		Exceptions: []json.RawMessage{json.RawMessage(`[]`)}}})
	require.ErrorContains(t, err, "exception 0")
}

func TestFoldWriter(t *testing.T) {
	line := "DESCRIPTION:" + strings.Repeat("aé🎉", 40)
	var b bytes.Buffer
	fw := newFoldWriter(&b)
	// Byte by byte, so that CRLF and UTF-8 sequences straddle writes.
	for _, c := range []byte(line + "\r\nSHORT:x\r\n") {
		_, err := fw.Write([]byte{c})
		require.NoError(t, err)
	}
	require.NoError(t, fw.Close())
	out := b.String()
	checkContentLines(t, out)
	require.Equal(t, line+"\r\nSHORT:x\r\n", strings.ReplaceAll(out, "\r\n ", ""), "unfolding gives the line back")
	require.Contains(t, out, "\r\nSHORT:x\r\n")

	exact := "X:" + strings.Repeat("a", 73)
	b.Reset()
	fw = newFoldWriter(&b)
	io := []byte(exact + "\r\n")
	_, _ = fw.Write(io)
	require.NoError(t, fw.Close())
	require.Equal(t, exact+"\r\n", b.String(), "75 octets fit")

	fw = newFoldWriter(&b)
	_, _ = fw.Write([]byte("NO-CRLF"))
	require.Error(t, fw.Close())
}

func TestHTMLToText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"<p>Hello</p><p>World</p>", "Hello\nWorld"},
		{"Line<br>break<br/>twice", "Line\nbreak\ntwice"},
		{"<html><head><title>T</title><style>.a{}</style><script>x()</script></head><body>Body</body></html>", "Body"},
		{"  lots   of \n\t white   space  ", "lots of white space"},
		{"<ul><li>a</li><li>b</li></ul>", "- a\n- b"},
		{"<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>", "1\t2\n3\t4"},
		{"<pre>keep\n  this</pre>", "keep\n  this"},
		{"&lt;tag&gt; &amp; &quot;q&quot; &#x1F389;", "<tag> & \"q\" 🎉"},
		{`<a href="https://x.example/">https://x.example/</a>`, "https://x.example/"},
		{`<a href="mailto:a@b.c">write</a>`, "write <a@b.c>"},
		{`<a href="#top">top</a>`, "top"},
		{"<p>a</p><p></p><p></p><p></p><p>b</p>", "a\nb"},
		{"<div>a<br><br><br><br>b</div>", "a\n\nb"},
		{"<!-- comment --><!--[if gte mso 9]><xml><o:x/></xml><![endif]-->Text", "Text"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, htmlToText(tc.in), tc.in)
	}
}

func TestSeriesOccurrences(t *testing.T) {
	pst := "Pacific Standard Time"
	weekly := gEvent(t, map[string]any{"start": dt("2025-10-27T16:00:00.0000000", "UTC"), "end": dt("2025-10-27T17:00:00.0000000", "UTC"),
		"originalStartTimeZone": pst,
		"recurrence": recurrence(map[string]any{"type": "weekly", "daysOfWeek": []string{"monday"}},
			map[string]any{"type": "numbered", "numberOfOccurrences": 3, "recurrenceTimeZone": pst})})
	got, err := SeriesOccurrences(weekly, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, []time.Time{time.Date(2025, 10, 27, 16, 0, 0, 0, time.UTC), time.Date(2025, 11, 3, 17, 0, 0, 0, time.UTC),
		time.Date(2025, 11, 10, 17, 0, 0, 0, time.UTC)}, got, "09:00 local on both sides of the end of DST")

	got, err = SeriesOccurrences(weekly, time.Date(2025, 10, 28, 0, 0, 0, 0, time.UTC), time.Date(2025, 11, 10, 17, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, []time.Time{time.Date(2025, 11, 3, 17, 0, 0, 0, time.UTC)}, got, "[from, to)")

	yearly := gEvent(t, map[string]any{"isAllDay": true, "start": dt("2025-05-26T00:00:00.0000000", "UTC"), "end": dt("2025-05-27T00:00:00.0000000", "UTC"),
		"recurrence": recurrence(map[string]any{"type": "relativeYearly", "month": 5, "daysOfWeek": []string{"monday"}, "index": "last"},
			map[string]any{"type": "endDate", "endDate": "2027-05-31"})})
	got, err = SeriesOccurrences(yearly, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, []time.Time{time.Date(2025, 5, 26, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 25, 0, 0, 0, 0, time.UTC),
		time.Date(2027, 5, 31, 0, 0, 0, 0, time.UTC)}, got, "the end date is included")

	got, err = SeriesOccurrences(gEvent(t, map[string]any{"start": dt("2025-10-27T16:00:00", "UTC")}), time.Time{}, time.Now())
	require.NoError(t, err)
	require.Empty(t, got, "a single event")
	_, err = SeriesOccurrences(json.RawMessage(`nope`), time.Time{}, time.Now())
	require.Error(t, err)
}

func TestICSFarDates(t *testing.T) {
	start := time.Now()
	out := writeICS(t, "", ICSEvent{Event: gEvent(t, map[string]any{"iCalUId": "a", "start": dt("1601-01-01T00:00:00", "Pacific Standard Time")})},
		ICSEvent{Event: gEvent(t, map[string]any{"iCalUId": "b", "start": dt("9999-12-31T00:00:00", "Pacific Standard Time")})})
	require.Less(t, time.Since(start), 5*time.Second, "bad dates do not make the zone be probed for millennia")
	require.Contains(t, out, "DTSTART;TZID=America/Los_Angeles:99991231T000000\r\n")
}
