package restore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/mailitem"
)

func TestMessageBodyMakesTheMessageItWas(t *testing.T) {
	raw := json.RawMessage(`{"id":"AAMk=","changeKey":"CQ","subject":"Q3","isDraft":false,"isRead":true,
		"parentFolderId":"inbox","bodyPreview":"x","body":{"contentType":"html","content":"<p>hi</p>"},
		"from":{"emailAddress":{"address":"'quote@example.com"}},"flag":{"flagStatus":"flagged"},
		"categories":["Blue"],"receivedDateTime":"2024-05-01T10:05:00Z","webLink":"https://x","ccRecipients":null}`)
	sent := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	meta := mailitem.Message{IsRead: true, Sent: sent, Received: sent.Add(5 * time.Minute)}
	b, err := messageBody(raw, meta, true)
	require.NoError(t, err)
	var got map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &got))
	for _, k := range []string{"subject", "body", "from", "flag", "categories"} {
		assert.Contains(t, got, k)
	}
	for _, k := range []string{"id", "changeKey", "isDraft", "parentFolderId", "bodyPreview", "webLink", "receivedDateTime", "ccRecipients"} {
		assert.NotContains(t, got, k, "the service sets %s itself (or it was null)", k)
	}
	var props []map[string]string
	require.NoError(t, json.Unmarshal(got["singleValueExtendedProperties"], &props))
	assert.Equal(t, []map[string]string{
		{"id": "Integer 0x0E07", "value": "17"}, // read, has attachments, not unsent: not a draft
		{"id": "SystemTime 0x0039", "value": "2024-05-01T10:00:00Z"},
		{"id": "SystemTime 0x0E06", "value": "2024-05-01T10:05:00Z"},
	}, props)

	meta.IsDraft, meta.IsRead = true, false
	b, err = messageBody(raw, meta, false)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &got))
	require.NoError(t, json.Unmarshal(got["singleValueExtendedProperties"], &props))
	assert.Equal(t, "8", props[0]["value"], "a draft stays a draft")
}

func TestAttachmentJSONKeepsTheTree(t *testing.T) {
	tree := mailitem.Attachment{Kind: graphapi.AttachmentItem, Name: "m2", ItemType: "message",
		Item: json.RawMessage(`{"@odata.type":"#microsoft.graph.message","id":"x","subject":"m2","changeKey":"c"}`),
		Children: []mailitem.Attachment{
			{Kind: graphapi.AttachmentFile, Name: "a2.txt", ContentType: "text/plain", Content: []byte("two"),
				Raw: json.RawMessage(`{"contentId":"cid2","id":"att"}`)},
			{Kind: graphapi.AttachmentReference, Name: "a3", Raw: json.RawMessage(`{"sourceUrl":"https://contoso/a3","providerType":"oneDriveBusiness"}`)},
		}}
	b, err := json.Marshal(attachmentJSON(tree))
	require.NoError(t, err)
	var got struct {
		Type string `json:"@odata.type"`
		Name string
		Item struct {
			Type        string `json:"@odata.type"`
			ID          string `json:"id"`
			Subject     string
			Attachments []struct {
				Type         string `json:"@odata.type"`
				Name         string
				ContentBytes string
				ContentID    string `json:"contentId"`
				SourceURL    string `json:"sourceUrl"`
			}
		}
	}
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, "#microsoft.graph.itemAttachment", got.Type)
	assert.Equal(t, "m2", got.Item.Subject)
	assert.Empty(t, got.Item.ID, "the item's ID is the service's")
	require.Len(t, got.Item.Attachments, 2, "m2's own attachments stay inside m2")
	assert.Equal(t, "#microsoft.graph.fileAttachment", got.Item.Attachments[0].Type)
	assert.Equal(t, "dHdv", got.Item.Attachments[0].ContentBytes)
	assert.Equal(t, "cid2", got.Item.Attachments[0].ContentID, "inline images keep their content ID")
	assert.Equal(t, "#microsoft.graph.referenceAttachment", got.Item.Attachments[1].Type)
	assert.Equal(t, "https://contoso/a3", got.Item.Attachments[1].SourceURL)
}

func TestEventBodyGoesBackToItsZone(t *testing.T) {
	raw := json.RawMessage(`{"id":"e","type":"seriesMaster","iCalUId":"u","subject":"Standup",
		"originalStartTimeZone":"Pacific Standard Time","originalEndTimeZone":"Pacific Standard Time",
		"start":{"dateTime":"2024-07-01T16:00:00.0000000","timeZone":"UTC"},
		"end":{"dateTime":"2024-07-01T16:15:00.0000000","timeZone":"UTC"},
		"recurrence":{"pattern":{"type":"daily","interval":1}}}`)
	body, err := eventBody(raw)
	require.NoError(t, err)
	var start graphTime
	require.NoError(t, json.Unmarshal(body["start"], &start))
	assert.Equal(t, graphTime{DateTime: "2024-07-01T09:00:00.0000000", TimeZone: "Pacific Standard Time"}, start,
		"09:00 in Los Angeles (PDT), so the series keeps 09:00 after daylight saving ends")
	assert.Contains(t, body, "recurrence")
	for _, k := range []string{"id", "type", "iCalUId", "originalStartTimeZone"} {
		assert.NotContains(t, body, k)
	}

	allDay := json.RawMessage(`{"isAllDay":true,"originalStartTimeZone":"W. Europe Standard Time",
		"start":{"dateTime":"2024-12-24T00:00:00.0000000","timeZone":"UTC"}}`)
	body, err = eventBody(allDay)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(body["start"], &start))
	assert.Equal(t, graphTime{DateTime: "2024-12-24T00:00:00.0000000", TimeZone: "W. Europe Standard Time"}, start,
		"an all-day event keeps its date")

	unknown := json.RawMessage(`{"originalStartTimeZone":"Customized Time Zone","start":{"dateTime":"2024-01-01T08:00:00.0000000","timeZone":"UTC"}}`)
	body, err = eventBody(unknown)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(body["start"], &start))
	assert.Equal(t, "UTC", start.TimeZone, "a zone Holdfast cannot resolve stays in UTC")
}
