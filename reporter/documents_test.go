package reporter

import (
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reversed returns the fixture runs with every run's points in reverse order, as a file
// written by a run that measured c64 first (or re-ran c1 last) has them.
func reversed(t *testing.T) []*Run {
	t.Helper()
	runs, _ := load(t)
	for _, r := range runs {
		slices.Reverse(r.Points)
	}
	return runs
}

// Tables list points in natural order, whatever the order they were measured in.
func TestTablesListPointsInNaturalOrder(t *testing.T) {
	runs := reversed(t)
	md := string(render(func(w io.Writer) { Comparison(w, runs) }))
	section := md[strings.Index(md, "## concurrent"):strings.Index(md, "## long_context")]
	var order []string
	for _, line := range strings.Split(section, "\n") {
		if f := strings.Fields(strings.Trim(line, "| ")); len(f) > 0 && regexp.MustCompile(`^c\d+$`).MatchString(f[0]) {
			if len(order) == 0 || order[len(order)-1] != f[0] {
				order = append(order, f[0])
			}
		}
	}
	assert.Equal(t, []string{"c1", "c8", "c16", "c32", "c64"}, order)
	var pts []string
	for _, rw := range rows(runs, "long_context") {
		if rw.Label == runs[0].Label {
			pts = append(pts, rw.Point)
		}
	}
	assert.Equal(t, []string{"in2048_c1", "in2048_c4", "in4096_c1", "in4096_c4"}, pts)
	assert.True(t, naturalLess("c8", "c16"))
	assert.False(t, naturalLess("c16", "c8"))
	assert.True(t, naturalLess("en", "ko"))
}

// A finding is made from the valid points a run has: measured c64 first, an incomplete
// run, or an invalid point never gives "scales 0.0x from concurrency 64 to 1".
func TestFindingsNeedValidPointsInOrder(t *testing.T) {
	scales := func(runs []*Run) []string {
		var out []string
		for _, f := range findings(runs) {
			if strings.Contains(f.Text, "scales") {
				out = append(out, f.Text)
			}
		}
		return out
	}
	runs := reversed(t)
	for _, s := range scales(runs) {
		assert.Contains(t, s, "from concurrency 1 to 64", "measured c64 first")
		assert.NotContains(t, s, " 0.0x")
	}
	only := func(r *Run, keep ...string) {
		var pts []Point
		for _, p := range r.Points {
			if p.Scenario != "concurrent" || slices.Contains(keep, p.Point) {
				pts = append(pts, p)
			}
		}
		r.Points = pts
	}
	only(runs[0], "c64")
	only(runs[1], "c1", "c8")
	runs[2].point("concurrent", "c1").Invalid = "client-bound: x"
	got := strings.Join(scales(runs), "\n")
	assert.NotContains(t, got, runs[0].Label+" scales", "one point is no scaling")
	assert.Contains(t, got, runs[1].Label+" scales", "an incomplete run scales over what it has")
	assert.Contains(t, got, runs[1].Label+" scales")
	assert.Regexp(t, regexp.QuoteMeta(runs[1].Label)+` scales [0-9.]+x in output throughput from concurrency 1 to 8`, got)
	assert.Regexp(t, regexp.QuoteMeta(runs[2].Label)+` scales [0-9.]+x in output throughput from concurrency 8 to 64`, got,
		"an invalid point is left out")
}

// An inconclusive verdict that observed nothing shows "–", not "observed 0"; summary.md
// keeps its tables narrow and folds each claim and its details.
func TestVerdictsAreCompactAndShowNothingAsADash(t *testing.T) {
	one, two := 1.9, 2.4
	long := strings.Repeat("sim concurrent/c64 output_token_throughput / sim concurrent/c1 output_token_throughput >= 4: pass (8.01); ", 4)
	vs := []Verdict{
		{ID: "H1", Claim: "batching engines scale", Verdict: "pass", Observed: 8.01, Low: &one, High: &two, Threshold: 4, Details: long},
		{ID: "H2", Claim: "decode is memory-bound", Verdict: "inconclusive", Threshold: 1.3, Details: "needs results of the frameworks it compares"},
	}
	assert.Equal(t, "–", vs[1].ObservedText())
	assert.Equal(t, "8.01", vs[0].ObservedText())
	runs, problems := load(t)
	md := string(render(func(w io.Writer) { Summary(w, runs, problems); Verdicts(w, vs) }))
	assert.Regexp(t, `\| H2 +\| no frameworks +\| inconclusive +\| – +\|`, md)
	assert.Contains(t, md, "<details><summary>")
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "|") {
			assert.LessOrEqual(t, len([]rune(line)), 110, "a table row of the job summary: %q", line)
		}
	}
	fold := md[strings.Index(md, "<details>"):]
	assert.Contains(t, fold, long[:60], "the details are in the fold")
}

// Every document a reader opens says the runs are simulated.
func TestSimulatedRunsSaySoInEveryDocument(t *testing.T) {
	runs, problems := load(t)
	for name, doc := range map[string][]byte{
		"comparison.md":      render(func(w io.Writer) { Comparison(w, runs) }),
		"analysis_report.md": render(func(w io.Writer) { Analysis(w, runs, problems) }),
		"summary.md":         render(func(w io.Writer) { Summary(w, runs, problems) }),
	} {
		assert.Contains(t, string(doc), "SIMULATED", name)
	}
	real := []*Run{{Framework: "vllm", Label: "vllm"}, {Framework: "sim", Label: "sim", Simulated: true}}
	assert.Contains(t, simulatedNotice(real), "Includes SIMULATED runs")
	assert.Contains(t, simulatedNotice(real), ": sim.")
	assert.Empty(t, simulatedNotice(real[:1]))
}

// A run with one point of a scenario is drawn, as a point, and is in the legend.
func TestASinglePointIsDrawn(t *testing.T) {
	runs, _ := load(t)
	var pts []Point
	for _, p := range runs[0].Points {
		if p.Scenario != "concurrent" || p.Point == "c8" {
			pts = append(pts, p)
		}
	}
	runs[0].Points = pts
	for _, c := range Charts(runs) {
		if !strings.HasSuffix(c.File, "throughput_vs_concurrency") {
			continue
		}
		svg, err := c.SVG()
		require.NoError(t, err)
		leg := legendOf(parseChart(t, svg), func(s string) bool { return s == runs[0].Label })
		require.Len(t, leg, 1, "the one-point run is in the legend")
		return
	}
	t.Fatal("no throughput chart")
}

// Runs are compared only on the same model: a comparing finding never sets one preset's
// run against another's, and says at which points, once per pair of runs.
func TestFindingsCompareRunsOfOneModel(t *testing.T) {
	runs, _ := load(t)
	n := 0
	for _, f := range findings(runs) {
		if !strings.Contains(f.Text, " has the ") {
			continue
		}
		n++
		var presets []string
		for _, r := range runs {
			if strings.Contains(f.Text, r.Label) {
				presets = append(presets, r.ModelPreset)
			}
		}
		require.Len(t, presets, 2, f.Text)
		assert.Equal(t, presets[0], presets[1], f.Text)
	}
	assert.NotZero(t, n)
	assert.Contains(t, findingTexts(runs), "sim/gpt-oss-20b has the higher output_token_throughput at c8, c16, c32, c64: ")
	// The ratio is the larger over the smaller, so it is said of the larger value.
	assert.Regexp(t, `sim/gpt-oss-20b has the lower p50_ttft_ms at c8, c16, c32, c64: sim-single-slot/gpt-oss-20b's is [0-9.x-]+ sim/gpt-oss-20b's`,
		findingTexts(runs))
}

func findingTexts(runs []*Run) string {
	var out []string
	for _, f := range findings(runs) {
		out = append(out, f.Scenario+": "+f.Text)
	}
	return strings.Join(out, "\n")
}
