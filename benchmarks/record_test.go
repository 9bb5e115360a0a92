package benchmarks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A results directory that stops taking writes mid-run (a full disk; here the directory is
// replaced by a file, which fails for root too) stops the run, and the summary says which
// point is not on disk instead of listing it as if it were.
func TestFailedWriteStopsTheRunAndIsNamed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	w, err := results.Open(context.Background(), results.Path(dir, "sim", "p"), results.File{Framework: "sim"}, results.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() }) // its lock file went with the directory
	s := &suite{writer: w}
	point := func(name string) *schema.Group {
		return &schema.Group{Head: schema.Head{Point: schema.Point{Scenario: "concurrent", Point: name, Concurrency: 1, NumRequests: 1}},
			Trials: []schema.Trial{{Trial: 1}}}
	}
	_, err = s.record(point("c1"))
	require.NoError(t, err)

	require.NoError(t, os.RemoveAll(filepath.Join(dir, "sim")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sim"), nil, 0o644))
	_, err = s.record(point("c8"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the run stops")
	assert.Equal(t, err, s.writeErr, "later points see it and are not measured")

	var out bytes.Buffer
	printSummary(&out, s)
	assert.Contains(t, out.String(), "c8*")
	assert.NotContains(t, out.String(), "c1*", "c1 was written")
	assert.Contains(t, out.String(), "NOT ON DISK concurrent/c8: results not written")
}

// The console summary fits 100 columns with every column filled and the longest names, and
// a simulated run says so before any number.
func TestSummaryFitsAConsoleAndSaysSimulated(t *testing.T) {
	w, err := results.Open(context.Background(), results.Path(t.TempDir(), "sim", "p"), results.File{Framework: "sim"}, results.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	s := &suite{writer: w, target: scenario.Target{Simulated: true, Version: "sim-batching"}, preset: models.Preset{Name: "llama3.1-8b"}}
	all := map[string]float64{"mean_input_tokens": 4096, "mean_output_tokens": 256, "success_rate": 100, "p50_ttft_ms": 12345.6,
		"p99_ttft_ms": 23456.7, "p50_tpot_ms": 123.45, "p99_latency_ms": 1234567, "output_token_throughput": 123456}
	for _, pt := range []results.Point{{Scenario: "single_request", Point: "in1024"}, {Scenario: "long_context", Point: "in4096_c4", Invalid: "client-bound"},
		{Scenario: "prefix_cache", Point: "control"}} {
		pt.Concurrency, pt.Metrics = 64, all
		require.NoError(t, w.Add(pt))
	}
	var out bytes.Buffer
	printSummary(&out, s)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, l := range lines[1:] { // the first names the file, as long as its path
		assert.LessOrEqual(t, utf8.RuneCountInString(l), 100, "%q", l)
	}
	assert.Contains(t, lines[1], "SIMULATED")
	assert.Contains(t, out.String(), "in4096_c4!")
	assert.Contains(t, out.String(), "INVALID long_context/in4096_c4: client-bound")
}

func TestAnEarlierGPUTimelineIsKeptAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vllm_tiny_gpu_timeline.json")
	require.NoError(t, keepEarlierTimeline(path), "no earlier timeline: nothing to do")
	require.NoError(t, os.WriteFile(path, []byte(`{"samples":[{"t_sec":1}]}`), 0o644))
	written := time.Date(2026, 12, 1, 14, 15, 0, 0, time.UTC)
	require.NoError(t, os.Chtimes(path, written, written))
	require.NoError(t, keepEarlierTimeline(path))
	assert.NoFileExists(t, path)
	b, err := os.ReadFile(filepath.Join(dir, "vllm_tiny_gpu_timeline_20261201T141500Z.json"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"samples":[{"t_sec":1}]}`, string(b))
}
