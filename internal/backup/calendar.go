package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/mailitem"
)

// seriesHorizon bounds how far ahead a series without an end date (or
// with a count of occurrences) is expanded to record its exceptions and
// cancelled occurrences.
const seriesHorizon = 2 * 365 * 24 * time.Hour

// calendarRun backs up one calendar. Events are listed in full each run —
// series masters and single events; a series' exceptions and cancelled
// occurrences change its master — and fetched again when their changeKey
// moved.
type calendarRun struct {
	*runner
	m   *Mailbox
	now time.Time
}

func (r *calendarRun) run(ctx context.Context) error {
	r.now = time.Now()
	return r.full(ctx, "calendar "+r.ContainerID, func(ctx context.Context) error {
		evs, err := r.m.Graph.Events(ctx, r.m.UserID, r.ContainerID)
		if err != nil {
			return err
		}
		ids := make([]string, len(evs))
		for i, ev := range evs {
			ids[i] = ev.ID
		}
		current, err := r.Catalog.CurrentVersions(ctx, r.Key, ids)
		if err != nil {
			return err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(r.Concurrency)
		for _, ev := range evs {
			r.cur.Items++
			if prev, ok := current[ev.ID]; ok && prev.ETag == ev.ChangeKey && prev.ContainerID == r.ContainerID {
				r.unchanged(ev.ID)
				continue
			}
			g.Go(func() error { return r.fetch(gctx, ev) })
		}
		return g.Wait()
	})
}

func (r *calendarRun) fetch(ctx context.Context, ev graphapi.Event) error {
	return r.attempt(ctx, ev.ID, subjectName(ev.Subject), func() error {
		s := mailitem.Series{Event: ev.Raw}
		var err error
		if s.Attachments, err = r.attachments(ctx, ev.ID, ev.HasAttachments); err != nil {
			return err
		}
		if ev.Type == "seriesMaster" {
			s.From, s.To = seriesRange(ev, r.now)
			inst, err := r.m.Graph.Instances(ctx, r.m.UserID, ev.ID, s.From, s.To)
			if err != nil {
				return err
			}
			for _, in := range inst {
				orig := in.OriginalStart
				if orig.IsZero() {
					orig = in.Start
				}
				s.Occurrences = append(s.Occurrences, orig)
				if in.Type != "exception" {
					continue
				}
				x := mailitem.Exception{OriginalStart: orig, Event: in.Raw}
				if x.Attachments, err = r.attachments(ctx, in.ID, in.HasAttachments); err != nil {
					return err
				}
				s.Exceptions = append(s.Exceptions, x)
			}
		}
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		c, err := r.store(ctx, bytes.NewReader(b))
		if err != nil {
			return err
		}
		r.counted(c.Size)
		meta, _ := json.Marshal(mailitem.Event{ICalUID: ev.ICalUID, Type: ev.Type, Start: ev.Start, End: ev.End,
			Exceptions: len(s.Exceptions)})
		r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: catalog.ItemVersion{ItemID: ev.ID,
			ContainerID: r.ContainerID, ParentID: r.ContainerID, Name: subjectName(ev.Subject), Kind: mailitem.KindEvent,
			Size: c.Size, Created: ev.Start, Modified: lastModified(ev.Raw, ev.Start), ETag: ev.ChangeKey,
			Content: c.Marshal(), Meta: string(meta)}})
		return nil
	}, nil)
}

func (r *calendarRun) attachments(ctx context.Context, eventID string, has bool) ([]mailitem.Attachment, error) {
	if !has {
		return nil, nil
	}
	atts, err := r.m.Graph.Attachments(ctx, r.m.UserID, "events/"+eventID)
	if err != nil {
		return nil, err
	}
	tree, _ := attachmentTree(atts)
	return tree, nil
}

// seriesRange is the window a series is expanded in: from its first
// occurrence to its end date, or to seriesHorizon ahead of now when it has
// none (or ends after a count).
func seriesRange(ev graphapi.Event, now time.Time) (from, to time.Time) {
	from = ev.Start.Add(-24 * time.Hour)
	to = now.Add(seriesHorizon)
	if ev.Start.After(now) {
		to = ev.Start.Add(seriesHorizon)
	}
	var p struct {
		Recurrence struct {
			Range struct {
				Type    string `json:"type"`
				EndDate string `json:"endDate"`
			} `json:"range"`
		} `json:"recurrence"`
	}
	if json.Unmarshal(ev.Raw, &p) == nil && p.Recurrence.Range.Type == "endDate" {
		if end, err := time.Parse(time.DateOnly, p.Recurrence.Range.EndDate); err == nil {
			// The end date is inclusive and in the series' time zone.
			to = end.Add(48 * time.Hour)
		}
	}
	return from, to
}
