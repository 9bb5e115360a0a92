// Command servegate-report turns result files into comparison tables, an analysis report,
// a CI summary, charts and a self-contained HTML page.
//
//	servegate-report -in results -out results/summary
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/servegate/servegate/reporter"
)

func main() {
	in := flag.String("in", "results", "results directory (results/<framework>/*_results.json)")
	out := flag.String("out", "results/summary", "report directory")
	flag.Parse()
	w, err := reporter.Write(*in, *out)
	for _, p := range w.Problems {
		fmt.Fprintln(os.Stderr, "servegate-report: warning: skipped", p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "servegate-report:", err)
		os.Exit(1)
	}
	fmt.Printf("servegate-report: wrote %d files to %s (open %s/index.html)\n", len(w.Files), *out, *out)
}
