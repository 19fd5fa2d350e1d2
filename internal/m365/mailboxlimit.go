package m365

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// mailboxLimiter keeps the client inside Outlook's per-app, per-mailbox
// limits (limits.go): at most mailboxConcurrency requests in flight, a
// request budget per ten minutes, an upload budget per five minutes, and a
// Retry-After fence per mailbox, so that a 429 from one mailbox pauses that
// mailbox and nothing else.
//
// Requests are keyed by the mailbox their URL addresses (mailboxKey): the
// user key of /users/{id|upn}/… Outlook paths, the mailbox ID of
// /admin/exchange/mailboxes/{id}/…, and the user or mailbox named in the
// pre-authenticated attachment-upload and import URLs. Keys the client has
// learnt to be the same mailbox (a user's primaryMailboxId, a UPN resolved
// to an object ID) are aliased to one state.
//
// A request holds one of its mailbox's slots from the moment it is sent
// until its response body has been read to the end or closed: the service
// counts a request in flight until its response ends, so releasing at the
// headers would let a client that streams bodies break the limit.
type mailboxLimiter struct {
	clk           clock
	maxInlineWait time.Duration // longest fence waited out in-line; 0: any
	reqBudget     int           // requests per mailboxRequestWindow; 0: no pacing
	byteBudget    int64         // request-body bytes per mailboxUploadWindow; 0: no pacing
	windowScale   float64       // shortens both windows (tests against graphsim's); 1 = Outlook's
	abortGrace    time.Duration // how long a request cut short keeps its slot

	mu        sync.Mutex
	boxes     map[string]*mailboxState
	alias     map[string]string
	lastSweep int // len(boxes) after the last sweep
}

type mailboxState struct {
	slots chan struct{} // a token per request in flight
	reqs  *rate.Limiter // nil: no pacing
	bytes *rate.Limiter // nil: no pacing
	fence time.Time     // no request before this (guarded by mailboxLimiter.mu)
	used  time.Time     // last use (guarded by mailboxLimiter.mu)
}

func newMailboxLimiter(reqBudget int, byteBudget int64, clk clock) *mailboxLimiter {
	return &mailboxLimiter{clk: clk, reqBudget: max(reqBudget, 0), byteBudget: max(byteBudget, 0), windowScale: 1, abortGrace: mailboxAbortGrace,
		boxes: map[string]*mailboxState{}, alias: map[string]string{}}
}

// bucket returns a token bucket that never lets more than budget through in
// any window: a tenth of the budget (at least minBurst, the largest single
// charge expected) may go at once, so a quiet mailbox starts briskly; the
// rest refills evenly, so burst + rate × window = budget. A bucket with the
// whole budget as burst would let twice the budget through in the first
// window, and the service's window is rolling.
//
// A charge must be taken whole at the moment the request goes out: the
// service counts a request body when it arrives, so a body paid for in
// pieces over time would be counted by the service in a window where the
// client had only accounted part of it.
func bucket(budget int64, window time.Duration, minBurst int64) *rate.Limiter {
	burst := max(budget/mailboxBurstShare, min(minBurst, budget), 1)
	refill := max(budget-burst, 1)
	return rate.NewLimiter(rate.Limit(float64(refill)/window.Seconds()), int(burst))
}

// Alias records that key names the same mailbox as canonical (both as they
// appear in URLs; compared case-insensitively).
func (m *mailboxLimiter) Alias(key, canonical string) {
	key, canonical = strings.ToLower(key), strings.ToLower(canonical)
	if key == "" || canonical == "" || key == canonical {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.alias[canonical]; ok {
		canonical = c
	}
	if key == canonical {
		return
	}
	m.alias[key] = canonical
	// Requests may already have run under key: keep their state if the
	// canonical key has none yet.
	if st, ok := m.boxes[key]; ok {
		if _, taken := m.boxes[canonical]; !taken {
			m.boxes[canonical] = st
		}
		delete(m.boxes, key)
	}
}

func (m *mailboxLimiter) state(key string) *mailboxState {
	now := m.clk.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for range 4 { // a short chain at most (a UPN → an ID ← a mailbox ID)
		c, ok := m.alias[key]
		if !ok {
			break
		}
		key = c
	}
	st := m.boxes[key]
	if st == nil {
		st = &mailboxState{slots: make(chan struct{}, mailboxConcurrency)}
		if m.reqBudget > 0 {
			st.reqs = bucket(int64(m.reqBudget), m.window(mailboxRequestWindow), 1)
		}
		if m.byteBudget > 0 {
			st.bytes = bucket(m.byteBudget, m.window(mailboxUploadWindow), maxRequestBody)
		}
		m.boxes[key] = st
		m.sweep(now)
	}
	st.used = now
	return st
}

func (m *mailboxLimiter) window(d time.Duration) time.Duration {
	return time.Duration(float64(d) * m.windowScale)
}

// sweep forgets mailboxes idle for longer than the longest window (their
// buckets are full again and nothing is in flight), once the map has
// doubled since the last sweep; a worker that visits every mailbox of a big
// tenant would otherwise keep them all.
func (m *mailboxLimiter) sweep(now time.Time) {
	if len(m.boxes) < 1024 || len(m.boxes) < 2*m.lastSweep {
		return
	}
	for k, st := range m.boxes {
		if now.Sub(st.used) > mailboxRequestWindow && len(st.slots) == 0 && !st.fence.After(now) {
			delete(m.boxes, k)
		}
	}
	m.lastSweep = len(m.boxes)
}

// roundTrip sends a request to a mailbox within its limits.
func (m *mailboxLimiter) roundTrip(req *http.Request, key string, next http.RoundTripper) (*http.Response, error) {
	ctx := req.Context()
	st := m.state(key)
	if err := m.acquire(ctx, st); err != nil {
		return nil, err
	}
	release := func() { <-st.slots }
	if err := m.pace(ctx, st, req); err != nil {
		release()
		return nil, err
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		// Cut off (cancelled, connection lost): the service may still be
		// working on it, and counting it.
		m.releaseLate(release)
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if ra, ok := retryAfter(resp.Header); ok {
			m.mu.Lock()
			if until := m.clk.Now().Add(ra); until.After(st.fence) {
				st.fence = until
			}
			m.mu.Unlock()
		}
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		release()
		return resp, nil
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release, releaseLate: func() { m.releaseLate(release) }}
	return resp, nil
}

// acquire waits out the mailbox's fence and takes a slot. The slot comes
// first, then the budgets (pace): the tokens are taken right before the
// request goes out, so the service counts it when the client did. A
// request that queued for a slot while another's 429 set a fence waits
// for the fence again: the slot may have been freed by that 429, or by a
// request it cut short that the service still counts.
func (m *mailboxLimiter) acquire(ctx context.Context, st *mailboxState) error {
	for {
		if err := m.waitFence(ctx, st); err != nil {
			return err
		}
		select {
		case st.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		m.mu.Lock()
		fenced := st.fence.After(m.clk.Now())
		m.mu.Unlock()
		if !fenced {
			return nil
		}
		<-st.slots
	}
}

// releaseLate gives back the slot of a request cut short only after
// mailboxAbortGrace: a client cannot know when the service stops counting
// a request it abandoned.
func (m *mailboxLimiter) releaseLate(release func()) {
	go func() {
		_ = m.clk.Sleep(context.Background(), m.abortGrace)
		release()
	}()
}

// pace waits for the request and upload budgets.
func (m *mailboxLimiter) pace(ctx context.Context, st *mailboxState, req *http.Request) error {
	if st.reqs != nil {
		if err := m.take(ctx, st.reqs, 1); err != nil {
			return err
		}
	}
	if n := uploadBytes(req); n > 0 && st.bytes != nil {
		// A body larger than the bucket's burst (only with a budget
		// smaller than maxRequestBody) is paid for in pieces.
		for burst := int64(st.bytes.Burst()); n > 0; n -= burst {
			if err := m.take(ctx, st.bytes, int(min(n, burst))); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitFence waits while the mailbox is fenced by a Retry-After; a fence
// longer than maxInlineWait is handed back as a *graphapi.ThrottledError,
// as the retry layer does with the Retry-After itself.
func (m *mailboxLimiter) waitFence(ctx context.Context, st *mailboxState) error {
	for {
		m.mu.Lock()
		wait := st.fence.Sub(m.clk.Now())
		m.mu.Unlock()
		if wait <= 0 {
			return ctx.Err()
		}
		if m.maxInlineWait > 0 && wait > m.maxInlineWait {
			return &graphapi.ThrottledError{RetryAfter: wait, Status: http.StatusTooManyRequests}
		}
		if err := m.clk.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// take waits for n tokens of a bucket, giving them back if ctx ends first.
func (m *mailboxLimiter) take(ctx context.Context, l *rate.Limiter, n int) error {
	now := m.clk.Now()
	r := l.ReserveN(now, n)
	if !r.OK() {
		return fmt.Errorf("mailbox limiter: %d exceeds the bucket's burst %d", n, l.Burst())
	}
	wait := r.DelayFrom(now)
	if wait <= 0 {
		return nil
	}
	if err := m.clk.Sleep(ctx, wait); err != nil {
		r.CancelAt(m.clk.Now())
		return err
	}
	return nil
}

// uploadBytes is what a request uploads: the declared body of a write
// (Outlook counts PATCH, POST and PUT bodies).
func uploadBytes(req *http.Request) int64 {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return max(req.ContentLength, 0)
	}
	return 0
}

// releaseBody gives the mailbox slot back when the body ends or, late
// (releaseLate), when it is cut off or closed before its end: the service
// may still be sending it.
type releaseBody struct {
	io.ReadCloser
	once        sync.Once
	release     func()
	releaseLate func()
}

func (b *releaseBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.once.Do(b.release)
	case err != nil: // cut off mid-body
		b.once.Do(b.releaseLate)
	}
	return n, err
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.releaseLate)
	return err
}

// outlookRoots are the segments after /users/{id|upn}/ that address the
// user's mailbox (lower case).
var outlookRoots = map[string]bool{"mailfolders": true, "messages": true, "mailboxsettings": true, "calendar": true,
	"calendars": true, "calendarview": true, "calendargroups": true, "events": true, "contactfolders": true,
	"contacts": true, "settings": true, "inferenceclassification": true, "outlook": true}

// mailboxKey names the mailbox a URL addresses, or "" when it addresses
// none:
//
//	/v1.0/users/{id|upn}/mailFolders/…, users('{id}')/messages('…')/…   → the user key
//	/v1.0/admin/exchange/mailboxes/{mailboxId}/…                       → the mailbox ID
//	/api/v2.0/Users('{userId}@{tenantId}')/Messages('…')/AttachmentSessions('…')
//	                                       (attachment uploads)       → the user ID
//	/api/…/Mailboxes('{mailboxId}')/importItem (mailbox imports)       → the mailbox ID
//
// Segment names are compared case-insensitively and keys are unescaped and
// lower-cased.
func mailboxKey(u *url.URL) string {
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	for i := 0; i < len(segs); i++ {
		name, key, paren := splitSegment(segs[i])
		switch name {
		case "users":
			if !paren {
				if i+1 >= len(segs) {
					return ""
				}
				i++
				key = unescape(segs[i])
			}
			if i+1 >= len(segs) {
				return ""
			}
			if next, _, _ := splitSegment(segs[i+1]); !outlookRoots[next] {
				return "" // the directory or the user's drive
			}
			return strings.ToLower(stripTenant(key))
		case "mailboxes":
			prevExchange := i > 0 && strings.EqualFold(segs[i-1], "exchange")
			if !paren && prevExchange && i+1 < len(segs) {
				key = unescape(segs[i+1])
			}
			if paren || prevExchange {
				return strings.ToLower(key)
			}
			return ""
		case "$batch", "drives", "groups", "sites", "teams", "chats":
			return ""
		}
	}
	return ""
}

// splitSegment splits an escaped path segment into its lower-cased name and,
// for "name('key')" or "name(key)", its unescaped key.
func splitSegment(seg string) (name, key string, paren bool) {
	seg = unescape(seg)
	i := strings.IndexByte(seg, '(')
	if i < 0 || !strings.HasSuffix(seg, ")") {
		return strings.ToLower(seg), "", false
	}
	key = seg[i+1 : len(seg)-1]
	if len(key) >= 2 && key[0] == '\'' && key[len(key)-1] == '\'' {
		key = strings.ReplaceAll(key[1:len(key)-1], "''", "'")
	}
	return strings.ToLower(seg[:i]), key, true
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// stripTenant turns the "{userId}@{tenantId}" of Outlook REST URLs into the
// user ID; a UPN ("a@contoso.com") is left alone.
func stripTenant(key string) string {
	if i := strings.LastIndexByte(key, '@'); i > 0 && guidRE.MatchString(key[i+1:]) {
		return key[:i]
	}
	return key
}

// clock is the mailbox limiter's time: real time, or (in tests) a clock
// running faster, so that budgets measured in minutes can be exercised in
// seconds against a simulator running on the same clock.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
