package core_test

import (
	"sync"
	"testing"

	"github.com/redghost/redghost/core"
)

func TestNewIDIsUniqueAcrossGoroutines(t *testing.T) {
	t.Parallel()
	const goroutines, each = 8, 20000
	ids := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				ids[g] = append(ids[g], core.NewID())
			}
		}()
	}
	wg.Wait()
	seen := make(map[string]bool, goroutines*each)
	for _, list := range ids {
		for _, id := range list {
			if len(id) != 22 || core.ValidateID(id) != nil {
				t.Fatalf("id %q: want 22 valid characters", id)
			}
			if seen[id] {
				t.Fatalf("id %q generated twice", id)
			}
			seen[id] = true
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	for b.Loop() {
		_ = core.NewID()
	}
}
