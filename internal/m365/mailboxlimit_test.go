package m365

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

func TestMailboxKey(t *testing.T) {
	for u, want := range map[string]string{
		"https://g/v1.0/users/AdeleV%40contoso.com/mailFolders/inbox/messages/delta":           "adelev@contoso.com",
		"https://g/v1.0/users/0b5c3b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b/messages/AAMk%3D%3D/$value": "0b5c3b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
		"https://g/v1.0/users('o''brien%40contoso.com')/MailFolders('AAMk')/messages/delta":    "o'brien@contoso.com",
		"https://g/v1.0/users/u1/mailfolders('AAMk')/messages/delta?$deltatoken=x":             "u1",
		"https://g/v1.0/users/u1/calendarView/delta?startDateTime=a":                           "u1",
		"https://g/v1.0/users/u1/events/e1/instances":                                          "u1",
		"https://g/v1.0/users/u1/contactFolders/contacts/childFolders":                         "u1",
		"https://g/v1.0/users/u1/mailboxSettings":                                              "u1",
		"https://g/v1.0/users/u1/settings/exchange":                                            "u1",
		"https://g/v1.0/users/u1/calendar/events":                                              "u1",
		"https://g/v1.0/admin/exchange/mailboxes/MBX%3Ae0643f21%40a7809c93/folders":            "mbx:e0643f21@a7809c93",
		"https://g/v1.0/admin/exchange/mailboxes/MBX:e0643f21@a7809c93/exportItems":            "mbx:e0643f21@a7809c93",
		"https://o/api/v2.0/Users('0b5c3b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b@72aa88bf-76f0-494f-91ab-2d7cd730db47')/Messages('AAMk')/AttachmentSessions('AAMk')?authtoken=x": "0b5c3b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
		"https://o/api/gv1.0/Mailboxes('MBX%3Ae0643f21%40a7809c93')/importItem?authtoken=x":                                                                             "mbx:e0643f21@a7809c93",
		// Not mailboxes.
		"https://g/v1.0/users/u1":                       "",
		"https://g/v1.0/users":                          "",
		"https://g/v1.0/users/delta()":                  "",
		"https://g/v1.0/users/u1/drive/root/delta":      "",
		"https://g/v1.0/drives/b!x/items/root/children": "",
		"https://g/v1.0/groups/g1/members":              "",
		"https://g/v1.0/$batch":                         "",
		"https://g/_up/abc?x=1":                         "",
	} {
		p, err := url.Parse(u)
		require.NoError(t, err)
		assert.Equal(t, want, mailboxKey(p), u)
	}
}

// mailboxTransport is the pipeline below auth for tests: retry → throttle
// (with a mailbox limiter) → the default transport.
func mailboxTransport(m *mailboxLimiter, ru *rate.Limiter) (*throttleTransport, http.RoundTripper) {
	th := &throttleTransport{next: http.DefaultTransport, limiter: ru, mailboxes: m}
	return th, &retryTransport{next: th, maxAttempts: 3, maxInlineWait: 5 * time.Second, base: time.Millisecond, cap: 10 * time.Millisecond}
}

func TestMailboxSlotHeldUntilBodyEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "message/rfc822")
		w.Write([]byte("body of " + r.URL.Path))
	}))
	defer srv.Close()
	m := newMailboxLimiter(-1, -1, realClock{})
	m.abortGrace = 100 * time.Millisecond
	_, rt := mailboxTransport(m, nil)
	hc := &http.Client{Transport: rt}
	get := func(user string) *http.Response {
		resp, err := hc.Get(srv.URL + "/v1.0/users/" + user + "/messages/m1/$value")
		require.NoError(t, err)
		return resp
	}
	// Four unread bodies hold all four slots of mailbox a.
	var open []*http.Response
	for range mailboxConcurrency {
		open = append(open, get("a"))
	}
	// Another mailbox is not affected.
	other := get("b")
	io.ReadAll(other.Body)
	assert.Equal(t, mailboxConcurrency, held(m, "a"))
	assert.Zero(t, held(m, "b"), "a body read to the end gives its slot back")

	fifth := make(chan *http.Response)
	go func() { fifth <- get("A") }() // keys are case-insensitive
	select {
	case <-fifth:
		t.Fatal("a fifth request to the mailbox went out while four bodies were unread")
	case <-time.After(150 * time.Millisecond):
	}
	io.ReadAll(open[0].Body) // to EOF, not yet closed: the slot is free
	resp := <-fifth
	io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, r := range open {
		r.Body.Close()
	}
	// Bodies closed before their end keep their slots a while: the
	// service is still sending them.
	assert.Equal(t, mailboxConcurrency-1, held(m, "a"))
	assert.Eventually(t, func() bool { return held(m, "a") == 0 }, time.Second, 10*time.Millisecond)

	// The wait for a slot ends with the context.
	for i := range open {
		open[i] = get("a")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1.0/users/a/messages", nil)
	_, err := hc.Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	for _, r := range open {
		io.ReadAll(r.Body)
		r.Body.Close()
	}
	assert.Zero(t, held(m, "a"))
}

// A request that waited for a slot while a 429 fenced the mailbox waits
// for the fence too, even though it got the slot.
func TestMailboxSlotWaiterHonoursANewFence(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	m := newMailboxLimiter(-1, -1, realClock{})
	th, _ := mailboxTransport(m, nil)
	hc := &http.Client{Transport: th}
	var open []*http.Response
	for range mailboxConcurrency {
		resp, err := hc.Get(srv.URL + "/v1.0/users/a/messages")
		require.NoError(t, err)
		open = append(open, resp)
	}
	sent := make(chan time.Time)
	go func() {
		resp, err := hc.Get(srv.URL + "/v1.0/users/a/mailFolders")
		if assert.NoError(t, err) {
			io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		sent <- time.Now()
	}()
	time.Sleep(50 * time.Millisecond) // the fifth queues for a slot
	fence := time.Now().Add(400 * time.Millisecond)
	m.mu.Lock()
	m.boxes["a"].fence = fence
	m.mu.Unlock()
	for _, r := range open {
		io.ReadAll(r.Body)
		r.Body.Close()
	}
	assert.False(t, (<-sent).Before(fence), "the queued request went out inside the fence")
}

// A request cut short keeps its slot for the grace period: the service may
// still count it.
func TestMailboxAbortedRequestKeepsItsSlot(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	}))
	defer srv.Close()
	m := newMailboxLimiter(-1, -1, realClock{})
	m.abortGrace = 200 * time.Millisecond
	th, _ := mailboxTransport(m, nil)
	hc := &http.Client{Transport: th}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1.0/users/a/messages", nil)
	_, err := hc.Do(req)
	require.ErrorIs(t, err, context.Canceled)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, 1, held(m, "a"), "within the grace period")
	assert.Eventually(t, func() bool { return held(m, "a") == 0 }, time.Second, 10*time.Millisecond)

	// A body cut off midway is abandoned too.
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("part"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer cut.Close()
	resp, err := hc.Get(cut.URL + "/v1.0/users/b/messages/m1/$value")
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	require.Error(t, err)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, 1, held(m, "b"), "within the grace period")
	assert.Eventually(t, func() bool { return held(m, "b") == 0 }, time.Second, 10*time.Millisecond)
}

// held is the number of a mailbox's slots in use.
func held(m *mailboxLimiter, key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.boxes[key].slots)
}

func TestMailboxFenceIsPerMailbox(t *testing.T) {
	var calls sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := calls.LoadOrStore(r.URL.Path, new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) == 1 && r.URL.Path == "/v1.0/users/a/messages" {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	m := newMailboxLimiter(-1, -1, realClock{})
	th, _ := mailboxTransport(m, nil)
	hc := &http.Client{Transport: th} // no retry: see the fence itself
	resp, err := hc.Get(srv.URL + "/v1.0/users/a/messages")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	start := time.Now()
	for _, u := range []string{"/v1.0/users/b/messages", "/v1.0/users/a/drive/root/children", "/v1.0/drives/x/root/delta"} {
		resp, err = hc.Get(srv.URL + u)
		require.NoError(t, err)
		resp.Body.Close()
	}
	assert.Less(t, time.Since(start), 500*time.Millisecond, "other mailboxes and the tenant are not fenced")
	assert.True(t, th.fence.IsZero(), "a mailbox's 429 does not fence the tenant")

	resp, err = hc.Get(srv.URL + "/v1.0/users/a/mailFolders")
	require.NoError(t, err)
	resp.Body.Close()
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "the throttled mailbox waits out Retry-After")
}

func TestMailboxRequestsSkipResourceUnits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	ru := rate.NewLimiter(rate.Limit(0.001), 2) // two RU, then nothing for a long time
	_, rt := mailboxTransport(newMailboxLimiter(-1, -1, realClock{}), ru)
	hc := &http.Client{Transport: rt, Timeout: 2 * time.Second}
	for i := range 20 {
		resp, err := hc.Get(fmt.Sprintf("%s/v1.0/users/u%d/messages", srv.URL, i%3))
		require.NoError(t, err)
		resp.Body.Close()
	}
	assert.InDelta(t, 2, ru.Tokens(), 0.1, "Outlook requests cost no SharePoint resource units")
	resp, err := hc.Get(srv.URL + "/v1.0/drives/x/items/y")
	require.NoError(t, err)
	resp.Body.Close()
	assert.InDelta(t, 1, ru.Tokens(), 0.1)
}

func TestMailboxBucketsKeepTheWindow(t *testing.T) {
	clk := NewScaledClock(1)
	m := newMailboxLimiter(100, 100_000_000, clk)
	st := m.state("x")
	assert.Equal(t, 10, st.reqs.Burst(), "a tenth of the budget at once")
	assert.Equal(t, 10_000_000, st.bytes.Burst())
	// burst + rate × window = budget: never more than the budget in a window.
	assert.InDelta(t, 100, float64(st.reqs.Burst())+float64(st.reqs.Limit())*mailboxRequestWindow.Seconds(), 0.001)
	assert.InDelta(t, 100_000_000, float64(st.bytes.Burst())+float64(st.bytes.Limit())*mailboxUploadWindow.Seconds(), 1)
	// A small upload budget still takes the largest body at once.
	small := newMailboxLimiter(100, 10_000_000, clk).state("y")
	assert.Equal(t, maxRequestBody, small.bytes.Burst())
	assert.InDelta(t, 10_000_000, float64(small.bytes.Burst())+float64(small.bytes.Limit())*mailboxUploadWindow.Seconds(), 1)

	// Aliases share one state (a UPN resolved to an ID, a primary mailbox ID).
	m.Alias("MBX:1@2", "X")
	m.Alias("x@contoso.com", "x")
	assert.Same(t, st, m.state("mbx:1@2"))
	assert.Same(t, st, m.state("x@contoso.com"))
}

// TestUploadAttachmentRetriesSafely runs an Outlook upload session whose
// server takes the second range and then drops the connection: the range
// is sent again, refused as out of order, and recognised as arrived.
func TestUploadAttachmentRetriesSafely(t *testing.T) {
	const size = 2*attachmentChunkSize + 1000
	content := make([]byte, size)
	rand.Read(content)
	var (
		mu       sync.Mutex
		received []byte
		puts     int
		authSeen bool
		done     bool
	)
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/attachments/createUploadSession"):
			var body struct {
				Item struct {
					Type string `json:"attachmentType"`
					Name string `json:"name"`
					Size int64  `json:"size"`
				} `json:"AttachmentItem"`
			}
			json.NewDecoder(r.Body).Decode(&body)
			if body.Item.Type != "file" || body.Item.Size != size || body.Item.Name != "big.bin" {
				http.Error(w, "bad session request", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"uploadUrl":%q,"nextExpectedRanges":["0-"]}`,
				srv.URL+"/api/v2.0/Users('u1@72aa88bf-76f0-494f-91ab-2d7cd730db47')/Messages('m1')/AttachmentSessions('s1')?authtoken=t")
		case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v2.0/"):
			authSeen = authSeen || r.Header.Get("Authorization") != ""
			puts++
			var a, b, total int64
			fmt.Sscanf(r.Header.Get("Content-Range"), "bytes %d-%d/%d", &a, &b, &total)
			if done {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			if a != int64(len(received)) || b-a+1 > 4<<20 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"error":{"code":"ErrorInvalidContentRange","message":"ranges in order"}}`))
				return
			}
			chunk, _ := io.ReadAll(r.Body)
			received = append(received, chunk...)
			if int64(len(received)) == total {
				done = true
				if puts == 4 { // the last range (its second send): drop the answer
					hj, _ := w.(http.Hijacker)
					c, _, _ := hj.Hijack()
					c.Close()
					return
				}
				w.WriteHeader(http.StatusCreated)
				return
			}
			if puts == 2 { // the second range arrived; its answer is lost
				hj, _ := w.(http.Hijacker)
				c, _, _ := hj.Hijack()
				c.Close()
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"nextExpectedRanges":["` + strconv.Itoa(len(received)) + `"]}`))
		default:
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		}
	})
	srv.Start()
	defer srv.Close()
	m := newMailboxLimiter(-1, -1, realClock{})
	_, rt := mailboxTransport(m, nil)
	c := &Client{base: srv.URL + "/v1.0", http: &http.Client{Transport: rt}, mailboxes: m}
	err := c.UploadAttachment(context.Background(), "u1", "messages/m1", "big.bin", "application/octet-stream", size, false,
		strings.NewReader(string(content)))
	require.NoError(t, err)
	assert.Equal(t, content, received)
	assert.False(t, authSeen)
	assert.Equal(t, 5, puts, "three ranges, the second and the last sent twice")
}
