package graphsim

import (
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // Windows and IANA time zones must resolve everywhere
)

// Calendars and events (https://learn.microsoft.com/graph/api/resources/event). An event's
// times are wall-clock times in its own start and end time zones (which may differ); a series
// master carries a recurrence (pattern + range, as Graph models it); an occurrence is named by
// its master and the local date it starts on; an exception is an occurrence with its own
// content, stored as an event whose master is set; a cancelled (deleted) occurrence is a date
// in the master's cancelled list. Occurrences and exceptions share the ID form
// (master, day), as Exchange's do.

type calendar struct {
	name      string
	color     string
	isDefault bool
	deleted   bool
	seq       uint32
	created   uint32
}

type attendee struct {
	addr
	kind     string // required | optional | resource
	response string // none | accepted | tentativelyAccepted | declined
}

type recurrence struct {
	ptype      string // daily | weekly | absoluteMonthly | relativeMonthly | absoluteYearly
	interval   int
	daysOfWeek []string
	dayOfMonth int
	month      int
	index      string // relativeMonthly: first | second | third | fourth | last
	rtype      string // endDate | noEnd | numbered
	startDate  time.Time
	endDate    time.Time
	count      int
	tz         string
	firstDay   string
}

type eventContent struct {
	subject     string
	body        string    // HTML
	start, end  time.Time // wall-clock times (in UTC fields) in startTZ / endTZ
	startTZ     string
	endTZ       string
	allDay      bool
	organizer   addr
	attendees   []attendee
	location    string
	uid         string // iCalUId
	showAs      string
	importance  string
	sensitivity string
	categories  []string
	isCancelled bool // cancelled by the organizer (still on the calendar)
	recurrence  *recurrence
	atts        []*attContent
	reminder    int
}

type event struct {
	cal       int32
	c         *eventContent
	master    int32   // exceptions: the series master; -1 otherwise
	origDay   int32   // exceptions: the occurrence (day number) they replace
	cancelled []int32 // series masters: cancelled occurrences (day numbers)
	seq       uint32
	created   uint32
	modified  uint32
	version   uint32
	deleted   bool
}

// eventRemoval records an event (day < 0) or an occurrence (day ≥ 0) that went away.
type eventRemoval struct {
	ev  int32
	day int32
	seq uint32
}

var seedTimeZones = []string{"Pacific Standard Time", "Eastern Standard Time", "W. Europe Standard Time",
	"GMT Standard Time", "Tokyo Standard Time", "UTC", "India Standard Time"}

var windowsZones = map[string]string{
	"pacific standard time":      "America/Los_Angeles",
	"mountain standard time":     "America/Denver",
	"central standard time":      "America/Chicago",
	"eastern standard time":      "America/New_York",
	"w. europe standard time":    "Europe/Berlin",
	"romance standard time":      "Europe/Paris",
	"gmt standard time":          "Europe/London",
	"tokyo standard time":        "Asia/Tokyo",
	"india standard time":        "Asia/Kolkata",
	"aus eastern standard time":  "Australia/Sydney",
	"china standard time":        "Asia/Shanghai",
	"utc":                        "UTC",
	"coordinated universal time": "UTC",
}

// tzLocation resolves a Windows or IANA time-zone name (unknown names are UTC).
func tzLocation(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if iana, ok := windowsZones[strings.ToLower(name)]; ok {
		name = iana
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

func knownTZ(name string) bool {
	if _, ok := windowsZones[strings.ToLower(name)]; ok {
		return true
	}
	_, err := time.LoadLocation(name)
	return err == nil && name != "" && name != "Local"
}

// localTime keeps t's wall clock in a UTC-located value.
func localTime(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// instant is the moment a wall-clock time in tz denotes.
func instant(wall time.Time, tz string) time.Time {
	return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, tzLocation(tz)).UTC()
}

func dayNumber(wall time.Time) int32 {
	return int32(time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dayDate(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

var weekdayNames = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

func weekdayOf(s string) (time.Weekday, bool) {
	i := slices.Index(weekdayNames, strings.ToLower(s))
	return time.Weekday(i), i >= 0
}

var indexNames = []string{"first", "second", "third", "fourth", "last"}

// occurrenceDays lists the local start dates (day numbers) of a series, up to limit, ending no
// later than last (a day number).
func (rc *recurrence) occurrenceDays(last int32, limit int) []int32 {
	var out []int32
	start := dayNumber(rc.startDate)
	end := last
	if rc.rtype == "endDate" {
		end = min(end, dayNumber(rc.endDate))
	}
	interval := max(1, rc.interval)
	add := func(d int32) bool {
		if d < start || d > end {
			return d <= end
		}
		if rc.rtype == "numbered" && len(out) >= rc.count {
			return false
		}
		out = append(out, d)
		return len(out) < limit
	}
	sd := rc.startDate
	switch rc.ptype {
	case "daily":
		for d := start; d <= end; d += int32(interval) {
			if !add(d) {
				break
			}
		}
	case "weekly":
		var days []time.Weekday
		for _, n := range rc.daysOfWeek {
			if wd, ok := weekdayOf(n); ok {
				days = append(days, wd)
			}
		}
		if len(days) == 0 {
			days = []time.Weekday{sd.Weekday()}
		}
		slices.Sort(days)
		weekStart := start - int32(sd.Weekday())
	weeks:
		for w := weekStart; w <= end; w += int32(7 * interval) {
			for _, wd := range days {
				if !add(w + int32(wd)) {
					break weeks
				}
			}
		}
	case "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly":
		step := interval
		if strings.HasSuffix(rc.ptype, "Yearly") {
			step = 12 * interval
		}
		y, mo := sd.Year(), sd.Month()
		if strings.HasSuffix(rc.ptype, "Yearly") && rc.month > 0 {
			mo = time.Month(rc.month)
		}
		for i := 0; i < 100000; i++ {
			first := time.Date(y, mo+time.Month(i*step), 1, 0, 0, 0, 0, time.UTC)
			if dayNumber(first) > end {
				break
			}
			var d time.Time
			if strings.HasPrefix(rc.ptype, "absolute") {
				dom := rc.dayOfMonth
				if dom == 0 {
					dom = sd.Day()
				}
				d = first.AddDate(0, 0, dom-1)
				if d.Month() != first.Month() {
					continue // e.g. the 31st in a 30-day month
				}
			} else {
				wd := sd.Weekday()
				if len(rc.daysOfWeek) > 0 {
					wd, _ = weekdayOf(rc.daysOfWeek[0])
				}
				d = nthWeekday(first, wd, rc.index)
			}
			if !add(dayNumber(d)) {
				break
			}
		}
	default:
		add(start)
	}
	return out
}

func nthWeekday(first time.Time, wd time.Weekday, index string) time.Time {
	if index == "last" {
		last := first.AddDate(0, 1, -1)
		return last.AddDate(0, 0, -((int(last.Weekday()) - int(wd) + 7) % 7))
	}
	n := max(0, slices.Index(indexNames, index))
	d := first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7)
	return d.AddDate(0, 0, 7*n)
}

// rrule renders a recurrence as an iCalendar RRULE value.
func (rc *recurrence) rrule() string {
	if rc == nil {
		return ""
	}
	var parts []string
	byday := func() string {
		var ds []string
		for _, d := range rc.daysOfWeek {
			if wd, ok := weekdayOf(d); ok {
				ds = append(ds, strings.ToUpper(weekdayNames[wd][:2]))
			}
		}
		return strings.Join(ds, ",")
	}
	switch rc.ptype {
	case "daily":
		parts = append(parts, "FREQ=DAILY")
	case "weekly":
		parts = append(parts, "FREQ=WEEKLY")
		if b := byday(); b != "" {
			parts = append(parts, "BYDAY="+b)
		}
	case "absoluteMonthly":
		parts = append(parts, "FREQ=MONTHLY", fmt.Sprintf("BYMONTHDAY=%d", max(1, rc.dayOfMonth)))
	case "relativeMonthly":
		n := slices.Index(indexNames, rc.index) + 1
		if rc.index == "last" {
			n = -1
		}
		parts = append(parts, "FREQ=MONTHLY", fmt.Sprintf("BYDAY=%d%s", n, byday()))
	case "absoluteYearly", "relativeYearly":
		parts = append(parts, "FREQ=YEARLY", fmt.Sprintf("BYMONTH=%d", max(1, rc.month)), fmt.Sprintf("BYMONTHDAY=%d", max(1, rc.dayOfMonth)))
	}
	if rc.interval > 1 {
		parts = append(parts, fmt.Sprintf("INTERVAL=%d", rc.interval))
	}
	switch rc.rtype {
	case "endDate":
		parts = append(parts, "UNTIL="+rc.endDate.Format("20060102"))
	case "numbered":
		parts = append(parts, fmt.Sprintf("COUNT=%d", rc.count))
	}
	return strings.Join(parts, ";")
}

// ---- mailbox operations on calendars and events ----

func (mb *mailbox) addCalendar(name, color string, isDefault bool, now uint32) int32 {
	mb.calendars = append(mb.calendars, &calendar{name: name, color: color, isDefault: isDefault, seq: mb.bump(), created: now})
	return int32(len(mb.calendars) - 1)
}

func (mb *mailbox) defaultCalendar() int32 {
	for i, c := range mb.calendars {
		if c.isDefault && !c.deleted {
			return int32(i)
		}
	}
	return -1
}

func (mb *mailbox) liveCalendar(i int32) bool {
	return i >= 0 && int(i) < len(mb.calendars) && !mb.calendars[i].deleted
}

func (mb *mailbox) liveEvent(i int32) bool {
	return i >= 0 && int(i) < len(mb.events) && !mb.events[i].deleted
}

func (mb *mailbox) addEvent(cal int32, c *eventContent, now uint32) int32 {
	mb.events = append(mb.events, &event{cal: cal, c: c, master: -1, origDay: -1, seq: mb.bump(),
		created: now, modified: now, version: 1})
	return int32(len(mb.events) - 1)
}

func (mb *mailbox) touchEvent(i int32, now uint32) {
	ev := mb.events[i]
	ev.modified = now
	ev.version++
	ev.seq = mb.bump()
}

// exceptionOf finds the exception that replaces occurrence day of master m.
func (mb *mailbox) exceptionOf(m int32, day int32) int32 {
	for i, ev := range mb.events {
		if ev.master == m && ev.origDay == day && !ev.deleted {
			return int32(i)
		}
	}
	return -1
}

// deleteEvent deletes an event; a series takes its exceptions with it.
func (mb *mailbox) deleteEvent(i int32, now uint32) {
	ev := mb.events[i]
	if ev.master >= 0 {
		mb.cancelOccurrence(ev.master, ev.origDay, now)
		return
	}
	for _, x := range mb.events {
		if x.master == i && !x.deleted {
			x.deleted = true
			x.seq = mb.bump()
		}
	}
	ev.deleted = true
	ev.modified = now
	ev.seq = mb.bump()
	mb.evRemoved = append(mb.evRemoved, eventRemoval{ev: i, day: -1, seq: ev.seq})
}

// cancelOccurrence deletes one occurrence (or the exception standing in for it) of a series.
func (mb *mailbox) cancelOccurrence(m int32, day int32, now uint32) {
	if x := mb.exceptionOf(m, day); x >= 0 {
		mb.events[x].deleted = true
		mb.events[x].seq = mb.bump()
	}
	ms := mb.events[m]
	if !slices.Contains(ms.cancelled, day) {
		ms.cancelled = append(ms.cancelled, day)
	}
	// Exchange keeps a series' deleted occurrences in the master item: it
	// changes (new changeKey, lastModifiedDateTime) like any other edit.
	mb.touchEvent(m, now)
	seq := mb.bump()
	mb.evRemoved = append(mb.evRemoved, eventRemoval{ev: m, day: day, seq: seq})
}

// instance is one entry of a calendar view.
type instance struct {
	ev     int32 // the event record holding the content (master for occurrences)
	master int32 // -1 for single instances
	day    int32 // occurrence day (series), -1 for single instances
	typ    string
	start  time.Time // instant
	end    time.Time
	seq    uint32
}

// eventSpan returns the instants an event's content covers, moved to another day if day ≥ 0.
func eventSpan(c *eventContent, day int32) (time.Time, time.Time) {
	s, e := c.start, c.end
	if day >= 0 {
		shift := dayDate(day).Sub(time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC))
		s, e = s.Add(shift), e.Add(shift)
	}
	if c.allDay {
		return s, e
	}
	return instant(s, c.startTZ), instant(e, c.endTZ)
}

// occurrenceDaysOf lists the live occurrence days of a series master up to a day number.
func (mb *mailbox) occurrenceDaysOf(m int32, last int32) []int32 {
	ms := mb.events[m]
	if ms.c.recurrence == nil {
		return nil
	}
	days := ms.c.recurrence.occurrenceDays(last, 5000)
	return slices.DeleteFunc(days, func(d int32) bool { return slices.Contains(ms.cancelled, d) })
}

// view expands the events of a calendar (-1: every calendar) into the instances that overlap
// [from, to), ordered by (event, day).
func (mb *mailbox) view(cal int32, from, to time.Time) []instance {
	var out []instance
	last := dayNumber(to) + 2
	for i, ev := range mb.events {
		idx := int32(i)
		if ev.deleted || ev.master >= 0 || (cal >= 0 && ev.cal != cal) {
			continue
		}
		if ev.c.recurrence == nil {
			s, e := eventSpan(ev.c, -1)
			if s.Before(to) && e.After(from) || s.Equal(from) {
				out = append(out, instance{ev: idx, master: -1, day: -1, typ: "singleInstance", start: s, end: e, seq: ev.seq})
			}
			continue
		}
		for _, d := range mb.occurrenceDaysOf(idx, last) {
			in := instance{ev: idx, master: idx, day: d, typ: "occurrence", seq: ev.seq}
			content := ev.c
			if x := mb.exceptionOf(idx, d); x >= 0 {
				in.ev, in.typ, in.seq = x, "exception", max(ev.seq, mb.events[x].seq)
				content = mb.events[x].c
				in.start, in.end = eventSpan(content, -1)
			} else {
				in.start, in.end = eventSpan(content, d)
			}
			if in.start.Before(to) && in.end.After(from) {
				out = append(out, in)
			}
		}
	}
	return out
}
