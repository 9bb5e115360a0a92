package reporter

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

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

// fractions are metrics stored as 0..1 and shown in percent.
var fractions = map[string]bool{"server_prefix_cache_hit_rate": true}

// checkRows are the measurement-check rows of one scenario.
func checkRows(runs []*Run, scenario string) [][]string {
	return metricRows(runs, scenario, checkColumns, false)
}

// serverRows are the server-figure rows of one scenario; points with none are left out.
func serverRows(runs []*Run, scenario string) [][]string {
	return metricRows(runs, scenario, serverColumns, true)
}

func metricRows(runs []*Run, scenario string, cols []column, skipEmpty bool) [][]string {
	var out [][]string
	for _, rp := range pointsOf(runs, scenario) {
		rw := []string{rp.p.Point, rp.r.Label}
		found := false
		for _, c := range cols {
			v := value(rp.p, c)
			found = found || v != "-"
			rw = append(rw, v)
		}
		if skipEmpty && !found {
			continue
		}
		out = append(out, rw)
	}
	return out
}

func checkHeader() []string { return header(checkColumns) }

func header(cols []column) []string {
	h := []string{"point", "run"}
	for _, c := range cols {
		h = append(h, c.Title)
	}
	return h
}

// finding is one statement the analysis makes from the data.
type finding struct{ Scenario, Text string }

// material is the smallest ratio between the best and the worst run that a finding
// reports; closer results are not worth a sentence.
const material = 1.2

// best says which run did materially better than which on a metric (lower or higher is
// better), at which points and by how much: one finding per pair, not per point. Runs are
// compared only on the same model preset; invalid points take no part.
func best(runs []*Run, scenario, metric string, lower bool) []finding {
	type cand struct {
		label string
		v     float64
	}
	type key struct{ point, preset string }
	byPoint := map[key][]cand{}
	var order []key
	for _, rp := range pointsOf(runs, scenario) {
		v, ok := rp.p.Metrics[metric]
		if !ok || rp.p.Invalid != "" {
			continue
		}
		k := key{rp.p.Point, rp.r.ModelPreset}
		if _, seen := byPoint[k]; !seen {
			order = append(order, k)
		}
		byPoint[k] = append(byPoint[k], cand{rp.r.Label, v})
	}
	type pair struct{ winner, loser string }
	type lead struct {
		points   []string
		min, max float64
	}
	leads := map[pair]*lead{}
	var pairs []pair
	for _, k := range order {
		cs := byPoint[k]
		if len(cs) < 2 {
			continue
		}
		sort.SliceStable(cs, func(i, j int) bool { return (cs[i].v < cs[j].v) == lower })
		first, last := cs[0], cs[len(cs)-1]
		if first.v <= 0 || last.v <= 0 {
			continue // a zero is a failed point, not a ratio
		}
		ratio := last.v / first.v
		if !lower {
			ratio = first.v / last.v
		}
		if ratio < material {
			continue
		}
		pr := pair{first.label, last.label}
		l, ok := leads[pr]
		if !ok {
			l = &lead{min: ratio, max: ratio}
			leads[pr] = l
			pairs = append(pairs, pr)
		}
		l.points = append(l.points, k.point)
		l.min, l.max = min(l.min, ratio), max(l.max, ratio)
	}
	var out []finding
	for _, pr := range pairs {
		l := leads[pr]
		by := fmt.Sprintf("%.1fx", l.min)
		if fmt.Sprintf("%.1f", l.max) != fmt.Sprintf("%.1f", l.min) {
			by = fmt.Sprintf("%.1fx-%.1fx", l.min, l.max)
		}
		// The ratio is always the larger value over the smaller: said of the run with the
		// larger value, so "lower ... 10x" never reads as ten times the loser's.
		text := fmt.Sprintf("%s has the higher %s at %s: %s %s's",
			pr.winner, metric, strings.Join(l.points, ", "), by, pr.loser)
		if lower {
			text = fmt.Sprintf("%s has the lower %s at %s: %s's is %s %s's",
				pr.winner, metric, strings.Join(l.points, ", "), pr.loser, by, pr.winner)
		}
		out = append(out, finding{scenario, text})
	}
	return out
}

// scaling says how a run's output throughput grows from its lowest to its highest
// measured concurrency; nothing when fewer than two valid points measured it.
func scaling(r *Run) (finding, bool) {
	var valid []Point
	for _, p := range r.points("concurrent") {
		if p.Invalid == "" && p.Metrics["output_token_throughput"] > 0 {
			valid = append(valid, p)
		}
	}
	if len(valid) < 2 {
		return finding{}, false
	}
	sort.SliceStable(valid, func(i, j int) bool { return valid[i].Concurrency < valid[j].Concurrency })
	lo, hi := valid[0], valid[len(valid)-1]
	if lo.Concurrency >= hi.Concurrency {
		return finding{}, false
	}
	return finding{"concurrent", fmt.Sprintf("%s scales %.1fx in output throughput from concurrency %d to %d",
		r.Label, hi.Metrics["output_token_throughput"]/lo.Metrics["output_token_throughput"], lo.Concurrency, hi.Concurrency)}, true
}

// findings are the analysis statements for all scenarios. Each is made only from valid
// points that are there: an incomplete or failed run yields fewer findings, not wrong ones.
func findings(runs []*Run) []finding {
	var out []finding
	for _, sc := range scenarios(runs) {
		out = append(out, best(runs, sc, "p50_ttft_ms", true)...)
		out = append(out, best(runs, sc, "output_token_throughput", false)...)
	}
	valid := func(p *Point, metric string) bool { return p != nil && p.Invalid == "" && p.Metrics[metric] > 0 }
	for _, r := range runs {
		if f, ok := scaling(r); ok {
			out = append(out, f)
		}
		shared, control := r.point("prefix_cache", "shared"), r.point("prefix_cache", "control")
		if valid(shared, "rest_avg_ttft_ms") && valid(control, "rest_avg_ttft_ms") {
			out = append(out, finding{"prefix_cache", fmt.Sprintf("%s: warm shared-prefix TTFT is %.2fx the unshared control (%.2f vs %.2f ms)",
				r.Label, shared.Metrics["rest_avg_ttft_ms"]/control.Metrics["rest_avg_ttft_ms"], shared.Metrics["rest_avg_ttft_ms"], control.Metrics["rest_avg_ttft_ms"])})
		}
		en, ko := r.point("korean", "en"), r.point("korean", "ko")
		if valid(en, "output_token_throughput") && valid(ko, "output_token_throughput") {
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
	// In suite order, so each scenario's findings read together.
	rank := map[string]int{}
	for i, sc := range scenarios(runs) {
		rank[sc] = i
	}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Scenario] < rank[out[j].Scenario] })
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
	kind := ""
	if r.Simulated {
		kind = "SIMULATED, "
	}
	return fmt.Sprintf("%s: %smodel %s, engine %s %s, %s, run %s, scale %s, servegate %s",
		r.Label, kind, r.Model, prov("engine"), prov("engine_version"), gpuName(r), r.Timestamp, prov("scale"), prov("servegate_commit"))
}

// gpuName names the run's GPU, or says none was sampled.
func gpuName(r *Run) string {
	if name, ok := r.GPUInfo["name"].(string); ok && name != "" {
		return name
	}
	return "no GPU sampled"
}

// Analysis writes analysis_report.md: what was run, what the numbers say, and what a
// reader must know before trusting them.
func Analysis(w io.Writer, runs []*Run, problems []Problem) {
	fmt.Fprintf(w, "# servegate analysis\n\n")
	if n := simulatedNotice(runs); n != "" {
		fmt.Fprintf(w, "**%s**\n\n", mdText(n))
	}
	fmt.Fprintf(w, "## Runs\n\n")
	for _, r := range runs {
		fmt.Fprintf(w, "- %s\n", mdText(provenanceLine(r)))
	}
	fmt.Fprintf(w, "\n## Findings\n\n")
	fs := findings(runs)
	if len(fs) == 0 {
		fmt.Fprintf(w, "Nothing to compare: one run and no multi-point scenario with valid points.\n")
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
