package core

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Pool handles the messages of many queues of one backend with one budget
// of concurrent handlers, as an [http.ServeMux] serves many paths: each
// queue has its own [Handler], registered with [Pool.Handle], an optional
// cap on the handlers it may use ([WithQueueConcurrency]) and a priority
// ([WithPriority]).
//
// While several queues have work, the pool shares its handlers among them
// in proportion to their priorities (a queue of priority 3 gets about
// three times the handler slots of a queue of priority 1, and none
// starves); with [WithStrictPriority] it serves a queue only while every
// queue of a higher priority is empty.
//
// A pool keeps the guarantees of a [Worker], with the same code: batched
// dequeues, fenced batched acknowledgements (one acknowledger per queue),
// one heartbeat that extends every lock it holds (one call per queue per
// beat at most), handler contexts cancelled with [ErrLockLost] when a lock
// is lost and with [ErrCanceled] when a message is cancelled
// ([Queue.Cancel]), panic recovery, Stop that drains with a grace, and
// statistics per queue. It checks a [HealthChecker] backend about its
// queues when it starts, and it registers itself once in the backend
// ([Inspector.Workers]), listing all its queues, as a worker does. A
// paused queue ([Queue.Pause]) is asked again once per max wait, and its
// wakes are not waited on meanwhile; the other queues go on. Queues can be added
// and removed while it runs; [Pool.Remove] waits for the removed queue's
// handlers.
//
// When no queue has work the pool waits on all of them at once with the
// backend's [MultiWaiter] (on a single Redis, one blocking connection and
// one command a second; on a Cluster, one per hash slot of its queues),
// and looks at one queue per max wait besides, in turn,
// in case a wake was lost: an idle pool costs about what one idle Worker
// costs, whatever its number of queues. While some queues are busy, the
// others' wakes are read every 25 ms (on Redis one EXISTS over their wake
// lists), and a weighted pool keeps two dequeues (for two queues) in
// flight. On a backend without a MultiWaiter an idle pool dequeues from
// every queue once per max wait. Without a [WithMonitor] callback the pool
// reads one queue's size per monitor interval, in turn; with one, every
// queue's, every interval.
type Pool struct {
	b   Backend
	mw  MultiWaiter
	cfg poolConfig

	mu       sync.Mutex
	work     *sync.Cond // a message was buffered, a cap freed, or the pool is stopping
	queues   map[string]*poolQueue
	order    []*poolQueue // the queues in registration order: the scheduler's loops, some per message, walk this
	started  bool
	closed   bool
	noMore   bool    // the fetcher has ended: handlers drain what is buffered and exit
	total    int     // taken and not yet handled, all queues
	buffered int     // taken and not yet picked up by a handler, all queues
	busy     int     // handlers running
	vt       float64 // virtual time of the last weighted pick
	sweep    int     // the next queue to look at after an idle wait, in registration order

	lastSweep time.Time // without a MultiWaiter: when every queue was last marked ready (fetcher only)

	kick      chan struct{} // wakes the fetcher: room freed or queues changed (capacity 1)
	wantKick  bool          // the fetcher waits for room: handlers kick it at kickBelow
	kickBelow int           // the most messages held at which the fetcher may take more
	cands     []*poolQueue  // chooseLocked's scratch
	waitStop  context.CancelFunc
	stopped   chan struct{}
	stopFetch context.CancelFunc
	hctx      context.Context // parent of the queues' handler contexts
	ackCtx    context.Context // parent of the queues' acknowledger contexts
	hardStop  context.CancelFunc
	ackStop   context.CancelFunc

	avgHandle atomic.Int64 // moving average of handling time, ns, all queues
	reg       registration // one entry in the backend's registry, listing every queue
}

// NewPool returns a pool on b with no queues yet; add them with
// [Pool.Handle]. Every [WorkerOption] applies, to the pool as a whole:
// [WithConcurrency] is the budget of handlers the queues share;
// [WithPrefetch] bounds the messages the pool may hold beyond its busy
// handlers for each queue with work (and, as for a Worker, to about 20 ms
// of handling per handler in all), so that a pool over many busy queues
// takes batches as large as a worker on one; [WithMaxWait] bounds an idle
// wait, after which the pool looks at one queue in turn. The options are
// checked here: an invalid one (or a nil backend) is an [*InvalidError]
// whose Field names it.
func NewPool(b Backend, opts ...PoolOption) (*Pool, error) {
	if b == nil {
		return nil, invalid("backend", "nil")
	}
	cfg := poolConfig{workerConfig: defaultWorkerConfig()}
	for _, o := range opts {
		if o == nil {
			return nil, invalid("options", "nil option")
		}
		o.applyPool(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Pool{b: b, cfg: cfg, queues: make(map[string]*poolQueue), kick: make(chan struct{}, 1)}
	p.mw, _ = b.(MultiWaiter)
	p.reg = registration{b: b, conf: &p.cfg.workerConfig, id: NewID(), held: p.held}
	p.work = sync.NewCond(&p.mu)
	return p, nil
}

// Handle registers h for the messages of queue, with its options. It may
// be called before or while the pool runs; a queue added to a running pool
// is looked at within one blocking step of its wait (at most a second on
// Redis). A bad queue name, a nil handler, a bad option, a queue the pool
// handles already or one more than [MaxWaitAnyQueues] is an
// [*InvalidError]; after Stop it answers [ErrClosed].
func (p *Pool) Handle(queue string, h Handler, opts ...QueueOption) error {
	if err := ValidateQueueName(queue); err != nil {
		return err
	}
	if h == nil {
		return invalid("handler", "nil")
	}
	qc := queueConfig{priority: 1}
	for _, o := range opts {
		if o == nil {
			return invalid("options", "nil option")
		}
		o(&qc)
	}
	if err := qc.validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if old := p.queues[queue]; old != nil {
		if old.removing {
			return invalid("queue", "%q is being removed; add it again once Remove has returned", queue)
		}
		return invalid("queue", "%q is handled already", queue)
	}
	if len(p.queues) >= MaxWaitAnyQueues {
		return invalid("queue", "the pool handles %d queues already, the most it can wait on", len(p.queues))
	}
	q := &poolQueue{queueRunner: newQueueRunner(p.b, queue, h, &p.cfg.workerConfig, &p.avgHandle), cfg: qc}
	q.ready = true
	q.pass = p.vt
	p.addLocked(q)
	if p.started {
		p.startQueue(q)
		if p.waitStop != nil {
			p.waitStop() // an idle wait does not know the new queue
		}
		p.kickFetcher()
	}
	return nil
}

// HandleFunc registers f for queue, as Handle does.
func (p *Pool) HandleFunc(queue string, f func(context.Context, *Message) Result, opts ...QueueOption) error {
	if f == nil {
		return invalid("handler", "nil")
	}
	return p.Handle(queue, HandlerFunc(f), opts...)
}

// Remove stops taking messages from queue and waits until the messages of
// it that the pool holds are handled and acknowledged. If ctx ends first,
// it cancels those handlers' context, waits at most the stop grace (see
// [WithStopGrace]) for them and their acknowledgements, and answers
// ctx.Err(); a handler that still runs then is fenced as on Stop, and the
// messages the pool still holds of the queue are handled on the cancelled
// context (a handler that honours it answers a retry at once). Once Remove
// has returned nil the queue may be added again; after an error, Handle
// refuses it until it has drained. Removing a queue the pool does not
// handle is an [*InvalidError]; after Stop, Remove answers [ErrClosed]
// (Stop drains every queue).
func (p *Pool) Remove(ctx context.Context, queue string) error {
	p.mu.Lock()
	q := p.queues[queue]
	if q == nil || q.removing {
		p.mu.Unlock()
		return invalid("queue", "%q is not handled by the pool", queue)
	}
	if p.closed {
		p.mu.Unlock()
		return ErrClosed // Stop drains every queue
	}
	if !p.started {
		p.dropLocked(q)
		p.mu.Unlock()
		return nil
	}
	q.removing = true
	q.ready = false
	p.closeAcksIfDrained(q)
	p.mu.Unlock()
	p.kickFetcher()

	select {
	case <-q.done:
	case <-ctx.Done():
		drainAfterDeadline(q.hcancel, q.ackCancel, p.cfg.stopGrace, q.done)
	}
	select {
	case <-q.done:
		return nil
	default:
		return ctx.Err()
	}
}

// Queues lists the queues the pool handles, sorted.
func (p *Pool) Queues() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for name, q := range p.queues {
		if !q.removing {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Stats is a snapshot of the statistics of every queue the pool handles,
// by queue name; the numbers are those of a [Worker] on that queue.
func (p *Pool) Stats() map[string]WorkerStats {
	p.mu.Lock()
	qs := slices.Clone(p.order)
	running := p.started && !p.closed
	p.mu.Unlock()
	out := make(map[string]WorkerStats, len(qs))
	for _, q := range qs {
		st := q.stats()
		st.Running = running
		out[q.name] = st
	}
	return out
}

// Start starts the pool and returns at once. ctx carries values to the
// handlers; its cancellation does not stop the pool: call [Pool.Stop] (or
// use [Pool.Run]). A pool starts once: Start on a running pool answers
// [ErrStarted], and on a stopped one [ErrClosed]. A pool may start with no
// queues and have them added later.
func (p *Pool) Start(ctx context.Context) error {
	if err := p.checkHealth(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.started {
		return ErrStarted
	}
	p.started = true
	p.stopped = make(chan struct{})
	base := withBackendSystem(context.WithoutCancel(ctx), p.b)
	fetchCtx, stopFetch := context.WithCancel(base)
	p.hctx, p.hardStop = context.WithCancel(base)
	p.ackCtx, p.ackStop = context.WithCancel(base)
	p.stopFetch = stopFetch
	for _, q := range p.order {
		p.startQueue(q)
	}

	var handlers sync.WaitGroup
	for range p.cfg.concurrency {
		handlers.Add(1)
		go p.handleLoop(&handlers)
	}
	bgDone := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	p.reg.startedAt = p.cfg.clock.Now()
	go func() { defer bg.Done(); p.reg.register(p.hctx); p.heartbeat(bgDone); p.reg.unregister(base) }()
	go func() { defer bg.Done(); p.monitor(bgDone) }()

	go func() {
		p.fetch(fetchCtx)
		p.mu.Lock()
		p.noMore = true
		p.work.Broadcast()
		p.mu.Unlock()
		handlers.Wait()
		p.mu.Lock()
		qs := slices.Clone(p.order)
		for _, q := range qs {
			p.closeAcks(q)
		}
		p.mu.Unlock()
		for _, q := range qs {
			<-q.done
		}
		close(bgDone)
		bg.Wait()
		p.hardStop()
		p.ackStop()
		close(p.stopped)
	}()
	return nil
}

// startQueue gives q its contexts and acknowledger. Call with p.mu held,
// once the pool has started.
func (p *Pool) startQueue(q *poolQueue) {
	hctx, hcancel := context.WithCancel(p.hctx)
	q.hcancel = hcancel
	q.startHandlers(hctx)
	q.ackCtx, q.ackCancel = context.WithCancel(p.ackCtx)
	q.acks = make(chan Ack, p.cfg.concurrency+p.cfg.prefetch)
	q.done = make(chan struct{})
	go q.acknowledge(p)
}

// Stop stops taking messages and waits until every held message has been
// handled and acknowledged, as [Worker.Stop] does: if ctx ends first, it
// cancels the handlers' context, waits at most the stop grace, and
// answers ctx.Err(). Stop on a pool that never started answers nil; either
// way the pool cannot start again. Stop may be called more than once.
func (p *Pool) Stop(ctx context.Context) error {
	p.mu.Lock()
	started := p.started
	p.closed = true
	p.mu.Unlock()
	if !started {
		return nil
	}
	p.stopFetch()
	select {
	case <-p.stopped:
		return nil
	case <-ctx.Done():
		drainAfterDeadline(p.hardStop, p.ackStop, p.cfg.stopGrace, p.stopped)
		return ctx.Err()
	}
}

// Run starts the pool, blocks until ctx is done, then stops it, waiting
// for in-flight handlers without a deadline. Use Start and Stop for a
// shutdown deadline.
func (p *Pool) Run(ctx context.Context) error {
	if err := p.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return p.Stop(context.Background())
}

// kickFetcher wakes the fetcher if it waits for room or queues.
func (p *Pool) kickFetcher() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// closeAcksIfDrained ends a removed queue's acknowledger once nothing of
// it is held outside the acknowledger. Call with p.mu held.
func (p *Pool) closeAcksIfDrained(q *poolQueue) {
	if q.removing && !q.fetching && q.outstanding == 0 {
		p.closeAcks(q)
	}
}

// closeAcks closes q's acks channel once. Call with p.mu held.
func (p *Pool) closeAcks(q *poolQueue) {
	if !q.acksClosed && q.acks != nil {
		q.acksClosed = true
		close(q.acks)
	}
}
