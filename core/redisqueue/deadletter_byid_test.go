package redisqueue

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/redghost/redghost/core"
)

func TestDeadLettersByID(t *testing.T) {
	t.Parallel()
	b, _, _ := newEnv(t)
	ctx := context.Background()
	enqueue(t, b, "q", "a", "b", "live")
	for _, d := range take(t, b, "q", 2) {
		errs, err := b.Ack(ctx, "q", []core.Ack{{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: "failed " + d.ID}})
		if err != nil || errs[0] != nil {
			t.Fatalf("ack %s: %v %v", d.ID, err, errs)
		}
	}

	got, err := b.DeadLettersByID(ctx, "q", "b", "live", "nope", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range got {
		ids = append(ids, d.ID)
		if d.Queue != "q" || d.Error != "failed "+d.ID || string(d.Payload) != d.ID || d.Attempt != 1 || d.FailedAt.IsZero() {
			t.Errorf("%+v", d)
		}
	}
	if !slices.Equal(ids, []string{"b", "a"}) {
		t.Errorf("ids %q, want b, a (the order asked, dead letters only, once each)", ids)
	}

	if got, err := b.DeadLettersByID(ctx, "q"); err != nil || len(got) != 0 {
		t.Errorf("no ids: %v, %v", got, err)
	}
	if got, err := b.DeadLettersByID(ctx, "nosuch", "a"); err != nil || len(got) != 0 {
		t.Errorf("queue with nothing: %v, %v", got, err)
	}
	if _, err := b.DeadLettersByID(ctx, "q", ""); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("empty id: %v, want ErrInvalid", err)
	}
	if _, err := b.DeadLettersByID(ctx, "a{b", "a"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("bad queue name: %v, want ErrInvalid", err)
	}
}
