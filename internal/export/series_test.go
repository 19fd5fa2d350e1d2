package export

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/mailitem"
)

func TestCancelledOccurrences(t *testing.T) {
	pst := "Pacific Standard Time"
	utc := func(m time.Month, d, h int) time.Time { return time.Date(2025, m, d, h, 0, 0, 0, time.UTC) }
	weekly := gEvent(t, map[string]any{"iCalUId": "w", "start": dt("2025-10-27T16:00:00.0000000", "UTC"), "end": dt("2025-10-27T17:00:00.0000000", "UTC"),
		"originalStartTimeZone": pst,
		"recurrence": recurrence(map[string]any{"type": "weekly", "daysOfWeek": []string{"monday"}},
			map[string]any{"type": "numbered", "numberOfOccurrences": 4, "recurrenceTimeZone": pst})})
	s := mailitem.Series{Event: weekly, From: utc(10, 1, 0), To: utc(12, 1, 0),
		// 10-27 and 11-17 seen (as Graph writes them, with fractions of a second), 11-10 an exception, 11-03 gone.
		Occurrences: []time.Time{utc(10, 27, 16).Add(300 * time.Nanosecond), utc(11, 17, 17)},
		Exceptions:  []mailitem.Exception{{OriginalStart: utc(11, 10, 17)}}}
	require.Equal(t, []time.Time{utc(11, 3, 17)}, CancelledOccurrences(s))

	require.Nil(t, CancelledOccurrences(mailitem.Series{Event: weekly}), "no window, no knowledge")
	require.Nil(t, CancelledOccurrences(mailitem.Series{Event: gEvent(t, map[string]any{"start": dt("2025-10-27T16:00:00", "UTC")}),
		From: utc(1, 1, 0), To: utc(12, 1, 0)}), "a single event")

	daily := gEvent(t, map[string]any{"iCalUId": "d", "isAllDay": true, "start": dt("2025-12-22T00:00:00.0000000", "UTC"),
		"end": dt("2025-12-23T00:00:00.0000000", "UTC"), "originalStartTimeZone": pst,
		"recurrence": recurrence(map[string]any{"type": "daily"}, map[string]any{"type": "numbered", "numberOfOccurrences": 4, "recurrenceTimeZone": pst})})
	s = mailitem.Series{Event: daily, From: utc(12, 1, 0), To: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		// Midnight UTC, and midnight in Pacific time, both name their date.
		Occurrences: []time.Time{utc(12, 22, 0), utc(12, 23, 8), utc(12, 25, 0)}}
	got := CancelledOccurrences(s)
	require.Equal(t, []time.Time{utc(12, 24, 0)}, got)

	// What it finds is what WriteICS needs.
	var b bytes.Buffer
	require.NoError(t, WriteICS(&b, "", []ICSEvent{{Event: daily, Cancelled: got}}))
	require.Contains(t, b.String(), "EXDATE;VALUE=DATE:20251224\r\n")
}
