// Command servegate-report turns result files into comparison tables, an analysis report,
// a CI summary, charts and a self-contained HTML page.
//
//	servegate-report -in results -out results/summary
//	servegate-report -recompute -in results    (result files rebuilt from their records first)
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/reporter"
	"github.com/servegate/servegate/reporter/compare"
)

func main() {
	in := flag.String("in", "results", "results directory (results/<framework>/*_results.json)")
	out := flag.String("out", "results/summary", "report directory")
	base := flag.String("base", "", "baseline results to compare against (optional; file or directory)")
	threshold := flag.Float64("threshold", 0.10, "with -base: relative worsening beyond which a significant change is a regression")
	recompute := flag.Bool("recompute", false, "first rebuild every result file under -in from the records beside it (<framework>_<preset>_records.ndjson.gz) and rewrite those that differ")
	flag.Parse()
	if *recompute {
		changed, err := results.RecomputeDir(*in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "servegate-report: recompute:", err)
			os.Exit(1)
		}
		fmt.Printf("servegate-report: recomputed the result files under %s from their records; %d changed\n", *in, len(changed))
		for _, p := range changed {
			fmt.Println("  rewrote", p)
		}
	}
	w, err := reporter.WriteWith(*in, *out, reporter.Options{Baseline: *base, Compare: compare.Options{Threshold: *threshold}})
	for _, p := range w.Problems {
		fmt.Fprintln(os.Stderr, "servegate-report: warning: skipped", p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "servegate-report:", err)
		os.Exit(1)
	}
	fmt.Printf("servegate-report: wrote %d files to %s (open %s/index.html)\n", len(w.Files), *out, *out)
}
