package m365

import (
	"context"
	"time"
)

// ScaledClock runs speed times faster than real time from its start; a
// test gives the same clock to graphsim (Options.Clock) and to a client's
// mailbox limiter (SetMailboxClock), so that budgets of minutes can be
// exercised in seconds.
type ScaledClock struct {
	start time.Time
	speed float64
}

// NewScaledClock starts a clock running speed times real time.
func NewScaledClock(speed float64) *ScaledClock { return &ScaledClock{start: time.Now(), speed: speed} }

// Now is the clock's time.
func (c *ScaledClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.speed))
}

// Sleep waits d of the clock's time.
func (c *ScaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return sleepCtx(ctx, time.Duration(float64(d)/c.speed))
}

// SetMailboxClock puts a client's mailbox limiter on clk (before its first
// request).
func SetMailboxClock(c *Client, clk *ScaledClock) { c.mailboxes.clk = clk }
