package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	"github.com/redghost/redghost/redghosttest"
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

// The publishing half of the story, checked with the test helpers: three
// tasks, each with its id and payload, and nothing else.
func TestPublishTasks(t *testing.T) {
	env := redghosttest.New(t)
	var out bytes.Buffer
	if err := publishTasks(t.Context(), &out, env.Publisher(), "quickstart"); err != nil {
		t.Fatal(err)
	}
	for _, ask := range []string{"success", "retry", "error"} {
		redghosttest.RequireEnqueued(env, redghosttest.Want[Task]{Queue: "quickstart", ID: "task-" + ask, Payload: Task{Ask: ask}})
	}
	env.RequireNothingElseEnqueued()
}

// The handling half: the handler's answers, attempt by attempt, as the
// story's worker gets them, with no worker and no sleep.
func TestTaskHandler(t *testing.T) {
	env := redghosttest.New(t)
	if err := publishTasks(t.Context(), io.Discard, env.Publisher(), "quickstart"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range env.Drain("quickstart", taskHandler(io.Discard, nil)) {
		got = append(got, h.String())
	}
	want := []string{
		"task-success attempt 1: success",
		"task-retry attempt 1: retry",
		"task-error attempt 1: error: asked to fail",
		"task-retry attempt 2: success",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("handlings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	res := env.Handle(taskHandler(io.Discard, nil), env.Message("quickstart", Task{Ask: "retry"}))
	if res != core.Retry(0) {
		t.Errorf("a retry task's first attempt: %v, want a retry", res)
	}
}
