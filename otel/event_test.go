package otel_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"go.opentelemetry.io/otel/attribute"
)

// A retry's event says the backoff and, when the retry carries an error,
// its error.type and error.message; a retry without an error says the
// backoff alone.
func TestRetryEventAttributes(t *testing.T) {
	cause := fmt.Errorf("call: %w", context.DeadlineExceeded)
	cases := []struct {
		name         string
		res          core.Result
		errType, msg string // "": the event has neither attribute
	}{
		{"with error", core.RetryErr(1500*time.Millisecond, cause), "timeout", cause.Error()},
		{"plain error", core.RetryErr(time.Second, errors.New("boom")), "*errors.errorString", "boom"},
		{"without error", core.Retry(2 * time.Second), "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sr, tp := newRecorder(t)
			handle(t, tp, &core.Message{ID: "x", Queue: "q", Attempt: 1}, tc.res)
			p := sr.Ended()[0]
			e, ok := event(p, "retry")
			if !ok {
				t.Fatalf("no retry event in %v", p.Events())
			}
			if v, ok := eventAttr(e, "redghost.backoff"); !ok || v.AsFloat64() != tc.res.Backoff.Seconds() {
				t.Errorf("redghost.backoff %v (present %v), want %v", v.AsInterface(), ok, tc.res.Backoff.Seconds())
			}
			et, hasType := eventAttr(e, "error.type")
			msg, hasMsg := eventAttr(e, "error.message")
			if tc.errType == "" {
				if hasType || hasMsg {
					t.Errorf("event attributes %v, want no error.type or error.message", e.Attributes)
				}
				if len(e.Attributes) != 1 {
					t.Errorf("event attributes %v, want the backoff alone", e.Attributes)
				}
				return
			}
			if !hasType || et.Type() != attribute.STRING || et.AsString() != tc.errType {
				t.Errorf("error.type %v (present %v), want %q", et.AsInterface(), hasType, tc.errType)
			}
			if !hasMsg || msg.Type() != attribute.STRING || msg.AsString() != tc.msg {
				t.Errorf("error.message %v (present %v), want %q", msg.AsInterface(), hasMsg, tc.msg)
			}
			if len(e.Attributes) != 3 {
				t.Errorf("event attributes %v, want the backoff, error.type and error.message", e.Attributes)
			}
		})
	}
}
