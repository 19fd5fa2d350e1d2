package export

import (
	"encoding/json"
	"time"

	"github.com/holdfast/holdfast/internal/mailitem"
)

// CancelledOccurrences lists the original starts (UTC) of a stored series' cancelled
// occurrences: those its recurrence makes in [From, To) (SeriesOccurrences) that the backup did
// not see (Occurrences, and the exceptions' original starts). A series stored without a window,
// or whose event cannot be read, has none. All-day occurrences are compared by date.
//
// When Exchange and RFC 5545 expand a pattern differently, an occurrence the RRULE makes but
// Exchange did not is reported too, and its EXDATE makes the download match the mailbox.
func CancelledOccurrences(s mailitem.Series) []time.Time {
	if s.From.IsZero() || !s.To.After(s.From) {
		return nil
	}
	all, err := SeriesOccurrences(s.Event, s.From, s.To)
	if err != nil || len(all) == 0 {
		return nil
	}
	var ev graphEvent
	if err := json.Unmarshal(s.Event, &ev); err != nil || ev.Recurrence == nil {
		return nil
	}
	zone := firstKnownZone(ev.Recurrence.Range.RecurrenceTimeZone, ev.OriginalStartTimeZone)
	norm := func(t time.Time) time.Time {
		if ev.IsAllDay {
			return occurrenceDate(t, zone)
		}
		return t.UTC().Truncate(time.Second)
	}
	seen := make(map[time.Time]bool, len(s.Occurrences)+len(s.Exceptions))
	for _, o := range s.Occurrences {
		seen[norm(o)] = true
	}
	for _, x := range s.Exceptions {
		seen[norm(x.OriginalStart)] = true
	}
	var out []time.Time
	for _, o := range all {
		if !seen[norm(o)] {
			out = append(out, o)
		}
	}
	return out
}
