package otel_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	rgotel "github.com/redghost/redghost/otel"
	"go.opentelemetry.io/otel/codes"
)

// queueFull is a user's error type that says its own class.
type queueFull struct{}

func (queueFull) Error() string     { return "downstream queue full" }
func (queueFull) ErrorType() string { return "queue_full" }

// breakerRejection is the error a real open breaker answers.
func breakerRejection(t *testing.T) error {
	t.Helper()
	cb, err := middleware.CircuitBreaker(middleware.WithBreakerOpenTimeout(time.Hour),
		middleware.WithBreakerReadyToTrip(func(c middleware.BreakerCounts) bool { return c.ConsecutiveFailures >= 1 }))
	if err != nil {
		t.Fatal(err)
	}
	h := cb(core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Fail(errors.New("down")) }))
	h.Handle(context.Background(), &core.Message{ID: "a", Queue: "q", Attempt: 1})
	res := h.Handle(context.Background(), &core.Message{ID: "b", Queue: "q", Attempt: 1})
	if !errors.Is(res.Err, middleware.ErrBreakerOpen) {
		t.Fatalf("the breaker did not reject: %v", res)
	}
	return res.Err
}

// Each of Red Ghost's error types says its class, which lands on the span
// as error.type, whether the outcome is an error or a retry with an error,
// and however deeply the error is wrapped.
func TestErrorTypeOnSpan(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"panic", &core.PanicError{Value: "x"}, "panic"},
		{"decode", &core.DecodeError{Err: errors.New("bad json")}, "decode"},
		{"invalid", &core.InvalidError{Field: "payload", Reason: "empty"}, "invalid"},
		{"timeout", fmt.Errorf("%w after 1s", middleware.ErrTimeout), "timeout"},
		{"too many abandoned", middleware.ErrTooManyAbandoned, "timeout"},
		{"breaker open", breakerRejection(t), "circuit_open"},
		{"retries exhausted", &middleware.ExhaustedError{Attempts: 3, Last: middleware.ErrTimeout}, "retries_exhausted"},
		{"retries exhausted sentinel", middleware.ErrRetriesExhausted, "retries_exhausted"},
		{"user class", fmt.Errorf("send: %w", queueFull{}), "queue_full"},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), "timeout"},
		{"canceled", context.Canceled, "canceled"},
		{"plain", errors.New("boom"), "*errors.errorString"},
	}
	for _, tc := range cases {
		for _, res := range []core.Result{core.Fail(fmt.Errorf("handler: %w", tc.err)), core.RetryErr(time.Second, tc.err)} {
			if res.Outcome == core.OutcomeRetry && errors.Is(res.Err, middleware.ErrBreakerOpen) {
				continue // a rejection, not a failure: TestBreakerRejectionOnSpan
			}
			t.Run(tc.name+"/"+res.Outcome.String(), func(t *testing.T) {
				if got := rgotel.ErrorType(res.Err); got != tc.want {
					t.Errorf("ErrorType(%v) = %q, want %q", res.Err, got, tc.want)
				}
				sr, tp := newRecorder(t)
				handle(t, tp, &core.Message{ID: "x", Queue: "q", Attempt: 1}, res)
				p := sr.Ended()[0]
				if p.Status().Code != codes.Error {
					t.Errorf("status %v, want Error", p.Status())
				}
				wantAttr(t, p, "error.type", tc.want)
			})
		}
	}
}
