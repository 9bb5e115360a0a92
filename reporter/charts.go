package reporter

import (
	"fmt"
	"sort"
)

// Chart size in pixels (PNG) and CSS pixels (SVG).
const (
	ChartWidth  = 900
	ChartHeight = 500
)

// series is one plotted line: a run's metric over x, with its 95% band where every point
// has one. A series of one point is drawn as a point.
type series struct {
	Name string
	// Style is the run's place in the report (runStyle): its colour and dash everywhere.
	Style int
	// Marker tells apart series of one run in one chart (c=1 and c=4; shared and control).
	Marker    int
	X, Y      []float64
	Low, High []float64
	// reference lines (a target) belong to no run: grey, dashed, thin, across the plot.
	reference bool
	// rule is a mark of a run (its capacity): a thin line in the run's colour and dash,
	// named in the run's own legend entry rather than one of its own.
	rule bool
}

func (s series) banded() bool {
	return len(s.Low) == len(s.X) && len(s.High) == len(s.X) && len(s.X) > 0
}

// bars is a grouped bar chart: one group per run, one bar per set (English, Korean) in a
// fixed order, each with its 95% interval over trials where there was one.
type bars struct {
	Sets   []string
	Groups []barGroup
}

type barGroup struct {
	Label string
	// Value and Err (the interval's half-width, 0 without one) are indexed by set; a
	// missing bar is NaN.
	Value, Err []float64
}

// Chart is one chart of the report.
type Chart struct {
	// File is the base name (without extension) under charts/.
	File, Title, XName, YName string
	series                    []series
	bars                      *bars
	// logX puts x on a log2 scale with a tick at every measured value (concurrency,
	// prompt lengths): 1, 8 and 16 do not crowd, 64 is not alone at the far end.
	logX bool
	// sparse charts (time series) get round x ticks instead of one per sample.
	sparse bool
	// octaves, on a log x axis, ticks the powers of two instead of every measured value
	// (a search's levels: 1, 2, 4 … and the bisections between).
	octaves bool
	// yCap, when set, is the top of the y axis (100 for percentages).
	yCap float64
	// scenario is the scenario the chart is shown under ("" for GPU and other charts);
	// gpu marks a GPU timeline.
	scenario string
	gpu      bool
}

// Empty reports whether the chart has nothing to draw.
func (c Chart) Empty() bool { return len(c.series) == 0 && (c.bars == nil || len(c.bars.Groups) == 0) }

// PNG renders the chart as PNG.
func (c Chart) PNG() ([]byte, error) { return c.render(formatPNG) }

// SVG renders the chart as SVG and checks that it holds nothing but drawing (see checkSVG).
func (c Chart) SVG() ([]byte, error) {
	b, err := c.render(formatSVG)
	if err != nil {
		return nil, err
	}
	if err := checkSVG(b); err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.File, err)
	}
	return b, nil
}

// metricSeries is metric against x over a run's points of one scenario, with its band when
// every point has one. Invalid points are left out: they measured the client.
func metricSeries(r *Run, pts []Point, name string, x func(Point) float64, metric string) (series, bool) {
	s := series{Name: name, Style: r.Style}
	band := true
	sort.SliceStable(pts, func(i, j int) bool { return x(pts[i]) < x(pts[j]) })
	for _, p := range pts {
		v, ok := p.Metrics[metric]
		if !ok || p.Invalid != "" {
			continue
		}
		s.X, s.Y = append(s.X, x(p)), append(s.Y, v)
		lo, okL := p.Low[metric]
		hi, okH := p.High[metric]
		band = band && okL && okH
		s.Low, s.High = append(s.Low, lo), append(s.High, hi)
	}
	if !band {
		s.Low, s.High = nil, nil
	}
	return s, len(s.X) > 0
}

func concurrencyOf(p Point) float64 { return float64(p.Concurrency) }
func inputOf(p Point) float64       { return float64(p.InputTokens) }

// Charts returns every chart the runs have data for, each titled with what it shows and,
// where runs are simulated, saying so.
func Charts(runs []*Run) []Chart {
	perRun := func(file, title, xName, yName, scenario string, x func(Point) float64, metric string) Chart {
		c := Chart{File: file, Title: title, XName: xName, YName: yName, logX: true, scenario: scenario}
		for _, r := range runs {
			if s, ok := metricSeries(r, r.points(scenario), r.Label, x, metric); ok {
				c.series = append(c.series, s)
			}
		}
		return c
	}
	charts := []Chart{
		perRun("ttft_by_input", "Time to first token by prompt length (one request at a time, median)",
			"prompt tokens (log scale)", "TTFT p50 (ms)", "single_request", inputOf, "p50_ttft_ms"),
		perRun("throughput_vs_concurrency", "Output throughput by concurrency (higher is better)",
			"requests in flight (log scale)", "output tokens/s", "concurrent", concurrencyOf, "output_token_throughput"),
		perRun("p99_latency_vs_concurrency", "p99 end-to-end latency by concurrency (lower is better)",
			"requests in flight (log scale)", "E2E latency p99 (ms)", "concurrent", concurrencyOf, "p99_latency_ms"),
		longContextChart(runs), prefixChart(runs), koreanChart(runs), attainmentChart(runs), paretoChart(runs),
	}
	var out []Chart
	for _, c := range charts {
		if !c.Empty() {
			out = append(out, marked(c, runs))
		}
	}
	return out
}

// marked says in a chart's title and file name that its runs are simulated: all of them
// ("simulated engine", file simulated_…), or some ("includes simulated runs").
func marked(c Chart, runs []*Run) Chart {
	switch simulated(runs) {
	case allSimulated:
		c.Title += ": SIMULATED engine"
		c.File = "simulated_" + c.File
	case someSimulated:
		c.Title += " (includes simulated runs)"
	}
	return c
}

// longContextChart plots TTFT by prompt length, one series per run and concurrency, told
// apart by marker.
func longContextChart(runs []*Run) Chart {
	c := Chart{File: "long_context_ttft", Title: "Long-prompt time to first token (median)", XName: "prompt tokens (log scale)",
		YName: "TTFT p50 (ms)", logX: true, scenario: "long_context"}
	for _, r := range runs {
		byConc := map[int][]Point{}
		for _, p := range r.points("long_context") {
			byConc[p.Concurrency] = append(byConc[p.Concurrency], p)
		}
		concs := make([]int, 0, len(byConc))
		for k := range byConc {
			concs = append(concs, k)
		}
		sort.Ints(concs)
		for i, k := range concs {
			if s, ok := metricSeries(r, byConc[k], fmt.Sprintf("%s c=%d", r.Label, k), inputOf, "p50_ttft_ms"); ok {
				s.Marker = i
				c.series = append(c.series, s)
			}
		}
	}
	return c
}

// prefixChart plots each request's TTFT by its index in the first trial: the shared-prefix
// requests against the unshared control, told apart by marker.
func prefixChart(runs []*Run) Chart {
	c := Chart{File: "prefix_cache_ttft", Title: "Prefix cache: time to first token of each request (first trial)",
		XName: "request (in the order sent)", YName: "TTFT (ms)", scenario: "prefix_cache"}
	for _, r := range runs {
		for _, name := range []string{"shared", "control"} {
			p := r.point("prefix_cache", name)
			if p == nil {
				continue
			}
			s := series{Name: r.Label + " " + name, Style: r.Style}
			if name == "control" {
				s.Marker = 1
			}
			for _, q := range p.Requests {
				if q.Trial <= 1 && q.Error == "" {
					s.X, s.Y = append(s.X, float64(q.Index)), append(s.Y, q.TTFTMs)
				}
			}
			if len(s.X) > 0 {
				c.series = append(c.series, s)
			}
		}
	}
	return c
}

// koreanChart compares output throughput for English and Korean prompts: a group per run,
// English then Korean, with the trials' 95% interval.
func koreanChart(runs []*Run) Chart {
	c := Chart{File: "korean_vs_english", Title: "Output throughput, English vs Korean prompts (same output length)",
		YName: "output tokens/s", scenario: "korean"}
	b := &bars{Sets: []string{"English", "Korean"}}
	for _, r := range runs {
		g := barGroup{Label: r.Label}
		found := false
		for _, name := range []string{"en", "ko"} {
			v, err := nan, 0.0
			if p := r.point("korean", name); p != nil && p.Invalid == "" {
				if x, ok := p.Metrics["output_token_throughput"]; ok {
					v, found = x, true
					if lo, ok := p.Low["output_token_throughput"]; ok {
						err = (p.High["output_token_throughput"] - lo) / 2
					}
				}
			}
			g.Value, g.Err = append(g.Value, v), append(g.Err, err)
		}
		if found {
			b.Groups = append(b.Groups, g)
		}
	}
	if len(b.Groups) > 0 {
		c.bars = b
	}
	return c
}
