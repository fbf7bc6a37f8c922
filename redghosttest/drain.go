package redghosttest

import (
	"fmt"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/text"
)

// defaultLock is the lock of the messages Handle and Drain run.
const defaultLock = time.Minute

// Handled is one handling of [Env.Drain].
type Handled struct {
	Message core.Message
	Result  core.Result
	// At is the clock's time when the handler ran.
	At time.Time
}

func (h Handled) String() string {
	return fmt.Sprintf("%s attempt %d: %s", h.Message.ID, h.Message.Attempt, h.Result)
}

// DrainOption bounds an [Env.Drain].
type DrainOption func(*drainConfig)

type drainConfig struct {
	max    int
	within time.Duration
}

// WithMaxHandlings stops a drain after n handlings (default 1000).
func WithMaxHandlings(n int) DrainOption { return func(c *drainConfig) { c.max = n } }

// Within stops a drain once d has passed on the clock (default 24 hours).
func Within(d time.Duration) DrainOption { return func(c *drainConfig) { c.within = d } }

// Drain handles queue's messages with h, wrapped in the Env's middleware,
// one at a time as a worker with a concurrency of one would: it takes a
// message, runs the handler (a panic is an error outcome), and applies
// the result to the backend (a success or error marks it done, an error
// keeps a dead letter, a retry comes back after its backoff). When no
// message is ready but one is due later (a delay or a retry's backoff),
// it advances the clock to it. It stops when the queue has nothing left
// to handle, or a bound passes ([WithMaxHandlings], [Within]), and
// answers the handlings in order.
func (e *Env) Drain(queue string, h core.Handler, opts ...DrainOption) []Handled {
	e.tb.Helper()
	cfg := drainConfig{max: 1000, within: 24 * time.Hour}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := e.ctx()
	h = e.wrap(h)
	end := e.clock.Now().Add(cfg.within)
	var out []Handled
	for len(out) < cfg.max {
		res, err := e.backend.Dequeue(ctx, core.DequeueParams{Queue: queue, Max: 1, Lock: defaultLock})
		if err != nil {
			e.tb.Fatalf("redghosttest: Drain(%q): %v", queue, err)
			return out
		}
		if len(res.Messages) == 0 {
			st, err := e.backend.QueueStats(ctx, queue)
			if err != nil {
				e.tb.Fatalf("redghosttest: Drain(%q): %v", queue, err)
				return out
			}
			// Handled messages whose ids are held do not count: the
			// queue has nothing left to handle.
			if st.Queued+st.Locked+st.Backoff == 0 || res.NextDue <= 0 || e.clock.Now().Add(res.NextDue).After(end) {
				return out
			}
			e.clock.Advance(res.NextDue)
			continue
		}
		d := res.Messages[0]
		m := d.Message
		r := e.call(ctx, h, &m)
		out = append(out, Handled{Message: d.Message, Result: r, At: e.clock.Now()})
		a := core.Ack{ID: d.ID, Token: d.Token, Outcome: r.Outcome, Backoff: min(max(r.Backoff, 0), core.MaxDuration)}
		if r.Outcome != core.OutcomeSuccess && r.Outcome != core.OutcomeRetry {
			a.Outcome, a.Error = core.OutcomeError, "error outcome without an error"
			if r.Err != nil {
				a.Error = text.TruncateUTF8(r.Err.Error(), core.MaxErrorBytes)
			}
		}
		errs, err := e.backend.Ack(ctx, queue, []core.Ack{a})
		if err == nil {
			err = errs[0]
		}
		if err != nil {
			e.tb.Fatalf("redghosttest: Drain(%q): ack of %q: %v", queue, d.ID, err)
			return out
		}
	}
	return out
}
