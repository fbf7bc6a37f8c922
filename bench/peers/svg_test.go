package peers

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// TestWriteSVG draws a small table and reads the chart back as XML: it
// must parse, carry every charted row's label and ratio as text, give each
// row two bars with the longer one at full length, and leave out the
// per-message detail lines.
func TestWriteSVG(t *testing.T) {
	rep := &Report{
		Header: []string{"machine: test box <2 cores> & no load", "date: 2026-11-27 12:00 UTC"},
		Rows: []Row{
			{Label: "enqueue, 50 goroutines, 1 msg/call", Ours: 98598, Asynq: 26565, Ratio: 98598.0 / 26565, unit: perSec},
			{Label: "  ↳ round trips per msg", Ours: 1, Asynq: 1, Ratio: 1, unit: plain},
			{Label: "latency enqueue→handler p99 @ 1000 msgs/s", Ours: 0.8, Asynq: 2.4, Ratio: 0.8 / 2.4, unit: millis},
			{Label: "latency enqueue→handler p50 @ 1000 msgs/s", Ours: 0.27, Asynq: 476, Ratio: 0.27 / 476, unit: millis},
			{Label: "Redis memory per queued 100-byte msg", Ours: 211, Asynq: math.NaN(), Ratio: math.NaN(), unit: byteSize, Errors: 1},
		},
	}
	var buf bytes.Buffer
	if err := rep.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}

	var texts []string
	var widths []string
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	var root string
	var inText bool
	var cur strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, buf.String())
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Local
				if el.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace = %q, want the SVG namespace", el.Name.Space)
				}
			}
			switch el.Name.Local {
			case "script", "foreignObject", "image", "style":
				t.Errorf("the SVG has a <%s>, which GitHub's README renderer drops or refuses", el.Name.Local)
			case "text":
				inText = true
				cur.Reset()
			case "rect":
				for _, a := range el.Attr {
					if a.Name.Local == "height" && a.Value == "14" {
						for _, a := range el.Attr {
							if a.Name.Local == "width" {
								widths = append(widths, a.Value)
							}
						}
					}
				}
			}
		case xml.CharData:
			if inText {
				cur.Write(el)
			}
		case xml.EndElement:
			if el.Name.Local == "text" {
				inText = false
				texts = append(texts, cur.String())
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element = %q, want svg", root)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"enqueue, 50 goroutines, 1 msg/call", "3.71×", "98,598 msgs/s", "26,565 msgs/s",
		"latency enqueue→handler p99 @ 1000 msgs/s (lower is better)", "0.33×", "0.80 ms", "2.40 ms",
		"latency enqueue→handler p50 @ 1000 msgs/s (lower is better)", "0.00057×", "0.27 ms", "476 ms",
		"Redis memory per queued 100-byte msg (lower is better) (1 run(s) failed)", "211 B", "—",
		"machine: test box <2 cores> & no load",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the chart's text lacks %q; it has:\n%s", want, all)
		}
	}
	if strings.Contains(all, "round trips per msg") {
		t.Errorf("a detail line is charted:\n%s", all)
	}
	// Four rows, two bars each: the longer of a pair is full length, the
	// missing asynq memory value has no bar.
	want := []string{"520", "140", "173", "520", "1", "520", "520", "0"}
	if strings.Join(widths, ",") != strings.Join(want, ",") {
		t.Errorf("bar widths = %v, want %v", widths, want)
	}
}
