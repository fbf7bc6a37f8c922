package core

import "time"

// Clock tells the time. Workers use it for their statistics only (the
// queue's own time comes from the backend); the in-memory backend takes one
// so that tests can move time by hand.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }
