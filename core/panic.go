package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"

	"github.com/redghost/redghost/internal/text"
)

// MaxPanicStackBytes bounds the part of a panic's stack a worker keeps in
// a dead letter's error text (within [MaxErrorBytes]): the innermost
// frames, from the panicking function outwards, cut at a line.
const MaxPanicStackBytes = 2 << 10

// PanicError is the error of the error outcome of a handler that panicked.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the goroutine's stack at the panic

	logged atomic.Bool
}

func (e *PanicError) Error() string { return fmt.Sprintf("redghost: handler panicked: %v", e.Value) }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// NewPanicError wraps v, just recovered, with the stack of the panicking
// goroutine; call it in the deferred function that recovered. The frames
// of the recovery itself are left out, so the stack starts at the function
// that panicked. A v that is a *PanicError already (a panic carried over
// from another goroutine) is answered as it is.
func NewPanicError(v any) *PanicError {
	if p, ok := v.(*PanicError); ok {
		return p
	}
	return &PanicError{Value: v, Stack: fromPanic(debug.Stack())}
}

// fromPanic drops the frames above the innermost call of panic (the
// recovery: debug.Stack, NewPanicError, the deferred function) and that
// call itself, keeping the goroutine line.
func fromPanic(stack []byte) []byte {
	i := bytes.Index(stack, []byte("\npanic("))
	head := bytes.IndexByte(stack, '\n')
	if i < 0 || head < 0 {
		return stack
	}
	rest := stack[i+1:]
	for range 2 { // the panic frame: its function line and its file line
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			return stack
		}
		rest = rest[j+1:]
	}
	out := make([]byte, 0, head+1+len(rest))
	return append(append(out, stack[:head+1]...), rest...)
}

// LogPanic logs p, the panic of the handling of m, at Error level with the
// queue, id and attempt of m, the panic value ("panic") and the stack; it
// logs each *PanicError once, so that a panic recovered by middleware (see
// middleware.Recover) and then seen again by the worker makes one line.
func LogPanic(ctx context.Context, l *slog.Logger, m *Message, p *PanicError) {
	if p == nil || l == nil || p.logged.Swap(true) {
		return
	}
	if m == nil {
		m = &Message{}
	}
	l.LogAttrs(ctx, slog.LevelError, "redghost: handler panicked",
		slog.String("queue", m.Queue),
		slog.String("id", m.ID),
		slog.Int("attempt", m.Attempt),
		slog.Any("panic", p.Value),
		slog.String("stack", string(p.Stack)),
	)
}

// logPanic logs the panic err holds, if any and if no one has logged it:
// the worker's own recovery, or a recovery in middleware that does not
// log (middleware.Timeout's).
func (r *queueRunner) logPanic(ctx context.Context, id string, attempt int, err error) {
	var p *PanicError
	if errors.As(err, &p) && !p.logged.Load() {
		LogPanic(ctx, r.conf.logger, &Message{Queue: r.name, ID: id, Attempt: attempt}, p)
	}
}

// deadLetterText is the error text kept with the dead letter of err: its
// text, and for a panic the innermost [MaxPanicStackBytes] of its stack
// after a newline, all within [MaxErrorBytes] (the text is cut first).
func deadLetterText(err error) string {
	var p *PanicError
	if !errors.As(err, &p) || len(p.Stack) == 0 {
		return text.TruncateUTF8(err.Error(), MaxErrorBytes)
	}
	stack := p.Stack
	if len(stack) > MaxPanicStackBytes {
		stack = stack[:MaxPanicStackBytes]
		if i := bytes.LastIndexByte(stack, '\n'); i > 0 {
			stack = stack[:i+1]
		}
	}
	tail := "\n" + string(bytes.TrimRight(stack, "\n"))
	return text.TruncateUTF8(err.Error(), MaxErrorBytes-len(tail)) + tail
}
