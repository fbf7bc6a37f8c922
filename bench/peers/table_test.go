package peers

import (
	"testing"
)

// A floor relative to our own bare row is checked round by round: a round
// the VM ran slow moves both figures of that round, and must not decide
// the row. Here every round adds 0.5 µs but one, whose bare figure is low:
// the medians differ by 3.5 µs, the rounds by 0.5.
func TestFloorComparesRoundByRound(t *testing.T) {
	ws := []workload{
		{key: "chain-bare", lines: []line{{label: "bare", unit: perSec}, {label: "cpu", unit: micros}}},
		{key: "chain-x", lines: []line{{label: "x", unit: perSec, floor: &floor{text: "≥ 90 % of bare", refKey: "chain-bare", ratio: true,
			check: func(o, bare float64, ok bool) (bool, bool) { return o >= 0.9*bare, ok }}},
			{label: "cpu", unit: micros, floor: &floor{text: "≤ bare + 1 µs", refKey: "chain-bare", refLine: 1,
				check: func(o, bare float64, ok bool) (bool, bool) { return o <= bare+1, ok }}}}},
	}
	recs := []RunRecord{
		{Workload: "chain-bare", System: "ours", Run: 0, Values: []float64{100, 9.5}},
		{Workload: "chain-x", System: "ours", Run: 0, Values: []float64{95, 10}},
		{Workload: "chain-bare", System: "ours", Run: 1, Values: []float64{140, 13.5}},
		{Workload: "chain-x", System: "ours", Run: 1, Values: []float64{133, 14}},
		{Workload: "chain-bare", System: "ours", Run: 2, Values: []float64{150, 9}},
		{Workload: "chain-x", System: "ours", Run: 2, Values: []float64{100, 13}},
	}
	got := rows(Config{}, ws, recs)
	for _, r := range got {
		if r.Label == "x" && r.Met != "yes" {
			t.Errorf("rate: %s, want yes (per round 95 %%, 95 %%, 67 %%; medians 100 of 140 = 71 %%)", r.Met)
		}
		if r.Label == "cpu" && r.Floor != "" && r.Met != "yes" {
			t.Errorf("cpu: %s, want yes (per round +0.5, +0.5, +4 µs; medians +3.5 µs)", r.Met)
		}
	}
	// A round that only one of the two ran is left out.
	recs = append(recs[:4], RunRecord{Workload: "chain-x", System: "ours", Run: 2, Values: []float64{100, 20}})
	for _, r := range rows(Config{}, ws, recs) {
		if r.Label == "cpu" && r.Floor != "" && r.Met != "yes" {
			t.Errorf("cpu without round 2's bare: %s, want yes", r.Met)
		}
	}
}
