// Package syncbuf is a byte buffer that many goroutines may write while a
// test reads it: the sink of a logger shared by a worker's goroutines, or
// of a child process's output.
package syncbuf

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent use. The zero value is
// empty, unbounded and ready.
type Buffer struct {
	// Limit, when positive, bounds the memory of a chatty writer: a write
	// that finds more than Limit bytes held drops them first.
	Limit int

	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Limit > 0 && b.buf.Len() > b.Limit {
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count is how many times s occurs in what was written.
func (b *Buffer) Count(s string) int { return strings.Count(b.String(), s) }
