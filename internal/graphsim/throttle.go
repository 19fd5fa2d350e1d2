package graphsim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// SharePoint/OneDrive application throttling, from "Avoid getting throttled or blocked in
// SharePoint Online" (https://learn.microsoft.com/sharepoint/dev/general-development/how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online):
//
//   - Each app has a budget of resource units (RU) per tenant per minute, by licence count:
//     1,200 (0–1k licences), 2,400 (1k–5k), 3,600 (5k–15k), 4,800 (15k–50k), 6,000 (50k+).
//   - Microsoft Graph costs: 1 RU for a single-item query, a delta with a token, or a file
//     download; 2 RU for a multi-item query, a delta without a token, and create/update/
//     delete/upload. (5 RU permission operations are not simulated.)
//   - Over budget: 429 (or 503) with Retry-After. Throttled requests still count.
//   - RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset headers appear once an app has
//     used 80% of its one-minute budget.
//
// The daily budget (1,200,000 RU for 0–1k licences) is not simulated. The window is a rolling
// 60 one-second buckets; licences = number of users in the tenant.

const (
	ruSingle = 1 // single-item GET, delta with token, download
	ruMulti  = 2 // multi-item query, delta without token, writes

	throttleWindow = 60 // seconds
)

// ruPerMinute returns the published one-minute app budget for a licence count.
func ruPerMinute(licences int) int {
	switch {
	case licences <= 1000:
		return 1200
	case licences <= 5000:
		return 2400
	case licences <= 15000:
		return 3600
	case licences <= 50000:
		return 4800
	}
	return 6000
}

type throttle struct {
	mu       sync.Mutex
	scale    float64
	licences int
	buckets  [throttleWindow]struct {
		sec int64
		ru  int
	}
	rng *rand.Rand
}

func newThrottle(scale float64, licences int, seed int64) *throttle {
	return &throttle{scale: scale, licences: licences, rng: rand.New(rand.NewPCG(uint64(seed), 0x7407))}
}

func (t *throttle) setScale(f float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scale = math.Max(0, f)
}

// budget is the scaled one-minute budget (at least 1 RU when throttling is on).
func (t *throttle) budget() int {
	return max(1, int(math.Floor(float64(ruPerMinute(t.licences))*t.scale)))
}

type throttleVerdict struct {
	throttled  bool
	status     int // 429, or 503 now and then
	retryAfter int // seconds
	header     map[string]string
}

// admit charges cost RU at now and decides.
func (t *throttle) admit(now time.Time, cost int) throttleVerdict {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.scale <= 0 || cost <= 0 {
		return throttleVerdict{}
	}
	sec := now.Unix()
	used := 0
	for i := range t.buckets {
		b := &t.buckets[i]
		if b.sec <= sec-throttleWindow {
			b.sec, b.ru = 0, 0
		}
		used += b.ru
	}
	limit := t.budget()
	over := used+cost > limit
	cur := &t.buckets[sec%throttleWindow]
	if cur.sec != sec {
		cur.sec, cur.ru = sec, 0
	}
	cur.ru += cost // throttled requests count too
	used += cost

	v := throttleVerdict{throttled: over}
	if over || used*5 >= limit*4 {
		v.header = map[string]string{
			"RateLimit-Limit":     strconv.Itoa(limit),
			"RateLimit-Remaining": strconv.Itoa(max(0, limit-used)),
			"RateLimit-Reset":     strconv.Itoa(t.resetIn(sec)),
		}
	}
	if over {
		v.status = 429
		if t.rng.IntN(8) == 0 {
			v.status = 503
		}
		v.retryAfter = t.retryAfter(sec, used, limit)
		v.header["Retry-After"] = strconv.Itoa(v.retryAfter)
	}
	return v
}

// retryAfter is the number of seconds until usage, as recorded now, leaves room for a 1 RU
// request.
func (t *throttle) retryAfter(sec int64, used, limit int) int {
	for age := int64(throttleWindow - 1); age >= 0; age-- {
		b := t.buckets[(sec-age)%throttleWindow]
		if b.sec != sec-age {
			continue
		}
		used -= b.ru
		if used+1 <= limit {
			return int(b.sec + throttleWindow - sec)
		}
	}
	return throttleWindow
}

// resetIn is the number of seconds until the oldest recorded usage leaves the window.
func (t *throttle) resetIn(sec int64) int {
	for age := int64(throttleWindow - 1); age >= 0; age-- {
		b := t.buckets[(sec-age)%throttleWindow]
		if b.sec == sec-age && b.ru > 0 {
			return int(b.sec + throttleWindow - sec)
		}
	}
	return throttleWindow
}
