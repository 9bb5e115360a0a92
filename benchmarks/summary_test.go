package benchmarks

import (
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/servegate/servegate/harness/results"
)

// printSummary prints one row per scenario point this run measured, in at most 100
// columns: the headline figures only (the result file has every metric, and the report
// every table, SLO attainment among them), then each capacity search's sentence. A point
// whose results could not be written is marked, an invalid one too, a run of the
// simulated engine says so before anything else, and the points of earlier runs the file
// keeps are counted.
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
	path, _ := filepath.Abs(rw.Path())
	if sh := s.sharding.shard; !sh.Whole() {
		path, _ = filepath.Abs(rw.RecordsPath())
		path = fmt.Sprintf("shard %s's share, records in %s (servegate-merge makes the result)", sh, path)
	}
	fmt.Fprintf(w, "\nservegate summary: %s\n", path)
	if s.target.Simulated {
		fmt.Fprintf(w, "SIMULATED: servegate's engine (%s) at %s's published speed, no real server\n",
			s.target.Version, s.preset.Name)
	}
	fmt.Fprintln(w, "Times in ms; in: prompt tokens the server counted (mean); * not on disk, ! invalid (below).")
	// Numbers right-aligned two spaces apart, names left-aligned in one padded cell: the
	// widest row (long scenario names, every column) stays within 100 columns.
	wsc, wpt := len("scenario"), len("point")
	for _, p := range pts {
		wsc, wpt = max(wsc, len(p.Scenario)), max(wpt, len(p.Point)+1)
	}
	name := func(sc, pt string) string { return fmt.Sprintf("%-*s  %-*s", wsc, sc, wpt, pt) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, name("scenario", "point")+"\tconc\tin\tout\tok%\tTTFT p50\tTTFT p99\tTPOT p50\tE2E p99\tout tok/s\t")
	var notes, sentences []string
	last := ""
	for _, p := range pts {
		point := p.Point
		if p.Scenario+"/"+p.Point == s.unsaved {
			point += "*"
		}
		if p.Invalid != "" {
			point += "!"
			notes = append(notes, fmt.Sprintf("INVALID %s/%s: %s", p.Scenario, p.Point, p.Invalid))
		}
		sc := p.Scenario
		if sc == last {
			sc = ""
		}
		last = p.Scenario
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name(sc, point), p.Concurrency,
			f(p, "mean_input_tokens", 0), f(p, "mean_output_tokens", 0), f(p, "success_rate", 0),
			f(p, "p50_ttft_ms", 1), f(p, "p99_ttft_ms", 1), f(p, "p50_tpot_ms", 2), f(p, "p99_latency_ms", 0),
			f(p, "output_token_throughput", 0))
		if p.Capacity != nil {
			sentences = append(sentences, p.Capacity.Sentence)
		}
	}
	_ = tw.Flush()
	for _, line := range sentences {
		fmt.Fprintln(w, "capacity:", line)
	}
	for _, line := range notes {
		fmt.Fprintln(w, line)
	}
	if s.writeErr != nil {
		fmt.Fprintf(w, "NOT ON DISK %s: %v\n", s.unsaved, s.writeErr)
	}
	if kept := len(rw.Points()) - len(pts); kept > 0 {
		fmt.Fprintf(w, "The file also keeps %d point(s) of earlier runs with the same settings (-fresh starts it over).\n", kept)
	}
}
