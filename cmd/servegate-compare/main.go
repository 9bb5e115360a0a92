// Command servegate-compare compares two sets of servegate results point by point and
// exits 1 when a chosen metric regressed significantly beyond the threshold, or when a
// point could not be compared (missing in the new results, too few trials, invalid) unless
// -allow-missing.
//
//	servegate-compare -base results-main/ -new results/ -threshold 0.1
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/servegate/servegate/reporter/compare"
)

func main() {
	base := flag.String("base", "", "baseline result file or results directory")
	cur := flag.String("new", "results", "new result file or results directory")
	metrics := flag.String("metrics", strings.Join(compare.DefaultMetrics, ","), "metrics to compare, comma-separated")
	threshold := flag.Float64("threshold", 0.10, "relative worsening beyond which a significant change is a regression")
	alpha := flag.Float64("alpha", 0.05, "significance level of Welch's t-test on the trials")
	allowMissing := flag.Bool("allow-missing", false, "pass although points could not be compared (missing, fewer than two trials, invalid)")
	flag.Parse()
	if *base == "" {
		fmt.Fprintln(os.Stderr, "servegate-compare: -base is required (a result file or a results directory)")
		os.Exit(2)
	}
	pairs, err := compare.Paths(*base, *cur)
	if err != nil {
		fmt.Fprintln(os.Stderr, "servegate-compare:", err)
		os.Exit(2)
	}
	regressed, unproven := 0, 0
	opt := compare.Options{Metrics: strings.Split(*metrics, ","), Threshold: *threshold, Alpha: *alpha, AllowMissing: *allowMissing}
	table := tablewriter.NewTable(os.Stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	table.Header("file", "scenario/point", "metric", "base", "new", "change", "p", "trials", "verdict")
	for _, p := range pairs {
		changes, err := compare.Files(p[0], p[1], opt)
		if err != nil {
			fmt.Fprintln(os.Stderr, "servegate-compare:", err)
			os.Exit(2)
		}
		for _, c := range changes {
			pv := "-"
			if !math.IsNaN(c.P) {
				pv = fmt.Sprintf("%.3f", c.P)
			}
			switch {
			case c.Regression():
				regressed++
			case c.NoEvidence():
				unproven++
			}
			_ = table.Append(c.File, c.Scenario+"/"+c.Point, c.Metric, fmt.Sprintf("%.2f", c.Base), fmt.Sprintf("%.2f", c.New),
				fmt.Sprintf("%+.1f%%", 100*c.Delta), pv, fmt.Sprintf("%d/%d", c.BaseN, c.NewN), c.Verdict)
		}
	}
	_ = table.Render()
	failed := regressed > 0
	if regressed > 0 {
		fmt.Printf("%d metric(s) regressed beyond %.0f%% (p < %.2f)\n", regressed, 100**threshold, *alpha)
	}
	if unproven > 0 {
		if *allowMissing {
			fmt.Printf("%d metric(s) could not be compared (missing, too few trials or invalid); allowed by -allow-missing\n", unproven)
		} else {
			fmt.Printf("%d metric(s) could not be compared (missing, too few trials or invalid): no evidence is not a pass (-allow-missing lets it through)\n", unproven)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	fmt.Println("no significant regression")
}
