package peers

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// unit formats a value of a table line.
type unit int

const (
	perSec   unit = iota // messages per second
	millis               // milliseconds
	byteSize             // bytes
	percent              // % of one core
	plain                // a count
	micros               // microseconds
)

func (u unit) format(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	switch u {
	case perSec:
		return thousands(v) + " msgs/s"
	case millis:
		if v < 10 {
			return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
		}
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case byteSize:
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	case percent:
		return strconv.FormatFloat(v, 'f', 2, 64) + " %"
	case micros:
		return strconv.FormatFloat(v, 'f', 2, 64) + " µs"
	}
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return thousands(v)
}

func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// floor is the figure a table line is held to, and its check.
type floor struct {
	text  string
	check func(ours, peer float64, hasPeer bool) (met, known bool)
	// refKey, when set, names another workload whose median for ours (its
	// line refLine) check gets in place of the peer's: a floor relative to
	// our own figure of the same run. The two are compared run by run
	// (see paired), not median against median.
	refKey  string
	refLine int
	// ratio: the line is a rate, compared with the reference by quotient;
	// otherwise by difference (a cost per message).
	ratio bool
}

// paired answers ours as check compares it with ref, the reference's
// median: rounds run every workload once each, in turn, so the VM's drift
// moves a round's figures together, and the median over rounds of each
// round's difference (or quotient) is steadier than the difference of
// the two medians. With one run it is the plain figure. ok is false if
// no round has both.
func (f *floor) paired(ours, ref map[int]float64, refMedian float64) (v float64, ok bool) {
	var ds []float64
	for run, o := range ours {
		r, has := ref[run]
		if !has || (f.ratio && r == 0) {
			continue
		}
		if f.ratio {
			ds = append(ds, o/r)
		} else {
			ds = append(ds, o-r)
		}
	}
	if len(ds) == 0 {
		return math.NaN(), false
	}
	if f.ratio {
		return refMedian * median(ds), true
	}
	return refMedian + median(ds), true
}

func minFloor(x float64) *floor {
	return &floor{text: "≥ " + thousands(x) + " msgs/s", check: func(o, _ float64, _ bool) (bool, bool) { return o >= x, true }}
}

func ratioFloor(x float64) *floor {
	return &floor{text: fmt.Sprintf("≥ %g× asynq", x), check: func(o, p float64, hasPeer bool) (bool, bool) {
		if !hasPeer || p <= 0 {
			return false, false
		}
		return o/p >= x, true
	}}
}

// e2eFloor is the end-to-end floor: ≥ 15× asynq and ≥ 50,000 msgs/s.
func e2eFloor() *floor {
	return &floor{text: "≥ 15× asynq; ≥ 50,000 msgs/s", check: func(o, p float64, hasPeer bool) (bool, bool) {
		if o < 50_000 {
			return false, true
		}
		if !hasPeer || p <= 0 {
			return false, false
		}
		return o/p >= 15, true
	}}
}

func maxFloor(x float64, text string) *floor {
	return &floor{text: text, check: func(o, _ float64, _ bool) (bool, bool) { return o <= x, true }}
}

func ltFloor(x float64, text string) *floor {
	return &floor{text: text, check: func(o, _ float64, _ bool) (bool, bool) { return o < x, true }}
}

// Row is one line of the table: medians over the runs.
type Row struct {
	Label        string
	Ours, Asynq  float64 // NaN when the system did not run
	Ratio        float64 // Ours/Asynq, NaN when unknown
	Floor, Met   string
	Errors       int // runs that failed
	unit         unit
	oursN, peerN int
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rows(cfg Config, ws []workload, recs []RunRecord) []Row {
	var out []Row
	for _, w := range ws {
		values := func(sys string, i int) (vs []float64, errs int) {
			for _, r := range recs {
				if r.Workload != w.key || r.System != sys {
					continue
				}
				if r.Err != nil {
					errs++
				}
				if i < len(r.Values) {
					vs = append(vs, r.Values[i])
				}
			}
			return vs, errs
		}
		for i, l := range w.lines {
			ov, oe := values("ours", i)
			av, ae := values("asynq", i)
			row := Row{Label: l.label, Ours: median(ov), Asynq: median(av), Ratio: math.NaN(),
				Errors: oe + ae, unit: l.unit, oursN: len(ov), peerN: len(av)}
			if len(ov) > 0 && len(av) > 0 && row.Asynq != 0 {
				row.Ratio = row.Ours / row.Asynq
			}
			if l.floor != nil {
				row.Floor = l.floor.text
				peer, hasPeer := row.Asynq, len(av) > 0
				ours, hasOurs := row.Ours, len(ov) > 0
				if l.floor.refKey != "" {
					byRun := func(key string, line int) map[int]float64 {
						m := map[int]float64{}
						for _, r := range recs {
							if r.Workload == key && r.System == "ours" && r.Err == nil && line < len(r.Values) {
								m[r.Run] = r.Values[line]
							}
						}
						return m
					}
					ref := byRun(l.floor.refKey, l.floor.refLine)
					rv := slices.Collect(maps.Values(ref))
					peer, hasPeer = median(rv), len(rv) > 0
					ours, hasOurs = l.floor.paired(byRun(w.key, i), ref, peer)
				}
				if hasOurs {
					if met, known := l.floor.check(ours, peer, hasPeer); known {
						row.Met = map[bool]string{true: "yes", false: "**no**"}[met]
					}
				}
			}
			out = append(out, row)
		}
		if cfg.Detail && w.messages != nil {
			out = append(out, detailRows(w, recs)...)
		}
	}
	return out
}

// detailRows are a workload's per-message costs: round trips, Redis
// command calls (inside scripts too) and Redis CPU.
func detailRows(w workload, recs []RunRecord) []Row {
	kinds := []struct {
		label string
		unit  unit
		f     func(m meterReading) float64
	}{
		{"  ↳ round trips per msg", plain, func(m meterReading) float64 { return float64(m.trips) / float64(m.messages) }},
		{"  ↳ Redis command calls per msg", plain, func(m meterReading) float64 { return float64(sum(m.calls)) / float64(m.messages) }},
		{"  ↳ Redis CPU per msg", micros, func(m meterReading) float64 { return m.redisCPU * 1e6 / float64(m.messages) }},
	}
	var out []Row
	for _, k := range kinds {
		get := func(sys string) []float64 {
			var vs []float64
			for _, r := range recs {
				if r.Workload == w.key && r.System == sys && r.meter.messages > 0 {
					vs = append(vs, k.f(r.meter))
				}
			}
			return vs
		}
		ov, av := get("ours"), get("asynq")
		row := Row{Label: k.label, Ours: median(ov), Asynq: median(av), Ratio: math.NaN(), unit: k.unit}
		if len(ov) > 0 && len(av) > 0 && row.Asynq != 0 {
			row.Ratio = row.Ours / row.Asynq
		}
		out = append(out, row)
	}
	return out
}

// WriteTable prints the header and the table in Markdown.
func (r *Report) WriteTable(w io.Writer) {
	for _, h := range r.Header {
		fmt.Fprintln(w, h)
	}
	fmt.Fprintln(w)
	cells := [][]string{{"workload", "ours", "asynq", "ours/asynq", "floor", "met"}}
	for _, row := range r.Rows {
		ratio := "—"
		if !math.IsNaN(row.Ratio) {
			ratio = strconv.FormatFloat(row.Ratio, 'f', 2, 64) + "×"
		}
		label := row.Label
		if row.Errors > 0 {
			label += fmt.Sprintf(" (%d run(s) failed)", row.Errors)
		}
		cells = append(cells, []string{label, row.unit.format(row.Ours), row.unit.format(row.Asynq), ratio, row.Floor, row.Met})
	}
	width := make([]int, len(cells[0]))
	for _, c := range cells {
		for i, s := range c {
			width[i] = max(width[i], len([]rune(s)))
		}
	}
	right := []bool{false, true, true, true, false, false}
	for ri, c := range cells {
		var b strings.Builder
		b.WriteString("|")
		for i, s := range c {
			pad := strings.Repeat(" ", width[i]-len([]rune(s)))
			if right[i] {
				b.WriteString(" " + pad + s + " |")
			} else {
				b.WriteString(" " + s + pad + " |")
			}
		}
		fmt.Fprintln(w, b.String())
		if ri == 0 {
			b.Reset()
			b.WriteString("|")
			for i := range c {
				if right[i] {
					b.WriteString(" " + strings.Repeat("-", width[i]-1) + ": |")
				} else {
					b.WriteString(" " + strings.Repeat("-", width[i]) + " |")
				}
			}
			fmt.Fprintln(w, b.String())
		}
	}
}
