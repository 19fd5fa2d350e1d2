package graphsim

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPublishedBudgets(t *testing.T) {
	for _, tc := range []struct{ licences, ru int }{
		{10, 1200}, {1000, 1200}, {1001, 2400}, {5000, 2400}, {5001, 3600}, {15001, 4800}, {50001, 6000},
	} {
		require.Equal(t, tc.ru, ruPerMinute(tc.licences), tc.licences)
	}
}

func TestThrottleWindowAndRetryAfter(t *testing.T) {
	th := newThrottle(10.0/1200, 5, 1) // 10 RU per minute
	t0 := time.Unix(1_000_000, 0)
	for i := range 5 {
		v := th.admit(t0.Add(time.Duration(i)*time.Second), ruMulti)
		require.False(t, v.throttled, i)
	}
	v := th.admit(t0.Add(10*time.Second), ruSingle)
	require.True(t, v.throttled)
	// The first 2 RU (at t0) leave the window at t0+60s: 50 s from now.
	require.Equal(t, 50, v.retryAfter)
	require.Equal(t, "10", v.header["RateLimit-Limit"])
	require.Equal(t, "0", v.header["RateLimit-Remaining"])
	// Throttled requests count: usage is now 11, so even at t0+60 (2 RU freed → 9) there is
	// room for one request only.
	require.False(t, th.admit(t0.Add(60*time.Second), ruSingle).throttled)
	require.True(t, th.admit(t0.Add(60*time.Second), ruSingle).throttled)
	// After a full quiet minute everything is free again.
	require.False(t, th.admit(t0.Add(200*time.Second), ruMulti).throttled)
}

func TestThrottlingOverHTTP(t *testing.T) {
	s := startSim(t, Options{Users: 3, FilesPerUser: 10, ThrottleScale: 12.0 / 1200}) // 12 RU/min
	c := authed(t, s)
	u := obrien(s)
	// 12 single-item GETs (1 RU each) fit exactly; the 13th is throttled.
	var last *http.Response
	for i := range 12 {
		last = c.do(http.MethodGet, driveBase(u)+"/root", nil)
		readAll(t, last)
		require.Equal(t, http.StatusOK, last.StatusCode, "request %d", i+1)
	}
	require.Equal(t, "12", last.Header.Get("RateLimit-Limit"), "RateLimit headers past 80%")
	require.Equal(t, "0", last.Header.Get("RateLimit-Remaining"))
	resp := c.do(http.MethodGet, driveBase(u)+"/root", nil)
	st, body := decodeResp(t, resp)
	require.Contains(t, []int{429, 503}, st)
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Greater(t, ra, 0)
	require.LessOrEqual(t, ra, 60)
	if st == 429 {
		require.Equal(t, "activityLimitReached", errCode(body))
	}
	// Users (directory) are not charged against the SharePoint budget.
	st, _ = c.getJSON("/users")
	require.Equal(t, http.StatusOK, st)

	cs := s.Counters()
	require.EqualValues(t, 1, cs.Throttled)
	require.EqualValues(t, 1, cs.ByEndpoint["drive.item"].Throttled)
	require.EqualValues(t, 12, cs.ByEndpoint["drive.item"].Served)
	require.EqualValues(t, 1, cs.ByEndpoint["users"].Served)

	s.SetThrottleScale(0)
	st, _ = c.getJSON(driveBase(u) + "/root")
	require.Equal(t, http.StatusOK, st, "scale 0 turns throttling off")
}
