package benchmarks

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/hypothesis"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
)

var (
	flagHypotheses = flag.String("hypotheses", envOr("SERVEGATE_HYPOTHESES", ""), "JSON file of hypotheses changing the defaults (see README); a relative path is taken from the repository root (env SERVEGATE_HYPOTHESES)")
	flagFrom       = flag.String("from", envOr("SERVEGATE_FROM", ""), "decide hypotheses on the result files under this directory instead of measuring; a relative path is taken from the repository root (env SERVEGATE_FROM)")
	flagStrict     = flag.Bool("strict", envBool("SERVEGATE_STRICT"), "an inconclusive verdict fails its test instead of skipping it (make ci-bench and ci/merge.sh set it) (env SERVEGATE_STRICT)")
)

// One test per hypothesis. A verdict of fail fails it; so does missing evidence (no
// results, no such point or metric), always; an inconclusive verdict skips it with the
// reason, or fails it under -strict. Cross-framework claims (H1x, H2) are decided where
// results of the frameworks they compare are at hand: the final CI job passes -from with
// the merged results.

func TestHypothesisH1(t *testing.T) {
	t.Run("H1", func(t *testing.T) { runHypothesis(t, "H1") })
	t.Run("H1x", func(t *testing.T) { runHypothesis(t, "H1x") })
}
func TestHypothesisH2(t *testing.T) { runHypothesis(t, "H2") }
func TestHypothesisH3(t *testing.T) { runHypothesis(t, "H3") }
func TestHypothesisH4(t *testing.T) { runHypothesis(t, "H4") }
func TestHypothesisH5(t *testing.T) { runHypothesis(t, "H5") }
func TestHypothesisH6(t *testing.T) {
	t.Run("H6", func(t *testing.T) { runHypothesis(t, "H6") })
	t.Run("H6x", func(t *testing.T) { runHypothesis(t, "H6x") })
}

var loadHypotheses = sync.OnceValues(func() ([]hypothesis.Hypothesis, error) {
	return hypothesis.Load(resolvePath(*flagHypotheses))
})

func runHypothesis(t *testing.T, id string) {
	hs, err := loadHypotheses()
	if err != nil {
		t.Fatal(err)
	}
	h, err := hypothesis.Lookup(hs, id)
	if err != nil {
		t.Fatal(err)
	}
	if h.Skip != "" {
		t.Skipf("%s is skipped by %s: %s", id, *flagHypotheses, h.Skip)
	}
	if flagTrials.auto && h.MinTrials == 0 {
		// Adaptive trials stop a point early only when its gates' 99% intervals are
		// decided; the verdict is then given on the same trials at 95%.
		h.MinTrials = autoMinTrials
	}
	if *flagFrom != "" {
		decideFrom(t, h, resolvePath(*flagFrom))
		return
	}
	if h.CrossFramework {
		t.Skipf("%s compares frameworks: decide it on merged results with -from (or SERVEGATE_FROM)", id)
	}
	if current == nil {
		t.Fatal("no target registered")
	}
	if !current.sharding.shard.Whole() {
		t.Fatalf("%s: shard %s measures a share of the load, on which no claim can be decided: merge the shards (servegate-merge) and decide with -from", id, current.sharding.shard)
	}
	// One subtest per framework, as the scenarios have, and as -from decides them.
	t.Run(current.spec.name, func(t *testing.T) {
		if !h.About(current.spec.name) {
			t.Skipf("%s is a claim about %s, not %s", id, strings.Join(h.Frameworks, ", "), current.spec.name)
		}
		rs := measureFor(t, h)
		res := hypothesis.Evaluate(h, rs)
		res.Framework, res.Preset, res.Scale = current.spec.name, current.preset.Name, string(current.scale)
		res.Sources = []string{current.writer.Path()}
		judge(t, res)
	})
}

// judge records res and turns it into the test's outcome.
func judge(t *testing.T, res hypothesis.Result) {
	t.Helper()
	res.DecidedAt = time.Now().Format(results.TimeFormat)
	if err := recordVerdict(filepath.Join(current.out, "summary", "hypotheses.json"), res); err != nil {
		t.Error(err)
	}
	subject := res.Framework
	if subject == "" {
		subject = strings.Join(res.Compared, " vs ")
	}
	t.Logf("%s on %s (%s, %s scale): %s — %s", res.ID, subject, res.Preset, res.Scale, strings.ToUpper(res.Verdict), res.Details)
	switch {
	case res.Verdict == hypothesis.Fail:
		t.Errorf("%s fails: %s\n%s", res.ID, res.Claim, res.Details)
	case res.Missing:
		t.Errorf("%s cannot be decided: evidence is missing, and a gate never passes without it: %s", res.ID, res.Details)
	case res.Verdict == hypothesis.Inconclusive && *flagStrict:
		t.Errorf("%s is INCONCLUSIVE, which fails under -strict: %s", res.ID, res.Details)
	case res.Verdict == hypothesis.Inconclusive:
		t.Skipf("INCONCLUSIVE: %s is not decided (-strict fails it): %s", res.ID, res.Details)
	}
}

// measureFor returns, as this run measured them on the target under test, the points h's
// checks name: measured now with the trials h needs, unless a test of this run already
// measured them (then h is decided on that measurement, and not decided if it has fewer
// trials than h needs).
func measureFor(t *testing.T, h hypothesis.Hypothesis) hypothesis.Results {
	trials := max(flagTrials.n, h.Trials())
	seen := map[string]bool{}
	var pts []results.Point
	for _, c := range h.Checks {
		refs := []hypothesis.Ref{c.Num}
		if c.Den != nil {
			refs = append(refs, *c.Den)
		}
		for _, ref := range refs {
			sc, p := findPoint(t, ref)
			if seen[sc.Name+"/"+p.Name] {
				continue
			}
			seen[sc.Name+"/"+p.Name] = true
			if p.Search != nil { // a capacity answer: searched, not measured in trials
				pts = append(pts, current.capacity(t, p.Name))
				continue
			}
			res := current.measure(t, sc, p, trials)
			checkPoint(t, res)
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

// decideFrom decides h on the result files under dir: a single-framework claim for each
// framework it is about, a cross-framework claim once; per preset when there are several.
func decideFrom(t *testing.T, h hypothesis.Hypothesis, dir string) {
	sets, err := hypothesis.LoadSets(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range sets {
		decide := func(t *testing.T) { decideSet(t, h, set) }
		if len(sets) == 1 {
			decide(t)
		} else {
			t.Run(set.Preset, decide)
		}
	}
}

func decideSet(t *testing.T, h hypothesis.Hypothesis, set hypothesis.Set) {
	verdicts := set.Decide(h)
	if h.CrossFramework {
		res := verdicts[0]
		if strings.Contains(res.Scale, "+") {
			t.Errorf("%s compares results measured at different scales (%s): rerun them at one scale", h.ID, res.Scale)
		}
		judge(t, res)
		return
	}
	for _, res := range verdicts {
		if _, measured := set.Results[res.Framework]; !measured {
			judge(t, res) // no framework of the set is one the claim is about
			continue
		}
		t.Run(res.Framework, func(t *testing.T) { judge(t, res) })
	}
}

var verdictMu sync.Mutex

// recordVerdict merges res into the verdict file at path, which the reporter shows: it
// replaces the verdict of the same hypothesis, framework and preset, and keeps the rest.
// The file's lock keeps two runs sharing -out (one framework each) from losing each
// other's verdicts.
func recordVerdict(path string, res hypothesis.Result) error {
	verdictMu.Lock()
	defer verdictMu.Unlock()
	return results.Update(context.Background(), path, time.Minute, func() error { return mergeVerdict(path, res) })
}

func mergeVerdict(path string, res hypothesis.Result) error {
	var file struct {
		Hypotheses []hypothesis.Result `json:"hypotheses"`
	}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &file); err != nil {
			return fmt.Errorf("%s is not a verdict file (%v): move it away", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read verdicts: %w", err)
	}
	file.Hypotheses = slices.DeleteFunc(file.Hypotheses, func(h hypothesis.Result) bool { return h.Key() == res.Key() })
	file.Hypotheses = append(file.Hypotheses, res)
	sort.SliceStable(file.Hypotheses, func(i, j int) bool { return file.Hypotheses[i].Key() < file.Hypotheses[j].Key() })
	return results.WriteFile(path, &file)
}
