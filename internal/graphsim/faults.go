package graphsim

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Injected faults. With rate f, that fraction of Graph, download and upload requests gets one
// of: a 500/502/503/504 (503 sometimes with Retry-After), 100–500 ms of extra latency, or — for
// requests that return a body — a connection dropped after the headers and part of the body.
// Choices come from an RNG seeded with Options.Seed, so a single-threaded run is reproducible.

type faultKind uint8

const (
	faultNone faultKind = iota
	faultStatus
	faultLatency
	faultDrop
)

type fault struct {
	kind       faultKind
	status     int
	retryAfter int
	delay      time.Duration
	keepBytes  int // faultDrop: body bytes written before the connection is cut
}

type faults struct {
	mu   sync.Mutex
	rate float64
	rng  *rand.Rand
}

func newFaults(rate float64, seed int64) *faults {
	return &faults{rate: rate, rng: rand.New(rand.NewPCG(uint64(seed), 0xfa17))}
}

func (f *faults) setRate(r float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate = clamp01(r)
}

// pick decides the fault for one request; drops are only chosen when allowDrop.
func (f *faults) pick(allowDrop bool) fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rate <= 0 || f.rng.Float64() >= f.rate {
		return fault{}
	}
	n := 3
	if !allowDrop {
		n = 2
	}
	switch f.rng.IntN(n) {
	case 0:
		st := []int{500, 502, 503, 504}[f.rng.IntN(4)]
		ft := fault{kind: faultStatus, status: st}
		if st == 503 && f.rng.IntN(2) == 0 {
			ft.retryAfter = 1 + f.rng.IntN(3)
		}
		return ft
	case 1:
		return fault{kind: faultLatency, delay: time.Duration(100+f.rng.IntN(401)) * time.Millisecond}
	}
	return fault{kind: faultDrop, keepBytes: f.rng.IntN(2048)}
}

var faultCodes = map[int][2]string{
	500: {"generalException", "An unspecified error has occurred."},
	502: {"BadGateway", "The server, while acting as a gateway or proxy, received an invalid response."},
	503: {"serviceNotAvailable", "The service is temporarily unavailable. Try the request again after a delay."},
	504: {"GatewayTimeout", "The server, while acting as a proxy, did not receive a timely response."},
}

func writeFaultStatus(w http.ResponseWriter, rc *reqCtx, ft fault) {
	c := faultCodes[ft.status]
	e := newAPIError(ft.status, c[0], c[1])
	if ft.retryAfter > 0 {
		e.withHeader("Retry-After", strconv.Itoa(ft.retryAfter))
	}
	writeAPIError(w, rc, e)
}

// dropWriter passes through the headers and keepBytes of body, then aborts the connection
// (http.ErrAbortHandler makes net/http close it, or reset the stream on HTTP/2).
type dropWriter struct {
	http.ResponseWriter
	keep    int
	written int
}

func (d *dropWriter) Write(p []byte) (int, error) {
	if d.written+len(p) >= d.keep {
		n, _ := d.ResponseWriter.Write(p[:max(0, d.keep-d.written)])
		d.written += n
		d.cut(true)
	}
	n, err := d.ResponseWriter.Write(p)
	d.written += n
	return n, err
}

// cut aborts the connection, first sending what was written when flush is set. (Without the
// flush, a response still buffered in net/http is never sent at all.)
func (d *dropWriter) cut(flush bool) {
	if f, ok := d.ResponseWriter.(http.Flusher); ok && flush {
		f.Flush()
	}
	panic(http.ErrAbortHandler)
}

// applyFault runs before the handler: it answers status faults itself (returning true), sleeps
// for latency faults, and wraps w for drops. The returned finish must run after the handler.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, rc *reqCtx, allowDrop bool) (http.ResponseWriter, bool, func()) {
	ft := s.flt.pick(allowDrop)
	noop := func() {}
	switch ft.kind {
	case faultNone:
		return w, false, noop
	case faultStatus:
		s.ctr.fault()
		writeFaultStatus(w, rc, ft)
		return w, true, noop
	case faultLatency:
		s.ctr.fault()
		select {
		case <-time.After(ft.delay):
		case <-r.Context().Done():
		}
		return w, false, noop
	}
	s.ctr.fault()
	dw := &dropWriter{ResponseWriter: w, keep: ft.keepBytes}
	return dw, false, func() { dw.cut(false) }
}
