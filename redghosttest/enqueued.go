package redghosttest

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
)

// Want describes a message a test expects a publisher to have enqueued.
type Want[T any] struct {
	Queue string
	// ID, when set, must be the message's id.
	ID string
	// Payload is compared (reflect.DeepEqual) with the message's payload
	// decoded into a T with [core.JSON].
	Payload T
	// Headers must all be among the message's headers, with these values;
	// other headers (a trace context, say) are allowed.
	Headers map[string]string
	// Delay must be the message's delay (zero: none).
	Delay time.Duration
}

// RequireEnqueued finds the first message the Env's publishers enqueued
// that an earlier RequireEnqueued did not match and that went to
// want.Queue (with want.ID, if set), and checks it against want (an
// enqueue the backend refused differs from every want); it fails the test if there is none or if it differs, and
// answers it. Calls in a row check messages in the order they were
// enqueued.
func RequireEnqueued[T any](e *Env, want Want[T]) Enqueued {
	e.tb.Helper()
	e.mu.Lock()
	i := -1
	for j, q := range e.enqueued {
		if !e.matched[j] && q.Queue == want.Queue && (want.ID == "" || q.ID == want.ID) {
			i = j
			break
		}
	}
	var got Enqueued
	if i >= 0 {
		got = e.enqueued[i]
		e.matched[i] = true
	}
	all := e.describe()
	e.mu.Unlock()

	what := fmt.Sprintf("queue %q", want.Queue)
	if want.ID != "" {
		what += fmt.Sprintf(" id %q", want.ID)
	}
	if i < 0 {
		e.tb.Fatalf("redghosttest: nothing (more) was enqueued to %s; enqueued:\n%s", what, all)
		return Enqueued{}
	}
	var problems []string
	if got.Result.Err != nil {
		problems = append(problems, fmt.Sprintf("the enqueue answered %v", got.Result.Err))
	}
	var v T
	if err := core.JSON.Unmarshal(got.Payload, &v); err != nil {
		problems = append(problems, fmt.Sprintf("payload %q does not decode into %T: %v", got.Payload, v, err))
	} else if !reflect.DeepEqual(v, want.Payload) {
		problems = append(problems, fmt.Sprintf("payload %+v, want %+v", v, want.Payload))
	}
	for _, k := range slices.Sorted(maps.Keys(want.Headers)) {
		if g, ok := got.Headers[k]; !ok || g != want.Headers[k] {
			problems = append(problems, fmt.Sprintf("header %q = %q, want %q", k, g, want.Headers[k]))
		}
	}
	if got.Delay != want.Delay {
		problems = append(problems, fmt.Sprintf("delay %v, want %v", got.Delay, want.Delay))
	}
	if len(problems) > 0 {
		e.tb.Fatalf("redghosttest: the message %q enqueued to %s: %s", got.ID, what, strings.Join(problems, "; "))
	}
	return got
}

// RequireNothingElseEnqueued fails the test if the Env's publishers
// enqueued anything that [RequireEnqueued] did not match.
func (e *Env) RequireNothingElseEnqueued() {
	e.tb.Helper()
	e.mu.Lock()
	var left []string
	for i, q := range e.enqueued {
		if !e.matched[i] {
			left = append(left, fmt.Sprintf("  %s", describe(q)))
		}
	}
	e.mu.Unlock()
	if len(left) > 0 {
		e.tb.Fatalf("redghosttest: enqueued and not expected:\n%s", strings.Join(left, "\n"))
	}
}

// Enqueued lists everything the Env's publishers enqueued, in order.
func (e *Env) Enqueued() []Enqueued {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.enqueued)
}

// describe lists the enqueued messages. Call with e.mu held.
func (e *Env) describe() string {
	if len(e.enqueued) == 0 {
		return "  (nothing)"
	}
	lines := make([]string, len(e.enqueued))
	for i, q := range e.enqueued {
		lines[i] = "  " + describe(q)
	}
	return strings.Join(lines, "\n")
}

func describe(q Enqueued) string {
	s := fmt.Sprintf("queue %q id %q payload %s", q.Queue, q.ID, q.Payload)
	if len(q.Headers) > 0 {
		s += fmt.Sprintf(" headers %v", q.Headers)
	}
	if q.Delay > 0 {
		s += fmt.Sprintf(" delay %v", q.Delay)
	}
	if q.Result.Err != nil {
		s += fmt.Sprintf(" (%v)", q.Result.Err)
	}
	return s
}
