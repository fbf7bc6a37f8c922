package core

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"time"
)

// Action says what a successful enqueue did.
type Action uint8

const (
	// Added: a new message, or a pending requeue copy of a locked or done one.
	Added Action = iota + 1
	// Updated: the content (or the pending copy, or the delay) was replaced.
	Updated
)

func (a Action) String() string {
	switch a {
	case Added:
		return "added"
	case Updated:
		return "updated"
	}
	return "none"
}

// EnqueueRequest is one message to enqueue, as the backend and publisher
// middleware see it. Publisher middleware may change Headers (copy the map
// first if the caller may reuse it).
type EnqueueRequest struct {
	Queue   string
	ID      string // empty: the publisher assigns a fresh random id
	Payload []byte
	Headers map[string]string

	idSet bool // WithID was given: an empty ID is then a mistake
	// WithMaxAttempts, WithHandlingTimeout were given: zero is then a mistake
	maxSet, timeoutSet bool

	// Delay is the initial backoff: the message is not handled before it.
	Delay time.Duration
	// LockDuration overrides the worker's default lock for this message.
	LockDuration time.Duration
	// CanUpdate lets the enqueue replace the content of a queued message
	// with the same id (or of its pending requeue copy).
	CanUpdate bool
	// CanRequeue lets the enqueue of an id that is locked or done (with
	// backoff) store a copy that is queued once the handler is done.
	CanRequeue bool
	// ResetDelay restarts the initial backoff of a queued message with the
	// same id at Delay from now (debounce).
	ResetDelay bool
	// MaxAttempts and Timeout are the message's own limits (see
	// [WithMaxAttempts] and [WithHandlingTimeout]); zero: none. They are
	// stored with the content, so an update or requeue copy carries those
	// of its own enqueue.
	MaxAttempts int
	Timeout     time.Duration
}

// EnqueueResult is the answer for one message of an enqueue.
type EnqueueResult struct {
	ID     string
	Action Action // zero when Err is set
	// Err is nil on success; a refusal ([ErrAlreadyQueued], [ErrLocked],
	// [ErrBackoff]), an [*InvalidError], or a backend failure.
	Err error
}

// EnqueueOption sets an option of one enqueue.
type EnqueueOption func(*EnqueueRequest)

// WithID sets the message id, for de-duplication, update and requeue. An
// empty id is refused with an [*InvalidError] (Field "id"); leave WithID out
// for a fresh random id.
func WithID(id string) EnqueueOption {
	return func(r *EnqueueRequest) { r.ID, r.idSet = id, true }
}

// WithDelay sets the initial backoff.
func WithDelay(d time.Duration) EnqueueOption { return func(r *EnqueueRequest) { r.Delay = d } }

// WithLockDuration sets the message's own lock duration.
func WithLockDuration(d time.Duration) EnqueueOption {
	return func(r *EnqueueRequest) { r.LockDuration = d }
}

// WithMaxAttempts bounds how many times the message may be handled:
// Retry middleware turns a retry on attempt n into a failure, over its own
// [middleware.WithRetryMaxAttempts]. The limit is stored with the content:
// an update ([WithUpdate]) or requeue copy ([WithRequeue]) carries the
// limits of its own enqueue, so one without this option has none. n must be
// positive and at most [MaxAttemptsLimit].
//
// [middleware.WithRetryMaxAttempts]: https://pkg.go.dev/github.com/redghost/redghost/middleware#WithRetryMaxAttempts
func WithMaxAttempts(n int) EnqueueOption {
	return func(r *EnqueueRequest) { r.MaxAttempts, r.maxSet = n, true }
}

// WithHandlingTimeout bounds how long one handling of the message may take:
// Timeout middleware uses d over its own. Like [WithMaxAttempts] it is
// stored with the content. d must be positive and at most [MaxDuration].
func WithHandlingTimeout(d time.Duration) EnqueueOption {
	return func(r *EnqueueRequest) { r.Timeout, r.timeoutSet = d, true }
}

// MaxAttemptsLimit is the largest [WithMaxAttempts].
const MaxAttemptsLimit = 1 << 30

// WithUpdate lets the enqueue replace a queued message with the same id.
func WithUpdate() EnqueueOption { return func(r *EnqueueRequest) { r.CanUpdate = true } }

// WithRequeue lets the enqueue requeue a locked or done message with the same id.
func WithRequeue() EnqueueOption { return func(r *EnqueueRequest) { r.CanRequeue = true } }

// WithResetDelay restarts the initial backoff of a queued message with the
// same id (debounce). It needs [WithDelay].
func WithResetDelay() EnqueueOption { return func(r *EnqueueRequest) { r.ResetDelay = true } }

// WithHeader sets one header.
func WithHeader(key, value string) EnqueueOption {
	return func(r *EnqueueRequest) {
		if r.Headers == nil {
			r.Headers = make(map[string]string, 1)
		}
		r.Headers[key] = value
	}
}

// WithHeaders sets several headers.
func WithHeaders(h map[string]string) EnqueueOption {
	return func(r *EnqueueRequest) {
		if r.Headers == nil {
			r.Headers = make(map[string]string, len(h))
		}
		for k, v := range h {
			r.Headers[k] = v
		}
	}
}

// NewID returns a fresh random message id (128 random bits, 22 characters).
// The bits come from the runtime's ChaCha8 generator, seeded from the
// operating system: unique across processes with overwhelming probability,
// and cheap enough for the enqueue hot path, but not meant as a secret.
func NewID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Class names the result in a fixed, low-cardinality set, for metric labels
// and span attributes: "added", "updated", "already_queued", "locked",
// "backoff", "invalid" or "failed".
func (r EnqueueResult) Class() string {
	switch {
	case r.Err == nil && r.Action == Updated:
		return "updated"
	case r.Err == nil:
		return "added"
	case errors.Is(r.Err, ErrAlreadyQueued):
		return "already_queued"
	case errors.Is(r.Err, ErrLocked):
		return "locked"
	case errors.Is(r.Err, ErrBackoff):
		return "backoff"
	case errors.Is(r.Err, ErrInvalid):
		return "invalid"
	}
	return "failed"
}

// IsRefusal reports whether an enqueue error is a refusal ([ErrAlreadyQueued],
// [ErrLocked], [ErrBackoff]): an answer that changed nothing and lost
// nothing, rather than a failure.
func IsRefusal(err error) bool {
	return errors.Is(err, ErrAlreadyQueued) || errors.Is(err, ErrLocked) || errors.Is(err, ErrBackoff)
}
