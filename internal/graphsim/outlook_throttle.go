package graphsim

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Outlook service limits (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits),
// applied per app per mailbox to every mail, calendar, contacts and mailbox import/export
// request (the app is the only one the simulator has, so: per mailbox):
//
//   - 4 concurrent requests. The fifth in flight is answered 429 ApplicationThrottled,
//     "Application is over its MailboxConcurrency limit." (Retry-After: 1);
//   - 10,000 requests per 10 minutes, × ThrottleScale (throttled requests count too), a
//     rolling window of sixty 10-second buckets; over it: 429 ApplicationThrottled
//     "…MailboxRequests limit." with Retry-After from when the window frees up;
//   - 150 MB uploaded per 5 minutes, × ThrottleScale (request bodies as declared by
//     Content-Length), thirty 10-second buckets: "…IncomingBytes limit.";
//   - $batch runs at most 4 requests of one mailbox at once (batch.go); the others wait.
//
// All three limits are enforced only while throttling is on (ThrottleScale > 0); the number of
// requests in flight per mailbox — those answered 429 included — is always measured, and its
// peak is reported in Counters.MaxMailboxConcurrency and MailboxPeakConcurrency, so a test can
// check that a client never broke the 4-concurrent rule whatever the throttling setting.
//
// A request stops counting as in flight just before the last byte of its response is written,
// so a client that waits for a response before sending the next request is never charged for
// overlapping with itself.

const (
	mailboxConcurrency  = 4
	mailboxRequestLimit = 10000
	mailboxRequestSpan  = 600 // seconds
	mailboxUploadLimit  = 150 << 20
	mailboxUploadSpan   = 300 // seconds
	outlookBucket       = 10  // seconds per bucket
)

type outlookThrottle struct {
	mu      sync.Mutex
	scale   float64
	latency time.Duration
	bucket  time.Duration // outlookBucket seconds × Options.OutlookWindowScale
	boxes   map[int32]*mailboxLoad
}

type bucket struct {
	at int64 // bucket number (unix time / bucket length)
	n  int64
}

type mailboxLoad struct {
	inflight int
	reqs     [mailboxRequestSpan / outlookBucket]bucket
	bytes    [mailboxUploadSpan / outlookBucket]bucket
}

func newOutlookThrottle(scale float64, latency time.Duration, windowScale float64) *outlookThrottle {
	if windowScale <= 0 {
		windowScale = 1
	}
	return &outlookThrottle{scale: scale, latency: latency, boxes: map[int32]*mailboxLoad{},
		bucket: time.Duration(windowScale * float64(outlookBucket*time.Second))}
}

func (o *outlookThrottle) setScale(f float64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.scale = math.Max(0, f)
}

func (o *outlookThrottle) setLatency(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.latency = max(0, d)
}

// charge adds n to the current bucket (of length size) of a window and returns the window's
// total and the seconds until enough of it expires to bring the total to limit or below.
func charge(win []bucket, now time.Time, size time.Duration, n, limit int64) (int64, int) {
	cur := now.UnixNano() / int64(size)
	span := int64(len(win))
	var total int64
	for i := range win {
		if win[i].at <= cur-span {
			win[i] = bucket{}
		}
	}
	b := &win[cur%span]
	if b.at != cur {
		*b = bucket{at: cur}
	}
	b.n += n
	for i := range win {
		total += win[i].n
	}
	if total <= limit {
		return total, 0
	}
	excess := total - limit
	for age := span - 1; age >= 0; age-- {
		x := win[(cur-age)%span]
		if x.at != cur-age {
			continue
		}
		excess -= x.n
		if excess <= 0 {
			return total, ceilSeconds(time.Duration((x.at+span)*int64(size) - now.UnixNano()))
		}
	}
	return total, ceilSeconds(time.Duration(span) * size)
}

// ceilSeconds is a Retry-After: whole seconds, rounded up.
func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

type outlookVerdict struct {
	e        *apiError
	inflight int
	latency  time.Duration
}

// enter registers a request to a mailbox and decides whether it may run.
func (o *outlookThrottle) enter(mb *mailbox, now time.Time, upload int64) outlookVerdict {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := o.boxes[mb.no]
	if l == nil {
		l = &mailboxLoad{}
		o.boxes[mb.no] = l
	}
	l.inflight++
	v := outlookVerdict{inflight: l.inflight, latency: o.latency}
	if o.scale <= 0 {
		return v
	}
	throttled := func(limit string, retry int) *apiError {
		return newAPIError(http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its "+limit+" limit.").
			withHeader("Retry-After", strconv.Itoa(max(1, retry)))
	}
	if l.inflight > mailboxConcurrency {
		v.e = throttled("MailboxConcurrency", 1)
		return v
	}
	reqLimit := max(1, int64(math.Floor(mailboxRequestLimit*o.scale)))
	if _, retry := charge(l.reqs[:], now, o.bucket, 1, reqLimit); retry > 0 {
		v.e = throttled("MailboxRequests", retry)
		return v
	}
	if upload > 0 {
		byteLimit := max(1, int64(math.Floor(mailboxUploadLimit*o.scale)))
		if _, retry := charge(l.bytes[:], now, o.bucket, upload, byteLimit); retry > 0 {
			v.e = throttled("IncomingBytes", retry)
		}
	}
	return v
}

func (o *outlookThrottle) leave(mb *mailbox) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if l := o.boxes[mb.no]; l != nil {
		l.inflight--
	}
}

// holdWriter keeps back the last byte written so far; flushHeld sends it. The in-flight count
// drops between the two, before the client can have the whole response.
type holdWriter struct {
	http.ResponseWriter
	held [1]byte
	has  bool
}

func (h *holdWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if h.has {
		if _, err := h.ResponseWriter.Write(h.held[:]); err != nil {
			return 0, err
		}
		h.has = false
	}
	if n, err := h.ResponseWriter.Write(p[:len(p)-1]); err != nil {
		return n, err
	}
	h.held[0], h.has = p[len(p)-1], true
	return len(p), nil
}

func (h *holdWriter) flushHeld() {
	if h.has {
		_, _ = h.ResponseWriter.Write(h.held[:])
		h.has = false
	}
}

func (h *holdWriter) Flush() {
	if f, ok := h.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// serveOutlook runs an Outlook route under the mailbox limits.
func (s *Server) serveOutlook(w http.ResponseWriter, r *http.Request, rc *reqCtx, rt *route) {
	var upload int64
	if r.Method != http.MethodGet && r.ContentLength > 0 {
		upload = r.ContentLength
	}
	v := s.othr.enter(rt.mbx, rc.now, upload)
	s.ctr.mailboxInflight(rt.mbx.owner.id, v.inflight)
	hw := &holdWriter{ResponseWriter: w}
	defer func() {
		s.othr.leave(rt.mbx)
		hw.flushHeld()
	}()
	s.ctr.mailboxRequest(rt.mbx.owner.id, rc.now, v.e != nil)
	if v.e != nil {
		s.ctr.throttled(rt.class)
		writeAPIError(hw, rc, v.e)
		return
	}
	if v.latency > 0 {
		select {
		case <-time.After(v.latency):
		case <-r.Context().Done():
		}
	}
	s.ctr.served(rt.class)
	rt.serve(hw, r, rc)
}
