package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

const want = `published task-success (added)
published task-retry (added)
published task-error (added)
handled task-success attempt 1: success
handled task-retry attempt 1: retry
handled task-error attempt 1: error: asked to fail
handled task-retry attempt 2: success
stopped cleanly: 2 success, 1 retry, 1 error
dead letter: task-error after 1 attempt(s): asked to fail
queue now: 0 total, 1 dead
`

func TestQuickstartInMemory(t *testing.T) {
	testStory(t, func() *bytes.Buffer {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := memqueue.New()
		if err != nil {
			t.Fatal(err)
		}
		if err := run(ctx, &out, b, "quickstart"); err != nil {
			t.Fatal(err)
		}
		return &out
	}())
}

func TestQuickstartRedis(t *testing.T) {
	srv := redistest.Start(t)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := redisqueue.New(srv.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, &out, b, "quickstart"); err != nil {
		t.Fatal(err)
	}
	testStory(t, &out)
}

func testStory(t *testing.T, out *bytes.Buffer) {
	t.Helper()
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
		os.Stdout.WriteString(got)
	}
}
