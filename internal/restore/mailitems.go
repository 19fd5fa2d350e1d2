package restore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/mailitem"
	"github.com/holdfast/holdfast/internal/tree"
	"github.com/holdfast/holdfast/internal/tzname"
)

// Message properties a restore gives back when it creates a message
// (https://learn.microsoft.com/graph/api/resources/message: the writable
// ones). The rest are the service's to set.
var messageWritable = []string{"subject", "body", "from", "sender", "toRecipients", "ccRecipients", "bccRecipients",
	"replyTo", "importance", "isRead", "categories", "flag", "internetMessageId", "inferenceClassification",
	"isDeliveryReceiptRequested", "isReadReceiptRequested"}

// readOnly are properties of any item the service sets itself; they are
// dropped from items given back inside item attachments, events and
// contacts.
var readOnly = []string{"id", "@odata.etag", "@odata.context", "@odata.id", "changeKey", "createdDateTime",
	"lastModifiedDateTime", "parentFolderId", "conversationId", "conversationIndex", "webLink", "isDraft",
	"hasAttachments", "bodyPreview", "uniqueBody", "attachments", "attachments@odata.context", "calendar@odata.associationLink",
	"calendar@odata.navigationLink", "iCalUId", "uid", "seriesMasterId", "type", "originalStart", "originalStartTimeZone",
	"originalEndTimeZone", "occurrenceId", "isOrganizer", "responseStatus", "onlineMeetingUrl", "webLink",
	"cancelledOccurrences", "exceptionOccurrences", "photo", "internetMessageHeaders"}

// MAPI properties that make a created message the received or sent
// message it was rather than a draft ([MS-OXPROPS]).
const (
	propMessageFlags = "Integer 0x0E07"    // PidTagMessageFlags
	propSubmitTime   = "SystemTime 0x0039" // PidTagClientSubmitTime
	propDeliveryTime = "SystemTime 0x0E06" // PidTagMessageDeliveryTime

	msgFlagRead   = 0x01 // MSGFLAG_READ
	msgFlagUnsent = 0x08 // MSGFLAG_UNSENT: a draft
	msgFlagAttach = 0x10 // MSGFLAG_HASATTACH
)

func (r *mailRestorer) message(ctx context.Context, n *tree.Node, folder string) (outcome, error) {
	var meta mailitem.Message
	if err := json.Unmarshal([]byte(n.Meta), &meta); err != nil {
		return write, fmt.Errorf("message metadata: %w", err)
	}
	out, replace, err := r.conflict(ctx, folder, meta.InternetMessageID, func() (map[string][]string, error) {
		return r.messageKeys(ctx, folder)
	})
	if err != nil || out != write {
		return out, err
	}
	raw, err := r.extra(ctx, n, mailitem.ExtraJSON)
	if err != nil {
		return write, err
	}
	if len(raw) == 0 {
		return write, fmt.Errorf("the snapshot has no properties of this message")
	}
	var atts []mailitem.Attachment
	if b, err := r.extra(ctx, n, mailitem.ExtraAttachments); err != nil {
		return write, err
	} else if len(b) > 0 {
		if err := json.Unmarshal(b, &atts); err != nil {
			return write, fmt.Errorf("attachment tree: %w", err)
		}
	}
	body, err := messageBody(raw, meta, len(atts) > 0)
	if err != nil {
		return write, err
	}
	if err := r.removeReplaced(ctx, replace, r.Graph.DeleteMessage, "message"); err != nil {
		return write, err
	}
	created, err := r.Graph.CreateMessage(ctx, r.UserID, folder, body)
	if err != nil {
		return write, err
	}
	return write, r.addAttachments(ctx, "messages/"+created.ID, atts)
}

// messageBody is the JSON that creates a message as it was: its writable
// properties, and the flags and dates that make it the sent or received
// message (or the draft) it was.
func messageBody(raw json.RawMessage, meta mailitem.Message, hasAttachments bool) (json.RawMessage, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("message properties: %w", err)
	}
	out := make(map[string]any, len(messageWritable)+1)
	for _, k := range messageWritable {
		if v, ok := in[k]; ok && string(v) != "null" {
			out[k] = v
		}
	}
	flags := 0
	if meta.IsRead {
		flags |= msgFlagRead
	}
	if meta.IsDraft {
		flags |= msgFlagUnsent
	}
	if hasAttachments {
		flags |= msgFlagAttach
	}
	props := []map[string]string{{"id": propMessageFlags, "value": strconv.Itoa(flags)}}
	if !meta.Sent.IsZero() {
		props = append(props, map[string]string{"id": propSubmitTime, "value": meta.Sent.UTC().Format(time.RFC3339)})
	}
	if !meta.Received.IsZero() {
		props = append(props, map[string]string{"id": propDeliveryTime, "value": meta.Received.UTC().Format(time.RFC3339)})
	}
	out["singleValueExtendedProperties"] = props
	return json.Marshal(out)
}

// addAttachments adds a tree's top level to parent (messages/{id} or
// events/{id}); item attachments carry their own attachments inside, so
// every level comes back where it was.
func (r *mailRestorer) addAttachments(ctx context.Context, parent string, atts []mailitem.Attachment) error {
	for _, a := range atts {
		if a.Kind == graphapi.AttachmentFile && len(a.Content) > maxInlineAttachment {
			if err := r.Graph.UploadAttachment(ctx, r.UserID, parent, a.Name, a.ContentType, int64(len(a.Content)),
				a.IsInline, bytes.NewReader(a.Content)); err != nil {
				return fmt.Errorf("attachment %q: %w", a.Name, err)
			}
			continue
		}
		body, err := json.Marshal(attachmentJSON(a))
		if err != nil {
			return err
		}
		if err := r.Graph.AddAttachment(ctx, r.UserID, parent, body); err != nil {
			return fmt.Errorf("attachment %q: %w", a.Name, err)
		}
	}
	return nil
}

// attachmentJSON is the Graph JSON that creates an attachment, an item
// attachment's item holding its own attachments.
func attachmentJSON(a mailitem.Attachment) map[string]any {
	out := map[string]any{}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(a.Raw, &raw)
	for _, k := range []string{"contentId", "contentLocation", "lastModifiedDateTime", "sourceUrl", "providerType",
		"permission", "isFolder", "previewUrl", "thumbnailUrl"} {
		if v, ok := raw[k]; ok && string(v) != "null" {
			out[k] = v
		}
	}
	out["name"], out["isInline"] = a.Name, a.IsInline
	if a.ContentType != "" {
		out["contentType"] = a.ContentType
	}
	switch a.Kind {
	case graphapi.AttachmentFile:
		out["@odata.type"] = "#microsoft.graph.fileAttachment"
		out["contentBytes"] = base64.StdEncoding.EncodeToString(a.Content)
	case graphapi.AttachmentReference:
		out["@odata.type"] = "#microsoft.graph.referenceAttachment"
	case graphapi.AttachmentItem:
		out["@odata.type"] = "#microsoft.graph.itemAttachment"
		item := map[string]any{}
		var in map[string]json.RawMessage
		_ = json.Unmarshal(a.Item, &in)
		for k, v := range in {
			item[k] = v
		}
		for _, k := range readOnly {
			delete(item, k)
		}
		if _, ok := item["@odata.type"]; !ok {
			item["@odata.type"] = "#microsoft.graph." + a.ItemType
		}
		if len(a.Children) > 0 {
			kids := make([]map[string]any, len(a.Children))
			for i, c := range a.Children {
				kids[i] = attachmentJSON(c)
			}
			item["attachments"] = kids
		}
		out["item"] = item
	}
	return out
}

// writable copies an item's JSON without what the service sets itself.
func writable(raw json.RawMessage, drop ...string) (map[string]json.RawMessage, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	for _, k := range readOnly {
		delete(in, k)
	}
	for _, k := range drop {
		delete(in, k)
	}
	for k := range in {
		if strings.HasPrefix(k, "@odata.") {
			delete(in, k)
		}
	}
	return in, nil
}

func (r *mailRestorer) event(ctx context.Context, n *tree.Node, calendar string) (outcome, error) {
	b, err := r.read(ctx, n.Content)
	if err != nil {
		return write, err
	}
	var s mailitem.Series
	if err := json.Unmarshal(b, &s); err != nil {
		return write, fmt.Errorf("stored event: %w", err)
	}
	body, err := eventBody(s.Event)
	if err != nil {
		return write, fmt.Errorf("stored event: %w", err)
	}
	key := eventKey(s.Event)
	out, replace, err := r.conflict(ctx, calendar, key, func() (map[string][]string, error) {
		evs, err := r.Graph.Events(ctx, r.UserID, calendar)
		if err != nil {
			return nil, err
		}
		have := map[string][]string{}
		for _, ev := range evs {
			k := eventKey(ev.Raw)
			have[k] = append(have[k], ev.ID)
		}
		return have, nil
	})
	if err != nil || out != write {
		return out, err
	}
	if err := r.removeReplaced(ctx, replace, r.Graph.DeleteEvent, "event"); err != nil {
		return write, err
	}
	jb, _ := json.Marshal(body)
	created, err := r.Graph.CreateEvent(ctx, r.UserID, calendar, jb)
	if err != nil {
		return write, err
	}
	if err := r.addAttachments(ctx, "events/"+created.ID, s.Attachments); err != nil {
		return write, err
	}
	if len(s.Occurrences) == 0 && len(s.Exceptions) == 0 {
		return write, nil
	}
	return write, r.series(ctx, created.ID, s)
}

// series gives a restored series master its exceptions back and cancels
// the occurrences the original had cancelled.
func (r *mailRestorer) series(ctx context.Context, masterID string, s mailitem.Series) error {
	inst, err := r.Graph.Instances(ctx, r.UserID, masterID, s.From, s.To)
	if err != nil {
		return fmt.Errorf("occurrences of the restored series: %w", err)
	}
	byStart := make(map[int64]string, len(inst))
	for _, in := range inst {
		orig := in.OriginalStart
		if orig.IsZero() {
			orig = in.Start
		}
		byStart[orig.Unix()] = in.ID
	}
	kept := make(map[int64]bool, len(s.Occurrences))
	for _, t := range s.Occurrences {
		kept[t.Unix()] = true
	}
	for _, x := range s.Exceptions {
		id, ok := byStart[x.OriginalStart.Unix()]
		if !ok {
			return fmt.Errorf("the restored series has no occurrence at %s for an exception", x.OriginalStart.UTC().Format(time.RFC3339))
		}
		patch, err := eventBody(x.Event, "recurrence")
		if err != nil {
			return err
		}
		pb, _ := json.Marshal(patch)
		if err := r.Graph.UpdateEvent(ctx, r.UserID, id, pb); err != nil {
			return fmt.Errorf("exception at %s: %w", x.OriginalStart.UTC().Format(time.RFC3339), err)
		}
		if err := r.addAttachments(ctx, "events/"+id, x.Attachments); err != nil {
			return err
		}
	}
	for start, id := range byStart {
		if kept[start] {
			continue
		}
		if err := r.Graph.DeleteEvent(ctx, r.UserID, id); err != nil && !isNotFound(err) {
			return fmt.Errorf("cancelling the occurrence at %s: %w", time.Unix(start, 0).UTC().Format(time.RFC3339), err)
		}
	}
	return nil
}

// eventBody is the JSON that creates an event as it was. The backup read
// times in UTC; they go back in the event's own zones, so that a series
// keeps its wall-clock time across daylight-saving changes.
func eventBody(raw json.RawMessage, drop ...string) (map[string]json.RawMessage, error) {
	var zones struct {
		Start    string `json:"originalStartTimeZone"`
		End      string `json:"originalEndTimeZone"`
		IsAllDay bool   `json:"isAllDay"`
	}
	if err := json.Unmarshal(raw, &zones); err != nil {
		return nil, err
	}
	body, err := writable(raw, drop...)
	if err != nil {
		return nil, err
	}
	for key, zone := range map[string]string{"start": zones.Start, "end": zones.End} {
		if v, ok := body[key]; ok {
			body[key] = inZone(v, zone, zones.IsAllDay)
		}
	}
	return body, nil
}

// graphTime is Graph's dateTimeTimeZone.
type graphTime struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// graphTimeLayout is how Graph writes dateTimeTimeZone.dateTime.
const graphTimeLayout = "2006-01-02T15:04:05.0000000"

// inZone moves a UTC dateTimeTimeZone into zone (a Windows or IANA name);
// an all-day event keeps its dates. Unknown zones leave it in UTC.
func inZone(v json.RawMessage, zone string, allDay bool) json.RawMessage {
	var t graphTime
	loc := tzname.Resolve(zone)
	if json.Unmarshal(v, &t) != nil || loc == nil || loc == time.UTC || tzname.Resolve(t.TimeZone) != time.UTC {
		return v
	}
	if !allDay {
		at, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", t.DateTime, time.UTC)
		if err != nil {
			return v
		}
		t.DateTime = at.In(loc).Format(graphTimeLayout)
	}
	t.TimeZone = zone
	out, _ := json.Marshal(t)
	return out
}

// eventKey matches an event with one already in a calendar: subject and
// start (the service gives a restored event a new iCalUId).
func eventKey(raw json.RawMessage) string {
	var p struct {
		Subject string `json:"subject"`
		Start   struct {
			DateTime string `json:"dateTime"`
			TimeZone string `json:"timeZone"`
		} `json:"start"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	return p.Subject + "\x00" + p.Start.DateTime + "\x00" + p.Start.TimeZone
}

func (r *mailRestorer) contact(ctx context.Context, n *tree.Node, folder string) (outcome, error) {
	raw, err := r.read(ctx, n.Content)
	if err != nil {
		return write, err
	}
	body, err := writable(raw)
	if err != nil {
		return write, fmt.Errorf("stored contact: %w", err)
	}
	out, replace, err := r.conflict(ctx, folder, contactKey(raw), func() (map[string][]string, error) {
		have := map[string][]string{}
		link := ""
		for {
			page, err := r.Graph.ContactDelta(ctx, r.UserID, folder, link)
			if err != nil {
				return nil, err
			}
			for _, c := range page.Items {
				if !c.Removed {
					k := contactKey(c.Raw)
					have[k] = append(have[k], c.ID)
				}
			}
			if page.NextLink == "" {
				return have, nil
			}
			link = page.NextLink
		}
	})
	if err != nil || out != write {
		return out, err
	}
	if err := r.removeReplaced(ctx, replace, r.Graph.DeleteContact, "contact"); err != nil {
		return write, err
	}
	jb, _ := json.Marshal(body)
	created, err := r.Graph.CreateContact(ctx, r.UserID, folder, jb)
	if err != nil {
		return write, err
	}
	photo, err := r.extra(ctx, n, mailitem.ExtraPhoto)
	if err != nil || len(photo) == 0 {
		return write, err
	}
	var meta mailitem.Contact
	_ = json.Unmarshal([]byte(n.Meta), &meta)
	return write, r.Graph.SetContactPhoto(ctx, r.UserID, created.ID, meta.PhotoType, photo)
}

// contactKey matches a contact with one already in a folder: display name
// and first address.
func contactKey(raw json.RawMessage) string {
	var p struct {
		DisplayName    string `json:"displayName"`
		EmailAddresses []struct {
			Address string `json:"address"`
		} `json:"emailAddresses"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	k := strings.ToLower(p.DisplayName)
	if len(p.EmailAddresses) > 0 {
		k += "\x00" + strings.ToLower(p.EmailAddresses[0].Address)
	}
	return k
}

// removeReplaced deletes the items a replace found in the way (one already
// gone is fine).
func (r *mailRestorer) removeReplaced(ctx context.Context, ids []string, del func(context.Context, string, string) error, what string) error {
	for _, id := range ids {
		if err := del(ctx, r.UserID, id); err != nil && !isNotFound(err) {
			return fmt.Errorf("replacing the existing %s: %w", what, err)
		}
	}
	return nil
}
