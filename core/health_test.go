package core_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redghost/redghost/core"
)

// checkedBackend is a backend whose store check fails.
type checkedBackend struct {
	core.Backend
	err    error
	checks []string
}

func (b *checkedBackend) CheckHealth(ctx context.Context, queue string) error {
	b.checks = append(b.checks, queue)
	return b.err
}

func (b *checkedBackend) Health() core.Health { return core.Health{} }

// Worker.Start asks a HealthChecker backend about its queue first and
// answers its refusal, starting nothing.
func TestWorkerStartChecksHealth(t *testing.T) {
	refused := errors.New("store refused")
	b := &checkedBackend{Backend: newMem(t), err: refused}
	h := core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() })
	w := newWorker(t, core.NewQueue(b, "jobs"), h)
	ctx := context.Background()
	if err := w.Start(ctx); !errors.Is(err, refused) {
		t.Fatalf("Start answered %v, want the backend's refusal", err)
	}
	if len(b.checks) != 1 || b.checks[0] != "jobs" {
		t.Fatalf("checked %q, want jobs once", b.checks)
	}
	b.err = nil // fixed: a later Start goes ahead
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
