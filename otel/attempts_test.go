package otel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	rgotel "github.com/redghost/redghost/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func event(s sdktrace.ReadOnlySpan, name string) (sdktrace.Event, bool) {
	for _, e := range s.Events() {
		if e.Name == name {
			return e, true
		}
	}
	return sdktrace.Event{}, false
}

func eventAttr(e sdktrace.Event, key string) (attribute.Value, bool) {
	for _, kv := range e.Attributes {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// A message an open breaker turns away is not a failed handling: its span
// says rejected, keeps its status unset and tells why in an event.
func TestBreakerRejectionOnSpan(t *testing.T) {
	sr, tp := newRecorder(t)
	retry, err := middleware.Retry(middleware.WithRetryMaxAttempts(4))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := middleware.CircuitBreaker(middleware.WithBreakerOpenTimeout(time.Hour),
		middleware.WithBreakerReadyToTrip(func(c middleware.BreakerCounts) bool { return c.ConsecutiveFailures >= 1 }))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	h := middleware.Chain(rgotel.Middleware(rgotel.WithTracerProvider(tp)), retry, cb)(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		calls++
		return core.RetryErr(time.Second, errors.New("downstream down"))
	}))
	at := time.Now()
	for attempt := 1; attempt <= 2; attempt++ {
		h.Handle(context.Background(), &core.Message{ID: "m", Queue: "q", Attempt: attempt, EnqueuedAt: at})
	}
	if calls != 1 {
		t.Fatalf("handler called %d times, want 1 (the second handling rejected)", calls)
	}
	spans := sr.Ended()
	failed, rejected := spans[0], spans[1]
	wantAttr(t, failed, "redghost.outcome", "retry")
	if failed.Status().Code != codes.Error {
		t.Errorf("failed attempt: status %v, want Error", failed.Status())
	}

	wantAttr(t, rejected, "redghost.outcome", rgotel.OutcomeRejected)
	if rejected.Status().Code != codes.Unset {
		t.Errorf("rejection: status %v, want Unset", rejected.Status())
	}
	if _, ok := attrs(rejected)["error.type"]; ok {
		t.Errorf("rejection: span has error.type %v; only its event should", attrs(rejected)["error.type"])
	}
	e, ok := event(rejected, "rejected")
	if !ok {
		t.Fatalf("rejection: no rejected event in %v", rejected.Events())
	}
	if v, _ := eventAttr(e, "error.type"); v.AsString() != "circuit_open" {
		t.Errorf("rejected event: error.type %q, want circuit_open", v.AsString())
	}
	if v, ok := eventAttr(e, "redghost.backoff"); !ok || v.AsFloat64() <= 0 {
		t.Errorf("rejected event: redghost.backoff %v, want the breaker's backoff", v.AsInterface())
	}
	if _, ok := event(rejected, "retry"); ok {
		t.Error("rejection: has a retry event too")
	}
}

// rejectOn turns away the deliveries it names as an open breaker would.
func rejectOn(deliveries ...int) core.Middleware {
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			// Retry hands a copy with its own count inward; the delivery
			// count is the one the backend keeps, read from the header
			// this test sets.
			for _, d := range deliveries {
				if m.Headers["delivery"] == fmt.Sprint(d) {
					return core.RetryErr(time.Minute, fmt.Errorf("breaker: %w", middleware.ErrBreakerOpen))
				}
			}
			return next.Handle(ctx, m)
		})
	}
}

// With MaxAttempts(4) and four rejections among eight deliveries, the span,
// the log line and the error text of the last delivery agree: delivery 8,
// attempt 4.
func TestAttemptsAgree(t *testing.T) {
	sr, tp := newRecorder(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	retry, err := middleware.Retry(middleware.WithRetryMaxAttempts(4))
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	h := middleware.Chain(
		rgotel.Middleware(rgotel.WithTracerProvider(tp)),
		middleware.Logging(logger),
		retry,
		rejectOn(2, 3, 5, 7),
	)(core.HandlerFunc(func(_ context.Context, m *core.Message) core.Result {
		seen = append(seen, m.Attempt)
		return core.RetryErr(time.Second, errors.New("boom"))
	}))
	at := time.Now()
	var last core.Result
	for d := 1; d <= 8; d++ {
		last = h.Handle(context.Background(), &core.Message{ID: "m", Queue: "q", Attempt: d, EnqueuedAt: at,
			Headers: map[string]string{"delivery": fmt.Sprint(d)}})
	}
	if fmt.Sprint(seen) != "[1 2 3 4]" {
		t.Errorf("the handler saw attempts %v, want [1 2 3 4]", seen)
	}
	const wantErr = "redghost: retries exhausted after 4 attempts (8 deliveries, 4 rejected by the circuit breaker): boom"
	if last.Outcome != core.OutcomeError || last.Err == nil || last.Err.Error() != wantErr {
		t.Fatalf("last delivery: %v, want error %q", last, wantErr)
	}

	spans := sr.Ended()
	if len(spans) != 8 {
		t.Fatalf("%d spans, want 8", len(spans))
	}
	wantHandler := []int{1, 2, 2, 2, 3, 3, 4, 4} // a rejection shows the attempt it would have been
	for i, s := range spans {
		wantAttr(t, s, "redghost.message.attempt", i+1)
		wantAttr(t, s, "redghost.message.handler_attempt", wantHandler[i])
	}
	lastSpan := spans[7]
	wantAttr(t, lastSpan, "redghost.outcome", "error")
	if lastSpan.Status().Description != wantErr {
		t.Errorf("last span: status %q, want %q", lastSpan.Status().Description, wantErr)
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d log lines, want 8:\n%s", len(lines), logs.String())
	}
	for i, l := range lines {
		want := fmt.Sprintf("attempt=%d handler_attempt=%d ", i+1, wantHandler[i])
		if wantHandler[i] == i+1 {
			want = fmt.Sprintf("attempt=%d outcome=", i+1) // the same number, said once
		}
		if !strings.Contains(l, want) {
			t.Errorf("log line %d: %s\nwant %q in it", i+1, l, want)
		}
	}
	if !strings.Contains(lines[7], "after 4 attempts (8 deliveries") {
		t.Errorf("last log line does not carry the error text: %s", lines[7])
	}
}

// Without Retry in the chain, spans and log lines have no handler attempt.
func TestNoHandlerAttemptWithoutRetry(t *testing.T) {
	sr, tp := newRecorder(t)
	handle(t, tp, &core.Message{ID: "x", Queue: "q", Attempt: 3}, core.Success())
	s := sr.Ended()[0]
	wantAttr(t, s, "redghost.message.attempt", 3)
	if v, ok := attrs(s)["redghost.message.handler_attempt"]; ok {
		t.Errorf("handler_attempt %v without a Retry", v.AsInterface())
	}
}
