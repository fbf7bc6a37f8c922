package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/redghost/redghost/core"
)

// User is what the user store knows about a user.
type User struct {
	ID, Name, Address string
}

// UserStore finds users. The handler depends on this interface, not on a
// database: main injects an in-memory one.
type UserStore interface {
	User(ctx context.Context, id string) (*User, error)
}

// ErrNoUser: the store has no such user. A message for one can never
// succeed, so the handler answers an error outcome (a dead letter).
var ErrNoUser = errors.New("no such user")

// memUsers is an in-memory UserStore. A nil entry is a corrupt record: the
// store answers (nil, nil), which a careless handler dereferences.
type memUsers map[string]*User

func (s memUsers) User(_ context.Context, id string) (*User, error) {
	u, ok := s[id]
	if !ok {
		return nil, ErrNoUser
	}
	return u, nil
}

// Mailer sends an email.
type Mailer interface {
	Send(ctx context.Context, to, body string) error
}

// ErrSMTPDown: the mail server refused the connection.
var ErrSMTPDown = errors.New("smtp: connection refused")

// memMailer is an in-memory Mailer with faults to order: the next few
// sends can fail, and the next send to one address can hang, ignoring its
// context, until it is released. Its outbox notes the attempt of each
// email sent, as the handler saw it: the attempts that counted, without
// those the circuit breaker rejected.
type memMailer struct {
	mu       sync.Mutex
	outbox   []string
	failNext int
	hangTo   string
	hang     chan struct{}
	hung     chan struct{} // closed when the hanging send has started
}

// failSends makes the next n sends fail with ErrSMTPDown.
func (m *memMailer) failSends(n int) {
	m.mu.Lock()
	m.failNext = n
	m.mu.Unlock()
}

// hangSendTo makes the next send to addr hang until release is called.
func (m *memMailer) hangSendTo(addr string) (started <-chan struct{}, release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hangTo, m.hang, m.hung = addr, make(chan struct{}), make(chan struct{})
	var once sync.Once
	hang := m.hang
	return m.hung, func() { once.Do(func() { close(hang) }) }
}

func (m *memMailer) Send(ctx context.Context, to, body string) error {
	m.mu.Lock()
	if m.failNext > 0 {
		m.failNext--
		m.mu.Unlock()
		return ErrSMTPDown
	}
	if m.hangTo == to {
		hang, hung := m.hang, m.hung
		m.hangTo = ""
		m.mu.Unlock()
		close(hung)
		<-hang // a blocked connection that ignores ctx
		return errors.New("smtp: connection reset")
	}
	line := fmt.Sprintf("to %s: %q", to, body)
	if msg := core.MessageFrom(ctx); msg != nil { // for the story
		line += fmt.Sprintf(" (attempt %d)", msg.Attempt)
	}
	m.outbox = append(m.outbox, line)
	m.mu.Unlock()
	return nil
}

// drain answers the emails sent since the last drain, sorted.
func (m *memMailer) drain() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.outbox
	m.outbox = nil
	slices.Sort(out)
	return out
}
