package core

import (
	"context"
	"sync/atomic"
	"time"
)

// Handling is a [Worker]'s or a [Pool]'s handling of one message, as a
// middleware on its handler's path sees it (see [HandlingOf]): the handle
// through which it may give the handling up ([Handling.Abandon]) without
// running the handler on a goroutine of its own. The middleware package's
// Timeout uses it to answer a retry at the deadline while a handler that
// ignores its context runs on.
//
// A Handling lives in the worker's record of the message: finding it costs
// a context lookup and no allocation.
type Handling struct {
	state atomic.Int32 // handlingRunning, handlingReturned or handlingAbandoned
	r     *queueRunner
	rec   *flight // the message's record; its id and token as taken are rec.ref's
	// The message's attempt as it was taken: the handler may change the
	// message it is given, but not what is acknowledged.
	attempt int
	s       *slot
	start   time.Time
}

// States of a Handling.
const (
	handlingRunning int32 = iota
	handlingReturned
	handlingAbandoned
)

// handlingKey is the context key under which a handler's context answers
// its *Handling.
type handlingKey struct{}

// HandlingOf answers the handling whose handler's context ctx is, or
// derives from, while its handler is running on a [Worker] or a [Pool];
// nil otherwise: a handler called directly, as in a test or by a
// backend-less program, or a context that outlived its handler's return.
// A middleware that finds none falls back to what it does without one.
func HandlingOf(ctx context.Context) *Handling {
	h, _ := ctx.Value(handlingKey{}).(*Handling)
	if h == nil || h.state.Load() != handlingRunning {
		return nil
	}
	return h
}

// Abandon gives up on the handling: the worker answers res for the message
// at once, counting, logging and acknowledging it as if the handler had
// returned it, and a fresh goroutine takes the handler's place, so that
// the worker keeps its concurrency. The handler runs on, detached: when it
// returns, the worker drops its answer and its goroutine ends instead of
// taking another message; [Worker.Stop] and [Pool.Stop] do not wait for
// it. The middleware that abandoned it sees the late answer on the way
// out (on that goroutine), and whatever it returns is dropped too.
//
// Abandon reports false, and changes nothing, if the handler has already
// returned to the worker or the handling was abandoned before. It is safe
// from any goroutine, and it does not wait for the acknowledgement: the
// fresh goroutine sends it. What the abandoned handler does afterwards may
// overlap with the message's next handling: abandon a handler only once
// its context has been cancelled and it has had time to return.
func (h *Handling) Abandon(res Result) bool {
	if !h.state.CompareAndSwap(handlingRunning, handlingAbandoned) {
		return false
	}
	go func() {
		canceled := h.r.end(h.rec)
		h.r.answer(h, res, canceled)
		h.s.resume()
	}()
	return true
}

// returned marks the handler as returned to the worker; false: it was
// abandoned, and its answer is not the worker's to send.
func (h *Handling) returned() bool {
	return h.state.CompareAndSwap(handlingRunning, handlingReturned)
}

// handlerCtx is the context a handler gets: the handling's own (the
// record's cancellable context) that also answers its [Handling], so that
// no context.WithValue is needed per message. It lives in the handling
// record (see queueRunner.handle).
type handlerCtx struct {
	context.Context
	h Handling
}

func (c *handlerCtx) Value(key any) any {
	if key == (handlingKey{}) {
		return &c.h
	}
	return c.Context.Value(key)
}

// enter sets up rec's handler context for d, whose handling by slot s
// starts now, and answers it.
func (rec *flight) enter(r *queueRunner, hctx context.Context, d *Delivery, s *slot, start time.Time) *handlerCtx {
	c := &rec.hc
	c.Context = hctx
	c.h.r, c.h.rec, c.h.s, c.h.start, c.h.attempt = r, rec, s, start, d.Attempt
	return c
}

// slot is one handler goroutine of a worker or a pool. When the handling
// on it is abandoned, resume continues its loop on the fresh goroutine
// that sent the abandoned answer: that goroutine takes the slot's place
// (and its count in the handlers' wait group), and the abandoned one
// ends when its handler returns.
type slot struct {
	resume func()
	pq     *poolQueue // a pool's: the queue of the handling in progress (nil while idle)
}
