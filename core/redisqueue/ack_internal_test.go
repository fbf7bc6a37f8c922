package redisqueue

import (
	"fmt"
	"slices"
	"testing"
)

// distinctCalls keeps the order, starts a new call at a repeated id or
// after maxBatch entries, and no call holds an id twice.
func TestDistinctCalls(t *testing.T) {
	seq := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	}
	for _, tc := range []struct {
		name string
		ids  []string
		want []int // the sizes of the calls
	}{
		{"none", nil, nil},
		{"one", []string{"a"}, []int{1}},
		{"distinct", []string{"a", "b", "c"}, []int{3}},
		{"repeat", []string{"a", "b", "a", "c", "c"}, []int{2, 2, 1}},
		{"batches", func() []string {
			ids := make([]string, 2*maxBatch+1)
			for i := range ids {
				ids[i] = fmt.Sprint(i)
			}
			return ids
		}(), []int{maxBatch, maxBatch, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := seq(len(tc.ids))
			calls := distinctCalls(idx, func(i int) string { return tc.ids[i] })
			var sizes, all []int
			for _, c := range calls {
				sizes = append(sizes, len(c))
				all = append(all, c...)
				seen := map[string]bool{}
				for _, i := range c {
					if seen[tc.ids[i]] {
						t.Errorf("a call holds %q twice: %v", tc.ids[i], c)
					}
					seen[tc.ids[i]] = true
				}
			}
			if !slices.Equal(sizes, tc.want) {
				t.Errorf("call sizes %v, want %v", sizes, tc.want)
			}
			if !slices.Equal(all, idx) {
				t.Errorf("calls %v do not hold %v in order", calls, idx)
			}
		})
	}
}
