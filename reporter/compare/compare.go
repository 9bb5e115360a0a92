// Package compare compares two sets of servegate result files point by point and reports
// only changes that are significant given the trials' spread, in the manner of benchstat:
// Welch's t-test on the per-trial values, a change reported when p < Alpha, a regression
// when it is significant, in the worse direction and larger than a threshold. It reads
// result JSON only.
package compare

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/servegate/servegate/schema"
	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultMetrics are compared when none are named.
var DefaultMetrics = []string{"p50_ttft_ms", "p99_ttft_ms", "p50_itl_ms", "p50_tpot_ms", "p99_latency_ms", "output_token_throughput"}

// Options configure a comparison.
type Options struct {
	Metrics []string
	// Threshold is the relative change beyond which a significant worsening is a regression
	// (0.1 = 10%).
	Threshold float64
	// Alpha is the significance level; 0 means 0.05.
	Alpha float64
	// AllowMissing lets a gate pass when points could not be compared (missing, too few
	// trials, invalid): see Change.Fails.
	AllowMissing bool
}

// Verdicts of one comparison.
const (
	Regressed    = "regressed"
	Improved     = "improved"
	NoChange     = "no significant change"
	WithinBound  = "worse, within threshold"
	NeedsTrials  = "not enough trials"
	MissingPoint = "missing"
	InvalidPoint = "invalid point"
)

// Change is one metric of one point compared.
type Change struct {
	File, Scenario, Point, Metric string
	Base, New                     float64
	// Delta is (New - Base) / Base.
	Delta float64
	// P is the two-sided p-value of Welch's t-test; NaN without two trials on each side.
	P       float64
	BaseN   int
	NewN    int
	Verdict string
}

// Regression reports whether c got significantly worse beyond the threshold.
func (c Change) Regression() bool { return c.Verdict == Regressed }

// NoEvidence reports whether c could not be compared: the point or metric is missing in
// the new results, a side has fewer than two trials, or a point measured the client.
func (c Change) NoEvidence() bool {
	return c.Verdict == MissingPoint || c.Verdict == NeedsTrials || c.Verdict == InvalidPoint
}

// Fails reports whether c fails a regression gate: a regression, or no evidence unless
// opt.AllowMissing. A gate that passes for want of results would say nothing.
func (c Change) Fails(opt Options) bool {
	return c.Regression() || c.NoEvidence() && !opt.AllowMissing
}

// point is one point of a result file.
type point struct{ schema.Point }

func readFile(path string) (map[string]point, error) {
	f, err := schema.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]point{}
	for _, p := range f.Results {
		out[p.Key()] = point{p}
	}
	return out, nil
}

// values returns a metric's per-trial values, or its single value.
func (p point) values(metric string) ([]float64, float64, bool) {
	if iv, ok := p.TrialStats[metric]; ok && len(iv.Values) > 0 {
		return iv.Values, iv.Mean, true
	}
	v, ok := p.Metrics[metric]
	if !ok {
		return nil, 0, false
	}
	return []float64{v}, v, true
}

// lowerIsBetter says which way a metric improves.
func lowerIsBetter(metric string) bool {
	return strings.HasSuffix(metric, "_ms") || strings.HasSuffix(metric, "_sec") || strings.Contains(metric, "failed")
}

// welch returns the two-sided p-value of Welch's t-test for a difference in means.
func welch(a, b []float64) float64 {
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	variance := func(xs []float64, m float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += (x - m) * (x - m)
		}
		return s / float64(len(xs)-1)
	}
	ma, mb := mean(a), mean(b)
	va, vb := variance(a, ma)/float64(len(a)), variance(b, mb)/float64(len(b))
	if va+vb == 0 {
		if ma == mb {
			return 1
		}
		return 0
	}
	t := (ma - mb) / math.Sqrt(va+vb)
	df := (va + vb) * (va + vb) / (va*va/float64(len(a)-1) + vb*vb/float64(len(b)-1))
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
}

// Files compares every point and metric of two result files.
func Files(basePath, newPath string, opt Options) ([]Change, error) {
	base, err := readFile(basePath)
	if err != nil {
		return nil, err
	}
	cur, err := readFile(newPath)
	if errors.Is(err, os.ErrNotExist) {
		cur = map[string]point{} // every point is missing
	} else if err != nil {
		return nil, err
	}
	if opt.Alpha == 0 {
		opt.Alpha = 0.05
	}
	if len(opt.Metrics) == 0 {
		opt.Metrics = DefaultMetrics
	}
	keys := make([]string, 0, len(base))
	for k := range base {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// A metric no baseline point has would compare nothing and pass: name it instead.
	for _, m := range opt.Metrics {
		found := false
		for _, k := range keys {
			if _, _, ok := base[k].values(m); ok {
				found = true
				break
			}
		}
		if !found && len(keys) > 0 {
			return nil, fmt.Errorf("metric %q is in no point of %s: check its name (docs/METRICS.md)", m, basePath)
		}
	}
	var out []Change
	for _, k := range keys {
		b := base[k]
		n, ok := cur[k]
		for _, m := range opt.Metrics {
			c := Change{File: filepath.Base(newPath), Scenario: b.Scenario, Point: b.Point.Point, Metric: m, P: math.NaN()}
			bv, bm, okB := b.values(m)
			if !okB {
				continue
			}
			c.Base, c.BaseN = bm, len(bv)
			nv, nm, okN := n.values(m)
			if !ok || !okN {
				c.Verdict = MissingPoint
				out = append(out, c)
				continue
			}
			c.New, c.NewN = nm, len(nv)
			if bm != 0 {
				c.Delta = (nm - bm) / bm
			}
			if b.Invalid != "" || n.Invalid != "" {
				c.Verdict = InvalidPoint // it measured the client; no claim about the server
				out = append(out, c)
				continue
			}
			if len(bv) < 2 || len(nv) < 2 {
				c.Verdict = NeedsTrials
				out = append(out, c)
				continue
			}
			c.P = welch(bv, nv)
			worse := nm > bm == lowerIsBetter(m)
			switch {
			case c.P >= opt.Alpha:
				c.Verdict = NoChange
			case !worse:
				c.Verdict = Improved
			case math.Abs(c.Delta) > opt.Threshold:
				c.Verdict = Regressed
			default:
				c.Verdict = WithinBound
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// Paths pairs result files: two files, or two directories matched by path relative to them
// (results/<framework>/<framework>_<preset>_results.json; summary/, the report's merged
// copy, excepted). A baseline file with no counterpart is paired with the path it would
// have: Files reports its points missing.
func Paths(base, cur string) ([][2]string, error) {
	st, err := os.Stat(base)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", base, err)
	}
	if !st.IsDir() {
		return [][2]string{{base, cur}}, nil
	}
	var pairs [][2]string
	err = filepath.WalkDir(base, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "summary" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_results.json") {
			return nil
		}
		rel, _ := filepath.Rel(base, path)
		pairs = append(pairs, [2]string{path, filepath.Join(cur, rel)})
		return nil
	})
	if err == nil && len(pairs) == 0 {
		err = fmt.Errorf("no *_results.json under %s", base)
	}
	return pairs, err
}
