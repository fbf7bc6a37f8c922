package otel

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// RedisHook returns a go-redis hook that traces Redis commands as CLIENT
// spans named after the command ("evalsha", "set", ...) or "pipeline",
// with db.system.name "redis", db.operation.name and, for pipelines,
// db.operation.batch.size. Add it with client.AddHook.
//
// It traces a command only when the context already carries a valid span,
// so that the Redis calls of a traced handler or request show up under it,
// while a worker's own polling, acknowledgements and heartbeats (which run
// on contexts without a span) do not start a trace each. redis.Nil is not
// an error. Of the options, only [WithTracerProvider] and [WithAttributes]
// apply. For a full instrumentation, go-redis's extra/redisotel module is the
// alternative.
func RedisHook(opts ...Option) redis.Hook {
	return redisHook{c: newConfig(opts)}
}

type redisHook struct{ c *config }

var _ redis.Hook = redisHook{}

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return next(ctx, cmd)
		}
		ctx, span := h.start(ctx, cmd.Name(), semconv.DBOperationName(strings.ToUpper(cmd.Name())))
		err := next(ctx, cmd)
		endRedis(span, err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return next(ctx, cmds)
		}
		ctx, span := h.start(ctx, "pipeline",
			semconv.DBOperationName("PIPELINE"), semconv.DBOperationBatchSize(len(cmds)))
		err := next(ctx, cmds)
		if err == nil {
			for _, c := range cmds {
				if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
					err = e
					break
				}
			}
		}
		endRedis(span, err)
		return err
	}
}

func (h redisHook) start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	attrs = append(attrs, semconv.DBSystemNameRedis)
	attrs = append(attrs, h.c.attrs...)
	return h.c.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// endRedis ends a Redis span with the command's error, if it is one.
func endRedis(span trace.Span, err error) {
	if err != nil && !errors.Is(err, redis.Nil) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(semconv.ErrorTypeKey.String(redisErrorType(err)))
	}
	span.End()
}

// redisErrorType is the error prefix Redis answers (ERR, WRONGTYPE,
// NOSCRIPT, ...), "timeout" or the Go type of the error.
func redisErrorType(err error) string {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		prefix, _, _ := strings.Cut(rerr.Error(), " ")
		if prefix != "" && strings.ToUpper(prefix) == prefix {
			return prefix
		}
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return "timeout"
	}
	return ErrorType(err)
}
