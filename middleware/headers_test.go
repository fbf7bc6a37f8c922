package middleware_test

import (
	"context"
	"maps"
	"testing"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
)

type tenantKey struct{}

func tenantHeader(ctx context.Context) map[string]string {
	if t, ok := ctx.Value(tenantKey{}).(string); ok {
		return map[string]string{"tenant": t}
	}
	return nil
}

func TestSetHeadersLeavesTheCallersRequestsAlone(t *testing.T) {
	var sent []core.EnqueueRequest
	s := middleware.SetHeaders(tenantHeader)(core.SenderFunc(func(_ context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
		sent = reqs
		return make([]core.EnqueueResult, len(reqs)), nil
	}))
	own := map[string]string{"tenant": "forged", "kind": "welcome"}
	reqs := []core.EnqueueRequest{{Queue: "q", ID: "1", Headers: own}, {Queue: "q", ID: "2"}}
	ctx := context.WithValue(bg, tenantKey{}, "acme")
	if _, err := s.Send(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(sent[0].Headers, map[string]string{"tenant": "acme", "kind": "welcome"}) ||
		!maps.Equal(sent[1].Headers, map[string]string{"tenant": "acme"}) {
		t.Fatalf("sent headers %v and %v", sent[0].Headers, sent[1].Headers)
	}
	if own["tenant"] != "forged" || reqs[1].Headers != nil {
		t.Fatalf("the caller's requests were changed: %v, %v", own, reqs[1].Headers)
	}

	// Nothing to set: the batch goes through as is.
	if _, err := s.Send(bg, reqs); err != nil {
		t.Fatal(err)
	}
	if &sent[0] != &reqs[0] {
		t.Fatal("an empty header set copied the batch")
	}
}
