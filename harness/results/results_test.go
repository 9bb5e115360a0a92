package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPointKeepsTheOriginalFieldNames(t *testing.T) {
	p := Point{Scenario: "single_request", Point: "in128", Framework: "sglang", Concurrency: 1, InputTokens: 128,
		OutputTokens: 256, NumRequests: 10, Trials: 1, ITLBasis: "exact_tokens_per_chunk",
		Metrics: map[string]float64{"avg_ttft_ms": 45.23, "p99_latency_ms": 1295, "total_token_throughput": 208.5,
			"request_throughput": 0.81, "success_rate": 100, "total_time_sec": 12.35}}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var flat map[string]any
	require.NoError(t, json.Unmarshal(b, &flat))
	for _, k := range []string{"scenario", "framework", "concurrency", "input_tokens", "output_tokens", "num_requests",
		"avg_ttft_ms", "p99_latency_ms", "total_token_throughput", "request_throughput", "success_rate", "total_time_sec",
		"gpu_memory_mb", "gpu_utilization_pct"} {
		assert.Contains(t, flat, k)
	}
	assert.Nil(t, flat["gpu_memory_mb"], "no GPU sampled: null, not a made-up zero")

	var back Point
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, p, back)
}

func TestMetricClashingWithAFieldIsRefused(t *testing.T) {
	_, err := json.Marshal(Point{Metrics: map[string]float64{"concurrency": 3}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "concurrency")
}

func TestWriterRewritesAtomicallyAfterEachPoint(t *testing.T) {
	dir := t.TempDir()
	path := Path(dir, "sim", "gpt-oss-20b")
	assert.Equal(t, filepath.Join(dir, "sim", "sim_gpt-oss-20b_results.json"), path)
	w, err := NewWriter(path, File{Framework: "sim", ModelPreset: "gpt-oss-20b"})
	require.NoError(t, err)
	f, err := Read(path)
	require.NoError(t, err, "the file exists before the first point")
	assert.Empty(t, f.Results)
	assert.NotEmpty(t, f.Definitions["itl_ms"])

	require.NoError(t, w.Add(Point{Scenario: "concurrent", Point: "c1", Metrics: map[string]float64{"avg_ttft_ms": 1}}))
	require.NoError(t, w.Add(Point{Scenario: "concurrent", Point: "c8", Metrics: map[string]float64{"avg_ttft_ms": 2}}))
	require.NoError(t, w.Add(Point{Scenario: "concurrent", Point: "c1", Metrics: map[string]float64{"avg_ttft_ms": 3}}))
	f, err = Read(path)
	require.NoError(t, err)
	require.Len(t, f.Results, 2)
	assert.Equal(t, 3.0, f.Results[0].Metrics["avg_ttft_ms"], "a re-run point replaces its row")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")
}

func TestWriteFileIsReadableByAllAndFailsLoudly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sim")
	path := filepath.Join(dir, "sim_p_results.json")
	require.NoError(t, WriteFile(path, map[string]int{"a": 1}))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "like any file a user writes, not 0600")

	// The directory is replaced by a file: every write fails, for root too.
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, nil, 0o644))
	err = WriteFile(path, map[string]int{"a": 2})
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)
}

func TestReadNamesTheBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"results": [`), 0o644))
	_, err := Read(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
}
