package graphsim

import (
	"sync"
	"time"
)

// Counters report what the simulator has answered since start (or the last reset).
type Counters struct {
	Served     int64                       `json:"served"`    // requests that reached a handler
	Throttled  int64                       `json:"throttled"` // answered 429/503 by the throttle
	Faults     int64                       `json:"faults"`    // injected faults (5xx, latency, drops)
	ByEndpoint map[string]EndpointCounters `json:"by_endpoint"`

	// MaxMailboxConcurrency is the most requests ever in flight to one mailbox at once
	// (counting those answered 429), and MailboxPeakConcurrency the same per mailbox owner's
	// user ID: Outlook allows 4.
	MaxMailboxConcurrency  int            `json:"max_mailbox_concurrency"`
	MailboxPeakConcurrency map[string]int `json:"mailbox_peak_concurrency"`
	// Mailboxes counts the Outlook requests each mailbox owner's mailboxes (primary and
	// archive) received, and when: what a client achieved against the per-mailbox budget.
	Mailboxes map[string]MailboxCounters `json:"mailboxes"`
}

// MailboxCounters are one mailbox owner's Outlook requests.
type MailboxCounters struct {
	Requests  int64     `json:"requests"`  // served and throttled
	Throttled int64     `json:"throttled"` // answered 429
	First     time.Time `json:"first"`     // the first request's arrival
	Last      time.Time `json:"last"`      // the last one's
}

// EndpointCounters are per endpoint class ("users", "drive.delta", "download", …).
type EndpointCounters struct {
	Served    int64 `json:"served"`
	Throttled int64 `json:"throttled"`
}

type counters struct {
	mu sync.Mutex
	c  Counters
}

func newCounters() *counters {
	c := &counters{}
	c.reset()
	return c
}

func (c *counters) mailboxRequest(owner string, at time.Time, throttled bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.c.Mailboxes[owner]
	if m.Requests == 0 {
		m.First = at
	}
	m.Requests++
	m.Last = at
	if throttled {
		m.Throttled++
	}
	c.c.Mailboxes[owner] = m
}

func (c *counters) mailboxInflight(owner string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.c.MailboxPeakConcurrency[owner] {
		c.c.MailboxPeakConcurrency[owner] = n
	}
	c.c.MaxMailboxConcurrency = max(c.c.MaxMailboxConcurrency, n)
}

func (c *counters) served(class string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Served++
	e := c.c.ByEndpoint[class]
	e.Served++
	c.c.ByEndpoint[class] = e
}

func (c *counters) throttled(class string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Throttled++
	e := c.c.ByEndpoint[class]
	e.Throttled++
	c.c.ByEndpoint[class] = e
}

func (c *counters) fault() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Faults++
}

func (c *counters) snapshot() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.c
	out.ByEndpoint = make(map[string]EndpointCounters, len(c.c.ByEndpoint))
	for k, v := range c.c.ByEndpoint {
		out.ByEndpoint[k] = v
	}
	out.MailboxPeakConcurrency = make(map[string]int, len(c.c.MailboxPeakConcurrency))
	for k, v := range c.c.MailboxPeakConcurrency {
		out.MailboxPeakConcurrency[k] = v
	}
	out.Mailboxes = make(map[string]MailboxCounters, len(c.c.Mailboxes))
	for k, v := range c.c.Mailboxes {
		out.Mailboxes[k] = v
	}
	return out
}

func (c *counters) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c = Counters{ByEndpoint: map[string]EndpointCounters{}, MailboxPeakConcurrency: map[string]int{},
		Mailboxes: map[string]MailboxCounters{}}
}
