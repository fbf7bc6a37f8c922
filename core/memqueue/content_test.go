package memqueue

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// firstAfter answers what sorting every id above the cursor and taking
// the first n would, for any n (a huge one too).
func TestFirstAfter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	msgs := map[string]*record{}
	var all []string
	for range 500 {
		id := fmt.Sprintf("id%d", r.IntN(1_000_000))
		if msgs[id] == nil {
			msgs[id] = &record{}
			all = append(all, id)
		}
	}
	slices.Sort(all)
	for _, cursor := range []string{"", all[0], all[100], all[len(all)-1], "zzz"} {
		var above []string
		for _, id := range all {
			if id > cursor {
				above = append(above, id)
			}
		}
		for _, n := range []int{1, 2, 50, 499, 500, 501, math.MaxInt, 0} {
			want := above
			if n > 0 && n < len(want) {
				want = want[:n]
			}
			if got := firstAfter(msgs, cursor, n); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("cursor %q n %d: %d ids, want %d", cursor, n, len(got), len(want))
			}
		}
	}
}
