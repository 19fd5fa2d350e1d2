package export

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"github.com/holdfast/holdfast/internal/tzname"
)

// ICSEvent is one calendar item to write.
type ICSEvent struct {
	Event      json.RawMessage   // single event or series master
	Exceptions []json.RawMessage // modified occurrences of a series
	Cancelled  []time.Time       // original starts (UTC) of cancelled occurrences
}

// ICSProductID is the PRODID of the calendars Holdfast writes.
const ICSProductID = "-//Holdfast//Holdfast Backup//EN"

// Graph event JSON (v1.0), only what iCalendar can carry.
type graphEvent struct {
	ID                         string           `json:"id"`
	ICalUID                    string           `json:"iCalUId"`
	UID                        string           `json:"uid"`
	Subject                    string           `json:"subject"`
	Body                       *graphBody       `json:"body"`
	Start                      *graphDateTime   `json:"start"`
	End                        *graphDateTime   `json:"end"`
	OriginalStart              string           `json:"originalStart"`
	OriginalStartTimeZone      string           `json:"originalStartTimeZone"`
	OriginalEndTimeZone        string           `json:"originalEndTimeZone"`
	IsAllDay                   bool             `json:"isAllDay"`
	IsCancelled                bool             `json:"isCancelled"`
	Location                   *graphLocation   `json:"location"`
	Locations                  []graphLocation  `json:"locations"`
	Attendees                  []graphAttendee  `json:"attendees"`
	Organizer                  *graphRecipient  `json:"organizer"`
	Recurrence                 *graphRecurrence `json:"recurrence"`
	Categories                 []string         `json:"categories"`
	ShowAs                     string           `json:"showAs"`
	Sensitivity                string           `json:"sensitivity"`
	Importance                 string           `json:"importance"`
	IsReminderOn               bool             `json:"isReminderOn"`
	ReminderMinutesBeforeStart int              `json:"reminderMinutesBeforeStart"`
	CreatedDateTime            string           `json:"createdDateTime"`
	LastModifiedDateTime       string           `json:"lastModifiedDateTime"`
}

type graphBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type graphDateTime struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type graphLocation struct {
	DisplayName string `json:"displayName"`
	Coordinates *struct {
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
	} `json:"coordinates"`
}

type graphEmail struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type graphRecipient struct {
	EmailAddress graphEmail `json:"emailAddress"`
}

type graphAttendee struct {
	EmailAddress graphEmail `json:"emailAddress"`
	Type         string     `json:"type"`
	Status       *struct {
		Response string `json:"response"`
	} `json:"status"`
}

type graphRecurrence struct {
	Pattern struct {
		Type           string   `json:"type"`
		Interval       int      `json:"interval"`
		Month          int      `json:"month"`
		DayOfMonth     int      `json:"dayOfMonth"`
		DaysOfWeek     []string `json:"daysOfWeek"`
		FirstDayOfWeek string   `json:"firstDayOfWeek"`
		Index          string   `json:"index"`
	} `json:"pattern"`
	Range struct {
		Type                string `json:"type"`
		StartDate           string `json:"startDate"`
		EndDate             string `json:"endDate"`
		RecurrenceTimeZone  string `json:"recurrenceTimeZone"`
		NumberOfOccurrences int    `json:"numberOfOccurrences"`
	} `json:"range"`
}

// WriteICS writes one VCALENDAR (PRODID Holdfast, X-WR-CALNAME = calendarName) with a VEVENT per
// item, a VEVENT with RECURRENCE-ID per modified occurrence, and a VTIMEZONE per zone used.
//
// Times are written in the event's own zone: the series' recurrenceTimeZone, else the event's
// originalStartTimeZone (originalEndTimeZone for the end), else start.timeZone; the instants
// come from start/end as Graph gave them (in UTC when the backup asked for UTC). Windows zone
// names are mapped to IANA names, which become the TZIDs; an unknown zone falls back to UTC.
// All-day events are DATE values. HTML bodies become plain-text DESCRIPTIONs (the HTML is kept in
// X-ALT-DESC). Item errors (not JSON, no usable start) name the item and come before anything is
// written.
//
// The calendar is encoded with github.com/emersion/go-ical (TEXT escaping, parameter quoting,
// component checks); go-ical does not fold lines, so its output goes through foldWriter.
func WriteICS(w io.Writer, calendarName string, events []ICSEvent) error {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, ICSProductID)
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	if name := cleanText(calendarName); name != "" {
		setXText(cal.Props, "X-WR-CALNAME", name)
	}
	zones := newZoneSet()
	var vevents []*ical.Component
	for i, it := range events {
		comps, err := itemComponents(it, zones)
		if err != nil {
			return fmt.Errorf("export: calendar item %d: %w", i, err)
		}
		vevents = append(vevents, comps...)
	}
	cal.Children = append(zones.components(), vevents...)

	fw := newFoldWriter(w)
	if len(cal.Children) == 0 {
		// go-ical refuses an empty VCALENDAR; an empty calendar is still a valid download.
		for _, l := range []string{"BEGIN:VCALENDAR", "CALSCALE:GREGORIAN", "PRODID:" + ICSProductID, "VERSION:2.0"} {
			io.WriteString(fw, l+"\r\n")
		}
		if p := cal.Props.Get("X-WR-CALNAME"); p != nil {
			io.WriteString(fw, "X-WR-CALNAME:"+p.Value+"\r\n")
		}
		if _, err := io.WriteString(fw, "END:VCALENDAR\r\n"); err != nil {
			return err
		}
		return fw.Close()
	}
	if err := ical.NewEncoder(fw).Encode(cal); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return fw.Close()
}

// series is what exceptions and cancellations need from their master.
type series struct {
	allDay bool
	loc    *time.Location // the zone DTSTART is written in (all-day: the series' zone)
}

func itemComponents(it ICSEvent, zones *zoneSet) ([]*ical.Component, error) {
	var ev graphEvent
	if err := json.Unmarshal(it.Event, &ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	uid := firstNonEmpty(ev.ICalUID, ev.UID)
	if uid == "" && ev.ID != "" {
		uid = ev.ID + "@holdfast"
	}
	if uid == "" {
		h := sha256.Sum256(it.Event)
		uid = hex.EncodeToString(h[:16]) + "@holdfast"
	}
	var recurTZ string
	if ev.Recurrence != nil {
		recurTZ = ev.Recurrence.Range.RecurrenceTimeZone
	}
	stamp, ok := parseInstant(ev.LastModifiedDateTime)
	if !ok {
		if stamp, ok = parseInstant(ev.CreatedDateTime); !ok {
			stamp = time.Now().UTC().Truncate(time.Second)
		}
	}
	master, start, err := veventOf(&ev, uid, zones, []string{recurTZ, ev.OriginalStartTimeZone}, stamp)
	if err != nil {
		return nil, fmt.Errorf("event %q: %w", ev.Subject, err)
	}
	s := series{allDay: start.allDay, loc: start.t.Location()}
	if start.allDay {
		s.loc = firstKnownZone(recurTZ, ev.OriginalStartTimeZone, ev.Start.TimeZone)
	}
	if rr := recurrenceRule(ev.Recurrence, start, zones); rr != "" {
		master.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{}, Value: rr})
	}
	for _, c := range it.Cancelled {
		master.Props.Add(occurrenceProp(ical.PropExceptionDates, s, c, zones))
	}
	out := []*ical.Component{master}
	for j, raw := range it.Exceptions {
		var x graphEvent
		if err := json.Unmarshal(raw, &x); err != nil {
			return nil, fmt.Errorf("exception %d: %w", j, err)
		}
		// An exception is written in its own zone, else in the series'.
		comp, xstart, err := veventOf(&x, uid, zones, []string{x.OriginalStartTimeZone, recurTZ, ev.OriginalStartTimeZone}, stamp)
		if err != nil {
			return nil, fmt.Errorf("exception %d of %q: %w", j, ev.Subject, err)
		}
		orig, ok := parseInstant(x.OriginalStart)
		if !ok {
			// Without originalStart, the best guess is that the occurrence kept its date.
			orig = xstart.t
		}
		comp.Props.Set(occurrenceProp(ical.PropRecurrenceID, s, orig, zones))
		out = append(out, comp)
	}
	return out, nil
}

// when is a DTSTART or DTEND: a date (allDay) or an instant in the zone it is written in.
type when struct {
	t      time.Time
	allDay bool
}

func (w when) prop(name string, zones *zoneSet) *ical.Prop {
	p := ical.NewProp(name)
	if w.allDay {
		p.SetDate(w.t)
		return p
	}
	zones.use(w.t)
	p.SetDateTime(w.t)
	return p
}

// eventTimes reads start and end. Timed events are written in the first known zone of pref (the
// series' and the event's own zones) and then start.timeZone; the end in originalEndTimeZone when
// known, else in the start's zone. The instants come from dateTime and timeZone as Graph gave
// them (UTC unless the backup asked for another zone).
func eventTimes(ev *graphEvent, pref []string) (when, when, error) {
	if ev.Start == nil || ev.Start.DateTime == "" {
		return when{}, when{}, errors.New("no start")
	}
	sw, ok := parseWall(ev.Start.DateTime)
	if !ok {
		return when{}, when{}, fmt.Errorf("bad start %q", ev.Start.DateTime)
	}
	var ew time.Time
	endTZ := ev.Start.TimeZone
	if ev.End != nil && ev.End.DateTime != "" {
		if ew, ok = parseWall(ev.End.DateTime); !ok {
			return when{}, when{}, fmt.Errorf("bad end %q", ev.End.DateTime)
		}
		if ev.End.TimeZone != "" {
			endTZ = ev.End.TimeZone
		}
	}
	if ev.IsAllDay {
		// All-day events keep their dates whatever zone Graph names.
		sd, ed := dateOf(sw), dateOf(ew)
		if ew.IsZero() || !ed.After(sd) {
			ed = sd.AddDate(0, 0, 1)
		}
		return when{sd, true}, when{ed, true}, nil
	}
	sloc := firstKnownZone(append(pref, ev.Start.TimeZone)...)
	eloc := sloc
	if z := tzname.Resolve(ev.OriginalEndTimeZone); z != nil {
		eloc = z
	} else if z := tzname.Resolve(endTZ); z != nil && !strings.EqualFold(endTZ, ev.Start.TimeZone) {
		eloc = z
	}
	st := instantIn(sw, ev.Start.TimeZone).In(sloc)
	et := st.In(eloc)
	if !ew.IsZero() {
		et = instantIn(ew, endTZ).In(eloc)
	}
	if et.Before(st) {
		et = st.In(eloc)
	}
	return when{st, false}, when{et, false}, nil
}

// firstKnownZone is the location of the first name that resolves, else UTC.
func firstKnownZone(names ...string) *time.Location {
	for _, n := range names {
		if loc := tzname.Resolve(n); loc != nil {
			return loc
		}
	}
	return time.UTC
}

// instantIn reads a wall-clock time in a Graph zone (unknown zones are taken as UTC).
func instantIn(wall time.Time, tz string) time.Time {
	loc := tzname.Resolve(tz)
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)
}

func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// parseWall reads Graph's dateTimeTimeZone.dateTime ("2025-07-07T09:00:00.0000000"), as a wall
// clock in UTC fields. An explicit offset, if any, is honoured.
func parseWall(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseInstant reads a Graph DateTimeOffset ("2025-07-21T16:00:00Z").
func parseInstant(s string) (time.Time, bool) {
	if s == "" || strings.HasPrefix(s, "0001-01-01") {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, ok := parseWall(s); ok { // no offset: Graph means UTC
		return t, true
	}
	return time.Time{}, false
}

// occurrenceProp is an EXDATE or RECURRENCE-ID naming the occurrence of s that originally started
// at orig, in the form of the series' DTSTART.
func occurrenceProp(name string, s series, orig time.Time, zones *zoneSet) *ical.Prop {
	if s.allDay {
		return when{occurrenceDate(orig, s.loc), true}.prop(name, zones)
	}
	return when{orig.In(s.loc), false}.prop(name, zones)
}

// occurrenceDate is the date (midnight UTC) of an all-day occurrence that originally started at
// orig: Graph gives it as midnight UTC of the date, or as midnight in the series' zone.
func occurrenceDate(orig time.Time, zone *time.Location) time.Time {
	d := orig.UTC()
	if d.Hour() != 0 || d.Minute() != 0 || d.Second() != 0 {
		d = orig.In(zone)
	}
	return dateOf(d)
}

// veventOf builds the VEVENT of an event or exception, without RRULE, EXDATE or RECURRENCE-ID.
func veventOf(ev *graphEvent, uid string, zones *zoneSet, pref []string, stamp time.Time) (*ical.Component, when, error) {
	start, end, err := eventTimes(ev, pref)
	if err != nil {
		return nil, when{}, err
	}
	c := ical.NewComponent(ical.CompEvent)
	c.Props.SetText(ical.PropUID, uid)
	c.Props.Set(start.prop(ical.PropDateTimeStart, zones))
	c.Props.Set(end.prop(ical.PropDateTimeEnd, zones))

	modified, okM := parseInstant(ev.LastModifiedDateTime)
	created, okC := parseInstant(ev.CreatedDateTime)
	switch {
	case okM:
		c.Props.SetDateTime(ical.PropDateTimeStamp, modified)
	case okC:
		c.Props.SetDateTime(ical.PropDateTimeStamp, created)
	default:
		c.Props.SetDateTime(ical.PropDateTimeStamp, stamp)
	}
	if okC {
		c.Props.SetDateTime(ical.PropCreated, created)
	}
	if okM {
		c.Props.SetDateTime(ical.PropLastModified, modified)
	}

	if s := strings.TrimSpace(cleanText(ev.Subject)); s != "" {
		c.Props.SetText(ical.PropSummary, s)
	}
	if ev.Body != nil && strings.TrimSpace(ev.Body.Content) != "" {
		if d := bodyText(ev.Body.ContentType, ev.Body.Content); d != "" {
			c.Props.SetText(ical.PropDescription, cleanText(d))
		}
		if strings.EqualFold(ev.Body.ContentType, "html") {
			setXText(c.Props, "X-ALT-DESC", cleanText(ev.Body.Content))
			c.Props.Get("X-ALT-DESC").Params.Set("FMTTYPE", "text/html")
		}
	}
	if loc := locationText(ev); loc != "" {
		c.Props.SetText(ical.PropLocation, loc)
	}
	if ev.Location != nil && ev.Location.Coordinates != nil && ev.Location.Coordinates.Latitude != nil && ev.Location.Coordinates.Longitude != nil {
		c.Props.Set(&ical.Prop{Name: ical.PropGeo, Params: ical.Params{}, Value: strconv.FormatFloat(*ev.Location.Coordinates.Latitude, 'f', -1, 64) +
			";" + strconv.FormatFloat(*ev.Location.Coordinates.Longitude, 'f', -1, 64)})
	}
	var cats []string
	for _, cat := range ev.Categories {
		if cat = strings.TrimSpace(cleanText(cat)); cat != "" {
			cats = append(cats, cat)
		}
	}
	if len(cats) > 0 {
		p := ical.NewProp(ical.PropCategories)
		p.SetTextList(cats)
		c.Props.Set(p)
	}
	c.Props.SetText(ical.PropClass, classOf(ev.Sensitivity))
	transp, busy := "OPAQUE", "BUSY"
	switch strings.ToLower(ev.ShowAs) {
	case "free":
		transp, busy = "TRANSPARENT", "FREE"
	case "tentative":
		busy = "TENTATIVE"
	case "oof":
		busy = "OOF"
	case "workingelsewhere":
		busy = "WORKINGELSEWHERE"
	}
	c.Props.SetText(ical.PropTransparency, transp)
	setXText(c.Props, "X-MICROSOFT-CDO-BUSYSTATUS", busy)
	if p := priorityOf(ev.Importance); p != "" {
		c.Props.Set(&ical.Prop{Name: ical.PropPriority, Params: ical.Params{}, Value: p})
	}
	if ev.IsCancelled {
		c.Props.SetText(ical.PropStatus, string(ical.EventCancelled))
	} else {
		c.Props.SetText(ical.PropStatus, string(ical.EventConfirmed))
	}
	if ev.Organizer != nil {
		if p := addressProp(ical.PropOrganizer, ev.Organizer.EmailAddress); p != nil {
			c.Props.Set(p)
		}
	}
	for _, a := range ev.Attendees {
		p := addressProp(ical.PropAttendee, a.EmailAddress)
		if p == nil {
			continue
		}
		role, cutype := "REQ-PARTICIPANT", "INDIVIDUAL"
		switch strings.ToLower(a.Type) {
		case "optional":
			role = "OPT-PARTICIPANT"
		case "resource":
			role, cutype = "NON-PARTICIPANT", "RESOURCE"
		}
		resp := ""
		if a.Status != nil {
			resp = a.Status.Response
		}
		partstat := partstatOf(resp)
		p.Params.Set(ical.ParamRole, role)
		p.Params.Set(ical.ParamCalendarUserType, cutype)
		p.Params.Set(ical.ParamParticipationStatus, partstat)
		if partstat == "NEEDS-ACTION" {
			p.Params.Set(ical.ParamRSVP, "TRUE")
		}
		c.Props.Add(p)
	}
	if ev.IsReminderOn && ev.ReminderMinutesBeforeStart >= 0 {
		alarm := ical.NewComponent(ical.CompAlarm)
		alarm.Props.SetText(ical.PropAction, "DISPLAY")
		alarm.Props.SetText(ical.PropDescription, "Reminder")
		alarm.Props.Set(&ical.Prop{Name: ical.PropTrigger, Params: ical.Params{}, Value: fmt.Sprintf("-PT%dM", ev.ReminderMinutesBeforeStart)})
		c.Children = append(c.Children, alarm)
	}
	return c, start, nil
}

func locationText(ev *graphEvent) string {
	if ev.Location != nil {
		if s := strings.TrimSpace(cleanText(ev.Location.DisplayName)); s != "" {
			return s
		}
	}
	var names []string
	for _, l := range ev.Locations {
		if s := strings.TrimSpace(cleanText(l.DisplayName)); s != "" {
			names = append(names, s)
		}
	}
	return strings.Join(names, "; ")
}

func addressProp(name string, a graphEmail) *ical.Prop {
	addr := strings.TrimSpace(cleanParam(a.Address))
	if addr == "" {
		return nil
	}
	p := ical.NewProp(name)
	p.Value = "mailto:" + addr
	if cn := cleanParam(a.Name); cn != "" {
		p.Params.Set(ical.ParamCommonName, cn)
	}
	return p
}

func classOf(sensitivity string) string {
	switch strings.ToLower(sensitivity) {
	case "personal", "private":
		return "PRIVATE"
	case "confidential":
		return "CONFIDENTIAL"
	}
	return "PUBLIC"
}

func priorityOf(importance string) string {
	switch strings.ToLower(importance) {
	case "high":
		return "1"
	case "normal":
		return "5"
	case "low":
		return "9"
	}
	return ""
}

func partstatOf(response string) string {
	switch strings.ToLower(response) {
	case "accepted", "organizer":
		return "ACCEPTED"
	case "declined":
		return "DECLINED"
	case "tentativelyaccepted":
		return "TENTATIVE"
	}
	return "NEEDS-ACTION" // none, notResponded
}

var graphWeekdays = map[string]string{"sunday": "SU", "monday": "MO", "tuesday": "TU", "wednesday": "WE",
	"thursday": "TH", "friday": "FR", "saturday": "SA"}

var graphIndex = map[string]int{"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}

// recurrenceRule turns a Graph patternedRecurrence into an RRULE value ("" when there is none or
// it cannot be read). start is the series' DTSTART.
//
//	daily            FREQ=DAILY
//	weekly           FREQ=WEEKLY;BYDAY=MO,WE (WKST from firstDayOfWeek when the interval is > 1)
//	absoluteMonthly  FREQ=MONTHLY;BYMONTHDAY=d (31: BYMONTHDAY=-1, the last day, as Outlook means it)
//	relativeMonthly  FREQ=MONTHLY;BYDAY=2TU, or BYDAY=MO,TU,…;BYSETPOS=n for several days
//	absoluteYearly   FREQ=YEARLY;BYMONTH=m;BYMONTHDAY=d (February 29: BYMONTHDAY=-1)
//	relativeYearly   FREQ=YEARLY;BYMONTH=m;BYDAY=-1MO (or BYSETPOS)
//	range endDate    UNTIL (the date itself for all-day series, else the last possible start in UTC)
//	range numbered   COUNT
func recurrenceRule(rc *graphRecurrence, start when, zones *zoneSet) string {
	if rc == nil || rc.Pattern.Type == "" {
		return ""
	}
	p := rc.Pattern
	interval := max(1, p.Interval)
	var days []string
	for _, d := range p.DaysOfWeek {
		if code, ok := graphWeekdays[strings.ToLower(d)]; ok {
			days = append(days, code)
		}
	}
	if len(days) == 0 {
		days = []string{icalWeekdays[start.t.Weekday()]}
	}
	idx, ok := graphIndex[strings.ToLower(p.Index)]
	if !ok {
		idx = 1
	}
	byDay := func() []string { // the relative patterns
		if len(days) == 1 {
			return []string{"BYDAY=" + strconv.Itoa(idx) + days[0]}
		}
		return []string{"BYDAY=" + strings.Join(days, ","), "BYSETPOS=" + strconv.Itoa(idx)}
	}
	month := p.Month
	if month < 1 || month > 12 {
		month = int(start.t.Month())
	}
	dom := p.DayOfMonth
	if dom < 1 || dom > 31 {
		dom = start.t.Day()
	}
	var parts []string
	switch strings.ToLower(p.Type) {
	case "daily":
		parts = []string{"FREQ=DAILY"}
	case "weekly":
		parts = []string{"FREQ=WEEKLY", "BYDAY=" + strings.Join(days, ",")}
		if wkst, ok := graphWeekdays[strings.ToLower(p.FirstDayOfWeek)]; ok && interval > 1 {
			parts = append(parts, "WKST="+wkst)
		}
	case "absolutemonthly":
		if dom == 31 {
			parts = []string{"FREQ=MONTHLY", "BYMONTHDAY=-1"}
		} else {
			parts = []string{"FREQ=MONTHLY", "BYMONTHDAY=" + strconv.Itoa(dom)}
		}
	case "relativemonthly":
		parts = append([]string{"FREQ=MONTHLY"}, byDay()...)
	case "absoluteyearly":
		longest := time.Date(2024, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() // a leap year
		if dom >= longest || (month == 2 && dom >= 29) {
			parts = []string{"FREQ=YEARLY", "BYMONTH=" + strconv.Itoa(month), "BYMONTHDAY=-1"}
		} else {
			parts = []string{"FREQ=YEARLY", "BYMONTH=" + strconv.Itoa(month), "BYMONTHDAY=" + strconv.Itoa(dom)}
		}
	case "relativeyearly":
		parts = append([]string{"FREQ=YEARLY", "BYMONTH=" + strconv.Itoa(month)}, byDay()...)
	default:
		return ""
	}
	if interval > 1 {
		parts = append(parts, "INTERVAL="+strconv.Itoa(interval))
	}
	switch strings.ToLower(rc.Range.Type) {
	case "enddate":
		end, err := time.Parse("2006-01-02", rc.Range.EndDate)
		if err != nil || end.Year() < 1900 {
			break // no usable end: the series goes on
		}
		if start.allDay {
			parts = append(parts, "UNTIL="+end.Format("20060102"))
		} else {
			// The last occurrence may start on the end date at the series' time of day.
			loc := start.t.Location()
			s := start.t
			until := time.Date(end.Year(), end.Month(), end.Day(), s.Hour(), s.Minute(), s.Second(), 0, loc)
			zones.use(until)
			parts = append(parts, "UNTIL="+until.UTC().Format("20060102T150405Z"))
		}
	case "numbered":
		if rc.Range.NumberOfOccurrences > 0 {
			parts = append(parts, "COUNT="+strconv.Itoa(rc.Range.NumberOfOccurrences))
		}
	}
	return strings.Join(parts, ";")
}

// setXText sets an extension property to TEXT. Its type is TEXT by default (RFC 5545 §3.8.8.2),
// so, unlike go-ical's SetText, it writes no VALUE=TEXT, which some readers stumble over.
func setXText(props ical.Props, name, text string) {
	p := ical.NewProp(name)
	p.SetText(text)
	p.Params.Del(ical.ParamValue)
	props.Set(p)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// SeriesOccurrences lists the original starts (UTC) of the occurrences that a Graph series
// master's recurrence makes in [from, to): the RRULE WriteICS writes, expanded in the series'
// zone (all-day occurrences start at midnight UTC of their date). The occurrences that Graph no
// longer lists (the originalStart of its instances) are the cancelled ones WriteICS wants. An
// event without a recurrence has none.
func SeriesOccurrences(event json.RawMessage, from, to time.Time) ([]time.Time, error) {
	var ev graphEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("export: event: %w", err)
	}
	if ev.Recurrence == nil {
		return nil, nil
	}
	start, _, err := eventTimes(&ev, []string{ev.Recurrence.Range.RecurrenceTimeZone, ev.OriginalStartTimeZone})
	if err != nil {
		return nil, fmt.Errorf("export: event %q: %w", ev.Subject, err)
	}
	rr := recurrenceRule(ev.Recurrence, start, newZoneSet())
	if rr == "" {
		return nil, nil
	}
	opt, err := rrule.StrToROptionInLocation(rr, start.t.Location())
	if err != nil {
		return nil, fmt.Errorf("export: event %q: %s: %w", ev.Subject, rr, err)
	}
	opt.Dtstart = start.t
	rule, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, fmt.Errorf("export: event %q: %s: %w", ev.Subject, rr, err)
	}
	var out []time.Time
	for _, t := range rule.Between(from, to, true) {
		if t.Before(to) {
			out = append(out, t.UTC())
		}
	}
	return out, nil
}
