package reporter

import (
	"fmt"
	"io"
	"sort"

	"github.com/servegate/servegate/schema"
	"github.com/wcharczuk/go-chart/v2/drawing"
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

var grey = drawing.ColorFromHex("7f7f7f")

// attainmentChart plots, per framework, the share of requests that met every objective
// at each concurrency the capacity search probed, with the SLO's target share as a grey
// dashed line and each framework's capacity as a dashed vertical line in its colour.
// Saturated probes have no attainment and are left out.
func attainmentChart(runs []*Run) Chart {
	c := Chart{File: "capacity_attainment", Title: "SLO attainment vs concurrency (capacity search)",
		XName: "concurrent users", YName: "requests meeting every objective (%)", yCap: 100, sparse: true}
	target, most := 0.0, 0.0
	for _, rc := range capacities(runs, "users") {
		l := line{Name: rc.run.Label, Color: colorOf(rc.run)}
		probes := append([]schema.Probe(nil), rc.c.Probes...)
		sort.Slice(probes, func(i, j int) bool { return probes[i].Level < probes[j].Level })
		for _, p := range probes {
			if p.Saturated || p.Requests == 0 {
				continue
			}
			l.X, l.Y = append(l.X, p.Level), append(l.Y, p.AttainmentPct)
			most = max(most, p.Level)
		}
		if len(l.X) < 2 {
			continue
		}
		c.lines = append(c.lines, l)
		if rc.c.Value > 0 {
			c.lines = append(c.lines, line{Name: fmt.Sprintf("%s capacity %g", rc.run.Label, rc.c.Value), Color: colorOf(rc.run),
				Dashed: true, X: []float64{rc.c.Value, rc.c.Value}, Y: []float64{0, 100}})
		}
		target = max(target, targetPct(rc.c))
	}
	if len(c.lines) > 0 && target > 0 {
		c.lines = append(c.lines, line{Name: fmt.Sprintf("target %g%%", target), Color: grey, Dashed: true,
			X: []float64{0, most}, Y: []float64{target, target}, reference: true})
	}
	return c
}

// paretoChart plots, per framework, output tokens per second each user sees while its
// answer streams (1000 / mean TPOT) against the total output tokens per second, one point
// per load: the capacity search's probes where the run has them (they sweep the load up to
// where the SLO fails), else the concurrent scenario's points. Up and to the right is
// better; each line is the trade the framework offers between the two.
func paretoChart(runs []*Run) Chart {
	c := Chart{File: "pareto", Title: "Per-user vs total output throughput", XName: "total output tokens/s",
		YName: "output tokens/s per user", sparse: true}
	for _, r := range runs {
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
		if len(pts) == 0 {
			for _, p := range r.points("concurrent") {
				tpot, okT := p.Metrics["avg_tpot_ms"]
				total, okX := p.Metrics["output_token_throughput"]
				if okT && okX && tpot > 0 && p.Invalid == "" {
					pts = append(pts, xy{total, 1000 / tpot})
				}
			}
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i].x < pts[j].x })
		l := line{Name: r.Label, Color: colorOf(r)}
		for _, p := range pts {
			l.X, l.Y = append(l.X, p.x), append(l.Y, p.y)
		}
		if len(l.X) >= 2 {
			c.lines = append(c.lines, l)
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
				body = append(body, []string{fmt.Sprintf("%.4g", pr.Level), pr.Verdict, fmt.Sprint(pr.Requests), att,
					fmt.Sprintf("%.0f", pr.OutputTokenThroughput), pr.Stop})
			}
			markdownTable(w, []string{"level", "verdict", "requests", "SLO %", "out tok/s", "why it stopped"}, body)
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
	markdownTable(w, []string{"search", "framework", "capacity", "interval", "binds first", "probes"}, body)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
