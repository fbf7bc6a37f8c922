package otelsetup

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// LinkedParentSampler samples a span that has no parent but links to a
// sampled span, as a Red Ghost process span links to the send (or create)
// span of its message; other spans without a parent are sampled by root,
// and spans with a parent follow it, as [sdktrace.ParentBased](root) does.
//
// A process span starts a trace of its own, so a ratio sampler decides it
// independently of its producer: with 10% on both sides, only 1% of
// messages are traced end to end, and 9% of process spans link to a trace
// that was not kept. With LinkedParentSampler(sdktrace.TraceIDRatioBased(0.1))
// on the consumer side, a message whose producer was kept has its process
// spans kept too, every attempt of it, and messages sent by a producer
// that was not kept still have root's chance. Install it with
// [WithSampler].
//
// The trade-off against otel.WithChildOfProducer: a child shares its
// producer's trace and so its sampling decision with any ParentBased
// sampler, with no special sampler; but every attempt of a message, hours
// later perhaps, lands in one trace that stays open as long as the message
// lives, and a producer's trace grows with every handling. Linked traces
// stay one per handling, and this sampler keeps them in step with the
// producer's decision. Spans that are not Red Ghost's keep the sampling
// they had, except any root span linking to a sampled span, which is
// kept.
func LinkedParentSampler(root sdktrace.Sampler) sdktrace.Sampler {
	if root == nil {
		root = sdktrace.AlwaysSample()
	}
	return linkedParent{root: root, parent: sdktrace.ParentBased(root)}
}

type linkedParent struct {
	root, parent sdktrace.Sampler
}

func (s linkedParent) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	if !psc.IsValid() {
		for _, l := range p.Links {
			if l.SpanContext.IsSampled() {
				return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: psc.TraceState()}
			}
		}
	}
	return s.parent.ShouldSample(p)
}

func (s linkedParent) Description() string {
	return "LinkedParentSampler{root:" + s.root.Description() + "}"
}
