package graphsim

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOutlookConcurrencyLimit(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 10, ThrottleScale: 1})
	c := authed(t, s)
	u := obrien(s)
	st, _ := c.getJSON(ubase(u) + "/mailFolders/inbox") // warm the connection
	require.Equal(t, http.StatusOK, st)
	s.ResetCounters()
	s.SetMailboxLatency(700 * time.Millisecond)

	type result struct {
		status int
		code   string
		msg    string
		retry  string
	}
	results := make([]result, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := c.do(http.MethodGet, ubase(u)+"/mailFolders/inbox", nil)
			st, body := decodeResp(t, resp)
			e, _ := body["error"].(map[string]any)
			msg, _ := e["message"].(string)
			results[i] = result{st, errCode(body), msg, resp.Header.Get("Retry-After")}
		}()
	}
	wg.Wait()
	ok, throttled := 0, 0
	for _, r := range results {
		switch r.status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			throttled++
			require.Equal(t, "ApplicationThrottled", r.code)
			require.Contains(t, r.msg, "MailboxConcurrency")
			require.NotEmpty(t, r.retry)
		default:
			t.Fatalf("unexpected %d", r.status)
		}
	}
	require.Equal(t, 4, ok, "four requests run at once")
	require.Equal(t, 4, throttled, "the fifth and later in flight get 429")
	cs := s.Counters()
	require.Greater(t, cs.MaxMailboxConcurrency, 4, "the counters show the client broke the rule")
	require.Equal(t, cs.MaxMailboxConcurrency, cs.MailboxPeakConcurrency[u.ID])
	require.EqualValues(t, 4, cs.ByEndpoint["mail.folder"].Throttled)

	// A client that keeps to 4 at a time is never throttled and the peak says so.
	s.ResetCounters()
	s.SetMailboxLatency(40 * time.Millisecond)
	var failed sync.Map
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				resp := c.do(http.MethodGet, ubase(u)+"/mailFolders/inbox/messages?$top=2", nil)
				readAll(t, resp)
				if resp.StatusCode != http.StatusOK {
					failed.Store(w, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	failed.Range(func(k, v any) bool { t.Errorf("worker %v got %v", k, v); return true })
	cs = s.Counters()
	require.LessOrEqual(t, cs.MaxMailboxConcurrency, 4)
	require.Zero(t, cs.Throttled)

	// Throttling off: nothing is refused, but concurrency is still measured.
	s.SetThrottleScale(0)
	s.ResetCounters()
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := c.do(http.MethodGet, ubase(u)+"/mailFolders/inbox", nil)
			readAll(t, resp)
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}()
	}
	wg.Wait()
	require.Greater(t, s.Counters().MaxMailboxConcurrency, 1)
}

func TestOutlookRequestAndUploadBudgets(t *testing.T) {
	clk := newFakeClock()
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 10, ThrottleScale: 0.001, Clock: clk.Now}) // 10 requests / 10 min
	c := authed(t, s)
	u := obrien(s)
	other := userByUPN(t, s, "adele.vance@contoso.com")
	for i := range 10 {
		st, _ := c.getJSON(ubase(u) + "/mailFolders/inbox")
		require.Equal(t, http.StatusOK, st, "request %d", i+1)
	}
	resp := c.do(http.MethodGet, ubase(u)+"/mailFolders/inbox", nil)
	st, body := decodeResp(t, resp)
	require.Equal(t, http.StatusTooManyRequests, st)
	require.Equal(t, "ApplicationThrottled", errCode(body))
	require.Contains(t, body["error"].(map[string]any)["message"], "MailboxRequests")
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Greater(t, ra, 500)
	require.LessOrEqual(t, ra, 600)
	st, _ = c.getJSON(ubase(other) + "/mailFolders/inbox")
	require.Equal(t, http.StatusOK, st, "the budget is per mailbox")
	require.EqualValues(t, 1, s.Counters().ByEndpoint["mail.folder"].Throttled)
	clk.Advance(11 * time.Minute)
	st, _ = c.getJSON(ubase(u) + "/mailFolders/inbox")
	require.Equal(t, http.StatusOK, st, "the window moved on")

	// 150 MB per 5 minutes, scaled: 1.5 MB at 0.01.
	s.SetThrottleScale(0.01)
	clk.Advance(11 * time.Minute)
	payload := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 700<<10))
	st, m := c.sendJSON(http.MethodPost, ubase(u)+"/messages", map[string]any{"subject": "upload budget"})
	require.Equal(t, http.StatusCreated, st)
	att := map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a.bin", "contentBytes": payload}
	codes := []int{}
	var last map[string]any
	for range 3 {
		st, last = c.sendJSON(http.MethodPost, ubase(u)+"/messages/"+m["id"].(string)+"/attachments", att)
		codes = append(codes, st)
	}
	require.Equal(t, []int{201, 429, 429}, codes, "%v", last)
	require.Contains(t, last["error"].(map[string]any)["message"], "IncomingBytes")
}

func TestBatchRunsFourPerMailbox(t *testing.T) {
	s := startSim(t, Options{Users: 2, FilesPerUser: 5, MessagesPerMailbox: 10, ThrottleScale: 1})
	c := authed(t, s)
	u := obrien(s)
	other := userByUPN(t, s, "adele.vance@contoso.com")
	st, _ := c.getJSON(ubase(u) + "/mailFolders/inbox")
	require.Equal(t, http.StatusOK, st)
	s.SetMailboxLatency(250 * time.Millisecond)
	s.ResetCounters()
	var reqs []map[string]any
	for i := range 10 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/users/" + u.ID + "/mailFolders/inbox/messages?$top=1"})
	}
	for i := range 4 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(100 + i), "method": "GET", "url": "/users/" + strings.ReplaceAll(other.UPN, "@", "%40") + "/mailFolders('inbox')"})
	}
	t0 := time.Now()
	st, body := c.sendJSON(http.MethodPost, "/$batch", map[string]any{"requests": reqs})
	took := time.Since(t0)
	require.Equal(t, http.StatusOK, st)
	for _, r := range body["responses"].([]any) {
		m := r.(map[string]any)
		require.EqualValues(t, 200, m["status"], "%v", m)
	}
	cs := s.Counters()
	require.Equal(t, 4, cs.MailboxPeakConcurrency[u.ID], "at most 4 of one mailbox at a time, and 4 did run together")
	require.LessOrEqual(t, cs.MailboxPeakConcurrency[other.ID], 4)
	require.Zero(t, cs.Throttled, "the others waited instead of being refused")
	require.GreaterOrEqual(t, took, 3*250*time.Millisecond, "10 requests of one mailbox take three rounds")
}
