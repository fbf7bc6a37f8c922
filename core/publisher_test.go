package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// recordSender notes the order in which publisher middleware run.
func recordSender(name string, order *[]string) core.PublishMiddleware {
	return func(next core.Sender) core.Sender {
		return core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			*order = append(*order, name)
			return next.Send(ctx, reqs)
		})
	}
}

func TestPublisherOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := newMem(t)
	var order []string
	// Nil entries and a nil codec cannot be wrong: they are skipped and
	// mean the default.
	pub := core.NewPublisher(b,
		core.WithCodec(nil),
		core.WithPublishMiddleware(recordSender("outer", &order), nil),
		core.WithPublishMiddleware(nil, recordSender("inner", &order)),
	)
	if _, err := pub.Publish(ctx, "pub-opts", map[string]int{"n": 1}, core.WithID("m")); err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "outer,inner" {
		t.Fatalf("middleware ran in order %v, want outer,inner", order)
	}
	msgs, _, err := core.NewQueue(b, "pub-opts").Content(ctx, "", 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("content %v %v", msgs, err)
	}
	var v map[string]int
	if err := json.Unmarshal(msgs[0].Payload, &v); err != nil || v["n"] != 1 {
		t.Fatalf("payload %q is not the JSON of the value (%v)", msgs[0].Payload, err)
	}
}

func TestPublishEncodeErrorNamesQueue(t *testing.T) {
	t.Parallel()
	pub := core.NewPublisher(newMem(t))
	res, err := pub.Publish(context.Background(), "emails", func() {})
	var ie *core.InvalidError
	if !errors.As(err, &ie) || ie.Field != "payload" || ie.Queue != "emails" || res.ID != "" {
		t.Fatalf("Publish of a func = %+v, %v; want an invalid payload of queue emails and no id", res, err)
	}
	if want := `redghost: queue "emails": invalid payload: does not encode: `; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q, want it to start %q", err, want)
	}
}

func TestInvalidErrorText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  core.InvalidError
		want string
	}{
		{core.InvalidError{Queue: "emails", Field: "payload", Reason: "too big"}, `redghost: queue "emails": invalid payload: too big`},
		{core.InvalidError{Field: "WithConcurrency", Reason: "must be at least 1, got 0"}, `redghost: invalid WithConcurrency: must be at least 1, got 0`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(&tc.err, core.ErrInvalid) {
			t.Errorf("%q does not match ErrInvalid", tc.want)
		}
	}
}

// WithMaxAttempts and WithHandlingTimeout take positive values; zero or
// less is refused before anything is sent (leave the option out for none).
func TestPublisherRefusesEmptyLimits(t *testing.T) {
	b := newMem(t)
	pub := core.NewPublisher(b)
	ctx := t.Context()
	for _, c := range []struct {
		opt   core.EnqueueOption
		field string
	}{
		{core.WithMaxAttempts(0), "max attempts"},
		{core.WithMaxAttempts(-2), "max attempts"},
		{core.WithMaxAttempts(core.MaxAttemptsLimit + 1), "max attempts"},
		{core.WithHandlingTimeout(0), "timeout"},
		{core.WithHandlingTimeout(-time.Second), "timeout"},
		{core.WithHandlingTimeout(core.MaxDuration + 1), "timeout"},
	} {
		_, err := pub.Enqueue(ctx, "q", []byte("x"), c.opt)
		var ie *core.InvalidError
		if !errors.As(err, &ie) || ie.Field != c.field || ie.Queue != "q" {
			t.Errorf("got %v, want an invalid %s", err, c.field)
		}
	}
	if names, _ := b.QueueNames(ctx); len(names) != 0 {
		t.Fatalf("refused enqueues wrote queues %v", names)
	}
}
