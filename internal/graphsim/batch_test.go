package graphsim

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBatch(t *testing.T) {
	s := startSim(t, Options{Users: 3, FilesPerUser: 20})
	c := authed(t, s)
	u := obrien(s)

	var tooMany []map[string]any
	for i := range 21 {
		tooMany = append(tooMany, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/users"})
	}
	st, body := c.sendJSON(http.MethodPost, "/$batch", map[string]any{"requests": tooMany})
	require.Equal(t, http.StatusBadRequest, st, "%v", body)

	reqs := []map[string]any{
		{"id": "1", "method": "GET", "url": "/users/" + url.PathEscape(u.UPN)},
		{"id": "2", "method": "GET", "url": "users?$top=1"}, // no leading slash is accepted
		{"id": "3", "method": "GET", "url": "/drives/" + url.PathEscape(u.DriveID) + "/root:/does-not-exist.txt"},
		{"id": "4", "method": "GET", "url": "/users", "dependsOn": []string{"3"}},
		{"id": "5", "method": "GET", "url": "/users", "dependsOn": []string{"4"}},
		{"id": "6", "method": "POST", "url": "/drives/" + url.PathEscape(u.DriveID) + "/root/children",
			"headers": map[string]string{"Content-Type": "application/json"},
			"body":    map[string]any{"name": "From batch", "folder": map[string]any{}}},
		{"id": "7", "method": "GET", "url": "/drives/" + url.PathEscape(u.DriveID) + "/root:/From batch", "dependsOn": []string{"6"}},
	}
	st, body = c.sendJSON(http.MethodPost, "/$batch", map[string]any{"requests": reqs})
	require.Equal(t, http.StatusOK, st, "%v", body)
	got := map[string]map[string]any{}
	var order []string
	for _, r := range body["responses"].([]any) {
		m := r.(map[string]any)
		got[m["id"].(string)] = m
		order = append(order, m["id"].(string))
	}
	require.Len(t, got, len(reqs))
	require.NotEqual(t, []string{"1", "2", "3", "4", "5", "6", "7"}, order, "responses are not in request order")
	status := func(id string) int { return int(got[id]["status"].(float64)) }
	require.Equal(t, 200, status("1"))
	require.Equal(t, u.ID, got["1"]["body"].(map[string]any)["id"])
	require.Equal(t, 200, status("2"))
	require.Equal(t, 404, status("3"))
	require.Equal(t, 424, status("4"))
	require.Equal(t, 424, status("5"), "failure propagates along dependsOn")
	require.Equal(t, 201, status("6"))
	require.Equal(t, 200, status("7"))

	// Dependency on an unknown id is a malformed batch.
	st, _ = c.sendJSON(http.MethodPost, "/$batch", map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"9"}}}})
	require.Equal(t, http.StatusBadRequest, st)

	// Inner requests are throttled individually: 429 inside a 200.
	s.SetThrottleScale(4.0 / 1200) // 4 RU per minute
	var items []map[string]any
	for i := range 6 {
		items = append(items, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/drives/" + url.PathEscape(u.DriveID) + "/root"})
	}
	st, body = c.sendJSON(http.MethodPost, "/$batch", map[string]any{"requests": items})
	require.Equal(t, http.StatusOK, st)
	throttled := 0
	for _, r := range body["responses"].([]any) {
		m := r.(map[string]any)
		if sc := int(m["status"].(float64)); sc == 429 || sc == 503 {
			throttled++
			require.NotEmpty(t, m["headers"].(map[string]any)["Retry-After"])
		}
	}
	require.Equal(t, 2, throttled)
}
