package benchmarks

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/servegate/servegate/harness/results"
)

// printSummary prints one row per scenario point this run measured, marking one whose
// results could not be written, and counts the points of earlier runs the file keeps.
func printSummary(w io.Writer, s *suite) {
	rw := s.writer
	pts := rw.Added()
	if len(pts) == 0 {
		return
	}
	f := func(p results.Point, k string, prec int) string {
		v, ok := p.Metrics[k]
		if !ok {
			return "-"
		}
		return fmt.Sprintf("%.*f", prec, v)
	}
	table := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	table.Header("scenario", "point", "conc", "in", "out", "req", "ok %", "ttft p50", "ttft p99", "itl p50", "tpot p50", "e2e p50", "e2e p99", "out tok/s", "req/s", "slo %")
	var invalid, sentences []string
	for _, p := range pts {
		point := p.Point
		if p.Scenario+"/"+p.Point == s.unsaved {
			point += " (NOT ON DISK)"
		}
		if p.Invalid != "" {
			point += " (INVALID)"
			invalid = append(invalid, fmt.Sprintf("%s/%s: %s", p.Scenario, p.Point, p.Invalid))
		}
		_ = table.Append(p.Scenario, point, fmt.Sprint(p.Concurrency), f(p, "mean_input_tokens", 0), f(p, "mean_output_tokens", 0),
			fmt.Sprint(p.NumRequests), f(p, "success_rate", 0), f(p, "p50_ttft_ms", 1), f(p, "p99_ttft_ms", 1),
			f(p, "p50_itl_ms", 2), f(p, "p50_tpot_ms", 2), f(p, "p50_latency_ms", 0), f(p, "p99_latency_ms", 0),
			f(p, "output_token_throughput", 0), f(p, "request_throughput", 2), f(p, "slo_attainment_pct", 0))
		if p.Capacity != nil {
			sentences = append(sentences, p.Capacity.Sentence)
		}
	}
	path, _ := filepath.Abs(rw.Path())
	if sh := s.sharding.shard; !sh.Whole() {
		path, _ = filepath.Abs(rw.RecordsPath())
		path = fmt.Sprintf("shard %s's share, records in %s (servegate-merge makes the result)", sh, path)
	}
	fmt.Fprintf(w, "\nservegate summary (times in ms) — %s\n", path)
	_ = table.Render()
	for _, line := range sentences {
		fmt.Fprintln(w, "capacity:", line)
	}
	for _, line := range invalid {
		fmt.Fprintln(w, "INVALID", line)
	}
	if s.writeErr != nil {
		fmt.Fprintf(w, "NOT ON DISK %s: %v\n", s.unsaved, s.writeErr)
	}
	if kept := len(rw.Points()) - len(pts); kept > 0 {
		fmt.Fprintf(w, "The file also keeps %d point(s) of earlier runs with the same settings (-fresh starts it over).\n", kept)
	}
}
