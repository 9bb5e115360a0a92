package benchmarks

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/servegate/servegate/reporter/compare"
)

// TestRegressionGate fails when a result set regressed against a baseline, or when a
// baseline point could not be compared (missing, too few trials, invalid) unless
// SERVEGATE_ALLOW_MISSING is true: set SERVEGATE_BASE to the baseline (file or directory)
// and optionally SERVEGATE_NEW (default the -out directory), SERVEGATE_THRESHOLD (default
// 0.1) and SERVEGATE_COMPARE_METRICS. Relative paths are taken from the repository root.
func TestRegressionGate(t *testing.T) {
	base := resolvePath(os.Getenv("SERVEGATE_BASE"))
	if base == "" {
		t.Skip("no baseline: set SERVEGATE_BASE to compare against one (make compare BASE=... NEW=...)")
	}
	cur := resolvePath(envOr("SERVEGATE_NEW", *flagOut))
	threshold := 0.10
	if v := os.Getenv("SERVEGATE_THRESHOLD"); v != "" {
		if _, err := fmt.Sscan(v, &threshold); err != nil {
			t.Fatalf("SERVEGATE_THRESHOLD=%q: %v", v, err)
		}
	}
	var metrics []string
	if v := os.Getenv("SERVEGATE_COMPARE_METRICS"); v != "" {
		metrics = strings.Split(v, ",")
	}
	opt := compare.Options{Metrics: metrics, Threshold: threshold, AllowMissing: envBool("SERVEGATE_ALLOW_MISSING")}
	if err := errors.Join(envErrs...); err != nil {
		t.Fatal(err)
	}
	pairs, err := compare.Paths(base, cur)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		changes, err := compare.Files(p[0], p[1], opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			switch {
			case c.Regression():
				t.Errorf("%s %s/%s %s regressed: %.2f -> %.2f (%+.1f%%, p=%.3f, trials %d/%d)",
					c.File, c.Scenario, c.Point, c.Metric, c.Base, c.New, 100*c.Delta, c.P, c.BaseN, c.NewN)
			case c.Fails(opt):
				t.Errorf("%s %s/%s %s: %s (trials %d/%d): not compared, which is no pass (SERVEGATE_ALLOW_MISSING=1 allows it)",
					c.File, c.Scenario, c.Point, c.Metric, c.Verdict, c.BaseN, c.NewN)
			case c.Verdict != compare.NoChange:
				t.Logf("%s %s/%s %s: %s (%.2f -> %.2f)", c.File, c.Scenario, c.Point, c.Metric, c.Verdict, c.Base, c.New)
			}
		}
	}
}
