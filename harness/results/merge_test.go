package results

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requests are eight requests of one trial with spread-out TTFTs and gaps.
func requests() []stream.Record {
	var out []stream.Record
	for i := range 8 {
		base := float64(10 + 7*i)
		out = append(out, streamed(time.Duration(i)*time.Millisecond, base, base+1+float64(i%3), base+3+float64(i%5)))
	}
	return out
}

// shardsOf splits one trial's requests as n shards would send them (request j by shard
// j mod n), each with its own trial figures.
func shardsOf(recs []stream.Record, n int) [][]schema.Group {
	out := make([][]schema.Group, n)
	starts := []string{t0.Format(time.RFC3339Nano)}
	for s := range n {
		g := schema.Group{Head: schema.Head{
			File:  File{Framework: "sim", Model: "m", Settings: &quick},
			Point: schema.Point{Scenario: "concurrent", Point: "c8", Concurrency: 8, NumRequests: 8, Trials: 1, MeasuredAt: "2026-01-02T03:04:0" + string(rune('0'+s)) + ".000Z"},
			Shard: &schema.Shard{Index: s, Count: n, Starts: starts},
		}}
		g.Trials = []schema.Trial{{Trial: 1, Values: map[string]float64{"client_cpu_sec": 0.5, "client_max_in_flight": 2,
			"client_sched_lag_p99_ms": float64(s + 1), "client_cpu_pct": float64(10 * (s + 1))}, Warnings: []string{"a finding"}}}
		for j := s; j < len(recs); j += n {
			g.Requests = append(g.Requests, Request(1, j, &recs[j]))
		}
		out[s] = []schema.Group{g}
	}
	return out
}

// Merged shards compute to what one process sending every request would: the pooled
// requests give exact percentiles, not averages of the shards'.
func TestMergedShardsAreOneMeasurement(t *testing.T) {
	recs := requests()
	merged, err := Merge(shardsOf(recs, 4))
	require.NoError(t, err)
	require.Len(t, merged, 1)
	m := merged[0]
	assert.Equal(t, 4, m.Head.Point.Shards)
	assert.Nil(t, m.Head.Shard)
	assert.Equal(t, "2026-01-02T03:04:03.000Z", m.Head.Point.MeasuredAt, "the last shard to finish")

	whole := measured("c8", recs)
	pw, err := Assemble(whole)
	require.NoError(t, err)
	pm, err := Assemble(&m)
	require.NoError(t, err)
	for _, k := range []string{"p50_ttft_ms", "p99_ttft_ms", "p90_itl_ms", "p99_itl_ms", "avg_latency_ms", "output_token_throughput", "max_concurrency_observed"} {
		assert.Equal(t, pw.Metrics[k], pm.Metrics[k], k)
	}
	assert.Equal(t, pw.Requests, pm.Requests, "requests numbered as one process numbers them")
	assert.Equal(t, 2.0, pm.Metrics["client_cpu_sec"], "CPU seconds add up")
	assert.Equal(t, 8.0, pm.Metrics["client_max_in_flight"])
	assert.Equal(t, 4.0, pm.Metrics["client_sched_lag_p99_ms"], "the worst shard's lag")
	assert.Equal(t, 25.0, pm.Metrics["client_cpu_pct"], "percentages are averaged")
	assert.InDelta(t, 2e6/pm.Metrics["total_output_tokens"], pm.Metrics["client_cpu_us_per_token"], 1e-9, "per token over the pooled tokens")
	assert.Contains(t, pm.Warnings, "shard 3: a finding")
	assert.Empty(t, pm.Invalid)
}

// A shard whose measuring stopped early (its target died, its deadline came) marks the
// merged point invalid, naming the shard.
func TestAStoppedShardMarksTheMergedPoint(t *testing.T) {
	shards := shardsOf(requests(), 2)
	shards[1][0].Head.Stopped = "sim exited"
	merged, err := Merge(shards)
	require.NoError(t, err)
	p, err := Assemble(&merged[0])
	require.NoError(t, err)
	assert.Equal(t, "stopped after 1 of 1 trials: shard 1: sim exited", p.Invalid)
}

func TestMergeRefusesShardsOfAnotherMeasurement(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func([][]schema.Group) [][]schema.Group
		want   string
	}{
		{"other settings", func(s [][]schema.Group) [][]schema.Group {
			full := quick
			full.Scale = "full"
			s[2][0].Head.File.Settings = &full
			return s
		}, `scale "quick" in the file, "full" in this run`},
		{"other seed", func(s [][]schema.Group) [][]schema.Group { s[1][0].Head.File.Provenance.Seed = 7; return s }, "seed"},
		{"a shard missing", func(s [][]schema.Group) [][]schema.Group { return s[:3] }, "records of shards [0 1 2] of 4"},
		{"a shard twice", func(s [][]schema.Group) [][]schema.Group { s[3] = s[2]; return s }, "records of shards [0 1 2 2] of 4"},
		{"another start", func(s [][]schema.Group) [][]schema.Group {
			s[1][0].Head.Shard = &schema.Shard{Index: 1, Count: 4, Starts: []string{t0.Add(time.Second).Format(time.RFC3339Nano)}}
			return s
		}, "not one measurement"},
		{"another point shape", func(s [][]schema.Group) [][]schema.Group { s[1][0].Head.Point.NumRequests = 9; return s }, "num_requests 8 vs 9"},
		{"other shard count", func(s [][]schema.Group) [][]schema.Group { s[1][0].Head.Shard.Count = 5; return s }, "shard count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.change(shardsOf(requests(), 4)))
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// servegate-merge: shard records in a results directory become the framework's result
// file and records, beside the shards'.
func TestMergeDirWritesTheResultFile(t *testing.T) {
	dir := t.TempDir()
	for i, gs := range shardsOf(requests(), 2) {
		require.NoError(t, appendGroup(RecordsPath(ShardPath(dir, "sim", "gpt-oss-20b", i, 2)), &gs[0]))
	}
	written, err := MergeDir(context.Background(), dir, Options{})
	require.NoError(t, err)
	path := Path(dir, "sim", "gpt-oss-20b")
	assert.Equal(t, []string{path}, written)
	f, err := Read(path)
	require.NoError(t, err)
	require.Len(t, f.Results, 1)
	assert.Equal(t, 2, f.Results[0].Shards)
	assert.Equal(t, 8.0, f.Results[0].Metrics["successful_requests"])
	assert.Equal(t, quick, *f.Settings)
	changed, err := RecomputeDir(dir)
	require.NoError(t, err)
	assert.Empty(t, changed, "the merged file is what its merged records compute to")
	_, err = MergeDir(context.Background(), filepath.Join(dir, "none"), Options{})
	assert.ErrorContains(t, err, "no shard records")

	// Beside a file of other settings the merged points get a file of their own, as a run's do.
	other := t.TempDir()
	full := quick
	full.Scale = "full"
	w := open(t, Path(other, "sim", "gpt-oss-20b"), full, Options{})
	require.NoError(t, w.Close())
	for i, gs := range shardsOf(requests(), 2) {
		require.NoError(t, appendGroup(RecordsPath(ShardPath(other, "sim", "gpt-oss-20b", i, 2)), &gs[0]))
	}
	written, err = MergeDir(context.Background(), other, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{SettingsPath(other, "sim", quick)}, written)
}
