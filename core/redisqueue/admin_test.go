package redisqueue

import (
	"context"
	"testing"
	"time"
)

// A message listed right after its enqueue has a positive age, under a
// few milliseconds (the enqueue can take under a millisecond).
func TestContentAgeJustEnqueued(t *testing.T) {
	t.Parallel()
	b, _, _ := newEnv(t)
	for i := range 20 {
		q := "q" + string(rune('a'+i))
		enqueue(t, b, q, "m")
		msgs, _, err := b.QueueContent(context.Background(), q, "", 10)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("content: %v %d", err, len(msgs))
		}
		if age := msgs[0].Age; age <= 0 || age > time.Second {
			t.Fatalf("age of a message just enqueued: %v", age)
		}
	}
}
