package syncbuf

import (
	"fmt"
	"sync"
	"testing"
)

func TestConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprintf(&b, "w%d\n", i)
				_ = b.String()
			}
		})
	}
	wg.Wait()
	for i := range 8 {
		if n := b.Count(fmt.Sprintf("w%d\n", i)); n != 100 {
			t.Fatalf("writer %d: %d lines, want 100", i, n)
		}
	}
}
