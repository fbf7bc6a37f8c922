package peers

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/template"
)

// The chart's geometry, in SVG user units (pixels in a browser).
const (
	svgWidth    = 900
	svgMargin   = 16
	svgNameCol  = 96  // "Red Ghost" / "asynq" before the bars
	svgBarMax   = 520 // the longer bar of a pair
	svgBarH     = 14
	svgBarGap   = 4
	svgLabelH   = 18 // the workload's line above its bars
	svgGroupGap = 10
	svgHeadH    = 64 // title and legend
	svgFootH    = 15 // one line of the run's header under the chart
)

// svgBar is one system's bar of a pair.
type svgBar struct {
	Name, Value, Fill string
	Y, W              float64
}

// svgGroup is one row of the table: its label, ours and the peer's bars,
// and the ratio written at the right.
type svgGroup struct {
	Label, Ratio, RatioFill string
	Y                       float64
	Bars                    []svgBar
}

type svgChart struct {
	Width, Height                  float64
	Margin, NameCol, BarX, RatioX  float64
	BarH                           float64
	Title, Subtitle                string
	Groups                         []svgGroup
	Foot                           []svgFootLine
	OursFill, PeerFill, BetterFill string
	WorseFill                      string
	LegendY, LegendTextY           float64
}

type svgFootLine struct {
	Y    float64
	Text string
}

// WriteSVG draws the table as a bar chart: for each row, ours and asynq
// side by side, each pair scaled to its longer bar (rows have different
// units), the values at the bars' ends and the ratio ours/asynq at the
// right, green where ours is ahead. The per-message detail lines of
// -detail are left to the Markdown table. The SVG is plain (no script, no
// external font or stylesheet) so that GitHub shows it in a README.
func (r *Report) WriteSVG(w io.Writer) error {
	c := svgChart{
		Width: svgWidth, Margin: svgMargin, NameCol: svgNameCol,
		BarX: svgMargin + svgNameCol, BarH: svgBarH,
		RatioX:   svgWidth - svgMargin,
		Title:    "Red Ghost and asynq on one Redis: medians of rgbench",
		Subtitle: "each pair is scaled to its longer bar; the ratio is ours/asynq, green where Red Ghost is ahead",
		OursFill: "#c0392b", PeerFill: "#7f8c8d", BetterFill: "#1e8449", WorseFill: "#a04000",
		LegendY: 44, LegendTextY: 56,
	}
	y := float64(svgHeadH)
	for _, row := range r.Rows {
		if strings.HasPrefix(row.Label, "  ↳") || (math.IsNaN(row.Ours) && math.IsNaN(row.Asynq)) {
			continue
		}
		g := svgGroup{Label: row.Label, Y: y + svgLabelH - 6, Ratio: "—", RatioFill: "#555"}
		lowerBetter := row.unit != perSec
		if lowerBetter {
			g.Label += " (lower is better)"
		}
		if row.Errors > 0 {
			g.Label += fmt.Sprintf(" (%d run(s) failed)", row.Errors)
		}
		if !math.IsNaN(row.Ratio) {
			g.Ratio = svgRatio(row.Ratio)
			g.RatioFill = c.WorseFill
			if (row.Ratio >= 1) != lowerBetter || row.Ratio == 1 {
				g.RatioFill = c.BetterFill
			}
		}
		longest := 0.0
		for _, v := range []float64{row.Ours, row.Asynq} {
			if !math.IsNaN(v) {
				longest = max(longest, v)
			}
		}
		by := y + svgLabelH
		for _, b := range []struct {
			name, fill string
			v          float64
		}{{"Red Ghost", c.OursFill, row.Ours}, {"asynq", c.PeerFill, row.Asynq}} {
			bar := svgBar{Name: b.name, Fill: b.fill, Y: by, Value: row.unit.format(b.v)}
			if !math.IsNaN(b.v) && longest > 0 {
				bar.W = max(1, math.Round(b.v/longest*svgBarMax))
			}
			g.Bars = append(g.Bars, bar)
			by += svgBarH + svgBarGap
		}
		c.Groups = append(c.Groups, g)
		y = by + svgGroupGap
	}
	for _, h := range r.Header {
		y += svgFootH
		c.Foot = append(c.Foot, svgFootLine{Y: y, Text: h})
	}
	c.Height = y + svgMargin

	var buf bytes.Buffer
	if err := svgTemplate.Execute(&buf, c); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// svgRatio writes a ratio as the table does, with two decimals, except
// where those would show nothing (a latency of 0.27 ms against 476 ms):
// then with two significant digits.
func svgRatio(r float64) string {
	if r != 0 && math.Abs(r) < 0.1 {
		return strconv.FormatFloat(r, 'g', 2, 64) + "×"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}

func xmlText(s string) (string, error) {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return "", err
	}
	return b.String(), nil
}

var svgTemplate = template.Must(template.New("svg").Funcs(template.FuncMap{
	"x":   xmlText,
	"add": func(a, b float64) float64 { return a + b },
}).Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="13">
<rect width="{{.Width}}" height="{{.Height}}" fill="#ffffff"/>
<text x="{{.Margin}}" y="22" font-size="16" font-weight="bold" fill="#222">{{x .Title}}</text>
<text x="{{.Margin}}" y="38" font-size="12" fill="#555">{{x .Subtitle}}</text>
<rect x="{{.Margin}}" y="{{.LegendY}}" width="12" height="12" fill="{{.OursFill}}"/>
<text x="{{add .Margin 18}}" y="{{.LegendTextY}}" fill="#222">Red Ghost</text>
<rect x="{{add .Margin 100}}" y="{{.LegendY}}" width="12" height="12" fill="{{.PeerFill}}"/>
<text x="{{add .Margin 118}}" y="{{.LegendTextY}}" fill="#222">asynq</text>
<text x="{{.RatioX}}" y="{{.LegendTextY}}" text-anchor="end" font-weight="bold" fill="#222">ours/asynq</text>
{{- range .Groups}}
<g>
<text x="{{$.Margin}}" y="{{.Y}}" font-weight="bold" fill="#222">{{x .Label}}</text>
{{- range .Bars}}
<text x="{{$.Margin}}" y="{{add .Y 11}}" fill="#444">{{.Name}}</text>
<rect x="{{$.BarX}}" y="{{.Y}}" width="{{.W}}" height="{{$.BarH}}" fill="{{.Fill}}"/>
<text x="{{add $.BarX (add .W 6)}}" y="{{add .Y 11}}" fill="#222">{{x .Value}}</text>
{{- end}}
<text x="{{$.RatioX}}" y="{{add .Y 26}}" text-anchor="end" font-size="18" font-weight="bold" fill="{{.RatioFill}}">{{x .Ratio}}</text>
</g>
{{- end}}
{{- range .Foot}}
<text x="{{$.Margin}}" y="{{.Y}}" font-size="11" fill="#666">{{x .Text}}</text>
{{- end}}
</svg>
`))
