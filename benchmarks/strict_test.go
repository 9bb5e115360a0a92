package benchmarks

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servegate/servegate/harness/hypothesis"
	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runSuite runs this test binary again with args (a gate decided from files, so nothing
// is measured) and returns its output and whether it passed.
func runSuite(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, append([]string{"-test.v", "-test.count=1"}, args...)...)
	for _, kv := range os.Environ() {
		// The child takes its settings from args alone.
		if !strings.HasPrefix(kv, "SERVEGATE_STRICT=") && !strings.HasPrefix(kv, "SERVEGATE_HYPOTHESES=") &&
			!strings.HasPrefix(kv, "SERVEGATE_FROM=") && !strings.HasPrefix(kv, "SERVEGATE_OUT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !assert.ErrorAs(t, err, &exit) {
		t.FailNow()
	}
	return string(out), err == nil
}

// throughput is a point of the concurrent scenario with per-trial output throughputs.
func throughput(name string, xs ...float64) results.Point {
	iv := metrics.Estimate(xs)
	return results.Point{Scenario: "concurrent", Point: name, Framework: "sim", Trials: len(xs), MeasuredAt: "2026-01-02T03:04:05.000Z",
		Metrics:    map[string]float64{"output_token_throughput": iv.Mean, "success_rate": 100},
		TrialStats: map[string]metrics.Interval{"output_token_throughput": iv}}
}

// writeResults writes a sim result file holding pts under dir.
func writeResults(t *testing.T, dir string, pts ...results.Point) {
	t.Helper()
	require.NoError(t, results.WriteFile(results.Path(dir, "sim", "gpt-oss-20b"), results.File{
		Framework: "sim", ModelPreset: "gpt-oss-20b", Provenance: results.Provenance{Scale: "quick"},
		Settings: &results.Settings{Scale: "quick", Preset: "gpt-oss-20b"}, Results: pts}))
}

// Every strictness rule, seen as a user sees it: the suite's exit status and its words.
func TestGatesFailWithoutEvidence(t *testing.T) {
	c1 := throughput("c1", 100, 101, 99, 100, 100)
	for _, tc := range []struct {
		name   string
		points []results.Point
		args   []string
		pass   bool
		want   []string
	}{
		{"decided", []results.Point{c1, throughput("c64", 900, 905, 910, 895, 900)}, nil, true,
			[]string{"--- PASS: TestHypothesisH1/H1", "PASS"}},
		{"inconclusive is a visible skip", []results.Point{c1, throughput("c64", 300, 500, 420, 380, 460)}, nil, true,
			[]string{"--- SKIP: TestHypothesisH1/H1", "INCONCLUSIVE", "straddles"}},
		{"inconclusive fails under -strict", []results.Point{c1, throughput("c64", 300, 500, 420, 380, 460)}, []string{"-strict"}, false,
			[]string{"--- FAIL: TestHypothesisH1/H1", "fails under -strict"}},
		{"too few trials are not decided", []results.Point{throughput("c1", 100, 101, 99), throughput("c64", 900, 905, 910)}, []string{"-strict"}, false,
			[]string{"has 3 trial(s)", "at least 5 per point"}},
		{"a missing point fails without -strict", []results.Point{c1}, nil, false,
			[]string{"--- FAIL: TestHypothesisH1/H1", "evidence is missing", "no result for concurrent/c64"}},
		{"no result files fail", nil, nil, false, []string{"no result files under"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, out := t.TempDir(), t.TempDir()
			if tc.points != nil {
				writeResults(t, dir, tc.points...)
			}
			// The report's merged copy must not be read back as a framework named "".
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "summary"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "summary", "all_results.json"), []byte(`{"runs": []}`), 0o644))
			output, pass := runSuite(t, append([]string{"-test.run=^TestHypothesisH1$/^H1$", "-from=" + dir, "-out=" + out}, tc.args...)...)
			assert.Equal(t, tc.pass, pass, output)
			for _, w := range tc.want {
				assert.Contains(t, output, w)
			}
			assert.NotContains(t, output, "named \"\"")
		})
	}
}

func TestAnInvalidOverrideFileStopsTheGates(t *testing.T) {
	dir := t.TempDir()
	writeResults(t, dir, throughput("c1", 100, 101, 99, 100, 100), throughput("c64", 900, 905, 910, 895, 900))
	bad := filepath.Join(t.TempDir(), "h.json")
	require.NoError(t, os.WriteFile(bad, []byte(`[{"id": "H1", "merge": true, "checks": [{"num": {"scenario": "concurrent", "point": "c64", "metric": "output_token_throughput"},
		"den": {"scenario": "concurrent", "point": "c1", "metric": "output_token_throughput"}, "op": ">=", "treshold": 8}]}]`), 0o644))
	output, pass := runSuite(t, "-test.run=^TestHypothesisH1$/^H1$", "-from="+dir, "-out="+t.TempDir(), "-hypotheses="+bad)
	assert.False(t, pass, output)
	assert.Contains(t, output, `unknown field "treshold"`)
}

// Verdicts of one hypothesis for several frameworks and presets live side by side; a new
// verdict replaces only its own.
func TestVerdictsAreKeptPerFrameworkAndPreset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary", "hypotheses.json")
	for _, r := range []hypothesis.Result{
		{ID: "H1", Framework: "vllm", Preset: "gpt-oss-20b", Verdict: hypothesis.Pass},
		{ID: "H1", Framework: "sglang", Preset: "gpt-oss-20b", Verdict: hypothesis.Pass},
		{ID: "H1", Framework: "vllm", Preset: "llama3.1-8b", Verdict: hypothesis.Fail},
		{ID: "H2", Compared: []string{"ollama", "vllm"}, Preset: "gpt-oss-20b", Verdict: hypothesis.Pass},
		{ID: "H1", Framework: "vllm", Preset: "gpt-oss-20b", Verdict: hypothesis.Inconclusive},
	} {
		require.NoError(t, recordVerdict(path, r))
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var f struct {
		Hypotheses []hypothesis.Result `json:"hypotheses"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	require.Len(t, f.Hypotheses, 4)
	got := map[string]string{}
	for _, h := range f.Hypotheses {
		got[h.Key()] = h.Verdict
	}
	assert.Equal(t, hypothesis.Inconclusive, got["h1|vllm|gpt-oss-20b"], "the newer verdict of the same key replaced the older")
	assert.Equal(t, hypothesis.Pass, got["h1|sglang|gpt-oss-20b"])
	assert.Equal(t, hypothesis.Fail, got["h1|vllm|llama3.1-8b"])
}

// From the repository root or from benchmarks/, a relative path flag names the same place.
func TestRelativePathsAreTakenFromTheRepositoryRoot(t *testing.T) {
	root := resolvePath(".")
	_, err := os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "resolves against the module root, not benchmarks/")
	assert.Equal(t, filepath.Join(root, "results"), resolvePath("results"))
	assert.Equal(t, "/abs/x", resolvePath("/abs/x"))
	assert.Equal(t, "", resolvePath(""))
}
