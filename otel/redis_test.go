package otel_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/redghost/redghost/internal/redistest"
	rgotel "github.com/redghost/redghost/otel"
)

func TestRedisHook(t *testing.T) {
	sr, tp := newRecorder(t)
	srv := redistest.Shared(t)
	client := srv.Client(t)
	client.AddHook(rgotel.RedisHook(rgotel.WithTracerProvider(tp)))
	key := "otel-redis-hook-test"
	t.Cleanup(func() { client.Del(context.Background(), key) })

	// No span in the context: no trace of its own.
	if err := client.Set(context.Background(), key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n := len(sr.Ended()); n != 0 {
		t.Fatalf("%d spans for a command outside any trace, want 0", n)
	}

	ctx, parent := tp.Tracer("test").Start(context.Background(), "handler")
	_ = client.Get(ctx, key+"-missing").Err() // redis.Nil: not an error
	_ = client.Incr(ctx, key).Err()           // WRONGTYPE-like error: ERR value is not an integer
	_, _ = client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, key)
		p.Get(ctx, key)
		return nil
	})
	parent.End()

	spans := sr.Ended()
	byName := map[string]int{}
	for i, s := range spans {
		byName[s.Name()] = i
	}
	for _, name := range []string{"get", "incr", "pipeline"} {
		i, ok := byName[name]
		if !ok {
			t.Fatalf("no %q span among %v", name, byName)
		}
		s := spans[i]
		if s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("%s: kind %v parent %v, want a client child of the handler span", name, s.SpanKind(), s.Parent())
		}
		wantAttr(t, s, "db.system.name", "redis")
	}
	if s := spans[byName["get"]]; s.Status().Code != codes.Unset {
		t.Errorf("get of a missing key: status %v, want unset", s.Status())
	}
	if s := spans[byName["incr"]]; s.Status().Code != codes.Error {
		t.Errorf("failed incr: status %v, want error", s.Status())
	} else {
		wantAttr(t, s, "error.type", "ERR")
		wantAttr(t, s, "db.operation.name", "INCR")
	}
	wantAttr(t, spans[byName["pipeline"]], "db.operation.batch.size", 2)
}
