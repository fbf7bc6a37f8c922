package core

import (
	"fmt"
	"time"
)

// Outcome is what a handler decided about a message.
type Outcome uint8

const (
	// OutcomeSuccess marks the message done. With a backoff its id is held
	// for that long, so an enqueue of the same id is refused (de-dup window).
	OutcomeSuccess Outcome = iota
	// OutcomeRetry releases the lock without marking the message done; it is
	// handled again (attempt + 1), after the backoff if one is given.
	OutcomeRetry
	// OutcomeError marks the message done and keeps a copy in the queue's
	// dead-letter list with the error text.
	OutcomeError
)

func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeRetry:
		return "retry"
	case OutcomeError:
		return "error"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Result is a handler's answer. The zero Result is success.
type Result struct {
	Outcome Outcome
	// Backoff: for success, how long the id is held (de-dup window); for
	// retry, how long to wait before the message is handled again. Ignored
	// for errors.
	Backoff time.Duration
	// Err is why the handler failed (error outcome) or asked for a retry.
	Err error
}

// Success is the zero Result: the message is done.
func Success() Result { return Result{} }

// SuccessWithBackoff marks the message done and holds its id for d, so that
// enqueues of the same id are refused with [ErrBackoff] until then.
func SuccessWithBackoff(d time.Duration) Result {
	return Result{Outcome: OutcomeSuccess, Backoff: d}
}

// Retry asks for the message to be handled again after backoff (zero: as
// soon as a worker is free).
func Retry(backoff time.Duration) Result { return Result{Outcome: OutcomeRetry, Backoff: backoff} }

// RetryErr is Retry that also records why.
func RetryErr(backoff time.Duration, err error) Result {
	return Result{Outcome: OutcomeRetry, Backoff: backoff, Err: err}
}

// Fail marks the message done with an error; a copy goes to the dead-letter
// list with err's text.
func Fail(err error) Result { return Result{Outcome: OutcomeError, Err: err} }

func (r Result) String() string {
	s := r.Outcome.String()
	if r.Backoff > 0 {
		s += " (backoff " + r.Backoff.String() + ")"
	}
	if r.Err != nil {
		s += ": " + r.Err.Error()
	}
	return s
}
