package hypothesis

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/cpulock"
	"github.com/servegate/servegate/internal/simproc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The flip tests time a simulator; they must not share the cores with the suites.
func TestMain(m *testing.M) { os.Exit(cpulock.Run(m.Run)) }

// trials per point: enough for a t interval; H5's narrow band asks for more.
var trials = 3

// measure runs points on a simulator process with profile (and more servegate-sim
// flags) and returns the result entries.
func measure(t *testing.T, profile string, flags []string, sc string, pts ...scenario.Point) []results.Point {
	t.Helper()
	return measureAt(t, "fast", profile, flags, trials, sc, pts...)
}

// measureAt is measure with the simulator at speed (servegate-sim's -speed: fast, or a
// preset's published speed) and n trials.
func measureAt(t *testing.T, speed, profile string, flags []string, trials int, sc string, pts ...scenario.Point) []results.Point {
	t.Helper()
	sim := simproc.Start(t, simproc.Options{Model: "m", Speed: speed, Args: append([]string{"-profile", profile}, flags...)})
	target := scenario.Target{Framework: "sim", Model: sim.Model, BaseURL: sim.URL, Dialect: stream.OpenAI, ContinuousUsage: true,
		OutputLength: frameworks.IgnoreEOS, HealthPath: "/health", MetricsPath: "/metrics", Metrics: frameworks.SimMetrics,
		Count: prompt.Local, ResetCache: sim.ResetCache, Version: "sim-" + profile}
	r := &scenario.Runner{Target: target, Trials: trials, Nonce: "hyp-" + speed + "-" + profile}
	s, err := scenario.Lookup(sc, scenario.Quick)
	require.NoError(t, err)
	var out []results.Point
	for _, pt := range pts {
		res, err := r.RunPoint(context.Background(), s, pt)
		require.NoError(t, err)
		// A point the client could not drive (a busy CI machine) measured the client, not
		// the engine: measure it again, as a user would, rather than read a verdict off it.
		for retry := 0; res.Invalid != "" && retry < 2; retry++ {
			t.Logf("%s/%s invalid (%s): measuring again", sc, pt.Name, res.Invalid)
			res, err = r.RunPoint(context.Background(), s, pt)
			require.NoError(t, err)
		}
		out = append(out, res)
	}
	return out
}

// withTrials sets the trials per point for one test.
func withTrials(t *testing.T, n int) {
	old := trials
	trials = n
	t.Cleanup(func() { trials = old })
}

func pick(t *testing.T, sc, name string) scenario.Point {
	t.Helper()
	s, err := scenario.Lookup(sc, scenario.Quick)
	require.NoError(t, err)
	for _, p := range s.Points {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no point %s/%s", sc, name)
	return scenario.Point{}
}

// verdict decides the default hypothesis id on rs, at the trials the test measured (the
// flip tests show a verdict can turn; TestTooFewTrialsAreNotDecided holds the minimum).
func verdict(t *testing.T, id string, rs Results) Result {
	t.Helper()
	h, err := Lookup(Defaults(), id)
	require.NoError(t, err)
	h.MinTrials = trials
	res := Evaluate(h, rs)
	t.Logf("%s: %s — %s", id, res.Verdict, res.Details)
	return res
}

// H1 on one engine, and H1x across two: a batching engine against a single-slot one
// passes, the other way round fails.
func TestH1AndH1xFlipWithBatching(t *testing.T) {
	c1, c64 := pick(t, "concurrent", "c1"), pick(t, "concurrent", "c64")
	// Short answers and one wave at c64 keep the single-slot engine's run to seconds.
	c1.OutputTokens, c64.OutputTokens, c64.Requests = 8, 8, 64
	batching := measure(t, "batching", nil, "concurrent", c1, c64)
	slot := measure(t, "single-slot", nil, "concurrent", c1, c64)
	assert.Equal(t, Pass, verdict(t, "H1", Results{"sim": batching}).Verdict)
	assert.Equal(t, Fail, verdict(t, "H1", Results{"sim": slot}).Verdict)
	assert.Equal(t, Pass, verdict(t, "H1x", Results{"vllm": batching, "sglang": batching, "ollama": slot}).Verdict)
	assert.Equal(t, Fail, verdict(t, "H1x", Results{"vllm": slot, "sglang": slot, "ollama": batching}).Verdict)
}

func TestH2FlipsWithDecodeSpeed(t *testing.T) {
	in128 := pick(t, "single", "in128")
	fast := measure(t, "batching", nil, "single", in128)
	assert.Equal(t, Pass, verdict(t, "H2", Results{"a": fast, "b": measure(t, "batching", nil, "single", in128)}).Verdict)
	assert.Equal(t, Fail, verdict(t, "H2", Results{"a": fast, "b": measure(t, "slow-decode", nil, "single", in128)}).Verdict)
}

func TestH3FlipsWhenLongPromptsFail(t *testing.T) {
	var pts []scenario.Point
	for _, n := range []string{"in2048_c1", "in4096_c1", "in4096_c4"} {
		p := pick(t, "long_context", n)
		p.Warmup = 0 // the failing engine refuses the warm-up too
		p.Requests = max(p.Requests, 4)
		pts = append(pts, p)
	}
	// A TTFT ratio of two-request medians over three trials straddled 2.5 once in five runs.
	withTrials(t, 5)
	assert.Equal(t, Pass, verdict(t, "H3", Results{"sim": measure(t, "batching", nil, "long_context", pts...)}).Verdict)
	short := []string{"-max-model-len", "4000"} // 4096-token prompts exceed it
	assert.Equal(t, Fail, verdict(t, "H3", Results{"sim": measure(t, "batching", short, "long_context", pts...)}).Verdict)
}

func TestH4FlipsWithThePrefixCache(t *testing.T) {
	shared, control := pick(t, "prefix_cache", "shared"), pick(t, "prefix_cache", "control")
	// A long shared prefix makes cached and uncached prefill differ far beyond timer noise;
	// five trials keep one noisy trial from widening the interval across 0.7.
	shared.PrefixTokens, control.PrefixTokens = 4096, 4096
	withTrials(t, 5)
	assert.Equal(t, Pass, verdict(t, "H4", Results{"sim": measure(t, "batching", nil, "prefix_cache", shared, control)}).Verdict)
	assert.Equal(t, Fail, verdict(t, "H4", Results{"sim": measure(t, "batching-nocache", nil, "prefix_cache", shared, control)}).Verdict)
}

func TestH5FlipsWhenKoreanDecodesSlower(t *testing.T) {
	en, ko := pick(t, "korean", "en"), pick(t, "korean", "ko")
	// A ±10% band needs a tight interval: with 3 trials Student's t is 4.3 and a few
	// percent of timer noise straddles the band; 5 trials of 8 requests do not.
	en.Requests, ko.Requests, en.OutputTokens, ko.OutputTokens = 8, 8, 16, 16
	withTrials(t, 5)
	assert.Equal(t, Pass, verdict(t, "H5", Results{"sim": measure(t, "batching", nil, "korean", en, ko)}).Verdict)
	assert.Equal(t, Fail, verdict(t, "H5", Results{"sim": measure(t, "korean-slow", nil, "korean", en, ko)}).Verdict)
}

// point builds a result entry whose metric has the given per-trial values.
func point(sc, name, metric string, xs ...float64) results.Point {
	iv := metrics.Estimate(xs)
	return results.Point{Scenario: sc, Point: name, Trials: len(xs), Metrics: map[string]float64{metric: iv.Mean},
		TrialStats: map[string]metrics.Interval{metric: iv}}
}

func TestDecide(t *testing.T) {
	h := Hypothesis{ID: "T", MinTrials: 3, Checks: []Check{{Num: Ref{"s", "a", "m"}, Den: &Ref{"s", "b", "m"}, Op: ">=", Threshold: 2}}}
	tests := []struct {
		name      string
		num, den  []float64
		minTrials int
		invalid   string
		want, why string
	}{
		{"clearly above", []float64{10, 10.2, 9.9}, []float64{2, 2.1, 2}, 0, "", Pass, ""},
		{"clearly below", []float64{3, 3.1, 2.9}, []float64{2, 2, 2}, 0, "", Fail, ""},
		{"straddles the threshold", []float64{3.5, 4.5, 3.9}, []float64{2, 2, 2}, 0, "", Inconclusive, "straddles"},
		{"one trial cannot decide", []float64{10}, []float64{2}, 0, "", Inconclusive, "has 1 trial(s)"},
		{"fewer trials than the claim needs", []float64{10, 10.2, 9.9}, []float64{2, 2.1, 2}, 5, "", Inconclusive, "at least 5 per point"},
		{"an invalid point is no evidence", []float64{10, 10, 10}, []float64{2, 2, 2}, 0, "client-bound: x", Inconclusive, "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := point("s", "a", "m", tc.num...), point("s", "b", "m", tc.den...)
			a.Invalid = tc.invalid
			h := h
			if tc.minTrials > 0 {
				h.MinTrials = tc.minTrials
			}
			res := Evaluate(h, Results{"fw": {a, b}})
			assert.Equal(t, tc.want, res.Verdict)
			require.Len(t, res.Checks, 1)
			assert.Contains(t, res.Checks[0].Why, tc.why)
			assert.False(t, res.Missing, "the points are there")
			assert.Len(t, res.Evidence, 2)
		})
	}
}

// Absent evidence is marked missing, which no gate passes on.
func TestMissingEvidenceIsMarked(t *testing.T) {
	h := Hypothesis{ID: "T", MinTrials: 3, Checks: []Check{{Num: Ref{"s", "a", "m"}, Den: &Ref{"s", "b", "m"}, Op: ">=", Threshold: 2}}}
	a := point("s", "a", "m", 10, 10, 10)
	for name, rs := range map[string]Results{
		"no point":        {"fw": {a}},
		"no metric":       {"fw": {a, point("s", "b", "other", 2, 2, 2)}},
		"no results":      {},
		"not its subject": {"ollama": {a, point("s", "b", "m", 2, 2, 2)}},
	} {
		h := h
		if name == "not its subject" {
			h.Frameworks = []string{"vllm"}
		}
		res := Evaluate(h, rs)
		assert.Equal(t, Inconclusive, res.Verdict, name)
		assert.True(t, res.Missing, name)
	}
}

// A ratio of two points is estimated from independent samples: which trial of one point
// is listed beside which of the other says nothing, so the order must not matter.
func TestRatioIntervalTreatsSidesAsIndependent(t *testing.T) {
	num, den := []float64{90, 100, 110, 105}, []float64{10, 11, 9, 10.5}
	r1, lo1, hi1, ok := RatioInterval(num, den)
	require.True(t, ok)
	r2, lo2, hi2, _ := RatioInterval(num, []float64{9, 10.5, 11, 10})
	assert.InDelta(t, r1, r2, 1e-12)
	assert.InDelta(t, lo1, lo2, 1e-12)
	assert.InDelta(t, hi1, hi2, 1e-12)
	// The ratio of geometric means, and Welch's interval of the log difference.
	gm := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += math.Log(x)
		}
		return math.Exp(s / float64(len(xs)))
	}
	assert.InDelta(t, gm(num)/gm(den), r1, 1e-9)
	assert.Less(t, lo1, r1)
	assert.Greater(t, hi1, r1)
	assert.InDelta(t, math.Log(r1)-math.Log(lo1), math.Log(hi1)-math.Log(r1), 1e-9, "symmetric on the log scale")
	_, _, _, ok = RatioInterval([]float64{1, 0}, den)
	assert.False(t, ok, "a log needs positive values")
	_, _, _, ok = RatioInterval([]float64{1}, den)
	assert.False(t, ok, "one value has no spread")
}

func TestEveryTrialMustHold(t *testing.T) {
	h := Hypothesis{ID: "T", MinTrials: 3, Checks: []Check{{Num: Ref{"s", "a", "success_rate"}, Op: ">=", Threshold: 100, Every: true}}}
	assert.Equal(t, Pass, Evaluate(h, Results{"fw": {point("s", "a", "success_rate", 100, 100, 100)}}).Verdict)
	assert.Equal(t, Fail, Evaluate(h, Results{"fw": {point("s", "a", "success_rate", 100, 95, 100)}}).Verdict)
	assert.Equal(t, Fail, Evaluate(h, Results{"fw": {point("s", "a", "success_rate", 90)}}).Verdict, "one failing trial decides")
	assert.Equal(t, Inconclusive, Evaluate(h, Results{"fw": {point("s", "a", "success_rate", 100)}}).Verdict, "one passing trial does not")
}

func TestBands(t *testing.T) {
	within := Check{Num: Ref{"s", "a", "m"}, Op: "within", Low: 0.9, High: 1.1}
	outside := Check{Num: Ref{"s", "a", "m"}, Op: "outside", Low: 0.9, High: 1.1}
	for _, tc := range []struct {
		c    Check
		xs   []float64
		want string
	}{
		{within, []float64{1, 1.01, 0.99}, Pass},
		{within, []float64{1.5, 1.6, 1.55}, Fail},
		{within, []float64{1.05, 1.2, 1.1}, Inconclusive},
		{outside, []float64{3, 3.1, 2.9}, Pass},
		{outside, []float64{1, 1.01, 0.99}, Fail},
	} {
		assert.Equal(t, tc.want, tc.c.decideValue(CheckResult{}, tc.xs, 0.95).Verdict, "%s %v", tc.c.Op, tc.xs)
	}
}

func TestCrossFrameworkNeedsItsFrameworks(t *testing.T) {
	h, err := Lookup(Defaults(), "H1x")
	require.NoError(t, err)
	h.MinTrials = 3
	c64 := func(xs ...float64) []results.Point {
		return []results.Point{point("concurrent", "c64", "output_token_throughput", xs...)}
	}
	res := Evaluate(h, Results{"vllm": c64(900, 910, 905)})
	assert.Equal(t, Inconclusive, res.Verdict)
	assert.True(t, res.Missing)
	assert.Contains(t, res.Details, "no results of ollama")
	res = Evaluate(h, Results{"vllm": c64(900, 910, 905), "ollama": c64(100, 101, 99)})
	assert.Equal(t, Inconclusive, res.Verdict, "H1x names sglang too")
	assert.True(t, res.Missing)
	assert.Contains(t, res.Details, "no results of sglang")
	res = Evaluate(h, Results{"vllm": c64(900, 910, 905), "sglang": c64(800, 810, 790), "ollama": c64(100, 101, 99)})
	assert.Equal(t, Pass, res.Verdict)
	assert.False(t, res.Missing)
	assert.Equal(t, []string{"ollama", "sglang", "vllm"}, res.Compared)
	assert.False(t, math.IsNaN(res.Observed))
	assert.NotContains(t, res.Details, "parallel_slots", "nothing recorded, nothing said")

	// Ollama's slots, recorded on its points, stand beside the verdict.
	ollama := c64(100, 101, 99)
	ollama[0].ParallelSlots = 1
	res = Evaluate(h, Results{"vllm": c64(900, 910, 905), "sglang": c64(800, 810, 790), "ollama": ollama})
	assert.Equal(t, Pass, res.Verdict)
	assert.Contains(t, res.Details, "[ollama parallel_slots 1]")
}

func TestLoadOverridesThresholds(t *testing.T) {
	path := t.TempDir() + "/h.json"
	require.NoError(t, os.WriteFile(path, []byte(`[{"id": "H1", "claim": "c64 >= 8x c1", "checks": [{"num": {"scenario": "concurrent", "point": "c64", "metric": "output_token_throughput"}, "den": {"scenario": "concurrent", "point": "c1", "metric": "output_token_throughput"}, "op": ">=", "threshold": 8}]}]`), 0o644))
	hs, err := Load(path)
	require.NoError(t, err)
	h, err := Lookup(hs, "H1")
	require.NoError(t, err)
	assert.Equal(t, 8.0, h.Checks[0].Threshold)
	assert.Len(t, hs, len(Defaults()))
	_, err = Lookup(hs, "H9")
	assert.ErrorContains(t, err, "unknown hypothesis")
}

func TestDefaultsAreValid(t *testing.T) {
	for _, h := range Defaults() {
		assert.NoError(t, h.validate(h.ID, nil))
	}
}

// An override file is checked field by field: a typo is an error naming it and the valid
// names, never a silent default that passes.
func TestOverrideFilesAreValidated(t *testing.T) {
	const c64 = `{"scenario": "concurrent", "point": "c64", "metric": "output_token_throughput"}`
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"misspelled threshold", `[{"id": "H1", "claim": "x", "checks": [{"num": ` + c64 + `, "op": ">=", "treshold": 8}]}]`,
			[]string{`checks[0]: unknown field "treshold"`, "threshold", "num_from"}},
		{"unknown hypothesis field", `[{"id": "H1", "claim": "x", "frameworkz": ["vllm"], "checks": []}]`,
			[]string{`unknown field "frameworkz"`, "frameworks", "merge"}},
		{"unknown reference field", `[{"id": "H1", "claim": "x", "checks": [{"num": {"scenario": "concurrent", "pont": "c64"}, "op": ">=", "threshold": 1}]}]`,
			[]string{`num: unknown field "pont"`, "point"}},
		{"unknown scenario", `[{"id": "H9", "claim": "x", "checks": [{"num": {"scenario": "concurent", "point": "c64", "metric": "success_rate"}, "op": ">=", "threshold": 1}]}]`,
			[]string{`unknown scenario "concurent"`, "concurrent", "long_context"}},
		{"unknown point", `[{"id": "H9", "claim": "x", "checks": [{"num": {"scenario": "concurrent", "point": "c65", "metric": "success_rate"}, "op": ">=", "threshold": 1}]}]`,
			[]string{`no point "c65"`, "c64"}},
		{"unknown metric", `[{"id": "H9", "claim": "x", "checks": [{"num": {"scenario": "concurrent", "point": "c64", "metric": "output_token_thruput"}, "op": ">=", "threshold": 1}]}]`,
			[]string{`unknown metric "output_token_thruput"`, "output_token_throughput"}},
		{"capacity of a plain point", `[{"id": "H9", "claim": "x", "checks": [{"num": {"scenario": "concurrent", "point": "c64", "metric": "capacity_value"}, "op": ">=", "threshold": 1}]}]`,
			[]string{`a capacity point's one metric is capacity_value`}},
		{"latency of a capacity point", `[{"id": "H9", "claim": "x", "checks": [{"num": {"scenario": "capacity", "point": "users", "metric": "p95_ttft_ms"}, "op": "<=", "threshold": 1}]}]`,
			[]string{`capacity/users p95_ttft_ms`}},
		{"unknown operator", `[{"id": "H9", "claim": "x", "checks": [{"num": ` + c64 + `, "op": "=>", "threshold": 1}]}]`,
			[]string{`unknown op "=>"`, "<=, >=, within, outside"}},
		{"threshold left out", `[{"id": "H9", "claim": "x", "checks": [{"num": ` + c64 + `, "op": ">="}]}]`,
			[]string{`needs "threshold"`}},
		{"band upside down", `[{"id": "H9", "claim": "x", "checks": [{"num": ` + c64 + `, "op": "within", "low": 2, "high": 1}]}]`,
			[]string{`"low" below "high"`}},
		{"partial replacement", `[{"id": "H1", "checks": [{"num": ` + c64 + `, "op": ">=", "threshold": 8}]}]`,
			[]string{"replaces the default H1 whole", "needs claim", `"merge": true`}},
		{"merge into nothing", `[{"id": "H9", "merge": true, "claim": "x"}]`, []string{"no H9"}},
		{"framework picker on a single-framework claim", `[{"id": "H9", "claim": "x", "checks": [{"num": ` + c64 + `, "num_from": "fw:vllm", "op": ">=", "threshold": 1}]}]`,
			[]string{`"num_from" compares frameworks`}},
		{"bad framework picker", `[{"id": "H9", "claim": "x", "cross_framework": true, "checks": [{"num": ` + c64 + `, "num_from": "vllm", "den": ` + c64 + `, "den_from": "any", "op": ">=", "threshold": 1}]}]`,
			[]string{`num_from "vllm"`, `"fw:<framework>"`}},
		{"one trial", `[{"id": "H9", "claim": "x", "min_trials": 1, "checks": [{"num": ` + c64 + `, "op": ">=", "threshold": 1}]}]`,
			[]string{"min_trials 1"}},
		{"not a list", `{"id": "H1"}`, []string{"a JSON list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "h.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.file), 0o644))
			_, err := Load(path)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), path, "the error names the file")
		})
	}
}

func TestMergeChangesOnlyTheFieldsGiven(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.json")
	require.NoError(t, os.WriteFile(path, []byte(`[{"id": "H1", "merge": true, "min_trials": 3},
		{"id": "H4", "merge": true, "skip": "this pipeline runs no prefix-caching engine"}]`), 0o644))
	hs, err := Load(path)
	require.NoError(t, err)
	def, _ := Lookup(Defaults(), "H1")
	h1, _ := Lookup(hs, "H1")
	assert.Equal(t, 3, h1.Trials())
	assert.Equal(t, def.Checks, h1.Checks, "the default's checks stay")
	assert.Equal(t, def.Frameworks, h1.Frameworks, "and so does whom it is about")
	assert.Equal(t, def.Claim, h1.Claim)
	h4, _ := Lookup(hs, "H4")
	assert.Equal(t, "this pipeline runs no prefix-caching engine", h4.Skip)
	h1d, _ := Lookup(Defaults(), "H1")
	assert.Equal(t, DefaultMinTrials, h1d.Trials(), "defaults are not changed by a load")
}

// README's example override file loads, and does what README says it does.
func TestREADMEOverrideExampleLoads(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "Thresholds are data")
	require.True(t, ok)
	_, rest, ok = strings.Cut(rest, "```json\n")
	require.True(t, ok)
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	path := filepath.Join(t.TempDir(), "h.json")
	require.NoError(t, os.WriteFile(path, []byte(example), 0o644))
	hs, err := Load(path)
	require.NoError(t, err)
	h1, _ := Lookup(hs, "H1")
	assert.Equal(t, 8, h1.Trials())
	h1x, _ := Lookup(hs, "H1x")
	assert.Len(t, h1x.Checks, 1, "the sglang comparison is dropped")
	assert.True(t, h1x.CrossFramework, "merged: the rest of H1x stays")
	h4, _ := Lookup(hs, "H4")
	assert.NotEmpty(t, h4.Skip)
}

// capacityPoint is a capacity answer value within [low, high].
func capacityPoint(value, low, high float64, atCeiling bool) results.Point {
	return results.Point{Scenario: "capacity", Point: "users", Trials: 1, Metrics: map[string]float64{CapacityMetric: value},
		Capacity: &results.Capacity{Mode: results.UsersMode, Value: value, Low: low, High: high, AtCeiling: atCeiling}}
}

func TestCapacityChecksDecideOnTheSearchInterval(t *testing.T) {
	h6 := func(p results.Point) Result {
		h, err := Lookup(Defaults(), "H6")
		require.NoError(t, err)
		return Evaluate(h, Results{"sim": {p}})
	}
	for _, c := range []struct {
		name string
		p    results.Point
		want string
	}{
		{"wholly above 32", capacityPoint(40, 40, 47, false), Pass},
		{"wholly below", capacityPoint(20, 20, 25, false), Fail},
		{"the interval holds 32", capacityPoint(30, 30, 40, false), Inconclusive},
		{"met at the ceiling: at least that", capacityPoint(64, 64, 64, true), Pass},
		{"serves nothing", capacityPoint(0, 0, 0, false), Fail},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := h6(c.p)
			assert.Equal(t, c.want, res.Verdict, res.Details)
			assert.False(t, res.Missing)
		})
	}
	// One trial is all a search has: min_trials does not apply to it.
	assert.Equal(t, Pass, h6(capacityPoint(40, 40, 47, false)).Verdict)

	h6x, err := Lookup(Defaults(), "H6x")
	require.NoError(t, err)
	x := func(vllm, ollama results.Point) Result {
		return Evaluate(h6x, Results{"vllm": {vllm}, "sglang": {vllm}, "ollama": {ollama}})
	}
	assert.Equal(t, Pass, x(capacityPoint(184, 184, 191, false), capacityPoint(10, 10, 10, false)).Verdict)
	assert.Equal(t, Fail, x(capacityPoint(20, 20, 22, false), capacityPoint(10, 10, 12, false)).Verdict)
	assert.Equal(t, Inconclusive, x(capacityPoint(30, 30, 40, false), capacityPoint(10, 10, 12, false)).Verdict, "2.5x to 4x holds 3x")
	res := x(capacityPoint(5, 5, 5, false), capacityPoint(0, 0, 0, false))
	assert.Equal(t, Pass, res.Verdict, "any load against none: the ratio is unbounded")
	assert.Nil(t, res.High)
	noCap := capacityPoint(10, 10, 10, false)
	noCap.Capacity = nil
	res = x(capacityPoint(184, 184, 191, false), noCap)
	assert.NotEqual(t, Pass, res.Verdict)
	assert.True(t, res.Missing, "no capacity answer is missing evidence")
}

// Adaptive trials stop on a 99% interval: a value whose 95% interval clears the
// threshold but whose 99% interval does not is not yet decided for stopping.
func TestStoppingAsksForMore(t *testing.T) {
	h := Hypothesis{ID: "T", Checks: []Check{{Num: Ref{"concurrent", "c1", "output_token_throughput"}, Op: ">=", Threshold: 10}}}
	// Mean 11, sample std 0.59, five trials: the 95% interval starts at 10.27, the 99% at
	// 9.78.
	xs := []float64{10.2, 11.6, 10.6, 11.4, 11.2}
	rs := Results{"sim": {point("concurrent", "c1", "output_token_throughput", xs...)}}
	h.MinTrials = 5
	assert.Equal(t, Pass, Evaluate(h, rs).Verdict, "the 95% interval clears 10")
	assert.Equal(t, Inconclusive, Evaluate(h.Stopping(3), rs).Verdict, "the 99% interval does not")
}
