package compare

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeResults writes a result file with one point whose metrics have the given trial values.
func writeResults(t *testing.T, dir string, trials map[string][]float64, invalid string) string {
	t.Helper()
	stats := map[string]any{}
	pt := map[string]any{"scenario": "concurrent", "point": "c64", "trial_stats": stats}
	if invalid != "" {
		pt["invalid"] = invalid
	}
	for m, vs := range trials {
		sum := 0.0
		for _, v := range vs {
			sum += v
		}
		stats[m] = map[string]any{"n": len(vs), "mean": sum / float64(len(vs)), "values": vs}
		pt[m] = sum / float64(len(vs))
	}
	b, err := json.Marshal(map[string]any{"framework": "sim", "results": []any{pt}})
	require.NoError(t, err)
	path := filepath.Join(dir, "sim", "sim_gpt-oss-20b_results.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

func TestCompare(t *testing.T) {
	base := map[string][]float64{
		"p50_ttft_ms":             {100, 102, 98, 101, 99},
		"output_token_throughput": {1000, 1010, 990, 1005, 995},
	}
	tests := []struct {
		name    string
		cur     map[string][]float64
		invalid string
		want    map[string]string
	}{
		{"same performance", map[string][]float64{"p50_ttft_ms": {101, 99, 100, 102, 98}, "output_token_throughput": {1002, 998, 1000, 1006, 994}},
			"", map[string]string{"p50_ttft_ms": NoChange, "output_token_throughput": NoChange}},
		{"TTFT up 30%, throughput down 20%", map[string][]float64{"p50_ttft_ms": {130, 131, 129, 132, 128}, "output_token_throughput": {800, 805, 795, 802, 798}},
			"", map[string]string{"p50_ttft_ms": Regressed, "output_token_throughput": Regressed}},
		{"faster", map[string][]float64{"p50_ttft_ms": {80, 81, 79, 80, 80}, "output_token_throughput": {1200, 1210, 1190, 1205, 1195}},
			"", map[string]string{"p50_ttft_ms": Improved, "output_token_throughput": Improved}},
		{"worse by 3%: significant but under the threshold", map[string][]float64{"p50_ttft_ms": {103, 104, 102, 103, 103}, "output_token_throughput": {1000, 1010, 990, 1005, 995}},
			"", map[string]string{"p50_ttft_ms": WithinBound, "output_token_throughput": NoChange}},
		{"a 30% mean shift inside wide noise is not a regression", map[string][]float64{"p50_ttft_ms": {60, 200, 90, 180, 120}, "output_token_throughput": {1000, 1010, 990, 1005, 995}},
			"", map[string]string{"p50_ttft_ms": NoChange}},
		{"one trial cannot be judged", map[string][]float64{"p50_ttft_ms": {150}, "output_token_throughput": {500}},
			"", map[string]string{"p50_ttft_ms": NeedsTrials, "output_token_throughput": NeedsTrials}},
		{"an invalid point is no evidence", map[string][]float64{"p50_ttft_ms": {150, 151, 149}, "output_token_throughput": {500, 501, 499}},
			"client-bound: held 40 of 64", map[string]string{"p50_ttft_ms": InvalidPoint}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := writeResults(t, t.TempDir(), base, "")
			n := writeResults(t, t.TempDir(), tc.cur, tc.invalid)
			changes, err := Files(b, n, Options{Metrics: []string{"p50_ttft_ms", "output_token_throughput"}, Threshold: 0.10})
			require.NoError(t, err)
			got := map[string]string{}
			for _, c := range changes {
				got[c.Metric] = c.Verdict
			}
			for m, v := range tc.want {
				assert.Equal(t, v, got[m], m)
			}
		})
	}
}

func TestWelch(t *testing.T) {
	// Two samples with equal variance 2.5 and means 3 and 6, n=5 each: t = -3, df = 8,
	// two-sided p = 0.01707 (from t tables).
	p := welch([]float64{1, 2, 3, 4, 5}, []float64{4, 5, 6, 7, 8})
	assert.InDelta(t, 0.01707, p, 1e-4)
	assert.Equal(t, 1.0, welch([]float64{2, 2}, []float64{2, 2}))
	assert.Equal(t, 0.0, welch([]float64{2, 2}, []float64{3, 3}))
	assert.False(t, math.IsNaN(welch([]float64{1, 2}, []float64{1, 3})))
}

func TestPathsPairsDirectories(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeResults(t, a, map[string][]float64{"p50_ttft_ms": {1, 2}}, "")
	writeResults(t, b, map[string][]float64{"p50_ttft_ms": {1, 2}}, "")
	pairs, err := Paths(a, b)
	require.NoError(t, err)
	require.Len(t, pairs, 1)
	_, err = Files(filepath.Join(a, "nope.json"), pairs[0][1], Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope.json")
}

// A comparison that cannot be made fails the gate unless the caller allows it: a missing
// point, a missing file, too few trials, an invalid point. A misspelled metric is an error.
func TestMissingEvidenceFailsUnlessAllowed(t *testing.T) {
	base := t.TempDir()
	writeResults(t, base, map[string][]float64{"p50_ttft_ms": {100, 101, 99}}, "")
	require.NoError(t, os.MkdirAll(filepath.Join(base, "summary"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(base, "summary", "all_results.json"), []byte(`{"runs": []}`), 0o644))
	other := t.TempDir()
	otherPoint := writeResults(t, other, map[string][]float64{"p50_ttft_ms": {100, 101, 99}}, "")
	b, err := os.ReadFile(otherPoint)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(otherPoint, []byte(strings.Replace(string(b), `"c64"`, `"c32"`, 1)), 0o644))
	oneTrial := t.TempDir()
	writeResults(t, oneTrial, map[string][]float64{"p50_ttft_ms": {100}}, "")

	for name, cur := range map[string]string{"no file": t.TempDir(), "no such point": other, "one trial": oneTrial} {
		pairs, err := Paths(base, cur)
		require.NoError(t, err, name)
		require.Len(t, pairs, 1, "%s: summary/ is not a framework", name)
		changes, err := Files(pairs[0][0], pairs[0][1], Options{Metrics: []string{"p50_ttft_ms"}})
		require.NoError(t, err, name)
		require.Len(t, changes, 1, name)
		assert.True(t, changes[0].NoEvidence(), name)
		assert.True(t, changes[0].Fails(Options{}), "%s fails the gate", name)
		assert.False(t, changes[0].Fails(Options{AllowMissing: true}), "%s passes with -allow-missing", name)
	}
	_, err = Files(filepath.Join(base, "sim", "sim_gpt-oss-20b_results.json"), otherPoint, Options{Metrics: []string{"p50_ttft_mss"}})
	assert.ErrorContains(t, err, `metric "p50_ttft_mss" is in no point`)
}

func TestANewerSchemaIsNotCompared(t *testing.T) {
	dir := t.TempDir()
	base := writeResults(t, filepath.Join(dir, "base"), map[string][]float64{"p50_ttft_ms": {1, 2}}, "")
	cur := filepath.Join(dir, "new.json")
	require.NoError(t, os.WriteFile(cur, []byte(`{"schema_version": 7, "framework": "sim", "results": []}`), 0o644))
	_, err := Files(base, cur, Options{Threshold: 0.1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), cur+" has schema_version 7")
}
