package otel

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// scratch is what a span's start needs for a moment: the start options
// with the link to a sampled producer, and the attributes of the message.
// The SDK copies both before Start and SetAttributes return, so they are
// reused from one message to the next instead of allocated for each: three
// allocations saved per message from a sampled producer (the link), one per
// recording span (its message's attributes).
type scratch struct {
	// link holds the one link of withLink, which reads it when applied
	// (WithLinks keeps the slice it is given; TestProcessLinksEachMessage-
	// ToItsProducer fails if it ever copies it): set link[0] before
	// passing withLink.
	link     []trace.Link
	withLink trace.SpanStartOption
	opts     []trace.SpanStartOption
	attrs    []attribute.KeyValue
}

var scratchPool = sync.Pool{New: func() any {
	s := &scratch{link: make([]trace.Link, 1)}
	s.withLink = trace.WithLinks(s.link...)
	return s
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// put gives s back, holding no message's data.
func (s *scratch) put() {
	s.link[0] = trace.Link{}
	clear(s.opts)
	s.opts = s.opts[:0]
	clear(s.attrs)
	s.attrs = s.attrs[:0]
	scratchPool.Put(s)
}

// withLinkTo answers opts followed by the link to sc, in s.
func (s *scratch) withLinkTo(opts []trace.SpanStartOption, sc trace.SpanContext, attrs []attribute.KeyValue) []trace.SpanStartOption {
	s.link[0] = trace.Link{SpanContext: sc, Attributes: attrs}
	s.opts = append(append(s.opts[:0], opts...), s.withLink)
	return s.opts
}
