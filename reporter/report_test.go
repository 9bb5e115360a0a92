package reporter

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servegate/servegate/reporter/compare"
	"github.com/servegate/servegate/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test ./reporter -update")
	assert.Equal(t, string(want), string(got), "%s differs from its golden file", name)
}

func load(t *testing.T) ([]*Run, []Problem) {
	t.Helper()
	runs, problems, err := Load("testdata/results")
	require.NoError(t, err)
	return runs, problems
}

func TestLoadNamesTheBrokenFileAndKeepsTheRest(t *testing.T) {
	runs, problems := load(t)
	var labels []string
	for _, r := range runs {
		labels = append(labels, r.Label)
		assert.True(t, r.Simulated, r.Label)
	}
	assert.Equal(t, []string{"sim/gpt-oss-20b", "sim/llama3.1-8b", "sim-single-slot/gpt-oss-20b", "sim-single-slot/llama3.1-8b"}, labels,
		"two frameworks with two presets each: the preset is in the label")
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].String(), "broken_results.json")
	assert.Contains(t, problems[0].String(), "not a servegate result file")
	p := runs[0].point("concurrent", "c64")
	require.NotNil(t, p)
	assert.Equal(t, 3, p.Trials)
	assert.Contains(t, p.Low, "output_token_throughput", "trial intervals are read")
}

func TestGoldenTables(t *testing.T) {
	runs, problems := load(t)
	golden(t, "comparison.md", render(func(w io.Writer) { Comparison(w, runs) }))
	golden(t, "summary.md", render(func(w io.Writer) { Summary(w, runs, problems) }))
	golden(t, "analysis_report.md", render(func(w io.Writer) { Analysis(w, runs, problems) }))
}

func TestChartsAreImagesOfTheExpectedSize(t *testing.T) {
	runs, _ := load(t)
	charts := Charts(runs)
	var names []string
	for _, c := range charts {
		names = append(names, c.File)
		b, err := c.PNG()
		require.NoError(t, err)
		img, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err, c.File)
		assert.Equal(t, ChartWidth, img.Bounds().Dx(), c.File)
		assert.Equal(t, ChartHeight, img.Bounds().Dy(), c.File)
		svg, err := c.SVG()
		require.NoError(t, err)
		assert.Contains(t, string(svg), "<svg", c.File)
		assert.Contains(t, string(svg), ">"+c.YName+"<", "%s: y axis titled", c.File)
		assert.Contains(t, string(svg), "SIMULATED", "%s: a simulated run's chart says so", c.File)
	}
	assert.ElementsMatch(t, []string{"simulated_ttft_by_input", "simulated_throughput_vs_concurrency", "simulated_p99_latency_vs_concurrency",
		"simulated_long_context_ttft", "simulated_prefix_cache_ttft", "simulated_korean_vs_english",
		"simulated_capacity_attainment", "simulated_pareto"}, names,
		"every chart of simulated runs says so in its file name")
}

func TestWriteProducesTheReport(t *testing.T) {
	out := t.TempDir()
	w, err := Write("testdata/results", out)
	require.NoError(t, err)
	assert.Len(t, w.Problems, 1)
	for _, f := range []string{"all_results.json", "comparison.md", "analysis_report.md", "summary.md", "index.html",
		"charts/simulated_throughput_vs_concurrency.png", "charts/simulated_throughput_vs_concurrency.svg"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	require.NoError(t, err)
	page := string(html)
	assert.Contains(t, page, "<svg", "charts are inline")
	assert.NotContains(t, page, "src=\"http", "nothing is fetched: the page works offline")
	assert.Contains(t, page, "broken_results.json")
	assert.Contains(t, page, "sim-single-slot")
	assert.Contains(t, page, "server configuration and launch flags")
	assert.Contains(t, page, "<title>servegate report (simulated)</title>")
	assert.NotContains(t, page, "<?xml", "inline charts have no XML prolog")

	_, err = Write(t.TempDir(), out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no readable result files")
}

func TestInvalidPointsAreShownAndLeftOutOfCharts(t *testing.T) {
	runs, _ := load(t)
	p := runs[1].point("concurrent", "c64")
	p.Invalid = "client-bound: held 40 of 64 requests in flight"
	var b bytes.Buffer
	Analysis(&b, runs, nil)
	assert.Contains(t, b.String(), "INVALID sim/llama3.1-8b concurrent/c64: client-bound")
	found := false
	for _, c := range Charts(runs) {
		if !strings.HasSuffix(c.File, "throughput_vs_concurrency") {
			continue
		}
		for _, s := range c.series {
			if s.Name == runs[1].Label {
				found = true
				assert.NotContains(t, s.X, 64.0, "an invalid point is not plotted")
			}
		}
	}
	assert.True(t, found)
}

// copyResults copies the fixture results into a fresh directory the test may add to.
func copyResults(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/results")))
	return dir
}

func TestGPUTimelineAndVerdictsRenderWhenPresent(t *testing.T) {
	dir := copyResults(t)
	var samples []string
	for i := 0; i < 20; i++ {
		samples = append(samples, fmt.Sprintf(`{"t_sec": %.1f, "device": 0, "memory_used_mb": %d, "memory_total_mb": 81920, "gpu_utilization_pct": %d, "power_w": 300}`,
			float64(i)*0.2, 40000+100*i, 5*i))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sim", "sim_gpt-oss-20b_gpu_timeline.json"),
		[]byte(`{"samples": [`+strings.Join(samples, ",")+`]}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sim-single-slot", "sim-single-slot_llama3.1-8b_gpu_timeline.json"),
		[]byte(`{"samples": [{"t_sec": "soon"}]}`), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "summary"), 0o755))
	// H1 was decided on the points in the report; H4 on an earlier measurement of a point
	// the report holds a newer one of; H3 names no evidence (an older verdict file).
	require.NoError(t, os.WriteFile(filepath.Join(dir, "summary", "hypotheses.json"), []byte(`{"hypotheses": [
		{"id": "H1", "claim": "throughput at c64 >= 4x c1", "verdict": "pass", "observed": 35.6, "ci95_low": 33.1, "ci95_high": 38.2, "threshold": 4, "details": "sim",
		 "framework": "sim", "model_preset": "gpt-oss-20b", "scale": "quick", "decided_at": "2026-01-02T03:04:05.000Z",
		 "evidence": [{"framework": "sim", "scenario": "concurrent", "point": "c64"}, {"framework": "sim", "scenario": "concurrent", "point": "c1"}]},
		{"id": "H4", "claim": "warm shared-prefix TTFT <= 0.7x control", "verdict": "inconclusive", "observed": 0.66, "ci95_low": 0.5, "ci95_high": 0.8, "threshold": 0.7,
		 "framework": "sim", "model_preset": "gpt-oss-20b", "evidence": [{"framework": "sim", "scenario": "prefix_cache", "point": "shared", "measured_at": "2020-01-01T00:00:00.000Z"}]},
		{"id": "H3", "claim": "long prompts", "verdict": "pass", "observed": 1.9, "threshold": 2.5}]}`), 0o644))
	out := t.TempDir()
	w, err := Write(dir, out)
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(out, "charts", "simulated_gpu_memory.png"))
	assert.FileExists(t, filepath.Join(out, "charts", "simulated_gpu_utilization.svg"))
	var named []string
	for _, p := range w.Problems {
		named = append(named, p.String())
	}
	assert.Contains(t, strings.Join(named, "\n"), "sim-single-slot_llama3.1-8b_gpu_timeline.json: not a GPU timeline")
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "GPU memory used over the run")
	assert.Contains(t, string(html), "<b>inconclusive (STALE)</b>")
	summary, err := os.ReadFile(filepath.Join(out, "summary.md"))
	require.NoError(t, err)
	assert.Regexp(t, `\| H1 \| sim \(gpt-oss-20b\) \| pass +\|`, string(summary))
	// The table says which verdicts are stale; the fold under it says why.
	assert.Regexp(t, `\| H4 \| sim \(gpt-oss-20b\) \| inconclusive \(STALE\) +\|`, string(summary))
	assert.Regexp(t, `\| H3 \| no frameworks +\| pass \(STALE\) +\|`, string(summary))
	assert.Regexp(t, `\*\*H4\*\* \(inconclusive \(STALE\)\):.* STALE: sim prefix_cache/shared was measured again`, string(summary))
	assert.Regexp(t, `\*\*H3\*\* \(pass \(STALE\)\):.* STALE: .*names no points`, string(summary))
	assert.NotContains(t, strings.Join(named, "\n"), "sim_gpt-oss-20b_gpu_timeline.json: not a servegate result file", "timelines are not result files")
}

// Axis ticks fall on round values from zero (not 30, 59, 88), and a log2 concurrency axis
// has a labelled tick at every measured value.
func TestTicksAreRound(t *testing.T) {
	labels := func(ts []plot.Tick) []string {
		var out []string
		for _, t := range ts {
			if t.Label != "" {
				out = append(out, t.Label)
			}
		}
		return out
	}
	assert.Equal(t, []string{"0", "2", "4", "6", "8", "10", "12", "14", "16"}, labels(roundTicks{}.Ticks(0, niceTop(13.2, 0))))
	assert.Equal(t, []string{"0", "2000", "4000", "6000", "8000", "10000", "12000", "14000"}, labels(roundTicks{}.Ticks(0, niceTop(12500, 0))))
	assert.Equal(t, []string{"0", "20", "40", "60", "80", "100"}, labels(roundTicks{}.Ticks(0, niceTop(99, 100))))
	assert.Equal(t, []string{"0", "0.2", "0.4", "0.6", "0.8", "1", "1.2"}, labels(roundTicks{}.Ticks(0, niceTop(0.93, 0))))
	assert.Equal(t, []string{"1", "8", "16", "32", "64"}, labels(measuredTicks([]float64{1, 8, 16, 32, 64})))
}

func TestReportShowsChangesAgainstABaseline(t *testing.T) {
	base := t.TempDir()
	require.NoError(t, os.CopyFS(base, os.DirFS("testdata/results")))
	require.NoError(t, os.Remove(filepath.Join(base, "sim", "broken_results.json")))
	// The baseline's sim was the single-slot engine: today's batching run is far faster.
	b, err := os.ReadFile(filepath.Join(base, "sim-single-slot", "sim-single-slot_gpt-oss-20b_results.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(base, "sim", "sim_gpt-oss-20b_results.json"), b, 0o644))
	require.NoError(t, os.RemoveAll(filepath.Join(base, "sim-single-slot")))
	out := t.TempDir()
	_, err = WriteWith("testdata/results", out, Options{Baseline: base, Compare: compare.Options{Threshold: 0.1}})
	require.NoError(t, err)
	md, err := os.ReadFile(filepath.Join(out, "analysis_report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "## Against the baseline")
	assert.Regexp(t, `concurrent/c64 +\| output_token_throughput .*\| improved`, string(md))
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), `class="c-improved"`)
}

// Fields that say how a point ran are not read as metrics, numbers though some are.
func TestPointRunFieldsAreNotMetrics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim_x_results.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"framework":"sim","results":[{"scenario":"s","point":"p",
		"output_length_method":"natural","output_length_forced":false,"output_length_varied":true,
		"trials_shared_cache":true,"prompt_tokens_correction":7,"avg_ttft_ms":12.5}]}`), 0o644))
	r, err := readRun(path)
	require.NoError(t, err)
	require.Len(t, r.Points, 1)
	assert.Equal(t, map[string]float64{"avg_ttft_ms": 12.5}, r.Points[0].Metrics)
}

// A MIG instance reports memory but no utilisation: its timeline charts memory, and no line
// of made-up zeros for utilisation.
func TestGPUUtilisationAbsentIsNotCharted(t *testing.T) {
	dir := t.TempDir()
	var samples []string
	for i := 0; i < 5; i++ {
		samples = append(samples, fmt.Sprintf(`{"t_sec": %d, "device": 4, "memory_used_mb": %d, "memory_total_mb": 20000}`, i, 9000+i))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vllm_tiny_gpu_timeline.json"), []byte(`{"samples": [`+strings.Join(samples, ",")+`]}`), 0o644))
	charts, problems := gpuCharts([]*Run{{Path: filepath.Join(dir, "vllm_tiny_results.json"), Framework: "vllm", Label: "vllm"}})
	require.Empty(t, problems)
	var files []string
	for _, c := range charts {
		files = append(files, c.File)
	}
	assert.Equal(t, []string{"gpu_memory"}, files)
}

// Two versions of one framework on one preset are told apart by version; one alone is not.
func TestRunsOfTwoVersionsAreLabelledByVersion(t *testing.T) {
	ver := func(v string) map[string]any { return map[string]any{"engine_version": v} }
	runs := []*Run{{Framework: "ollama", ModelPreset: "tiny", Provenance: ver("0.6.5")},
		{Framework: "ollama", ModelPreset: "tiny", Provenance: ver("0.17.4")},
		{Framework: "vllm", ModelPreset: "tiny", Provenance: ver("0.15.1")}}
	label(runs)
	assert.Equal(t, []string{"ollama 0.6.5", "ollama 0.17.4", "vllm"}, []string{runs[0].Label, runs[1].Label, runs[2].Label})
}

// The capacity charts: attainment by concurrency with each run's capacity and the SLO's
// target marked, and the per-user against total throughput trade.
func TestCapacityChartsMarkTheTargetAndTheCapacity(t *testing.T) {
	runs, _ := load(t)
	byFile := map[string]Chart{}
	for _, c := range Charts(runs) {
		byFile[c.File] = c
	}
	att, ok := byFile["simulated_capacity_attainment"]
	require.True(t, ok, "an attainment chart")
	named := map[string]series{}
	rules := map[int][]float64{} // run style -> its capacity rule's x
	for _, s := range att.series {
		if s.rule {
			rules[s.Style] = s.X
			continue
		}
		named[s.Name] = s
	}
	batching, single := runs[0], runs[2]
	require.Equal(t, []string{"sim/gpt-oss-20b", "sim-single-slot/gpt-oss-20b"}, []string{batching.Label, single.Label})
	require.Contains(t, named, "sim/gpt-oss-20b (capacity 184)", "the capacity in the run's legend entry")
	require.Contains(t, named, "sim-single-slot/gpt-oss-20b (capacity 11)")
	assert.Equal(t, []float64{184, 184}, rules[batching.Style], "the capacity, a vertical line in the run's style")
	assert.Equal(t, []float64{11, 11}, rules[single.Style])
	require.True(t, named["target 95%"].reference, "the target share, a line of no run")
	assert.Equal(t, []float64{95, 95}, named["target 95%"].Y)
	for _, y := range named["sim/gpt-oss-20b (capacity 184)"].Y {
		assert.True(t, y >= 0 && y <= 100, "attainment is a percentage")
	}
	pareto, ok := byFile["simulated_pareto"]
	require.True(t, ok, "a Pareto chart")
	require.Len(t, pareto.series, len(runs), "one line per run")
	for _, s := range pareto.series {
		for i := 1; i < len(s.X); i++ {
			assert.GreaterOrEqual(t, s.X[i], s.X[i-1], "%s runs left to right", s.Name)
		}
	}
	for _, c := range []Chart{att, pareto} {
		svg, err := c.SVG()
		require.NoError(t, err)
		require.NoError(t, checkSVG(svg), c.File)
	}
}

// A file of a newer schema is named with the reason; the others still load.
func TestLoadRefusesANewerSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vllm", "vllm_x_results.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(`{"schema_version": 2, "framework": "vllm", "results": [{"scenario": "concurrent", "point": "c1", "ttft": 5}]}`), 0o644))
	runs, problems, err := Load(dir)
	require.NoError(t, err)
	assert.Empty(t, runs)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].String(), "has schema_version 2, newer than this servegate reads (1)")
}

// Runs of one version under other settings are told apart by what differs: the scale here.
func TestRunsUnderOtherSettingsAreLabelledBySettings(t *testing.T) {
	set := func(scale, profile string) map[string]any { return map[string]any{"scale": scale, "profile": profile} }
	ver := map[string]any{"engine_version": "sim-batching"}
	runs := []*Run{{Framework: "sim", ModelPreset: "tiny", Provenance: ver, Settings: set("full", "batching")},
		{Framework: "sim", ModelPreset: "tiny", Provenance: ver, Settings: set("quick", "batching")},
		{Framework: "vllm", ModelPreset: "tiny", Settings: set("quick", "")}}
	label(runs)
	assert.Equal(t, []string{"sim full", "sim quick", "vllm"}, []string{runs[0].Label, runs[1].Label, runs[2].Label})
}

// A simulator profile is named by the engine's version already (sim-batching): the label
// says it once, not "sim sim-batching batching".
func TestASettingAlreadyToldIsNotRepeated(t *testing.T) {
	run := func(profile string) *Run {
		return &Run{Framework: "sim", ModelPreset: "tiny", Provenance: map[string]any{"engine_version": "sim-" + profile},
			Settings: map[string]any{"scale": "quick", "profile": profile}}
	}
	runs := []*Run{run("batching"), run("single-slot")}
	label(runs)
	assert.Equal(t, []string{"sim sim-batching", "sim sim-single-slot"}, []string{runs[0].Label, runs[1].Label})
}

func TestFailuresNameEachClassTheMostFirst(t *testing.T) {
	for _, tc := range []struct {
		classes map[string]int
		want    string
	}{
		{nil, ""},
		{map[string]int{"http_error": 0}, ""},
		{map[string]int{"http_error": 3, "rate_limited": 20}, "rate_limited 20, http_error 3"},
		{map[string]int{"stalled": 2, "cut": 2, "timeout": 5}, "timeout 5, cut 2, stalled 2"},
	} {
		assert.Equal(t, tc.want, failures(tc.classes), "%v", tc.classes)
	}
}

// A point's failed requests and a capacity probe's are named by class where the report
// shows them, so that "ok 67%" or a failed level comes with what went wrong.
func TestFailedRequestsAreNamedByClass(t *testing.T) {
	run := &Run{Label: "vllm", Points: []Point{
		{Scenario: "concurrent", Point: "c8", Concurrency: 8, Metrics: map[string]float64{"success_rate": 0.67},
			ErrorClasses: map[string]int{"rate_limited": 20, "http_error": 3}},
		{Scenario: "capacity", Point: "concurrency", Capacity: &schema.Capacity{Sentence: "vllm serves 8", Probes: []schema.Probe{
			{Level: 8, Verdict: "fail", Requests: 30, Failed: 4, ErrorClasses: map[string]int{"timeout": 4}},
			{Level: 4, Verdict: "pass", Requests: 30},
		}}},
	}}
	var b strings.Builder
	for _, rw := range rows([]*Run{run}, "concurrent") {
		b.WriteString(rw.Notes + "\n")
	}
	capacitySection(&b, []*Run{run})
	out := b.String()
	assert.Contains(t, out, "failed: rate_limited 20, http_error 3")
	assert.Contains(t, out, "| 8     | fail    | 30       | 4 (timeout 4) |")
	assert.Contains(t, out, "| 4     | pass    | 30       | 0             |")
}
