package core

import "time"

// Clock tells the time. A worker uses its clock for its statistics and, if
// the clock is a [TickerClock], for the heartbeat and monitor intervals (the
// queue's own time always comes from the backend); the in-memory backend
// takes one so that tests can move time by hand.
type Clock interface {
	Now() time.Time
}

// TickerClock is a [Clock] that also makes tickers. A worker whose clock is
// a TickerClock runs its heartbeat and monitor on the clock's tickers; on
// any other clock they tick in real time. [SystemClock] and the test clock
// queuetest.ManualClock are TickerClocks.
type TickerClock interface {
	Clock
	NewTicker(d time.Duration) Ticker
}

// Ticker delivers ticks, as a [time.Ticker] does: C's channel holds at most
// one pending tick, and a slow receiver misses ticks rather than queueing
// them.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// NewTicker is a [time.Ticker].
func (SystemClock) NewTicker(d time.Duration) Ticker { return systemTicker{time.NewTicker(d)} }

type systemTicker struct{ t *time.Ticker }

func (t systemTicker) C() <-chan time.Time { return t.t.C }
func (t systemTicker) Stop()               { t.t.Stop() }

// newTicker makes a ticker on clk, or a real-time one if clk makes none.
func newTicker(clk Clock, d time.Duration) Ticker {
	if tc, ok := clk.(TickerClock); ok {
		return tc.NewTicker(d)
	}
	return SystemClock{}.NewTicker(d)
}
