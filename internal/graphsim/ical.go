package graphsim

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// iCalendar (RFC 5545) and vCard (RFC 6350) for events and contacts: what an event or contact
// item attachment's $value serves, what exportItems returns for them, and what --import reads
// (DIR/<email>/calendar/*.ics, DIR/<email>/contacts/*.vcf). Only the properties the simulator
// models are written and read.

func icsEscape(s string) string {
	return strings.NewReplacer("\\", "\\\\", ";", "\\;", ",", "\\,", "\r\n", "\\n", "\n", "\\n").Replace(s)
}

func icsUnescape(s string) string {
	return strings.NewReplacer("\\n", "\n", "\\N", "\n", "\\,", ",", "\\;", ";", "\\\\", "\\").Replace(s)
}

// foldLine folds a content line at 75 octets (RFC 5545 §3.1), on UTF-8 boundaries.
func foldLine(b *bytes.Buffer, line string) {
	n := 0
	for len(line) > 0 {
		limit := 75
		if n > 0 {
			limit = 74
			b.WriteString(" ")
		}
		if len(line) <= limit {
			b.WriteString(line + "\r\n")
			return
		}
		cut := limit
		for cut > 0 && line[cut]&0xC0 == 0x80 {
			cut--
		}
		b.WriteString(line[:cut] + "\r\n")
		line = line[cut:]
		n++
	}
}

func icsTime(wall time.Time, tz string, allDay bool) string {
	if allDay {
		return ";VALUE=DATE:" + wall.Format("20060102")
	}
	if tz == "" || strings.EqualFold(tz, "UTC") {
		return ":" + wall.Format("20060102T150405") + "Z"
	}
	return ";TZID=" + tz + ":" + wall.Format("20060102T150405")
}

func icsCalendar(evs []*eventContent, method string) []byte {
	var b bytes.Buffer
	w := func(s string) { foldLine(&b, s) }
	w("BEGIN:VCALENDAR")
	w("METHOD:" + method)
	w("PRODID:Microsoft Exchange Server 2010")
	w("VERSION:2.0")
	for _, ev := range evs {
		writeVEvent(w, ev, nil, -1)
	}
	w("END:VCALENDAR")
	return b.Bytes()
}

// writeVEvent writes one VEVENT; exceptions (recurrence != nil and day ≥ 0) get RECURRENCE-ID.
func writeVEvent(w func(string), ev *eventContent, cancelled []int32, recurDay int32) {
	w("BEGIN:VEVENT")
	if !ev.organizer.isZero() {
		w("ORGANIZER;CN=" + quoteParam(ev.organizer.name) + ":mailto:" + ev.organizer.email)
	}
	for _, a := range ev.attendees {
		role := "REQ-PARTICIPANT"
		if a.kind == "optional" {
			role = "OPT-PARTICIPANT"
		}
		w("ATTENDEE;ROLE=" + role + ";PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=" + quoteParam(a.name) + ":mailto:" + a.email)
	}
	if ev.recurrence != nil && recurDay < 0 {
		w("RRULE:" + ev.recurrence.rrule())
		for _, d := range cancelled {
			day := dayDate(d)
			wall := time.Date(day.Year(), day.Month(), day.Day(), ev.start.Hour(), ev.start.Minute(), 0, 0, time.UTC)
			w("EXDATE" + icsTime(wall, ev.startTZ, ev.allDay))
		}
	}
	if recurDay >= 0 {
		day := dayDate(recurDay)
		w("RECURRENCE-ID" + icsTime(day, ev.startTZ, true))
	}
	w("UID:" + ev.uid)
	w("SUMMARY;LANGUAGE=en-US:" + icsEscape(ev.subject))
	w("DTSTART" + icsTime(ev.start, ev.startTZ, ev.allDay))
	w("DTEND" + icsTime(ev.end, ev.endTZ, ev.allDay))
	if ev.location != "" {
		w("LOCATION;LANGUAGE=en-US:" + icsEscape(ev.location))
	}
	if ev.body != "" {
		w("DESCRIPTION;LANGUAGE=en-US:" + icsEscape(strings.TrimSpace(stripTags(ev.body))))
	}
	if len(ev.categories) > 0 {
		w("CATEGORIES:" + icsEscape(strings.Join(ev.categories, ",")))
	}
	if ev.isCancelled {
		w("STATUS:CANCELLED")
	}
	w("TRANSP:OPAQUE")
	w("END:VEVENT")
}

func quoteParam(s string) string {
	if strings.ContainsAny(s, ":;,") {
		return `"` + strings.ReplaceAll(s, `"`, "") + `"`
	}
	return s
}

// icsLine is one unfolded content line.
type icsLine struct {
	name   string
	params map[string]string
	value  string
}

func unfoldLines(data []byte) []icsLine {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\n ", "")
	text = strings.ReplaceAll(text, "\n\t", "")
	var out []icsLine
	for _, raw := range strings.Split(text, "\n") {
		if raw = strings.TrimRight(raw, "\r"); raw == "" {
			continue
		}
		// The value starts at the first ':' outside a quoted parameter value.
		inQ, colon := false, -1
		for i := 0; i < len(raw); i++ {
			if raw[i] == '"' {
				inQ = !inQ
			} else if raw[i] == ':' && !inQ {
				colon = i
				break
			}
		}
		if colon < 0 {
			continue
		}
		head, val := raw[:colon], raw[colon+1:]
		parts := strings.Split(head, ";")
		l := icsLine{name: strings.ToUpper(parts[0]), params: map[string]string{}, value: val}
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(p, "=")
			l.params[strings.ToUpper(k)] = strings.Trim(v, `"`)
		}
		out = append(out, l)
	}
	return out
}

// parseICSTime reads a DTSTART-like value: wall clock, time zone, all-day.
func parseICSTime(l icsLine) (time.Time, string, bool, bool) {
	v := l.value
	if l.params["VALUE"] == "DATE" || len(v) == 8 {
		t, err := time.Parse("20060102", v)
		return t, "", true, err == nil
	}
	if strings.HasSuffix(v, "Z") {
		t, err := time.Parse("20060102T150405Z", v)
		return t, "UTC", false, err == nil
	}
	t, err := time.Parse("20060102T150405", v)
	tz := l.params["TZID"]
	if tz == "" {
		tz = "UTC"
	}
	return t, tz, false, err == nil
}

type icsEvent struct {
	c           *eventContent
	recurrenceD int32 // RECURRENCE-ID day, or -1
	exdates     []int32
}

// parseICS reads the VEVENTs of an iCalendar object.
func parseICS(data []byte) []icsEvent {
	var out []icsEvent
	var cur *icsEvent
	for _, l := range unfoldLines(data) {
		switch {
		case l.name == "BEGIN" && strings.EqualFold(l.value, "VEVENT"):
			cur = &icsEvent{c: &eventContent{showAs: "busy", importance: "normal", sensitivity: "normal"}, recurrenceD: -1}
		case l.name == "END" && strings.EqualFold(l.value, "VEVENT") && cur != nil:
			if cur.c.end.IsZero() {
				cur.c.end, cur.c.endTZ = cur.c.start.Add(time.Hour), cur.c.startTZ
				if cur.c.allDay {
					cur.c.end = cur.c.start.AddDate(0, 0, 1)
				}
			}
			if cur.c.recurrence != nil && cur.c.recurrence.startDate.IsZero() {
				cur.c.recurrence.startDate = dayDate(dayNumber(cur.c.start))
				cur.c.recurrence.tz = cur.c.startTZ
			}
			out = append(out, *cur)
			cur = nil
		case cur == nil:
		case l.name == "SUMMARY":
			cur.c.subject = icsUnescape(l.value)
		case l.name == "DESCRIPTION":
			cur.c.body = "<html><body><p>" + strings.ReplaceAll(htmlEscape(icsUnescape(l.value)), "\n", "<br>") + "</p></body></html>"
		case l.name == "LOCATION":
			cur.c.location = icsUnescape(l.value)
		case l.name == "UID":
			cur.c.uid = l.value
		case l.name == "CATEGORIES":
			for _, c := range strings.Split(icsUnescape(l.value), ",") {
				if c = strings.TrimSpace(c); c != "" {
					cur.c.categories = append(cur.c.categories, c)
				}
			}
		case l.name == "STATUS" && strings.EqualFold(l.value, "CANCELLED"):
			cur.c.isCancelled = true
		case l.name == "DTSTART":
			t, tz, allDay, ok := parseICSTime(l)
			if ok {
				cur.c.start, cur.c.startTZ, cur.c.allDay = t, tz, allDay
				if allDay {
					cur.c.startTZ = "UTC"
				}
			}
		case l.name == "DTEND":
			if t, tz, allDay, ok := parseICSTime(l); ok {
				cur.c.end, cur.c.endTZ = t, tz
				if allDay {
					cur.c.endTZ = "UTC"
				}
			}
		case l.name == "ORGANIZER":
			cur.c.organizer = addr{l.params["CN"], mailtoAddr(l.value)}
		case l.name == "ATTENDEE":
			kind := "required"
			if l.params["ROLE"] == "OPT-PARTICIPANT" {
				kind = "optional"
			}
			cur.c.attendees = append(cur.c.attendees, attendee{addr: addr{l.params["CN"], mailtoAddr(l.value)}, kind: kind, response: "none"})
		case l.name == "RRULE":
			cur.c.recurrence = parseRRule(l.value)
		case l.name == "EXDATE":
			for _, v := range strings.Split(l.value, ",") {
				if t, _, _, ok := parseICSTime(icsLine{params: l.params, value: v}); ok {
					cur.exdates = append(cur.exdates, dayNumber(t))
				}
			}
		case l.name == "RECURRENCE-ID":
			if t, _, _, ok := parseICSTime(l); ok {
				cur.recurrenceD = dayNumber(t)
			}
		}
	}
	return out
}

func mailtoAddr(v string) string {
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		return v[7:]
	}
	return v
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func parseRRule(v string) *recurrence {
	rc := &recurrence{interval: 1, rtype: "noEnd", ptype: "daily"}
	byday := ""
	for _, kv := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "FREQ":
			switch strings.ToUpper(val) {
			case "DAILY":
				rc.ptype = "daily"
			case "WEEKLY":
				rc.ptype = "weekly"
			case "MONTHLY":
				rc.ptype = "absoluteMonthly"
			case "YEARLY":
				rc.ptype = "absoluteYearly"
			}
		case "INTERVAL":
			rc.interval, _ = strconv.Atoi(val)
		case "COUNT":
			rc.count, _ = strconv.Atoi(val)
			rc.rtype = "numbered"
		case "UNTIL":
			if len(val) >= 8 {
				if t, err := time.Parse("20060102", val[:8]); err == nil {
					rc.endDate, rc.rtype = t, "endDate"
				}
			}
		case "BYDAY":
			byday = val
		case "BYMONTHDAY":
			rc.dayOfMonth, _ = strconv.Atoi(val)
		case "BYMONTH":
			rc.month, _ = strconv.Atoi(val)
		}
	}
	for _, d := range strings.Split(byday, ",") {
		d = strings.ToUpper(strings.TrimSpace(d))
		if len(d) < 2 {
			continue
		}
		code := d[len(d)-2:]
		if n := strings.TrimSuffix(d, code); n != "" && rc.ptype == "absoluteMonthly" {
			rc.ptype = "relativeMonthly"
			if k, err := strconv.Atoi(n); err == nil {
				if k < 0 {
					rc.index = "last"
				} else if k >= 1 && k <= 4 {
					rc.index = indexNames[k-1]
				}
			}
		}
		for _, wd := range weekdayNames {
			if strings.ToUpper(wd[:2]) == code {
				rc.daysOfWeek = append(rc.daysOfWeek, wd)
			}
		}
	}
	return rc
}

// ---- vCard ----

func vcEscape(s string) string {
	return strings.NewReplacer("\\", "\\\\", ",", "\\,", ";", "\\;", "\r\n", "\\n", "\n", "\\n").Replace(s)
}

func vcard(c *contactContent, photo []byte) []byte {
	var b bytes.Buffer
	w := func(s string) { foldLine(&b, s) }
	w("BEGIN:VCARD")
	w("VERSION:3.0")
	w("N:" + vcEscape(c.surname) + ";" + vcEscape(c.given) + ";" + vcEscape(c.middle) + ";;")
	w("FN:" + vcEscape(c.display))
	if c.company != "" || c.dept != "" {
		w("ORG:" + vcEscape(c.company) + ";" + vcEscape(c.dept))
	}
	if c.jobTitle != "" {
		w("TITLE:" + vcEscape(c.jobTitle))
	}
	for _, e := range c.emails {
		w("EMAIL;TYPE=INTERNET:" + e.email)
	}
	for _, p := range c.businessPhones {
		w("TEL;TYPE=WORK,VOICE:" + p)
	}
	for _, p := range c.homePhones {
		w("TEL;TYPE=HOME,VOICE:" + p)
	}
	if c.mobile != "" {
		w("TEL;TYPE=CELL,VOICE:" + c.mobile)
	}
	if c.street != "" || c.city != "" {
		w("ADR;TYPE=WORK:;;" + vcEscape(c.street) + ";" + vcEscape(c.city) + ";" + vcEscape(c.state) + ";" + vcEscape(c.postal) + ";" + vcEscape(c.country))
	}
	if c.birthday != "" {
		w("BDAY:" + c.birthday)
	}
	if c.notes != "" {
		w("NOTE:" + vcEscape(c.notes))
	}
	if len(c.categories) > 0 {
		w("CATEGORIES:" + vcEscape(strings.Join(c.categories, ",")))
	}
	if len(photo) > 0 {
		w("PHOTO;ENCODING=b;TYPE=JPEG:" + base64.StdEncoding.EncodeToString(photo))
	}
	w("END:VCARD")
	return b.Bytes()
}

type vcardEntry struct {
	c     *contactContent
	photo []byte
}

func splitUnescaped(s string, sep byte) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			cur.WriteByte(s[i])
			cur.WriteByte(s[i+1])
			i++
		case s[i] == sep:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, cur.String())
}

// parseVCards reads the vCards of a .vcf file.
func parseVCards(data []byte) []vcardEntry {
	var out []vcardEntry
	var cur *vcardEntry
	field := func(parts []string, i int) string {
		if i < len(parts) {
			return icsUnescape(parts[i])
		}
		return ""
	}
	for _, l := range unfoldLines(data) {
		switch {
		case l.name == "BEGIN" && strings.EqualFold(l.value, "VCARD"):
			cur = &vcardEntry{c: &contactContent{}}
		case l.name == "END" && cur != nil:
			if cur.c.display == "" {
				cur.c.display = strings.TrimSpace(cur.c.given + " " + cur.c.surname)
			}
			out = append(out, *cur)
			cur = nil
		case cur == nil:
		case l.name == "FN":
			cur.c.display = icsUnescape(l.value)
		case l.name == "N":
			p := splitUnescaped(l.value, ';')
			cur.c.surname, cur.c.given, cur.c.middle = field(p, 0), field(p, 1), field(p, 2)
		case l.name == "ORG":
			p := splitUnescaped(l.value, ';')
			cur.c.company, cur.c.dept = field(p, 0), field(p, 1)
		case l.name == "TITLE":
			cur.c.jobTitle = icsUnescape(l.value)
		case l.name == "EMAIL":
			cur.c.emails = append(cur.c.emails, addr{cur.c.display, l.value})
		case l.name == "TEL":
			t := strings.ToUpper(l.params["TYPE"])
			switch {
			case strings.Contains(t, "CELL"):
				cur.c.mobile = l.value
			case strings.Contains(t, "HOME"):
				cur.c.homePhones = append(cur.c.homePhones, l.value)
			default:
				cur.c.businessPhones = append(cur.c.businessPhones, l.value)
			}
		case l.name == "ADR":
			p := splitUnescaped(l.value, ';')
			cur.c.street, cur.c.city, cur.c.state, cur.c.postal, cur.c.country = field(p, 2), field(p, 3), field(p, 4), field(p, 5), field(p, 6)
		case l.name == "BDAY":
			cur.c.birthday = l.value
		case l.name == "NOTE":
			cur.c.notes = icsUnescape(l.value)
		case l.name == "CATEGORIES":
			cur.c.categories = strings.Split(icsUnescape(l.value), ",")
		case l.name == "PHOTO":
			if b, err := base64.StdEncoding.DecodeString(l.value); err == nil {
				cur.photo = b
			}
		}
	}
	for i := range out {
		for j := range out[i].c.emails {
			out[i].c.emails[j].name = out[i].c.display
		}
	}
	return out
}
