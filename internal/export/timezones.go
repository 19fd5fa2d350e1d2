package export

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
)

// zoneSet collects the zones an iCalendar object uses, and the span of instants each must cover.
type zoneSet struct {
	zones map[string]*zoneUse
}

type zoneUse struct {
	loc      *time.Location
	min, max time.Time
}

func newZoneSet() *zoneSet { return &zoneSet{zones: map[string]*zoneUse{}} }

// use records that t is written in its location (UTC needs no VTIMEZONE).
func (zs *zoneSet) use(t time.Time) {
	loc := t.Location()
	if loc == time.UTC {
		return
	}
	u := zs.zones[loc.String()]
	if u == nil {
		zs.zones[loc.String()] = &zoneUse{loc: loc, min: t, max: t}
		return
	}
	if t.Before(u.min) {
		u.min = t
	}
	if t.After(u.max) {
		u.max = t
	}
}

// components returns a VTIMEZONE per zone used, ordered by TZID.
func (zs *zoneSet) components() []*ical.Component {
	names := make([]string, 0, len(zs.zones))
	for n := range zs.zones {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*ical.Component, 0, len(names))
	for _, n := range names {
		u := zs.zones[n]
		out = append(out, vtimezone(u.loc, u.min, u.max))
	}
	return out
}

// tzTransition is one change of a zone's offset (or name, or DST flag).
type tzTransition struct {
	at       time.Time // the instant
	from, to int       // UTC offsets before and after, in seconds
	name     string    // the abbreviation after (TZNAME)
	dst      bool
}

func transitionAt(loc *time.Location, at time.Time) tzTransition {
	_, from := at.Add(-time.Second).In(loc).Zone()
	after := at.In(loc)
	name, to := after.Zone()
	return tzTransition{at: at.UTC(), from: from, to: to, name: name, dst: after.IsDST()}
}

// wall is the local time of the transition as the clock showed it before (DTSTART of an
// observance is in TZOFFSETFROM, RFC 5545 §3.6.5).
func (tr tzTransition) wall() time.Time {
	return tr.at.Add(time.Duration(tr.from) * time.Second)
}

// zoneKey is what a transition changes.
type zoneKey struct {
	name string
	off  int
	dst  bool
}

func keyAt(loc *time.Location, t time.Time) zoneKey {
	x := t.In(loc)
	name, off := x.Zone()
	return zoneKey{name, off, x.IsDST()}
}

// changeBetween finds the first second after lo at which the zone is no longer lo's; the zone at
// hi is known to differ.
func changeBetween(loc *time.Location, lo, hi time.Time) time.Time {
	k := keyAt(loc, lo)
	a, b := lo.Unix(), hi.Unix()
	for b-a > 1 {
		m := a + (b-a)/2
		if keyAt(loc, time.Unix(m, 0)) == k {
			a = m
		} else {
			b = m
		}
	}
	return time.Unix(b, 0).UTC()
}

// zoneTransitions lists the transitions that matter from `from` up to `to`: the last one before
// from (if within a year and a half), then every one before to. Zones are probed a day apart
// and changes located to the second; time.Time.ZoneBounds is not used because, past the last
// explicit transition of the zone data (2037), it reports bounds at year starts that are not
// changes, some of them before the instant asked about.
func zoneTransitions(loc *time.Location, from, to time.Time, limit int) []tzTransition {
	const step = 24 * time.Hour
	var out []tzTransition
	for t := from; t.After(from.Add(-550 * step)); t = t.Add(-step) {
		if prev := t.Add(-step); keyAt(loc, prev) != keyAt(loc, t) {
			out = append(out, transitionAt(loc, changeBetween(loc, prev, t)))
			break
		}
	}
	for cur := from; cur.Before(to) && len(out) < limit; {
		next := cur.Add(step)
		if keyAt(loc, next) != keyAt(loc, cur) {
			at := changeBetween(loc, cur, next)
			if !at.Before(to) {
				break
			}
			out = append(out, transitionAt(loc, at))
			cur = at
			continue
		}
		cur = next
	}
	return out
}

// tzRule is the yearly rule a run of transitions follows: a weekday of a month at a local time,
// either the nth (1..4) or last (-1) of the month, or the first on or after a day (Chile's
// "Sun>=2"): nth 0 and onOrAfter D.
type tzRule struct {
	month     time.Month
	weekday   time.Weekday
	nth       int
	onOrAfter int
	clock     time.Duration
	from, to  int
	name      string
	dst       bool
}

func (r tzRule) rrule() string {
	s := fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=", r.month)
	if r.nth != 0 {
		return s + strconv.Itoa(r.nth) + icalWeekdays[r.weekday]
	}
	days := make([]string, 7)
	for i := range days {
		days[i] = strconv.Itoa(r.onOrAfter + i)
	}
	return s + icalWeekdays[r.weekday] + ";BYMONTHDAY=" + strings.Join(days, ",")
}

// commonRule finds a rule every transition of trs follows.
func commonRule(trs []tzTransition) (tzRule, bool) {
	if len(trs) == 0 {
		return tzRule{}, false
	}
	var base tzRule
	allLast, samePos := true, true
	pos0, lo, hi := 0, 1, 31
	for i, tr := range trs {
		w := tr.wall()
		r := tzRule{month: w.Month(), weekday: w.Weekday(), clock: w.Sub(time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)),
			from: tr.from, to: tr.to, name: tr.name, dst: tr.dst}
		if i == 0 {
			base = r
		} else if r != base {
			return tzRule{}, false
		}
		pos := (w.Day()-1)/7 + 1
		if i == 0 {
			pos0 = pos
		}
		dim := time.Date(w.Year(), w.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
		allLast = allLast && w.Day()+7 > dim
		samePos = samePos && pos == pos0 && pos <= 4
		lo, hi = max(lo, w.Day()-6), min(hi, w.Day())
	}
	switch {
	case allLast:
		base.nth = -1
	case samePos:
		base.nth = pos0
	case lo <= hi && hi+6 <= 31:
		base.onOrAfter = hi
	default:
		return tzRule{}, false
	}
	return base, true
}

var icalWeekdays = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

func utcOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

func observance(tr tzTransition, dtstart time.Time, rrule string) *ical.Component {
	name := ical.CompTimezoneStandard
	if tr.dst {
		name = ical.CompTimezoneDaylight
	}
	c := ical.NewComponent(name)
	c.Props.Set(&ical.Prop{Name: ical.PropDateTimeStart, Params: ical.Params{}, Value: dtstart.Format("20060102T150405")})
	c.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: utcOffset(tr.from)})
	c.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetTo, Params: ical.Params{}, Value: utcOffset(tr.to)})
	if tr.name != "" {
		c.Props.SetText(ical.PropTimezoneName, tr.name)
	}
	if rrule != "" {
		c.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{}, Value: rrule})
	}
	return c
}

// vtimezone describes loc from the year of first to the end of the year of last. The last run of
// each kind of transition (to standard time, to daylight time) that follows one yearly rule to
// the end of that span and through the ten years after it becomes one observance with an RRULE,
// so that series without an end stay right; earlier or irregular transitions (zones that
// changed or dropped DST, Ramadan-dependent ones) become one-time observances, exact within the
// span. A zone without transitions gets one STANDARD observance.
func vtimezone(loc *time.Location, first, last time.Time) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.Set(&ical.Prop{Name: ical.PropTimezoneID, Params: ical.Params{}, Value: loc.String()})
	// Dates far outside real use (bad data) must not make the zone be probed for millennia.
	y0 := min(max(first.In(loc).Year(), 1900), 2200)
	y1 := min(max(last.In(loc).Year(), y0), 2200)
	from := time.Date(y0, 1, 1, 0, 0, 0, 0, loc)
	to := time.Date(y1+1, 1, 1, 0, 0, 0, 0, loc)
	trs := zoneTransitions(loc, from, to, 2000)
	if len(trs) == 0 || trs[0].at.After(from) {
		// Nothing is known before the first transition: say the offset at from held since 1601.
		name, off := from.Zone()
		first := tzTransition{from: off, to: off, name: name, dst: from.IsDST()}
		tz.Children = append(tz.Children, observance(first, time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), ""))
	}
	// The transitions of the ten years after the span, to tell whether a rule goes on.
	after := zoneTransitions(loc, to, to.AddDate(10, 0, 0), 100)
	if len(after) > 0 && after[0].at.Before(to) {
		after = after[1:] // the one in effect at `to` is already in trs
	}
	for _, dst := range []bool{false, true} {
		var kind []tzTransition
		for _, tr := range trs {
			if tr.dst == dst {
				kind = append(kind, tr)
			}
		}
		var next []tzTransition
		for _, tr := range after {
			if tr.dst == dst {
				next = append(next, tr)
			}
		}
		// The longest run at the end that follows one rule, which the next transition follows too.
		split := len(kind)
		var rule tzRule
		if len(next) > 0 {
			for k := len(kind) - 1; k >= 0; k-- {
				r, ok := commonRule(append(append([]tzTransition{}, kind[k:]...), next...))
				if !ok {
					break
				}
				split, rule = k, r
			}
		}
		for _, tr := range kind[:split] {
			tz.Children = append(tz.Children, observance(tr, tr.wall(), ""))
		}
		if split < len(kind) {
			tz.Children = append(tz.Children, observance(kind[split], kind[split].wall(), rule.rrule()))
		}
	}
	sort.SliceStable(tz.Children, func(i, j int) bool {
		return tz.Children[i].Props.Get(ical.PropDateTimeStart).Value < tz.Children[j].Props.Get(ical.PropDateTimeStart).Value
	})
	return tz
}
