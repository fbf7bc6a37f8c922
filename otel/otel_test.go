package otel_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	rgotel "github.com/redghost/redghost/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

func newRecorder(t *testing.T) (*tracetest.SpanRecorder, trace.TracerProvider) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return sr, tp
}

// echoSender answers added for every request and keeps what it was sent.
type echoSender struct {
	ctx  context.Context // of the last call
	got  []core.EnqueueRequest
	errs []error
	err  error
}

func (s *echoSender) Send(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
	s.ctx = ctx
	s.got = append(s.got, reqs...)
	if s.err != nil {
		return nil, s.err
	}
	res := make([]core.EnqueueResult, len(reqs))
	for i, r := range reqs {
		res[i] = core.EnqueueResult{ID: r.ID, Action: core.Added}
		if i < len(s.errs) && s.errs[i] != nil {
			res[i] = core.EnqueueResult{ID: r.ID, Err: s.errs[i]}
		}
	}
	return res, nil
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func wantAttr(t *testing.T, s sdktrace.ReadOnlySpan, key string, want any) {
	t.Helper()
	v, ok := attrs(s)[attribute.Key(key)]
	if !ok {
		t.Errorf("span %q: no attribute %s; has %v", s.Name(), key, s.Attributes())
		return
	}
	if got := v.AsInterface(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("span %q: %s = %v, want %v", s.Name(), key, got, want)
	}
}

func publish(t *testing.T, tp trace.TracerProvider, reqs []core.EnqueueRequest) *echoSender {
	t.Helper()
	s := &echoSender{}
	send := rgotel.PublishMiddleware(rgotel.WithTracerProvider(tp), rgotel.WithPropagators(prop))(s)
	if _, err := send.Send(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPublishSpansAndHeaders(t *testing.T) {
	sr, tp := newRecorder(t)
	callerHeaders := map[string]string{"k": "v"}
	reqs := []core.EnqueueRequest{
		{Queue: "emails", ID: "m1", Payload: []byte("hello"), Headers: callerHeaders},
		{Queue: "sms", ID: "m2", Payload: []byte("hi")},
	}
	orig := []core.EnqueueRequest{reqs[0], reqs[1]}
	s := publish(t, tp, reqs)

	if len(callerHeaders) != 1 {
		t.Errorf("caller's header map was written: %v", callerHeaders)
	}
	if reqs[0].Headers["traceparent"] != "" || reqs[1].Headers != nil || reqs[0].ID != orig[0].ID {
		t.Errorf("caller's requests were changed: %+v", reqs)
	}
	spans := sr.Ended()
	if len(spans) != 3 {
		t.Fatalf("got %d spans, want a create span per message and a send span", len(spans))
	}
	send := spans[2]
	for i, span := range spans[:2] {
		r := s.got[i]
		if want := "create " + r.Queue; span.Name() != want {
			t.Errorf("span name %q, want %q", span.Name(), want)
		}
		if span.SpanKind() != trace.SpanKindProducer {
			t.Errorf("span kind %v, want producer", span.SpanKind())
		}
		wantAttr(t, span, "messaging.system", rgotel.DefaultSystem) // no worker or publisher named one
		wantAttr(t, span, "messaging.destination.name", r.Queue)
		wantAttr(t, span, "messaging.operation.type", "create")
		wantAttr(t, span, "messaging.operation.name", "create")
		wantAttr(t, span, "messaging.message.id", r.ID)
		wantAttr(t, span, "messaging.message.body.size", len(r.Payload))
		wantAttr(t, span, "redghost.enqueue.result", "added")
		if span.Status().Code != codes.Unset {
			t.Errorf("status %v, want unset", span.Status())
		}
		// The injected context is this span's.
		sc := trace.SpanContextFromContext(prop.Extract(context.Background(), rgotel.HeaderCarrier(r.Headers)))
		if sc.SpanID() != span.SpanContext().SpanID() || sc.TraceID() != span.SpanContext().TraceID() {
			t.Errorf("headers %v carry %v, want span %v", r.Headers, sc, span.SpanContext())
		}
		if l := send.Links(); len(l) != 2 || !l[i].SpanContext.Equal(span.SpanContext()) {
			t.Errorf("send links %v, want one to each create span", l)
		}
	}
	// Two queues: the send span names none.
	if send.Name() != "send" || send.SpanKind() != trace.SpanKindClient {
		t.Errorf("send span %q (%v), want \"send\", client", send.Name(), send.SpanKind())
	}
	wantAttr(t, send, "messaging.operation.type", "send")
	wantAttr(t, send, "messaging.batch.message_count", 2)
	for _, k := range []attribute.Key{"messaging.destination.name", "messaging.message.id"} {
		if v, ok := attrs(send)[k]; ok {
			t.Errorf("send span of a batch has %s = %v", k, v.AsInterface())
		}
	}
	if s.ctx == nil || !trace.SpanContextFromContext(s.ctx).Equal(send.SpanContext()) {
		t.Errorf("the backend was called under %v, want the send span", trace.SpanContextFromContext(s.ctx))
	}
	if s.got[0].Headers["k"] != "v" {
		t.Errorf("caller's header lost: %v", s.got[0].Headers)
	}
}

func TestPublishReplacesOldTraceContext(t *testing.T) {
	_, tp := newRecorder(t)
	old := map[string]string{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":  "vendor=stale",
		"app":         "kept",
	}
	s := publish(t, tp, []core.EnqueueRequest{{Queue: "q", ID: "a", Headers: old}})
	h := s.got[0].Headers
	if h["traceparent"] == old["traceparent"] || h["tracestate"] != "" || h["app"] != "kept" {
		t.Errorf("headers %v: want a new traceparent, no stale tracestate, app kept", h)
	}
}

func TestPublishRefusalAndFailure(t *testing.T) {
	sr, tp := newRecorder(t)
	s := &echoSender{errs: []error{core.ErrAlreadyQueued, &core.InvalidError{Field: "payload", Reason: "too big"}, nil}}
	send := rgotel.PublishMiddleware(rgotel.WithTracerProvider(tp))(s)
	reqs := []core.EnqueueRequest{{Queue: "q", ID: "a"}, {Queue: "q", ID: "b"}, {Queue: "q", ID: "c"}}
	if _, err := send.Send(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	spans := sr.Ended()
	if got := spans[0].Status().Code; got != codes.Unset {
		t.Errorf("refusal: status %v, want unset", got)
	}
	wantAttr(t, spans[0], "redghost.enqueue.result", "already_queued")
	if got := spans[1].Status().Code; got != codes.Error {
		t.Errorf("invalid: status %v, want error", got)
	}
	wantAttr(t, spans[1], "redghost.enqueue.result", "invalid")
	wantAttr(t, spans[1], "error.type", "invalid")

	sr2, tp2 := newRecorder(t)
	down := errors.New("connection refused")
	send = rgotel.PublishMiddleware(rgotel.WithTracerProvider(tp2))(&echoSender{err: down})
	if _, err := send.Send(context.Background(), reqs[:1]); !errors.Is(err, down) {
		t.Fatalf("err %v, want %v", err, down)
	}
	span := sr2.Ended()[0]
	if span.Status().Code != codes.Error {
		t.Errorf("failure: status %v, want error", span.Status())
	}
	wantAttr(t, span, "error.type", "*errors.errorString")
	wantAttr(t, span, "redghost.enqueue.result", "failed")
}

// sent publishes one message and returns it as a handler would see it, with
// the send span.
func sent(t *testing.T, tp trace.TracerProvider, sr *tracetest.SpanRecorder, ctx context.Context) (*core.Message, sdktrace.ReadOnlySpan) {
	t.Helper()
	s := &echoSender{}
	send := rgotel.PublishMiddleware(rgotel.WithTracerProvider(tp), rgotel.WithPropagators(prop))(s)
	if _, err := send.Send(ctx, []core.EnqueueRequest{{Queue: "jobs", ID: "m1", Payload: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	r := s.got[0]
	m := &core.Message{ID: r.ID, Queue: r.Queue, Payload: r.Payload, Headers: r.Headers, Attempt: 1, EnqueuedAt: time.Now()}
	spans := sr.Ended()
	return m, spans[len(spans)-1]
}

func handle(t *testing.T, tp trace.TracerProvider, m *core.Message, res core.Result, opts ...rgotel.Option) context.Context {
	t.Helper()
	var seen context.Context
	opts = append([]rgotel.Option{rgotel.WithTracerProvider(tp), rgotel.WithPropagators(prop)}, opts...)
	h := rgotel.Middleware(opts...)(core.HandlerFunc(func(ctx context.Context, _ *core.Message) core.Result {
		seen = ctx
		return res
	}))
	if got := h.Handle(context.Background(), m); got.Outcome != res.Outcome {
		t.Fatalf("outcome %v, want %v", got, res)
	}
	return seen
}

func TestProcessLinksToSend(t *testing.T) {
	sr, tp := newRecorder(t)
	member, _ := baggage.NewMember("tenant", "acme")
	bag, _ := baggage.New(member)
	m, send := sent(t, tp, sr, baggage.ContextWithBaggage(context.Background(), bag))
	before := maps.Clone(m.Headers)
	ctx := handle(t, tp, m, core.Success())

	if !maps.Equal(before, m.Headers) {
		t.Errorf("message headers changed: %v -> %v", before, m.Headers)
	}
	spans := sr.Ended()
	p := spans[len(spans)-1]
	if p.Name() != "process jobs" || p.SpanKind() != trace.SpanKindConsumer {
		t.Fatalf("span %q kind %v, want process jobs consumer", p.Name(), p.SpanKind())
	}
	if p.Parent().IsValid() {
		t.Errorf("process span has parent %v, want a new root", p.Parent())
	}
	if p.SpanContext().TraceID() == send.SpanContext().TraceID() {
		t.Errorf("process span shares the send span's trace")
	}
	if l := p.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != send.SpanContext().SpanID() || l[0].SpanContext.TraceID() != send.SpanContext().TraceID() {
		t.Fatalf("links %+v, want the send span %v", p.Links(), send.SpanContext())
	}
	wantAttr(t, p, "messaging.system", rgotel.DefaultSystem)
	wantAttr(t, p, "messaging.destination.name", "jobs")
	wantAttr(t, p, "messaging.operation.type", "process")
	wantAttr(t, p, "messaging.operation.name", "process")
	wantAttr(t, p, "messaging.message.id", "m1")
	wantAttr(t, p, "messaging.message.body.size", 2)
	wantAttr(t, p, "redghost.message.attempt", 1)
	wantAttr(t, p, "redghost.outcome", "success")
	if p.Status().Code != codes.Unset {
		t.Errorf("status %v, want unset", p.Status())
	}
	if trace.SpanContextFromContext(ctx).SpanID() != p.SpanContext().SpanID() {
		t.Errorf("handler's context does not carry the process span")
	}
	if got := baggage.FromContext(ctx).Member("tenant").Value(); got != "acme" {
		t.Errorf("baggage tenant = %q, want acme", got)
	}
}

func TestProcessChildOfSend(t *testing.T) {
	sr, tp := newRecorder(t)
	m, send := sent(t, tp, sr, context.Background())
	handle(t, tp, m, core.Success(), rgotel.WithChildOfProducer())
	spans := sr.Ended()
	p := spans[len(spans)-1]
	if p.Parent().SpanID() != send.SpanContext().SpanID() || p.SpanContext().TraceID() != send.SpanContext().TraceID() {
		t.Errorf("parent %v, want the send span %v", p.Parent(), send.SpanContext())
	}
	if len(p.Links()) != 0 {
		t.Errorf("child span has links %v", p.Links())
	}
}

func TestProcessWithoutTraceContext(t *testing.T) {
	sr, tp := newRecorder(t)
	handle(t, tp, &core.Message{ID: "x", Queue: "q", Attempt: 3}, core.Success())
	p := sr.Ended()[0]
	if p.Parent().IsValid() || len(p.Links()) != 0 {
		t.Errorf("parent %v links %v, want neither", p.Parent(), p.Links())
	}
	wantAttr(t, p, "redghost.message.attempt", 3)
}

func TestProcessOutcomes(t *testing.T) {
	type want struct {
		status    codes.Code
		errorType string // "" for none
		retry     bool
	}
	cases := []struct {
		name string
		res  core.Result
		want want
	}{
		{"success", core.Success(), want{codes.Unset, "", false}},
		{"success with backoff", core.SuccessWithBackoff(time.Minute), want{codes.Unset, "", false}},
		{"retry later", core.Retry(2 * time.Second), want{codes.Unset, "", true}},
		{"retry with error", core.RetryErr(time.Second, fmt.Errorf("call: %w", context.DeadlineExceeded)), want{codes.Error, "timeout", true}},
		{"error", core.Fail(errors.New("boom")), want{codes.Error, "*errors.errorString", false}},
		{"error without error", core.Result{Outcome: core.OutcomeError}, want{codes.Error, "_OTHER", false}},
		{"panic", core.Fail(&core.PanicError{Value: "x"}), want{codes.Error, "panic", false}},
		{"decode", core.Fail(&core.DecodeError{Err: errors.New("bad json")}), want{codes.Error, "decode", false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sr, tp := newRecorder(t)
			handle(t, tp, &core.Message{ID: "x", Queue: "q", Attempt: 1}, tc.res)
			p := sr.Ended()[0]
			if p.Status().Code != tc.want.status {
				t.Errorf("status %v, want %v", p.Status(), tc.want.status)
			}
			et, has := attrs(p)["error.type"]
			if tc.want.errorType == "" && has {
				t.Errorf("error.type %v, want none", et.AsString())
			}
			if tc.want.errorType != "" {
				wantAttr(t, p, "error.type", tc.want.errorType)
			}
			wantAttr(t, p, "redghost.outcome", tc.res.Outcome.String())
			if tc.res.Backoff > 0 && tc.res.Outcome != core.OutcomeError {
				wantAttr(t, p, "redghost.backoff", tc.res.Backoff.Seconds())
			}
			var retry bool
			for _, ev := range p.Events() {
				if ev.Name == "retry" {
					retry = true
				}
			}
			if retry != tc.want.retry {
				t.Errorf("retry event %v, want %v (events %v)", retry, tc.want.retry, p.Events())
			}
		})
	}
}

func TestProcessPanicEndsSpanAndPanicsAgain(t *testing.T) {
	sr, tp := newRecorder(t)
	h := rgotel.Middleware(rgotel.WithTracerProvider(tp))(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		panic("handler bug")
	}))
	func() {
		defer func() {
			if v := recover(); v != "handler bug" {
				t.Errorf("recovered %v, want the handler's panic", v)
			}
		}()
		h.Handle(context.Background(), &core.Message{ID: "x", Queue: "q", Attempt: 1})
	}()
	p := sr.Ended()
	if len(p) != 1 {
		t.Fatalf("%d spans ended, want 1", len(p))
	}
	if p[0].Status().Code != codes.Error {
		t.Errorf("status %v, want error", p[0].Status())
	}
	wantAttr(t, p[0], "error.type", "panic")
	wantAttr(t, p[0], "redghost.outcome", "error")
}

func TestHeaderCarrier(t *testing.T) {
	c := rgotel.HeaderCarrier{"Traceparent": "x"}
	if c.Get("traceparent") != "x" {
		t.Errorf("case-insensitive Get failed")
	}
	c.Set("a", "b")
	if len(c.Keys()) != 2 || c.Get("missing") != "" {
		t.Errorf("keys %v", c.Keys())
	}
}

func TestErrorType(t *testing.T) {
	for err, want := range map[error]string{
		nil:                        "_OTHER",
		context.Canceled:           "canceled",
		&core.PanicError{Value: 1}: "panic",
		fmt.Errorf("w: %w", &core.InvalidError{}):                            "invalid",
		middleware.ErrTimeout:                                                "timeout",
		fmt.Errorf("%w: x", middleware.ErrBreakerOpen):                       "circuit_open",
		&middleware.ExhaustedError{Attempts: 3, Last: middleware.ErrTimeout}: "retries_exhausted",
	} {
		if got := rgotel.ErrorType(err); got != want {
			t.Errorf("ErrorType(%v) = %q, want %q", err, got, want)
		}
	}
}

// Each process span links the producer of its own message, one handling
// after another on one middleware (the start options that carry the link
// are reused).
func TestProcessLinksEachMessageToItsProducer(t *testing.T) {
	sr, tp := newRecorder(t)
	h := rgotel.Middleware(rgotel.WithTracerProvider(tp), rgotel.WithPropagators(prop))(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Success()
	}))
	for i := range 3 {
		m, send := sent(t, tp, sr, context.Background())
		h.Handle(context.Background(), m)
		spans := sr.Ended()
		p := spans[len(spans)-1]
		if l := p.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != send.SpanContext().SpanID() || l[0].SpanContext.TraceID() != send.SpanContext().TraceID() {
			t.Fatalf("message %d: links %+v, want the send span %v", i, p.Links(), send.SpanContext())
		}
		if l := p.Links()[0]; len(l.Attributes) != 1 || l.Attributes[0] != attribute.String("messaging.operation.type", "send") {
			t.Errorf("message %d: link attributes %v", i, l.Attributes)
		}
	}
}

// A process span linked to its producer is a new root even when the
// worker's context carries a span of its own; without a producer it is
// that span's child.
func TestProcessNewRootOverWorkerSpan(t *testing.T) {
	sr, tp := newRecorder(t)
	m, send := sent(t, tp, sr, context.Background())
	wctx, wspan := tp.Tracer("worker").Start(context.Background(), "worker")
	defer wspan.End()
	h := rgotel.Middleware(rgotel.WithTracerProvider(tp), rgotel.WithPropagators(prop))(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Success()
	}))
	h.Handle(wctx, m)
	spans := sr.Ended()
	p := spans[len(spans)-1]
	if p.Parent().IsValid() || p.SpanContext().TraceID() == wspan.SpanContext().TraceID() || p.SpanContext().TraceID() == send.SpanContext().TraceID() {
		t.Errorf("linked process span: parent %v, trace %v; want a new root (worker trace %v, send trace %v)",
			p.Parent(), p.SpanContext().TraceID(), wspan.SpanContext().TraceID(), send.SpanContext().TraceID())
	}
	h.Handle(wctx, &core.Message{ID: "y", Queue: "jobs", Attempt: 1})
	spans = sr.Ended()
	p = spans[len(spans)-1]
	if p.Parent().SpanID() != wspan.SpanContext().SpanID() {
		t.Errorf("process span without a producer: parent %v, want the worker's span %v", p.Parent(), wspan.SpanContext())
	}
}

// drain runs h on a worker of queue on b until done has delivered n
// values (a closed channel delivers at once), then stops the worker: every
// span of the handlings it took has ended by then.
func drain(t *testing.T, b core.Backend, queue string, h core.Handler, done <-chan struct{}, n int, what string) {
	t.Helper()
	ctx := context.Background()
	w, err := core.NewWorker(core.NewQueue(b, queue), h, core.WithMaxWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop(ctx) }()
	for range n {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: not handled within 10s", what)
		}
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
