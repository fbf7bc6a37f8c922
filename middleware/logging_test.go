package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
)

// logLines runs h through Logging on a JSON handler at level and answers
// the decoded lines.
func logLines(t *testing.T, level slog.Level, res core.Result, m *core.Message, opts ...middleware.LoggingOption) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opts = append([]middleware.LoggingOption{middleware.WithLogClock(&fixedClock{times: []time.Time{t0, t0.Add(1500 * time.Millisecond)}})}, opts...)
	h := middleware.Logging(l, opts...)(handlerFunc(func(context.Context, *core.Message) core.Result { return res }))
	if got := h.Handle(bg, m); got != res {
		t.Fatalf("Logging changed the result: %v", got)
	}
	var lines []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		lines = append(lines, v)
	}
	return lines
}

func TestLoggingOneLinePerRetry(t *testing.T) {
	lines := logLines(t, slog.LevelInfo, core.RetryErr(2*time.Second, errors.New("smtp busy")), msg("m1", 3))
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1", len(lines))
	}
	l := lines[0]
	want := map[string]any{
		"level": "WARN", "msg": middleware.LogMsgRetry, "queue": "test", "id": "m1",
		"attempt": float64(3), "outcome": "retry", "backoff": float64(2 * time.Second),
		"error": "smtp busy", "duration": float64(1500 * time.Millisecond),
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("%s = %v, want %v", k, l[k], v)
		}
	}
	if _, ok := l["payload"]; ok {
		t.Error("the payload was logged without WithLogPayload")
	}
}

func TestLoggingErrorAtErrorLevelWithStack(t *testing.T) {
	p := &core.PanicError{Value: "boom", Stack: []byte("goroutine 7 [running]:\nmain.handler()")}
	lines := logLines(t, slog.LevelInfo, core.Fail(p), msg("m1", 1))
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["msg"] != middleware.LogMsgError {
		t.Fatalf("lines %v", lines)
	}
	if s, _ := lines[0]["stack"].(string); !strings.Contains(s, "main.handler") {
		t.Errorf("stack %q", s)
	}
	if _, ok := lines[0]["backoff"]; ok {
		t.Error("an error outcome logged a backoff")
	}
	lines = logLines(t, slog.LevelInfo, core.Fail(p), msg("m1", 1), middleware.WithLogStack(false))
	if _, ok := lines[0]["stack"]; ok {
		t.Error("stack logged with WithLogStack(false)")
	}
}

func TestLoggingSuccessAtDebugOnly(t *testing.T) {
	if lines := logLines(t, slog.LevelInfo, core.Success(), msg("m1", 1)); len(lines) != 0 {
		t.Fatalf("success logged at info: %v", lines)
	}
	lines := logLines(t, slog.LevelDebug, core.Success(), msg("m1", 1))
	if len(lines) != 1 || lines[0]["level"] != "DEBUG" || lines[0]["outcome"] != "success" {
		t.Fatalf("lines %v", lines)
	}
}

func TestLoggingPayloadOnlyWhenAsked(t *testing.T) {
	m := msg("m1", 1)
	m.Payload = []byte("secret-token-123")
	lines := logLines(t, slog.LevelInfo, core.Retry(0), m, middleware.WithLogPayload(6))
	if lines[0]["payload"] != "secret" {
		t.Fatalf("payload %v, want cut to 6 bytes", lines[0]["payload"])
	}
}

func TestLoggingLevels(t *testing.T) {
	lines := logLines(t, slog.LevelInfo, core.Success(), msg("m1", 1),
		middleware.WithLogLevels(slog.LevelInfo, slog.LevelInfo, slog.LevelWarn))
	if len(lines) != 1 || lines[0]["level"] != "INFO" {
		t.Fatalf("lines %v", lines)
	}
}
