package benchmarks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/results"
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
	assert.Contains(t, out.String(), "c8 (NOT ON DISK)")
	assert.NotContains(t, out.String(), "c1 (NOT ON DISK)", "c1 was written")
	assert.Contains(t, out.String(), "NOT ON DISK concurrent/c8: results not written")
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
