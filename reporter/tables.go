package reporter

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/servegate/servegate/internal/terminal"
	"github.com/servegate/servegate/reporter/compare"
)

// column is one metric column of the comparison tables.
type column struct {
	Title  string
	Metric string
	Prec   int
}

// columns are the comparison table's metric columns (times in ms).
var columns = []column{
	{"ok %", "success_rate", 0},
	{"TTFT p50", "p50_ttft_ms", 1},
	{"TTFT p99", "p99_ttft_ms", 1},
	{"ITL p50", "p50_itl_ms", 2},
	{"TPOT p50", "p50_tpot_ms", 2},
	{"E2E p99", "p99_latency_ms", 0},
	{"out tok/s", "output_token_throughput", 0},
	{"req/s", "request_throughput", 2},
	{"SLO %", "slo_attainment_pct", 0},
	{"goodput req/s", "request_goodput", 2},
}

// checkColumns show how far each number can be trusted: the wait hidden by a concurrency
// limit, chunk gaps beside per-token ITL, the server's own TTFT and the client's load and
// how late it read (kept out of the latencies by kernel receive timestamps).
var checkColumns = []column{
	{"queue p99", "p99_queue_ms", 1},
	{"E2E p99 from schedule", "p99_latency_incl_queue_ms", 0},
	{"chunk gap p50", "p50_chunk_gap_ms", 2},
	{"ITL p50", "p50_itl_ms", 2},
	{"server TTFT", "server_avg_ttft_ms", 2},
	{"TTFT overhead", "ttft_overhead_ms", 2},
	{"client CPU %", "client_cpu_pct", 0},
	{"sched lag p99", "client_sched_lag_p99_ms", 2},
	{"read lag p99", "client_read_lag_p99_ms", 2},
}

// serverColumns are what the server said about itself during each point (its Prometheus
// metrics): present only for servers that expose them (vLLM, SGLang).
var serverColumns = []column{
	{"prefix hit %", "server_prefix_cache_hit_rate", 1},
	{"KV peak %", "server_kv_cache_usage_peak_pct", 0},
	{"running peak", "server_running_peak", 0},
	{"waiting peak", "server_waiting_peak", 0},
	{"preemptions", "server_preemptions", 0},
	{"server gen tokens", "server_generation_tokens", 0},
}

// checkRows are the measurement-check rows of one scenario.
func checkRows(runs []*Run, scenario string) [][]string {
	return metricRows(runs, scenario, checkColumns, false)
}

// serverRows are the server-figure rows of one scenario; points with none are left out.
func serverRows(runs []*Run, scenario string) [][]string {
	return metricRows(runs, scenario, serverColumns, true)
}

// fractions are metrics stored as 0..1 and shown in percent.
var fractions = map[string]bool{"server_prefix_cache_hit_rate": true}

func metricRows(runs []*Run, scenario string, cols []column, skipEmpty bool) [][]string {
	var out [][]string
	for _, r := range runs {
		for _, p := range r.points(scenario) {
			rw := []string{p.Point, r.Label}
			found := false
			for _, c := range cols {
				v, ok := p.Metrics[c.Metric]
				if !ok {
					rw = append(rw, "-")
					continue
				}
				found = true
				if fractions[c.Metric] {
					v *= 100
				}
				rw = append(rw, fmt.Sprintf("%.*f", c.Prec, v))
			}
			if skipEmpty && !found {
				continue
			}
			out = append(out, rw)
		}
	}
	return out
}

func checkHeader() []string { return header(checkColumns) }

func header(cols []column) []string {
	h := []string{"point", "framework"}
	for _, c := range cols {
		h = append(h, c.Title)
	}
	return h
}

// cell formats a metric, with its 95% interval half-width when trials gave one.
func cell(p Point, c column) string {
	v, ok := p.Metrics[c.Metric]
	if !ok {
		return "-"
	}
	s := fmt.Sprintf("%.*f", c.Prec, v)
	if lo, ok := p.Low[c.Metric]; ok {
		s += fmt.Sprintf(" ±%.*f", c.Prec, (p.High[c.Metric]-lo)/2)
	}
	return s
}

// row is one line of a comparison table.
type row struct {
	Point, Label string
	Conc, In     string
	Cells        []string
	Notes        string
	Invalid      bool
}

// rows returns the comparison rows of one scenario: each point, each run.
func rows(runs []*Run, scenario string) []row {
	var names []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, p := range r.points(scenario) {
			if !seen[p.Point] {
				seen[p.Point] = true
				names = append(names, p.Point)
			}
		}
	}
	var out []row
	for _, name := range names {
		for _, r := range runs {
			for _, p := range r.points(scenario) {
				if p.Point != name {
					continue
				}
				rw := row{Point: name, Label: r.Label, Conc: fmt.Sprint(p.Concurrency), In: fmt.Sprintf("%.0f", p.Metrics["mean_input_tokens"])}
				for _, c := range columns {
					rw.Cells = append(rw.Cells, cell(p, c))
				}
				var notes []string
				if p.Invalid != "" {
					notes = append(notes, "INVALID")
					rw.Invalid = true
				}
				if n := len(p.Warnings); n > 0 {
					notes = append(notes, fmt.Sprintf("%d warning(s)", n))
				}
				if p.Trials > 1 {
					notes = append(notes, fmt.Sprintf("%d trials", p.Trials))
				}
				rw.Notes = strings.Join(notes, ", ")
				out = append(out, rw)
			}
		}
	}
	return out
}

func markdownTable(w io.Writer, header []string, body [][]string) {
	t := tablewriter.NewTable(w, tablewriter.WithRenderer(renderer.NewMarkdown()), tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header(mdCells(header))
	for _, b := range body {
		_ = t.Append(mdCells(b))
	}
	_ = t.Render()
}

// mdEscaper keeps text from a result file in its place in Markdown: a pipe does not end a table
// cell, a newline does not end a row or a list item (and start a heading), and no HTML tag,
// link or code span forms. summary.md becomes the CI job summary, which GitHub renders.
var mdEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "`", "\\`", "](", `\](`, "<", "&lt;", ">", "&gt;",
	"\r\n", " ", "\n", " ", "\r", " ")

// mdText is s fit for one line or one cell of Markdown; control characters are dropped.
func mdText(s string) string { return mdEscaper.Replace(terminal.Text(s)) }

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdText(c)
	}
	return out
}

func comparisonHeader() []string {
	h := []string{"point", "framework", "conc", "in"}
	for _, c := range columns {
		h = append(h, c.Title)
	}
	return append(h, "notes")
}

func (rw row) strings() []string {
	return append(append([]string{rw.Point, rw.Label, rw.Conc, rw.In}, rw.Cells...), rw.Notes)
}

// Comparison writes comparison.md: for each scenario, every point of every framework.
func Comparison(w io.Writer, runs []*Run) {
	fmt.Fprintf(w, "# servegate comparison\n\nTimes in ms; ± is the half-width of the 95%% interval over trials.\n")
	for _, sc := range scenarios(runs) {
		if sc == "capacity" { // an answer and its probes, not a point's figures
			capacityComparison(w, runs)
			continue
		}
		fmt.Fprintf(w, "\n## %s\n\n", mdText(sc))
		var body [][]string
		for _, rw := range rows(runs, sc) {
			body = append(body, rw.strings())
		}
		markdownTable(w, comparisonHeader(), body)
	}
}

// finding is one statement the analysis makes from the data.
type finding struct{ Scenario, Text string }

// material is the smallest ratio between the best and the worst run that a finding
// reports; closer results are not worth a sentence.
const material = 1.2

// best returns, per point, which run did materially best on a metric (lower or higher is
// better). Invalid points take no part.
func best(runs []*Run, scenario, metric string, lower bool) []finding {
	type cand struct {
		label string
		v     float64
	}
	byPoint := map[string][]cand{}
	var order []string
	for _, r := range runs {
		for _, p := range r.points(scenario) {
			v, ok := p.Metrics[metric]
			if !ok || p.Invalid != "" {
				continue
			}
			if _, seen := byPoint[p.Point]; !seen {
				order = append(order, p.Point)
			}
			byPoint[p.Point] = append(byPoint[p.Point], cand{r.Label, v})
		}
	}
	var out []finding
	for _, pt := range order {
		cs := byPoint[pt]
		if len(cs) < 2 {
			continue
		}
		sort.Slice(cs, func(i, j int) bool { return (cs[i].v < cs[j].v) == lower })
		ratio := cs[len(cs)-1].v / cs[0].v
		if !lower {
			ratio = cs[0].v / cs[len(cs)-1].v
		}
		if ratio < material {
			continue
		}
		out = append(out, finding{scenario, fmt.Sprintf("%s: best %s is %s (%.2f vs %.2f for %s, %.1fx)",
			pt, metric, cs[0].label, cs[0].v, cs[len(cs)-1].v, cs[len(cs)-1].label, ratio)})
	}
	return out
}

// findings are the analysis statements for all scenarios.
func findings(runs []*Run) []finding {
	var out []finding
	for _, sc := range scenarios(runs) {
		out = append(out, best(runs, sc, "p50_ttft_ms", true)...)
		out = append(out, best(runs, sc, "output_token_throughput", false)...)
	}
	for _, r := range runs {
		ps := r.points("concurrent")
		if len(ps) >= 2 {
			lo, hi := ps[0], ps[len(ps)-1]
			if a, b := lo.Metrics["output_token_throughput"], hi.Metrics["output_token_throughput"]; a > 0 {
				out = append(out, finding{"concurrent", fmt.Sprintf("%s scales %.1fx in output throughput from concurrency %d to %d",
					r.Label, b/a, lo.Concurrency, hi.Concurrency)})
			}
		}
		shared, control := r.point("prefix_cache", "shared"), r.point("prefix_cache", "control")
		if shared != nil && control != nil && control.Metrics["rest_avg_ttft_ms"] > 0 {
			out = append(out, finding{"prefix_cache", fmt.Sprintf("%s: warm shared-prefix TTFT is %.2fx the unshared control (%.2f vs %.2f ms)",
				r.Label, shared.Metrics["rest_avg_ttft_ms"]/control.Metrics["rest_avg_ttft_ms"], shared.Metrics["rest_avg_ttft_ms"], control.Metrics["rest_avg_ttft_ms"])})
		}
		en, ko := r.point("korean", "en"), r.point("korean", "ko")
		if en != nil && ko != nil && en.Metrics["output_token_throughput"] > 0 {
			// The text's own tokens where the run measured the chat template's share; the
			// whole prompt's in older files.
			per, what := "input_content_tokens_per_char", "content tokens per character"
			if _, ok := ko.Metrics[per]; !ok {
				per, what = "input_tokens_per_char", "prompt tokens per character (chat template included)"
			}
			out = append(out, finding{"korean", fmt.Sprintf("%s: Korean output throughput is %.2fx English; %s %.2f (ko) vs %.2f (en)",
				r.Label, ko.Metrics["output_token_throughput"]/en.Metrics["output_token_throughput"], what,
				ko.Metrics[per], en.Metrics[per])})
		}
	}
	return out
}

// attention lists invalid points and warnings, labelled.
func attention(runs []*Run) (invalid, warnings []string) {
	for _, r := range runs {
		for _, p := range r.Points {
			if p.Invalid != "" {
				invalid = append(invalid, fmt.Sprintf("%s %s/%s: %s", r.Label, p.Scenario, p.Point, p.Invalid))
			}
			for _, w := range p.Warnings {
				warnings = append(warnings, fmt.Sprintf("%s %s/%s: %s", r.Label, p.Scenario, p.Point, w))
			}
		}
	}
	return invalid, warnings
}

func provenanceLine(r *Run) string {
	prov := func(k string) string {
		if v, ok := r.Provenance[k]; ok && v != nil && v != "" {
			return fmt.Sprint(v)
		}
		return "?"
	}
	gpu := "no GPU sampled"
	if r.GPUInfo != nil {
		gpu = fmt.Sprint(r.GPUInfo["name"])
	}
	return fmt.Sprintf("%s: model %s, engine %s %s, %s, run %s, scale %s, servegate %s",
		r.Label, r.Model, prov("engine"), prov("engine_version"), gpu, r.Timestamp, prov("scale"), prov("servegate_commit"))
}

// Analysis writes analysis_report.md: what was run, what the numbers say, and what a
// reader must know before trusting them.
func Analysis(w io.Writer, runs []*Run, problems []Problem) {
	fmt.Fprintf(w, "# servegate analysis\n\n## Runs\n\n")
	for _, r := range runs {
		fmt.Fprintf(w, "- %s\n", mdText(provenanceLine(r)))
	}
	fmt.Fprintf(w, "\n## Findings\n\n")
	fs := findings(runs)
	if len(fs) == 0 {
		fmt.Fprintf(w, "Nothing to compare: one framework and no multi-point scenario.\n")
	}
	for _, f := range fs {
		fmt.Fprintf(w, "- %s — %s\n", mdText(f.Scenario), mdText(f.Text))
	}
	fmt.Fprintf(w, "\n## Measurement checks\n\nTimes in ms. Queue and E2E from schedule show waits a concurrency limit hides; chunk gaps beside per-token ITL show multi-token events; the server's own TTFT and the overhead come from its /metrics or Ollama's durations; client CPU and scheduler lag show whether the client kept up; read lag is how late it read token events, which kernel receive timestamps keep out of the latencies unless an event was still unread when the next arrived.\n")
	for _, sc := range scenarios(runs) {
		if sc == "capacity" { // its probes are in their own section
			continue
		}
		fmt.Fprintf(w, "\n### %s\n\n", mdText(sc))
		markdownTable(w, checkHeader(), checkRows(runs, sc))
	}
	first := true
	for _, sc := range scenarios(runs) {
		rs := serverRows(runs, sc)
		if len(rs) == 0 {
			continue
		}
		if first {
			fmt.Fprintf(w, "\n## What the servers reported\n\nFrom each server's Prometheus /metrics: prefix-cache hit rate over the point, peaks of KV-cache usage and of running and waiting requests sampled while it ran, preemptions, and generated tokens (which must equal the client's count).\n")
			first = false
		}
		fmt.Fprintf(w, "\n### %s\n\n", mdText(sc))
		markdownTable(w, header(serverColumns), rs)
	}
	capacitySection(w, runs)
	invalid, warns := attention(runs)
	fmt.Fprintf(w, "\n## Before trusting these numbers\n\n")
	if len(invalid)+len(warns)+len(problems) == 0 {
		fmt.Fprintf(w, "No point was client-bound, no fairness check warned, every file loaded.\n")
	}
	for _, s := range invalid {
		fmt.Fprintf(w, "- INVALID %s\n", mdText(s))
	}
	for _, s := range warns {
		fmt.Fprintf(w, "- warning %s\n", mdText(s))
	}
	for _, p := range problems {
		fmt.Fprintf(w, "- unreadable %s\n", mdText(p.String()))
	}
}

// Summary writes a short Markdown summary fit for a CI job summary.
func Summary(w io.Writer, runs []*Run, problems []Problem) {
	fmt.Fprintf(w, "### servegate results\n\n")
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
		peak := 0.0
		for _, p := range r.points("concurrent") {
			peak = math.Max(peak, p.Metrics["output_token_throughput"])
		}
		body = append(body, []string{r.Label, r.Model, fmt.Sprint(pts), okCell, fmt.Sprint(invalid), fmt.Sprint(warns), fmt.Sprintf("%.0f", peak)})
	}
	markdownTable(w, []string{"framework", "model", "points", "lowest success", "invalid", "warnings", "peak out tok/s"}, body)
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

func render(f func(io.Writer)) []byte {
	var b bytes.Buffer
	f(&b)
	return b.Bytes()
}

// Verdicts writes the hypothesis verdicts, when there are any, with the numbers behind them.
func Verdicts(w io.Writer, vs []Verdict) {
	if len(vs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Hypotheses\n\n")
	var body [][]string
	for _, v := range vs {
		details := v.Details
		if v.Stale != "" {
			details = "STALE: " + v.Stale + ". " + details
		}
		body = append(body, []string{v.ID, v.Subject(), v.Label(), v.Claim, fmt.Sprintf("%.3g", v.Observed),
			v.Interval(), fmt.Sprintf("%.3g", v.Threshold), v.Scale, v.DecidedAt, details})
	}
	markdownTable(w, []string{"id", "about", "verdict", "claim", "observed", "95% interval", "threshold", "scale", "decided", "details"}, body)
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
