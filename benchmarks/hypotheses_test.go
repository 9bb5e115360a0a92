package benchmarks

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/servegate/servegate/harness/hypothesis"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
)

var (
	flagHypotheses = flag.String("hypotheses", envOr("SERVEGATE_HYPOTHESES", ""), "JSON file of hypotheses replacing the defaults by id (env SERVEGATE_HYPOTHESES)")
	flagFrom       = flag.String("from", envOr("SERVEGATE_FROM", ""), "decide hypotheses on the result files under this directory instead of measuring (env SERVEGATE_FROM)")
)

// hypothesisTrials is the least number of trials a hypothesis point runs: its verdict rests
// on a t interval, and H5's ±10% band is rarely decided with three.
const hypothesisTrials = 5

// One test per hypothesis; each fails only when its verdict is fail. Cross-framework claims
// (H1x, H2) are decided where results of the frameworks they compare are at hand: the
// final CI job passes -from with the merged results.

func TestHypothesisH1(t *testing.T) {
	t.Run("H1", func(t *testing.T) { runHypothesis(t, "H1") })
	t.Run("H1x", func(t *testing.T) { runHypothesis(t, "H1x") })
}
func TestHypothesisH2(t *testing.T) { runHypothesis(t, "H2") }
func TestHypothesisH3(t *testing.T) { runHypothesis(t, "H3") }
func TestHypothesisH4(t *testing.T) { runHypothesis(t, "H4") }
func TestHypothesisH5(t *testing.T) { runHypothesis(t, "H5") }

func runHypothesis(t *testing.T, id string) {
	hs, err := hypothesis.Load(*flagHypotheses)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hypothesis.Lookup(hs, id)
	if err != nil {
		t.Fatal(err)
	}
	var rs hypothesis.Results
	if *flagFrom != "" {
		rs = loadResults(t, *flagFrom)
	} else if h.CrossFramework {
		t.Skipf("%s compares frameworks: decide it on merged results with -from (or SERVEGATE_FROM)", id)
	} else {
		rs = measureFor(t, h)
	}
	res := hypothesis.Evaluate(h, rs)
	recordVerdict(t, res)
	t.Logf("%s %s: %s", id, res.Verdict, res.Details)
	switch {
	case res.Verdict == hypothesis.Fail:
		t.Errorf("%s fails: %s\n%s", id, h.Claim, res.Details)
	case len(res.Checks) == 0:
		t.Skipf("%s: %s", id, res.Details)
	}
}

// measureFor runs, on the target under test, every point h's checks name.
func measureFor(t *testing.T, h hypothesis.Hypothesis) hypothesis.Results {
	if current == nil {
		t.Fatal("no target registered")
	}
	runner, writer := current.up(t)
	r := *runner
	r.Trials = max(r.Trials, hypothesisTrials)
	r.Logf = t.Logf
	type key struct{ scenario, point string }
	seen := map[key]bool{}
	var pts []results.Point
	for _, c := range h.Checks {
		refs := []hypothesis.Ref{c.Num}
		if c.Den != nil {
			refs = append(refs, *c.Den)
		}
		for _, ref := range refs {
			k := key{ref.Scenario, ref.Point}
			if seen[k] {
				continue
			}
			seen[k] = true
			sc, p := findPoint(t, ref)
			res, err := r.RunPoint(current.ctx, sc, p)
			if err != nil {
				t.Fatalf("%s: measure %s/%s: %v", h.ID, ref.Scenario, ref.Point, err)
			}
			if err := writer.Add(res); err != nil {
				t.Fatal(err)
			}
			pts = append(pts, res)
		}
	}
	return hypothesis.Results{current.spec.name: pts}
}

// findPoint returns the suite's point a reference names (by result or suite scenario name).
func findPoint(t *testing.T, ref hypothesis.Ref) (scenario.Scenario, scenario.Point) {
	for _, sc := range scenario.Suite(current.scale) {
		if sc.ResultName != ref.Scenario && sc.Name != ref.Scenario {
			continue
		}
		for _, p := range sc.Points {
			if p.Name == ref.Point {
				return sc, p
			}
		}
	}
	t.Fatalf("no scenario point %s/%s at scale %s", ref.Scenario, ref.Point, current.scale)
	return scenario.Scenario{}, scenario.Point{}
}

// loadResults reads every result file under dir, by framework.
func loadResults(t *testing.T, dir string) hypothesis.Results {
	rs := hypothesis.Results{}
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*_results.json"))
	if len(paths) == 0 {
		t.Fatalf("no result files under %s (expected %s/<framework>/<framework>_<preset>_results.json)", dir, dir)
	}
	for _, path := range paths {
		f, err := results.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		rs[f.Framework] = append(rs[f.Framework], f.Results...)
	}
	return rs
}

var verdictMu sync.Mutex

// recordVerdict merges res into <out>/summary/hypotheses.json, which the reporter shows.
func recordVerdict(t *testing.T, res hypothesis.Result) {
	verdictMu.Lock()
	defer verdictMu.Unlock()
	path := filepath.Join(*flagOut, "summary", "hypotheses.json")
	var file struct {
		Hypotheses []hypothesis.Result `json:"hypotheses"`
	}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &file); err != nil {
			t.Logf("replacing unreadable %s: %v", path, err)
			file.Hypotheses = nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	kept := file.Hypotheses[:0]
	for _, h := range file.Hypotheses {
		if !strings.EqualFold(h.ID, res.ID) {
			kept = append(kept, h)
		}
	}
	file.Hypotheses = append(kept, res)
	if err := results.WriteFile(path, &file); err != nil {
		t.Fatal(err)
	}
}
