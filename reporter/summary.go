package reporter

import (
	"fmt"
	"io"
	"math"

	"github.com/servegate/servegate/reporter/compare"
)

// Summary writes summary.md, the CI job summary: one short row per run, the verdicts
// and the changes against a baseline in narrow tables, and everything wordy behind a
// <details> fold or in the full report.
func Summary(w io.Writer, runs []*Run, problems []Problem) {
	fmt.Fprintf(w, "### servegate results\n\n")
	if n := simulatedNotice(runs); n != "" {
		fmt.Fprintf(w, "**%s**\n\n", mdText(n))
	}
	var body [][]string
	for _, r := range runs {
		pts, invalid, warns := len(r.Points), 0, 0
		minOK := math.Inf(1)
		for _, p := range r.Points {
			if p.Invalid != "" {
				invalid++
			}
			warns += len(p.Warnings)
			if v, ok := p.Metrics["success_rate"]; ok {
				minOK = math.Min(minOK, v)
			}
		}
		okCell := "-"
		if !math.IsInf(minOK, 1) {
			okCell = fmt.Sprintf("%.0f%%", minOK)
		}
		peak, measured := 0.0, false
		for _, p := range r.points("concurrent") {
			if v, ok := p.Metrics["output_token_throughput"]; ok && p.Invalid == "" {
				peak, measured = math.Max(peak, v), true
			}
		}
		peakCell := "-"
		if measured {
			peakCell = fmt.Sprintf("%.0f", peak)
		}
		body = append(body, []string{r.Label, fmt.Sprint(pts), okCell, fmt.Sprint(invalid), fmt.Sprint(warns), peakCell})
	}
	markdownTable(w, []string{"run", "points", "min success", "invalid", "warnings", "peak out tok/s"}, body)
	said := false
	for _, r := range runs {
		for _, p := range r.points("capacity") {
			if p.Capacity != nil {
				fmt.Fprintf(w, "\n- %s", mdText(p.Capacity.Sentence))
				said = true
			}
		}
	}
	if said {
		fmt.Fprintln(w)
	}
	for _, p := range problems {
		fmt.Fprintf(w, "\n- unreadable %s", mdText(p.String()))
	}
	if len(problems) > 0 {
		fmt.Fprintln(w)
	}
}

// Verdicts writes the hypothesis verdicts, when there are any: a narrow table of what
// each is about and the numbers behind it, then each claim, when and at which scale it was
// decided, and how, in a fold.
func Verdicts(w io.Writer, vs []Verdict) {
	if len(vs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Hypotheses\n\n")
	var body [][]string
	for _, v := range vs {
		body = append(body, []string{v.ID, v.Subject(), v.Label(), v.ObservedText(), v.Interval(), fmt.Sprintf("%.3g", v.Threshold)})
	}
	markdownTable(w, []string{"id", "about", "verdict", "observed", "95% interval", "threshold"}, body)
	fmt.Fprintf(w, "\n<details><summary>What each claims, and how it was decided</summary>\n\n")
	for _, v := range vs {
		fmt.Fprintf(w, "- **%s** (%s): %s.", mdText(v.ID), mdText(v.Label()), mdText(v.Claim))
		if v.Scale != "" || v.DecidedAt != "" {
			fmt.Fprintf(w, " Decided %s at %s scale.", mdText(orUnknown(v.DecidedAt)), mdText(v.Scale))
		}
		if v.Stale != "" {
			fmt.Fprintf(w, " STALE: %s.", mdText(v.Stale))
		}
		if v.Details != "" {
			fmt.Fprintf(w, " %s", mdText(v.Details))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n</details>\n")
}

// notable returns the changes worth a reader's attention: everything but "no significant
// change".
func notable(cs []compare.Change) []compare.Change {
	var out []compare.Change
	for _, c := range cs {
		if c.Verdict != compare.NoChange {
			out = append(out, c)
		}
	}
	return out
}

func changeRow(c compare.Change) []string {
	p := "-"
	if !math.IsNaN(c.P) {
		p = fmt.Sprintf("%.3f", c.P)
	}
	return []string{c.Scenario + "/" + c.Point, c.Metric, fmt.Sprintf("%.2f", c.Base), fmt.Sprintf("%.2f", c.New),
		fmt.Sprintf("%+.1f%%", 100*c.Delta), p, fmt.Sprintf("%d/%d", c.BaseN, c.NewN), c.Verdict}
}

var changeHeader = []string{"point", "metric", "baseline", "now", "change", "p", "trials", "verdict"}

// Changes writes the comparison with a baseline, when one was made: regressions and other
// notable changes, each with its p-value.
func Changes(w io.Writer, cs []compare.Change) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Against the baseline\n\n")
	n := notable(cs)
	if len(n) == 0 {
		fmt.Fprintf(w, "No significant change in %d comparisons.\n", len(cs))
		return
	}
	var body [][]string
	for _, c := range n {
		body = append(body, changeRow(c))
	}
	markdownTable(w, changeHeader, body)
}
