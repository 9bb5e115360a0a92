package reporter

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math"
	"sort"

	"github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"
)

// Chart size in pixels.
const (
	ChartWidth  = 900
	ChartHeight = 500
)

// palette gives each framework one colour in every chart.
var palette = map[string]string{"vllm": "1f77b4", "sglang": "ff7f0e", "ollama": "2ca02c", "sim": "9467bd", "openai": "8c564b"}

var spare = []string{"d62728", "e377c2", "17becf", "bcbd22", "7f7f7f"}

// colorOf returns the framework's colour; others get a stable one from their name.
func colorOf(r *Run) drawing.Color {
	if hex, ok := palette[r.Framework]; ok {
		return drawing.ColorFromHex(hex)
	}
	h := fnv.New32a()
	h.Write([]byte(r.Framework))
	return drawing.ColorFromHex(spare[int(h.Sum32())%len(spare)])
}

// line is one plotted series, with an optional 95% band drawn as two thin dashed lines.
type line struct {
	Name      string
	Color     drawing.Color
	Dashed    bool
	X, Y      []float64
	Low, High []float64
	// reference lines (a target) belong to no run.
	reference bool
}

// Chart is one chart of the report.
type Chart struct {
	// File is the base name (without extension) under charts/.
	File, Title, XName, YName string
	lines                     []line
	bars                      []chart.Value
	// sparse charts (time series) get round x ticks instead of one per sample.
	sparse bool
	// yCap, when set, is the top of the y axis (100 for percentages).
	yCap float64
}

// Empty reports whether the chart has nothing to draw.
func (c Chart) Empty() bool { return len(c.lines) == 0 && len(c.bars) == 0 }

// render draws the chart. Titles go into PNGs only: go-chart's SVG output rotates the
// title with the y-axis name, so the HTML page captions its SVGs instead.
func (c Chart) render(p chart.RendererProvider, titled bool) ([]byte, error) {
	var buf bytes.Buffer
	title := chart.Style{FontSize: 14}
	name := c.Title
	if !titled {
		name = ""
	}
	if len(c.bars) > 0 {
		top := 0.0
		for _, b := range c.bars {
			top = max(top, b.Value)
		}
		// Bars start at zero: a bar's height must compare as a ratio.
		bc := chart.BarChart{Title: name, TitleStyle: title, Width: ChartWidth, Height: ChartHeight, BarWidth: 40,
			Background: chart.Style{Padding: chart.Box{Top: 50, Left: 20, Right: 20, Bottom: 20}},
			YAxis:      chart.YAxis{Name: c.YName, ValueFormatter: number, Range: &chart.ContinuousRange{Min: 0, Max: top * 1.08}},
			Bars:       c.bars}
		if err := bc.Render(p, &buf); err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.File, err)
		}
		return buf.Bytes(), nil
	}
	yTicks := niceTicks(0, c.yMax(), 8)
	for i := range yTicks {
		// go-chart places the rotated axis name by the labels' measured width and
		// overlaps short labels; padding them keeps the name clear.
		yTicks[i].Label = "\u00a0\u00a0\u00a0" + yTicks[i].Label // SVG collapses plain spaces
	}
	// Values sit on the secondary (left-hand) y axis, where readers look for them; the x
	// ticks are the measured x values, not go-chart's evenly spaced guesses.
	g := chart.Chart{Title: name, TitleStyle: title, Width: ChartWidth, Height: ChartHeight,
		Background: chart.Style{Padding: chart.Box{Top: 50, Left: 20, Right: 40, Bottom: 20}},
		XAxis:      chart.XAxis{Name: c.XName, Ticks: c.xTicks(), ValueFormatter: number},
		// go-chart (v2.1.2) sizes the secondary axis from the primary axis's ticks, so the
		// hidden primary axis carries the same ones.
		YAxis:          chart.YAxis{Style: chart.Style{Hidden: true}, Ticks: yTicks},
		YAxisSecondary: chart.YAxis{Name: c.YName, Ticks: yTicks}}
	legend := chart.Chart{}
	for _, l := range c.lines {
		st := chart.Style{StrokeColor: l.Color, StrokeWidth: 2.5, DotColor: l.Color, DotWidth: 3}
		if l.Dashed {
			st.StrokeDashArray = []float64{6, 4}
		}
		s := chart.ContinuousSeries{Name: l.Name, XValues: l.X, YValues: l.Y, Style: st, YAxis: chart.YAxisSecondary}
		g.Series = append(g.Series, s)
		legend.Series = append(legend.Series, s)
		if len(l.Low) == len(l.X) {
			band := chart.Style{StrokeColor: l.Color.WithAlpha(110), StrokeWidth: 1, StrokeDashArray: []float64{2, 3}}
			g.Series = append(g.Series,
				chart.ContinuousSeries{Name: l.Name + " 95% low", XValues: l.X, YValues: l.Low, Style: band, YAxis: chart.YAxisSecondary},
				chart.ContinuousSeries{Name: l.Name + " 95% high", XValues: l.X, YValues: l.High, Style: band, YAxis: chart.YAxisSecondary})
		}
	}
	g.Elements = []chart.Renderable{chart.Legend(&legend)}
	if err := g.Render(p, &buf); err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.File, err)
	}
	return buf.Bytes(), nil
}

// number formats an axis value: whole numbers from 100 up, a few digits below.
func number(v interface{}) string {
	f, _ := v.(float64)
	if f >= 100 || f <= -100 {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.3g", f)
}

// yMax is the top of the y axis: a quarter above the highest value or band, leaving room
// for the legend box in the top-left corner (go-chart's thin legend renders wrongly in
// browsers' SVG). The axis starts at zero so that heights compare as ratios.
func (c Chart) yMax() float64 {
	m := 0.0
	for _, l := range c.lines {
		for _, ys := range [][]float64{l.Y, l.High} {
			for _, y := range ys {
				m = max(m, y)
			}
		}
	}
	if c.yCap > 0 {
		return c.yCap
	}
	if m == 0 {
		return 1
	}
	ticks := niceTicks(0, m*1.25, 8)
	return ticks[len(ticks)-1].Value
}

// niceTicks returns about n ticks from lo up to at least hi at a round step (1, 2 or 5
// times a power of ten).
func niceTicks(lo, hi float64, n int) []chart.Tick {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, f := range []float64{1, 2, 5, 10} {
		if f*mag >= raw {
			step = f * mag
			break
		}
	}
	var ticks []chart.Tick
	for v := math.Floor(lo/step) * step; ; v += step {
		ticks = append(ticks, chart.Tick{Value: v, Label: number(v)})
		if v >= hi-step*1e-9 {
			break
		}
	}
	return ticks
}

// xTicks are the distinct measured x values, thinned to at most 12 labels.
func (c Chart) xTicks() []chart.Tick {
	if c.sparse {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, l := range c.lines {
			for _, x := range l.X {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
		return niceTicks(lo, hi, 10)
	}
	seen := map[float64]bool{}
	var xs []float64
	for _, l := range c.lines {
		for _, x := range l.X {
			if !seen[x] {
				seen[x] = true
				xs = append(xs, x)
			}
		}
	}
	sort.Float64s(xs)
	step := (len(xs) + 11) / 12
	var ticks []chart.Tick
	for i, x := range xs {
		if i%step == 0 || i == len(xs)-1 {
			ticks = append(ticks, chart.Tick{Value: x, Label: fmt.Sprintf("%g", x)})
		}
	}
	return ticks
}

// PNG renders the chart as PNG, titled.
func (c Chart) PNG() ([]byte, error) { return c.render(chart.PNG, true) }

// SVG renders the chart as SVG, untitled (see render), and checks that it holds nothing
// but drawing (see checkSVG).
func (c Chart) SVG() ([]byte, error) {
	b, err := c.render(escapedSVG, false)
	if err != nil {
		return nil, err
	}
	if err := checkSVG(b); err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.File, err)
	}
	return b, nil
}

// metricLine plots metric against x over a run's points of one scenario, with its band
// when every point has one. Points marked invalid are left out. Fewer than two points
// make no line.
func metricLine(r *Run, pts []Point, name string, x func(Point) float64, metric string) (line, bool) {
	l := line{Name: name, Color: colorOf(r)}
	band := true
	sort.SliceStable(pts, func(i, j int) bool { return x(pts[i]) < x(pts[j]) })
	for _, p := range pts {
		v, ok := p.Metrics[metric]
		if !ok || p.Invalid != "" {
			continue
		}
		l.X, l.Y = append(l.X, x(p)), append(l.Y, v)
		lo, okL := p.Low[metric]
		hi, okH := p.High[metric]
		band = band && okL && okH
		l.Low, l.High = append(l.Low, lo), append(l.High, hi)
	}
	if !band {
		l.Low, l.High = nil, nil
	}
	return l, len(l.X) >= 2
}

func concurrencyOf(p Point) float64 { return float64(p.Concurrency) }
func inputOf(p Point) float64       { return float64(p.InputTokens) }

// Charts returns every chart the runs have data for.
func Charts(runs []*Run) []Chart {
	perRun := func(file, title, xName, yName, scenario string, x func(Point) float64, metric string) Chart {
		c := Chart{File: file, Title: title, XName: xName, YName: yName}
		for _, r := range runs {
			if l, ok := metricLine(r, r.points(scenario), r.Label, x, metric); ok {
				c.lines = append(c.lines, l)
			}
		}
		return c
	}
	charts := []Chart{
		perRun("ttft_by_input", "TTFT by input length (single request, p50)", "input tokens", "TTFT p50 (ms)", "single_request", inputOf, "p50_ttft_ms"),
		perRun("throughput_vs_concurrency", "Output throughput vs concurrency", "concurrency (requests in flight)", "output tokens/s", "concurrent", concurrencyOf, "output_token_throughput"),
		perRun("p99_latency_vs_concurrency", "p99 end-to-end latency vs concurrency", "concurrency (requests in flight)", "E2E latency p99 (ms)", "concurrent", concurrencyOf, "p99_latency_ms"),
	}
	long := Chart{File: "long_context_ttft", Title: "Long-context TTFT (p50)", XName: "input tokens", YName: "TTFT p50 (ms)"}
	for _, r := range runs {
		byConc := map[int][]Point{}
		for _, p := range r.points("long_context") {
			byConc[p.Concurrency] = append(byConc[p.Concurrency], p)
		}
		concs := make([]int, 0, len(byConc))
		for c := range byConc {
			concs = append(concs, c)
		}
		sort.Ints(concs)
		for i, c := range concs {
			if l, ok := metricLine(r, byConc[c], fmt.Sprintf("%s c=%d", r.Label, c), inputOf, "p50_ttft_ms"); ok {
				l.Dashed = i > 0
				long.lines = append(long.lines, l)
			}
		}
	}
	charts = append(charts, long, prefixChart(runs), koreanChart(runs), attainmentChart(runs), paretoChart(runs))
	var out []Chart
	for _, c := range charts {
		if !c.Empty() {
			out = append(out, c)
		}
	}
	return out
}

// prefixChart plots each request's TTFT by its index in the first trial: the shared-prefix
// requests (solid) against the unshared control (dashed).
func prefixChart(runs []*Run) Chart {
	c := Chart{File: "prefix_cache_ttft", Title: "Prefix cache: TTFT by request (first trial)", XName: "request index", YName: "TTFT (ms)"}
	for _, r := range runs {
		for _, p := range r.points("prefix_cache") {
			l := line{Name: r.Label + " " + p.Point, Color: colorOf(r), Dashed: p.Point != "shared"}
			for _, s := range p.Requests {
				if s.Trial <= 1 && s.Error == "" {
					l.X, l.Y = append(l.X, float64(s.Index)), append(l.Y, s.TTFTMs)
				}
			}
			if len(l.X) >= 2 {
				c.lines = append(c.lines, l)
			}
		}
	}
	return c
}

// koreanChart compares output throughput for English and Korean prompts.
func koreanChart(runs []*Run) Chart {
	c := Chart{File: "korean_vs_english", Title: "Output throughput: English vs Korean prompts", YName: "output tokens/s"}
	for _, r := range runs {
		for _, p := range r.points("korean") {
			v, ok := p.Metrics["output_token_throughput"]
			if !ok {
				continue
			}
			st := chart.Style{FillColor: colorOf(r), StrokeColor: colorOf(r)}
			if p.Point == "ko" {
				st.FillColor = colorOf(r).WithAlpha(140)
			}
			c.bars = append(c.bars, chart.Value{Label: r.Label + " " + p.Point, Value: v, Style: st})
		}
	}
	if len(c.bars) < 2 {
		c.bars = nil
	}
	return c
}
