package core

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Limits bound what a backend accepts. The zero value of a field means its
// default (see [DefaultLimits]).
type Limits struct {
	MaxPayloadBytes int // default 4 MiB
	MaxHeaderBytes  int // sum of keys and values, default 16 KiB
	MaxHeaders      int // default 64
}

// Default limits.
const (
	MaxQueueNameBytes      = 256
	MaxIDBytes             = 256
	DefaultMaxPayloadBytes = 4 << 20
	DefaultMaxHeaderBytes  = 16 << 10
	DefaultMaxHeaders      = 64
	// MaxErrorBytes bounds the error text a worker keeps with a dead
	// letter; longer texts are cut.
	MaxErrorBytes = 4 << 10
	// MaxDuration bounds delays, backoffs and lock durations (about 10 years).
	MaxDuration = 10 * 365 * 24 * time.Hour
)

// DefaultLimits are the limits backends use unless told otherwise.
var DefaultLimits = Limits{
	MaxPayloadBytes: DefaultMaxPayloadBytes,
	MaxHeaderBytes:  DefaultMaxHeaderBytes,
	MaxHeaders:      DefaultMaxHeaders,
}

// WithDefaults fills zero fields from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	if l.MaxPayloadBytes <= 0 {
		l.MaxPayloadBytes = DefaultLimits.MaxPayloadBytes
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultLimits.MaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultLimits.MaxHeaders
	}
	return l
}

// ValidateQueueName rejects empty names, names over 256 bytes, names that
// are not UTF-8 or hold control characters, and names with '{' or '}'
// (they would break the Redis hash tag that keeps a queue on one slot).
func ValidateQueueName(name string) error {
	return validateName("queue", name, MaxQueueNameBytes, true)
}

// ValidateID rejects empty ids, ids over 256 bytes, and ids that are not
// UTF-8 or hold control characters.
func ValidateID(id string) error { return validateName("id", id, MaxIDBytes, false) }

func validateName(field, s string, max int, noBraces bool) error {
	switch {
	case s == "":
		return invalid(field, "empty")
	case len(s) > max:
		return invalid(field, "%d bytes, more than the %d allowed", len(s), max)
	case !utf8.ValidString(s):
		return invalid(field, "not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return invalid(field, "holds control character %U", r)
		}
	}
	if noBraces && strings.ContainsAny(s, "{}") {
		return invalid(field, "holds '{' or '}' (reserved for the Redis hash tag)")
	}
	return nil
}

// ValidateDuration rejects negative durations and durations over MaxDuration.
func ValidateDuration(field string, d time.Duration) error {
	if d < 0 {
		return invalid(field, "negative (%s)", d)
	}
	if d > MaxDuration {
		return invalid(field, "%s is longer than the %s allowed", d, MaxDuration)
	}
	return nil
}

// Validate checks one enqueue request against l (zero fields: defaults).
// The id must already be assigned. Past the queue name, the
// [*InvalidError] names the queue.
func (l Limits) Validate(r *EnqueueRequest) error {
	if err := ValidateQueueName(r.Queue); err != nil {
		return err
	}
	if err := l.validate(r); err != nil {
		if ie, ok := err.(*InvalidError); ok {
			ie.Queue = r.Queue
		}
		return err
	}
	return nil
}

func (l Limits) validate(r *EnqueueRequest) error {
	l = l.WithDefaults()
	if err := ValidateID(r.ID); err != nil {
		return err
	}
	if len(r.Payload) > l.MaxPayloadBytes {
		return invalid("payload", "%d bytes, more than the %d allowed", len(r.Payload), l.MaxPayloadBytes)
	}
	if len(r.Headers) > l.MaxHeaders {
		return invalid("headers", "%d headers, more than the %d allowed", len(r.Headers), l.MaxHeaders)
	}
	size := 0
	for k, v := range r.Headers {
		if k == "" {
			return invalid("headers", "empty header name")
		}
		size += len(k) + len(v)
	}
	if size > l.MaxHeaderBytes {
		return invalid("headers", "%d bytes, more than the %d allowed", size, l.MaxHeaderBytes)
	}
	if err := ValidateDuration("delay", r.Delay); err != nil {
		return err
	}
	if err := ValidateDuration("lock duration", r.LockDuration); err != nil {
		return err
	}
	if r.MaxAttempts < 0 || r.MaxAttempts > MaxAttemptsLimit {
		return invalid("max attempts", "must be positive and at most %d, got %d", MaxAttemptsLimit, r.MaxAttempts)
	}
	if err := ValidateDuration("timeout", r.Timeout); err != nil {
		return err
	}
	if r.ResetDelay && r.Delay == 0 {
		return invalid("options", "reset-delay needs a delay")
	}
	return nil
}

// ValidateAck checks one acknowledgement.
func ValidateAck(a *Ack) error {
	if err := ValidateID(a.ID); err != nil {
		return err
	}
	if a.Outcome > OutcomeError {
		return invalid("outcome", "unknown outcome %d", a.Outcome)
	}
	return ValidateDuration("backoff", a.Backoff)
}

// ValidateLock checks a worker's or a lock extension's lock duration: it
// must be positive.
func ValidateLock(d time.Duration) error {
	if d <= 0 {
		return invalid("lock duration", "must be positive, got %s", d)
	}
	return ValidateDuration("lock duration", d)
}
