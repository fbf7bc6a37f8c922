package redghosttest

import (
	"context"

	"github.com/redghost/redghost/core"
)

// Message builds a message of queue whose payload is v encoded with
// [core.JSON] (a []byte is taken as is), as a handler would get it on its
// first attempt; Handle fills in the rest. A v that does not encode fails
// the test.
func (e *Env) Message(queue string, v any) core.Message {
	e.tb.Helper()
	payload, ok := v.([]byte)
	if !ok {
		var err error
		if payload, err = core.JSON.Marshal(v); err != nil {
			e.tb.Fatalf("redghosttest: Message(%q): %v", queue, err)
		}
	}
	return core.Message{Queue: queue, Payload: payload}
}

// Handle runs m through h, wrapped in the Env's middleware (see
// [WithMiddleware]), as a worker would run it, and answers the Result. A
// panic is recovered and answered as the worker answers it: an error
// outcome whose error is a [*core.PanicError]. Fields m leaves empty get
// a worker's values: a fresh id, attempt 1, a one-minute lock, the
// clock's time as the enqueue time, and the queue "default". The context
// is the test's.
func (e *Env) Handle(h core.Handler, m core.Message) core.Result {
	e.tb.Helper()
	if m.ID == "" {
		m.ID = core.NewID()
	}
	if m.Queue == "" {
		m.Queue = "default"
	}
	if m.Attempt == 0 {
		m.Attempt = 1
	}
	if m.LockDuration == 0 {
		m.LockDuration = defaultLock
	}
	if m.EnqueuedAt.IsZero() {
		m.EnqueuedAt = e.clock.Now()
	}
	return e.call(e.ctx(), e.wrap(h), &m)
}

// call runs h as the worker does: a panic is an error outcome.
func (e *Env) call(ctx context.Context, h core.Handler, m *core.Message) (res core.Result) {
	defer func() {
		if v := recover(); v != nil {
			res = core.Fail(core.NewPanicError(v))
		}
	}()
	return h.Handle(ctx, m)
}
