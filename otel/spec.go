package otel

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/redghost/redghost/core"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// maxSpecs bounds how many span descriptions (one per system and queue) a
// middleware keeps; past it (a publisher fed unbounded queue names), they
// are built per message.
const maxSpecs = 1024

// spanSpec is what every span of one middleware on one queue shares: its
// name and its start options, among them the attributes that do not change
// from message to message. Built once, read-only after.
type spanSpec struct {
	key  specKey
	name string
	opts []trace.SpanStartOption // kind and the shared attributes
}

type specKey struct{ system, queue string }

// specs caches the spanSpecs of one middleware.
type specs struct {
	kind   trace.SpanKind
	op     attribute.KeyValue   // messaging.operation.type
	opName string               // "process", "send" or "create"
	attrs  []attribute.KeyValue // WithAttributes
	m      sync.Map             // specKey -> *spanSpec
	// last is the spec get answered last: a worker or publisher on one
	// queue finds it by comparing two strings, no hashing.
	last atomic.Pointer[spanSpec]
	mu   sync.Mutex
	n    int
}

func newSpecs(kind trace.SpanKind, op attribute.KeyValue, opName string, attrs []attribute.KeyValue) *specs {
	return &specs{kind: kind, op: op, opName: opName, attrs: attrs}
}

// get answers the spec of spans on queue, for the system ctx names (see
// [DefaultSystem]); a queue "" gives spans named after the operation alone,
// without messaging.destination.name.
func (s *specs) get(ctx context.Context, queue string) *spanSpec {
	system := core.SystemFromContext(ctx)
	if system == "" {
		system = DefaultSystem
	}
	k := specKey{system, queue}
	if l := s.last.Load(); l != nil && l.key == k {
		return l
	}
	if v, ok := s.m.Load(k); ok {
		sp := v.(*spanSpec)
		s.last.Store(sp)
		return sp
	}
	attrs := make([]attribute.KeyValue, 0, 4+len(s.attrs))
	attrs = append(attrs, semconv.MessagingSystemKey.String(system))
	name := s.opName
	if queue != "" { // "": a batch onto several queues names none
		attrs = append(attrs, semconv.MessagingDestinationName(queue))
		name += " " + queue
	}
	attrs = append(attrs, s.op, semconv.MessagingOperationName(s.opName))
	attrs = append(attrs, s.attrs...)
	opts := []trace.SpanStartOption{trace.WithSpanKind(s.kind), trace.WithAttributes(attrs...)}
	sp := &spanSpec{
		key:  k,
		name: name,
		opts: opts,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n < maxSpecs {
		if v, loaded := s.m.LoadOrStore(k, sp); loaded {
			return v.(*spanSpec)
		}
		s.n++
		s.last.Store(sp)
	}
	return sp
}
