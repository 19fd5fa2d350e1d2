package m365

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/graphapi"
)

func retrying(max int, inline time.Duration) *retryTransport {
	return &retryTransport{next: http.DefaultTransport, maxAttempts: max, maxInlineWait: inline,
		base: time.Millisecond, cap: 10 * time.Millisecond}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var first time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.Header().Set("Retry-After", time.Now().Add(time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	hc := &http.Client{Transport: retrying(5, time.Minute)}
	resp, err := hc.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 3, calls.Load())
	assert.GreaterOrEqual(t, time.Since(first), time.Second, "waited as told (seconds, then an HTTP date)")
}

func TestRetryHandsLongWaitsBack(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	hc := &http.Client{Transport: retrying(5, 30*time.Second)}
	_, err := hc.Get(srv.URL)
	var throttled *graphapi.ThrottledError
	require.ErrorAs(t, err, &throttled)
	assert.Equal(t, 120*time.Second, throttled.RetryAfter)
}

func TestRetryOnlyRetriesIdempotentFailures(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	hc := &http.Client{Transport: retrying(4, time.Minute)}
	resp, err := hc.Post(srv.URL, "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.EqualValues(t, 1, calls.Load(), "a POST that may have happened is not repeated")
	calls.Store(0)
	resp, err = hc.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.EqualValues(t, 4, calls.Load(), "a GET is, up to the attempt limit")
}

func TestTruncatedJSONIsRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Length", "100")
			w.Write([]byte(`{"value":[`)) // and the connection ends
			return
		}
		w.Write([]byte(`{"value":[]}`))
	}))
	defer srv.Close()
	hc := &http.Client{Transport: retrying(3, time.Minute)}
	resp, err := hc.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.EqualValues(t, 2, calls.Load())
}

func TestThrottleFenceHoldsEveryRequest(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	th := &throttleTransport{next: http.DefaultTransport}
	hc := &http.Client{Transport: th}
	resp, err := hc.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	start := time.Now()
	resp, err = hc.Get(srv.URL) // another request, not the throttled one
	require.NoError(t, err)
	resp.Body.Close()
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "held back by the fence")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	th.fence = time.Now().Add(time.Hour)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err = hc.Do(req)
	assert.True(t, errors.Is(err, context.Canceled))
}

func TestCostFollowsMicrosoftsTable(t *testing.T) {
	for url, want := range map[string]int{
		"https://g/v1.0/drives/b!x/items/root/delta()":          2,
		"https://g/v1.0/drives/b!x/items/root/delta()?token=ab": 1,
		"https://g/v1.0/drives/b!x/items/abc":                   1,
		"https://g/v1.0/drives/b!x/items/abc/children":          2,
		"https://g/v1.0/users":                                  2,
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		assert.Equal(t, want, cost(req), url)
	}
	req, _ := http.NewRequest(http.MethodPut, "https://g/v1.0/drives/b!x/items/p:/a.txt:/content", nil)
	assert.Equal(t, 2, cost(req))
}
