package otelsetup_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redghost/redghost/core"
	rgotel "github.com/redghost/redghost/otel"
	"github.com/redghost/redghost/otel/otelsetup"
	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var prop = propagation.TraceContext{}

// sender keeps the requests it is sent.
type sender struct{ got []core.EnqueueRequest }

func (s *sender) Send(_ context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
	s.got = append(s.got, reqs...)
	return make([]core.EnqueueResult, len(reqs)), nil
}

// publishAndHandle sends n messages one by one through a producer whose
// sampler is producer, handles each twice (two attempts) through a
// consumer whose sampler is consumer, and answers which messages' send and
// process spans were sampled.
func publishAndHandle(t *testing.T, n int, producer, consumer sdktrace.Sampler, opts ...rgotel.Option) (sent map[string]bool, processed map[string]int, links []trace.SpanContext) {
	t.Helper()
	psr, csr := tracetest.NewSpanRecorder(), tracetest.NewSpanRecorder()
	ptp := sdktrace.NewTracerProvider(sdktrace.WithSampler(producer), sdktrace.WithSpanProcessor(psr))
	ctp := sdktrace.NewTracerProvider(sdktrace.WithSampler(consumer), sdktrace.WithSpanProcessor(csr))
	s := &sender{}
	send := rgotel.PublishMiddleware(rgotel.WithTracerProvider(ptp), rgotel.WithPropagators(prop))(s)
	for i := range n {
		if _, err := send.Send(context.Background(), []core.EnqueueRequest{{Queue: "q", ID: fmt.Sprint("m", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	h := rgotel.Middleware(append([]rgotel.Option{rgotel.WithTracerProvider(ctp), rgotel.WithPropagators(prop)}, opts...)...)(
		core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() }))
	for _, r := range s.got {
		for attempt := 1; attempt <= 2; attempt++ {
			h.Handle(context.Background(), &core.Message{ID: r.ID, Queue: r.Queue, Headers: r.Headers, Attempt: attempt})
		}
	}
	sent, processed = map[string]bool{}, map[string]int{}
	for _, sp := range psr.Ended() {
		sent[attrOf(sp, "messaging.message.id")] = true
	}
	for _, sp := range csr.Ended() {
		processed[attrOf(sp, "messaging.message.id")]++
		for _, l := range sp.Links() {
			links = append(links, l.SpanContext)
		}
	}
	return sent, processed, links
}

func attrOf(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// With ratio sampling on both sides, a process span is kept exactly when
// its producer was: every attempt of a kept message, no link to a trace
// that was dropped.
func TestLinkedParentSamplerFollowsProducer(t *testing.T) {
	const n = 400
	sent, processed, links := publishAndHandle(t, n,
		sdktrace.TraceIDRatioBased(0.5),
		otelsetup.LinkedParentSampler(sdktrace.NeverSample()))
	if len(sent) == 0 || len(sent) == n {
		t.Fatalf("%d of %d producers sampled; the ratio sampler should keep about half", len(sent), n)
	}
	for id := range sent {
		if processed[id] != 2 {
			t.Errorf("message %s: producer kept, %d of 2 process spans kept", id, processed[id])
		}
	}
	for id := range processed {
		if !sent[id] {
			t.Errorf("message %s: process span kept, producer dropped", id)
		}
	}
	for _, l := range links {
		if !l.IsSampled() {
			t.Errorf("a kept process span links to a dropped trace: %v", l)
		}
	}

	// The root sampler still decides for messages of dropped producers.
	sent, processed, _ = publishAndHandle(t, 50, sdktrace.NeverSample(), otelsetup.LinkedParentSampler(sdktrace.AlwaysSample()))
	if len(sent) != 0 || len(processed) != 50 {
		t.Errorf("root AlwaysSample: %d producers, %d messages processed; want 0 and 50", len(sent), len(processed))
	}
}

// Without it, the consumer's ratio sampler decides alone, and kept process
// spans link to dropped producers: what LinkedParentSampler is for.
func TestRatioSamplingAloneLosesLinks(t *testing.T) {
	sent, processed, _ := publishAndHandle(t, 400, sdktrace.TraceIDRatioBased(0.5), sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.5)))
	orphans := 0
	for id := range processed {
		if !sent[id] {
			orphans++
		}
	}
	if orphans == 0 {
		t.Error("every kept process span had a kept producer; the test no longer shows the problem")
	}
}

// A span with a parent follows it, as ParentBased does: in child mode the
// process span shares the producer's decision.
func TestLinkedParentSamplerFollowsParent(t *testing.T) {
	sent, processed, _ := publishAndHandle(t, 200, sdktrace.TraceIDRatioBased(0.5),
		otelsetup.LinkedParentSampler(sdktrace.AlwaysSample()), rgotel.WithChildOfProducer())
	if len(processed) != len(sent) {
		t.Errorf("%d messages processed in kept traces, %d producers kept; want equal", len(processed), len(sent))
	}
	for id := range processed {
		if !sent[id] {
			t.Errorf("message %s: child process span kept, producer dropped", id)
		}
	}
}

func TestLinkedParentSamplerNilRootAndDescription(t *testing.T) {
	s := otelsetup.LinkedParentSampler(nil)
	if got := s.Description(); got != "LinkedParentSampler{root:AlwaysOnSampler}" {
		t.Errorf("Description() = %q", got)
	}
	r := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), Name: "x"})
	if r.Decision != sdktrace.RecordAndSample {
		t.Errorf("nil root: decision %v, want RecordAndSample", r.Decision)
	}
}

// Setup installs the sampler WithSampler gives.
func TestSetupWithSampler(t *testing.T) {
	restoreGlobals(t)
	exp := &keepExporter{}
	shutdown, err := otelsetup.Setup(context.Background(), "svc", otelsetup.WithSpanExporter(exp), otelsetup.WithSampler(sdktrace.NeverSample()))
	if err != nil {
		t.Fatal(err)
	}
	_, span := otelapi.Tracer("t").Start(context.Background(), "op")
	if span.SpanContext().IsSampled() {
		t.Error("span sampled under WithSampler(NeverSample)")
	}
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
