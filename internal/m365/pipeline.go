package m365

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// The HTTP pipeline, outermost first:
//
//	auth → retry → throttle → transport
//
// It is built explicitly instead of using kiota's default middleware, whose
// order varies between builds and whose compression handler corrupts
// retried bodies (kiota-http-go #183). Retry sits outside throttle so that
// every attempt, retries included, waits for the tenant's pacing and for a
// Retry-After fence another request saw. Throttle sends requests to an
// Exchange mailbox through the mailbox limiter (mailboxlimit.go) instead:
// Outlook's limits are per mailbox, not SharePoint's per tenant.

// authTransport adds the tenant's bearer token to requests for the Graph
// endpoint (and only those: download and upload URLs are pre-authenticated
// and must not receive it). On 401 it fetches a fresh token and tries once
// more.
type authTransport struct {
	next   http.RoundTripper
	prefix string // requests under this URL get a token
	tokens *tokenSource
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.String(), t.prefix) {
		return t.next.RoundTrip(req)
	}
	send := func(refresh bool) (*http.Response, error) {
		tok, err := t.tokens.token(req.Context(), refresh)
		if err != nil {
			return nil, err
		}
		r := req.Clone(req.Context())
		if err := rewind(req, r); err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		return t.next.RoundTrip(r)
	}
	resp, err := send(false)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable(req) {
		return resp, err
	}
	// The token was revoked or expired early: one retry with a new one.
	drain(resp)
	return send(true)
}

// retryTransport retries what the service asks to be retried — 429 and
// 503 honouring Retry-After — and transient failures (502, 504, 500 and
// connection errors) of idempotent requests, with capped exponential
// backoff. A Retry-After longer than maxInlineWait, or one left when the
// attempts run out, becomes a *graphapi.ThrottledError.
type retryTransport struct {
	next          http.RoundTripper
	maxAttempts   int
	maxInlineWait time.Duration
	base, cap     time.Duration
}

// Request context values a caller can give the pipeline.
type ctxKey int

const (
	// streamKey (any value) leaves a JSON response to the caller to read
	// as a stream instead of buffering it (bodies that may exceed
	// maxBufferedJSON: attachments with their content, exported items).
	streamKey ctxKey = iota
	// attemptsKey (an *atomic.Int32) receives the number of the attempt
	// the response came from, so a caller can tell whether its request
	// may have been sent more than once.
	attemptsKey
)

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	attempts, _ := ctx.Value(attemptsKey).(*atomic.Int32)
	for attempt := 1; ; attempt++ {
		if attempts != nil {
			attempts.Store(int32(attempt))
		}
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if err := rewind(req, r); err != nil {
				return nil, err
			}
		}
		resp, err := t.next.RoundTrip(r)
		if err == nil {
			err = bufferJSON(req, resp)
		}
		if ctx.Err() != nil {
			if resp != nil {
				drain(resp)
			}
			return nil, ctx.Err()
		}
		wait, retry, throttled := t.decide(req, resp, err, attempt)
		if !retry {
			return resp, err
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if throttled && (wait > t.maxInlineWait || attempt >= t.maxAttempts) {
			drain(resp)
			return nil, &graphapi.ThrottledError{RetryAfter: wait, Status: status}
		}
		if attempt >= t.maxAttempts || !replayable(req) {
			return resp, err
		}
		if resp != nil {
			drain(resp)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// decide says whether to retry, after how long, and whether the service
// was throttling.
func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, attempt int) (wait time.Duration, retry, throttled bool) {
	backoff := min(t.base<<(attempt-1), t.cap)
	backoff = backoff/2 + rand.N(backoff/2+1) // jitter: spread retries of many workers
	if err != nil {
		var nerr net.Error
		if idempotent(req) && (errors.As(err, &nerr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
			strings.Contains(err.Error(), "connection reset")) {
			return backoff, true, false
		}
		return 0, false, false
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if ra, ok := retryAfter(resp.Header); ok {
			return ra, true, true
		}
		return backoff, true, true
	case http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusInternalServerError:
		return backoff, idempotent(req), false
	}
	return 0, false, false
}

// maxBufferedJSON bounds the JSON response bodies read whole (Graph pages
// are well under a megabyte).
const maxBufferedJSON = 32 << 20

// bufferJSON reads a successful JSON response of an idempotent request
// whole, so a connection dropped mid-body is retried here like any other
// connection error instead of failing the caller's parse. Content streams
// (downloads) are left alone.
func bufferJSON(req *http.Request, resp *http.Response) error {
	if !idempotent(req) || resp.StatusCode >= 300 || !strings.Contains(resp.Header.Get("Content-Type"), "json") ||
		req.Context().Value(streamKey) != nil {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBufferedJSON))
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return nil
}

func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewind gives clone a fresh copy of req's body.
func rewind(req, clone *http.Request) error {
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	if req.GetBody == nil {
		return nil // first use of a one-shot body
	}
	body, err := req.GetBody()
	if err != nil {
		return err
	}
	clone.Body = body
	return nil
}

// retryAfter parses Retry-After: delay-seconds or an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0), true
	}
	return 0, false
}

func drain(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// throttleTransport paces one tenant's requests under its resource-unit
// budget and holds every request back while a Retry-After "fence" set by
// any throttled response is up: when the service throttles one request,
// sending others only digs the hole deeper (throttled requests count too).
//
// Requests to an Exchange mailbox are Outlook's, not SharePoint's: they go
// through the mailbox limiter instead (its own limits and fence per
// mailbox; see mailboxlimit.go), never through the RU budget or the
// tenant's fence.
type throttleTransport struct {
	next      http.RoundTripper
	limiter   *rate.Limiter   // nil: no pacing
	mailboxes *mailboxLimiter // nil: mailbox requests are treated like any other
	mu        sync.Mutex
	fence     time.Time
}

func (t *throttleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if t.mailboxes != nil {
		if key := mailboxKey(req.URL); key != "" {
			return t.mailboxes.roundTrip(req, key, t.next)
		}
	}
	if err := t.waitFence(ctx); err != nil {
		return nil, err
	}
	if t.limiter != nil {
		if err := t.limiter.WaitN(ctx, cost(req)); err != nil {
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if ra, ok := retryAfter(resp.Header); ok {
			t.mu.Lock()
			if until := time.Now().Add(ra); until.After(t.fence) {
				t.fence = until
			}
			t.mu.Unlock()
		}
	}
	return resp, err
}

func (t *throttleTransport) waitFence(ctx context.Context) error {
	t.mu.Lock()
	wait := time.Until(t.fence)
	t.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

// cost estimates a request's resource units (see limits.go).
func cost(req *http.Request) int {
	if req.Method != http.MethodGet {
		return ruMulti
	}
	p, q := req.URL.Path, req.URL.RawQuery
	switch {
	case strings.Contains(p, "/delta"):
		if strings.Contains(q, "token=") {
			return ruSingle
		}
		return ruMulti
	case strings.HasSuffix(p, "/children"), strings.HasSuffix(p, "/users"):
		return ruMulti
	}
	return ruSingle
}
