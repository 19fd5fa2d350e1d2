package m365

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// Calendars and events. Every read asks for times in UTC (Prefer:
// outlook.timezone="UTC"); all-day events keep their dates (midnight UTC).

var utcHeader = http.Header{"Prefer": {preferUTC}}

type jsonCalendar struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsDefault bool   `json:"isDefaultCalendar"`
}

func calendar(w *withRaw[jsonCalendar]) graphapi.Calendar {
	return graphapi.Calendar{ID: w.v.ID, Name: w.v.Name, IsDefault: w.v.IsDefault, Raw: w.raw}
}

// Calendars implements graphapi.Exchange.
func (c *Client) Calendars(ctx context.Context, userID string) ([]graphapi.Calendar, error) {
	u := withQuery(c.userURL(userID, "calendars"), url.Values{"$top": {collectionTop}})
	return collect(ctx, c, u, nil, calendar, "calendars of user %s", userID)
}

type jsonEvent struct {
	ID             string      `json:"id"`
	Type           string      `json:"type"`
	SeriesMasterID string      `json:"seriesMasterId"`
	ChangeKey      string      `json:"changeKey"`
	ICalUID        string      `json:"iCalUId"`
	Subject        string      `json:"subject"`
	Start          *dateTimeTZ `json:"start"`
	End            *dateTimeTZ `json:"end"`
	OriginalStart  time.Time   `json:"originalStart"`
	HasAttachments bool        `json:"hasAttachments"`
	IsCancelled    bool        `json:"isCancelled"`
}

func event(w *withRaw[jsonEvent]) graphapi.Event {
	j := &w.v
	return graphapi.Event{ID: j.ID, Type: j.Type, SeriesMasterID: j.SeriesMasterID, ChangeKey: j.ChangeKey, ICalUID: j.ICalUID,
		Subject: j.Subject, Start: j.Start.utc(), End: j.End.utc(), OriginalStart: j.OriginalStart.UTC(),
		HasAttachments: j.HasAttachments, IsCancelled: j.IsCancelled, Raw: w.raw}
}

// eventsPath is a calendar's events collection ("" for the default
// calendar).
func eventsPath(calendarID string) string {
	if calendarID == "" {
		return "calendar/events"
	}
	return "calendars/" + esc(calendarID) + "/events"
}

// Events implements graphapi.Exchange: series masters and single events
// (occurrences come from Instances).
func (c *Client) Events(ctx context.Context, userID, calendarID string) ([]graphapi.Event, error) {
	u := withQuery(c.userURL(userID, eventsPath(calendarID)), url.Values{"$top": {collectionTop}})
	return collect(ctx, c, u, utcHeader, event, "events of calendar %s of user %s", calendarID, userID)
}

// Instances implements graphapi.Exchange.
func (c *Client) Instances(ctx context.Context, userID, eventID string, start, end time.Time) ([]graphapi.Event, error) {
	u := withQuery(c.userURL(userID, "events/"+esc(eventID)+"/instances"), url.Values{
		"startDateTime": {start.UTC().Format(time.RFC3339)}, "endDateTime": {end.UTC().Format(time.RFC3339)},
		"$top": {collectionTop}})
	return collect(ctx, c, u, utcHeader, event, "instances of event %s of user %s", eventID, userID)
}

// CreateCalendar implements graphapi.ExchangeWriter (a taken name is 409
// ErrorFolderExists: ErrConflict).
func (c *Client) CreateCalendar(ctx context.Context, userID, name string) (graphapi.Calendar, error) {
	var w withRaw[jsonCalendar]
	err := c.doJSON(ctx, http.MethodPost, c.userURL(userID, "calendars"), marshal(map[string]string{"name": name}), nil, &w,
		"create calendar %q of user %s", name, userID)
	if err != nil {
		return graphapi.Calendar{}, err
	}
	return calendar(&w), nil
}

// CreateEvent implements graphapi.ExchangeWriter.
func (c *Client) CreateEvent(ctx context.Context, userID, calendarID string, ev json.RawMessage) (graphapi.Event, error) {
	var w withRaw[jsonEvent]
	err := c.doJSON(ctx, http.MethodPost, c.userURL(userID, eventsPath(calendarID)), ev, utcHeader, &w,
		"create an event in calendar %s of user %s", calendarID, userID)
	if err != nil {
		return graphapi.Event{}, err
	}
	return event(&w), nil
}

// UpdateEvent implements graphapi.ExchangeWriter.
func (c *Client) UpdateEvent(ctx context.Context, userID, eventID string, patch json.RawMessage) error {
	return c.doJSON(ctx, http.MethodPatch, c.userURL(userID, "events/"+esc(eventID)), patch, utcHeader, nil,
		"update event %s of user %s", eventID, userID)
}

// DeleteEvent implements graphapi.ExchangeWriter.
func (c *Client) DeleteEvent(ctx context.Context, userID, eventID string) error {
	return c.doJSON(ctx, http.MethodDelete, c.userURL(userID, "events/"+esc(eventID)), nil, nil, nil,
		"delete event %s of user %s", eventID, userID)
}
