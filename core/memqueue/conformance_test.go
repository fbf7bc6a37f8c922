package memqueue

import (
	"testing"
	"time"

	"github.com/redghost/redghost/core/queuetest"
)

// newEnv is one conformance test's backend on a manual clock. Every dump
// also checks the backend's internal invariants, and so does the end of
// the test.
func newEnv(t *testing.T, opts ...Option) (queuetest.Env, *Backend, *queuetest.ManualClock) {
	clock := queuetest.NewManualClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	b, err := New(append([]Option{WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		if err := b.checkInvariants(); err != nil {
			t.Errorf("invariant: %v", err)
		}
	}
	t.Cleanup(check)
	env := queuetest.Env{
		Backend: b,
		Advance: func(d time.Duration) { check(); clock.Advance(d) },
		Dump:    func() string { check(); return b.Dump() },
	}
	return env, b, clock
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, queuetest.Harness{Features: queuetest.Features{WaitDequeue: true, Schedules: true, MessageInspector: true, MultiWait: true}, New: func(t *testing.T) queuetest.Env {
		env, _, _ := newEnv(t)
		return env
	}})
}
