package graphsim

import (
	"net/http"
	"net/url"
)

// Mailbox discovery (https://learn.microsoft.com/graph/api/resources/mailboxsettings,
// usersettings-list-exchange): GET /users/{id}/mailboxSettings reports userPurpose (user,
// shared, room, equipment) among the usual settings, and GET /users/{id}/settings/exchange the
// primary mailbox ID and — for users with an In-Place Archive — the archive's (the beta name
// inPlaceArchiveMailboxId and archiveMailboxId are both given). Both are 404
// MailboxNotEnabledForRESTAPI for users without a mailbox.

var usageTimeZones = map[string]string{"US": "Pacific Standard Time", "GB": "GMT Standard Time", "DE": "W. Europe Standard Time",
	"FR": "Romance Standard Time", "JP": "Tokyo Standard Time", "CN": "China Standard Time"}

func (s *Server) serveMailboxSettings(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	u, mb := q.user, q.mb
	tz := usageTimeZones[u.usageLocation]
	if tz == "" {
		tz = "UTC"
	}
	s.t.mu.RLock()
	archive := ""
	if f, ok := mb.wellKnown("archive"); ok {
		archive = s.folderID(mb, f)
	}
	s.t.mu.RUnlock()
	j := map[string]any{
		"@odata.context": requestBase(r) + "/v1.0/$metadata#users('" + url.PathEscape(u.id) + "')/mailboxSettings",
		"archiveFolder":  archive,
		"timeZone":       tz,
		"automaticRepliesSetting": map[string]any{
			"status": "disabled", "externalAudience": "all", "internalReplyMessage": "", "externalReplyMessage": "",
			"scheduledStartDateTime": map[string]any{"dateTime": "2025-06-01T00:00:00.0000000", "timeZone": "UTC"},
			"scheduledEndDateTime":   map[string]any{"dateTime": "2025-06-02T00:00:00.0000000", "timeZone": "UTC"},
		},
		"language":                              map[string]any{"locale": u.preferredLanguage, "displayName": u.preferredLanguage},
		"dateFormat":                            "M/d/yyyy",
		"timeFormat":                            "h:mm tt",
		"delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
		"userPurpose":                           u.kind.String(),
		"workingHours": map[string]any{
			"daysOfWeek": []string{"monday", "tuesday", "wednesday", "thursday", "friday"},
			"startTime":  "08:00:00.0000000", "endTime": "17:00:00.0000000",
			"timeZone": map[string]any{"name": tz},
		},
	}
	writeJSON(w, http.StatusOK, projectOutlook(j, parseSelect(r)))
}

func (s *Server) serveExchangeSettings(w http.ResponseWriter, r *http.Request, rc *reqCtx, q *outlookReq) {
	mb := q.mb
	j := map[string]any{
		"@odata.context":   requestBase(r) + "/v1.0/$metadata#users('" + url.PathEscape(q.user.id) + "')/settings/exchange/$entity",
		"id":               q.user.id,
		"primaryMailboxId": mb.id,
	}
	if mb.arch != nil {
		j["archiveMailboxId"] = mb.arch.id
		j["inPlaceArchiveMailboxId"] = mb.arch.id
	}
	writeJSON(w, http.StatusOK, j)
}
