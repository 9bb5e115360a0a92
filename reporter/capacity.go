package reporter

import (
	"fmt"
	"io"
	"sort"

	"github.com/servegate/servegate/schema"
)

// targetPct is the highest percentile c's SLO asks of an objective, in percent: the
// attainment chart's target line. 0 when the file names none.
func targetPct(c *schema.Capacity) float64 {
	most := 0.0
	for _, o := range []*schema.Objective{c.SLO.TTFT, c.SLO.ITL, c.SLO.E2E} {
		if o != nil {
			most = max(most, o.Percentile)
		}
	}
	return most
}

// runCapacity is one run's capacity answer.
type runCapacity struct {
	run *Run
	c   *schema.Capacity
}

// capacities returns each run's capacity answers of one mode, in run order.
func capacities(runs []*Run, mode string) []runCapacity {
	var out []runCapacity
	for _, r := range runs {
		for _, p := range r.points("capacity") {
			if p.Capacity != nil && p.Capacity.Mode == mode {
				out = append(out, runCapacity{r, p.Capacity})
			}
		}
	}
	return out
}

// attainmentChart plots, per run, the share of requests that met every objective at each
// concurrency the capacity search probed, on a log2 axis (the search doubles). The SLO's
// target share is a grey dashed line; each run's capacity is a thin vertical line in the
// run's colour and dash, its value in the run's legend entry. Saturated probes have no
// attainment and are left out.
func attainmentChart(runs []*Run) Chart {
	c := Chart{File: "capacity_attainment", Title: "SLO attainment by concurrency (capacity search)",
		XName: "concurrent users (log scale)", YName: "requests meeting every objective (%)", yCap: 100,
		logX: true, octaves: true, scenario: "capacity"}
	target := 0.0
	for _, rc := range capacities(runs, "users") {
		s := series{Name: rc.run.Label, Style: rc.run.Style}
		probes := append([]schema.Probe(nil), rc.c.Probes...)
		sort.SliceStable(probes, func(i, j int) bool { return probes[i].Level < probes[j].Level })
		for _, p := range probes {
			if p.Saturated || p.Requests == 0 {
				continue
			}
			if n := len(s.X); n > 0 && s.X[n-1] == p.Level { // a straddle measured again
				s.Y[n-1] = p.AttainmentPct
				continue
			}
			s.X, s.Y = append(s.X, p.Level), append(s.Y, p.AttainmentPct)
		}
		if len(s.X) == 0 {
			continue
		}
		if rc.c.Value > 0 {
			s.Name = fmt.Sprintf("%s (capacity %g)", rc.run.Label, rc.c.Value)
			c.series = append(c.series, series{Style: rc.run.Style, rule: true,
				X: []float64{rc.c.Value, rc.c.Value}, Y: []float64{0, 100}})
		}
		c.series = append(c.series, s)
		target = max(target, targetPct(rc.c))
	}
	if len(c.series) > 0 && target > 0 {
		c.series = append(c.series, series{Name: fmt.Sprintf("target %g%%", target), reference: true, Y: []float64{target, target}})
	}
	return c
}

// paretoChart plots, per run, output tokens per second each user sees while its answer
// streams (1000 / mean TPOT) against the total output tokens per second, one point per
// load: the capacity search's probes where the run has them (they sweep the load up to
// where the SLO fails), else the concurrent scenario's points. Up and to the right is
// better; each line is the trade the run offers between the two.
func paretoChart(runs []*Run) Chart {
	c := Chart{File: "pareto", Title: "Per-user vs total output tokens/s (up and right is better)",
		XName: "total output tokens/s", YName: "output tokens/s per user", scenario: "concurrent"}
	for _, r := range runs {
		s := series{Name: r.Label, Style: r.Style}
		type xy struct{ x, y float64 }
		var pts []xy
		for _, p := range r.points("capacity") {
			if p.Capacity == nil || p.Capacity.Mode != "users" {
				continue
			}
			for _, pr := range p.Capacity.Probes {
				if !pr.Saturated && pr.OutputTokensPerUser > 0 {
					pts = append(pts, xy{pr.OutputTokenThroughput, pr.OutputTokensPerUser})
				}
			}
		}
		if len(pts) > 0 {
			s.Name += " (capacity probes)"
		} else {
			for _, p := range r.points("concurrent") {
				tpot, okT := p.Metrics["avg_tpot_ms"]
				total, okX := p.Metrics["output_token_throughput"]
				if okT && okX && tpot > 0 && p.Invalid == "" {
					pts = append(pts, xy{total, 1000 / tpot})
				}
			}
		}
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].x < pts[j].x })
		for _, p := range pts {
			s.X, s.Y = append(s.X, p.x), append(s.Y, p.y)
		}
		if len(s.X) > 0 {
			c.series = append(c.series, s)
		}
	}
	return c
}

// capacitySection writes the analysis report's capacity answers: each search's sentence
// and its probes.
func capacitySection(w io.Writer, runs []*Run) {
	var any bool
	for _, r := range runs {
		for _, p := range r.points("capacity") {
			if p.Capacity == nil {
				continue
			}
			if !any {
				fmt.Fprintf(w, "\n## Capacity under the SLO\n\nEach level was decided on the Wilson interval of the share of requests meeting each objective, and measured again, requests pooled, while that interval held the objective's percentile.\n")
				any = true
			}
			c := p.Capacity
			fmt.Fprintf(w, "\n### %s %s\n\n%s\n\n", mdText(r.Label), mdText(p.Point), mdText(c.Sentence))
			if c.Knee > 0 {
				fmt.Fprintf(w, "Throughput stopped growing with the load past %g.\n\n", c.Knee)
			}
			var body [][]string
			for _, pr := range c.Probes {
				att := fmt.Sprintf("%.1f", pr.AttainmentPct)
				if pr.Saturated {
					att = "-"
				}
				failed := fmt.Sprint(pr.Failed)
				if f := failures(pr.ErrorClasses); f != "" {
					failed += " (" + f + ")"
				}
				body = append(body, []string{fmt.Sprintf("%.4g", pr.Level), pr.Verdict, fmt.Sprint(pr.Requests), failed, att,
					fmt.Sprintf("%.0f", pr.OutputTokenThroughput), pr.Stop})
			}
			markdownTable(w, []string{"level", "verdict", "requests", "failed", "SLO %", "out tok/s", "why it stopped"}, body)
		}
	}
}

// capacityComparison writes the comparison's capacity table: each framework's answer with
// its interval and what bound it.
func capacityComparison(w io.Writer, runs []*Run) {
	fmt.Fprintf(w, "\n## capacity\n\n")
	var body [][]string
	for _, r := range runs {
		for _, p := range r.points("capacity") {
			c := p.Capacity
			if c == nil {
				continue
			}
			interval := fmt.Sprintf("%.4g–%.4g", c.Low, c.High)
			if c.AtCeiling {
				interval = fmt.Sprintf("≥ %.4g (ceiling)", c.Value)
			}
			body = append(body, []string{p.Point, r.Label, fmt.Sprintf("%.4g", c.Value), interval, orDash(c.Binding), fmt.Sprint(len(c.Probes))})
		}
	}
	markdownTable(w, []string{"search", "run", "capacity", "interval", "binds first", "probes"}, body)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
