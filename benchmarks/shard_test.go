//go:build !vllm && !sglang && !ollama && !openai

package benchmarks

import (
	"os"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/shard"
	"github.com/servegate/servegate/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func setFlag(t *testing.T, f *string, v string) {
	t.Helper()
	old := *f
	*f = v
	t.Cleanup(func() { *f = old })
}

// A pod of an Indexed Job is a shard without flags: its index and the Job's completions
// come from the environment. A shard needs a start it shares with the others.
func TestShardFlags(t *testing.T) {
	setFlag(t, flagShard, "")
	setFlag(t, flagStartAt, "")
	setFlag(t, flagBarrier, "")
	setFlag(t, flagRunID, "")
	t.Setenv("JOB_COMPLETION_INDEX", "")
	sh, err := shardFlags()
	require.NoError(t, err)
	assert.True(t, sh.shard.Whole(), "no shard: the whole measurement")

	t.Setenv("JOB_COMPLETION_INDEX", "2")
	t.Setenv("JOB_COMPLETIONS", "4")
	_, err = shardFlags()
	assert.ErrorContains(t, err, "needs a start it shares")

	*flagBarrier, *flagRunID = t.TempDir(), "job-uid"
	sh, err = shardFlags()
	require.NoError(t, err)
	assert.Equal(t, shard.Shard{Index: 2, Count: 4}, sh.shard)
	assert.IsType(t, &shard.Barrier{}, sh.sync)

	*flagShard, *flagBarrier, *flagStartAt = "1/3", "", "2026-01-02T15:04:05Z"
	sh, err = shardFlags()
	require.NoError(t, err)
	assert.Equal(t, shard.Shard{Index: 1, Count: 3}, sh.shard, "-shard wins over the environment")
	assert.Equal(t, &shard.At{Time: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)}, sh.sync)

	*flagStartAt = "tomorrow"
	_, err = shardFlags()
	assert.ErrorContains(t, err, "RFC 3339")

	*flagStartAt = "2026-01-02T15:04:05Z"
	old := *flagTrials
	t.Cleanup(func() { *flagTrials = old })
	flagTrials.auto = true
	_, err = shardFlags()
	assert.ErrorContains(t, err, "-trials=auto decides each point on the whole of its load")
}

// A shard runs its share of a point and writes records only: servegate-merge makes the
// result.
func TestAShardWritesItsShareOfRecordsOnly(t *testing.T) {
	s := simSuite(t, true, nil)
	s.sharding = sharding{shard: shard.Shard{Index: 1, Count: 2}, sync: &shard.At{Time: time.Now()}}
	sc, err := scenario.Lookup("concurrent", scenario.Quick)
	require.NoError(t, err)
	var p scenario.Point
	for _, q := range sc.Points {
		if q.Name == "c8" {
			p = q
		}
	}
	t.Run("c8", func(t *testing.T) { s.measure(t, sc, p, 1) })
	_, err = os.Stat(results.Path(s.out, "sim", s.preset.Name))
	assert.ErrorIs(t, err, os.ErrNotExist, "a shard writes no result file")
	gs, err := schema.ReadRecords(results.RecordsPath(results.ShardPath(s.out, "sim", s.preset.Name, 1, 2)))
	require.NoError(t, err)
	require.Len(t, gs, 1)
	assert.Equal(t, 1, gs[0].Head.Shard.Index)
	assert.Equal(t, 8, gs[0].Head.Point.Concurrency, "the head describes the whole point")
	want := shard.Shard{Index: 1, Count: 2}.ClosedLoop(p.Requests, p.Concurrency)
	var got []int
	for _, q := range gs[0].Requests {
		got = append(got, q.Index)
	}
	assert.Equal(t, want, got, "its share of the requests, numbered as one process numbers them")
	assert.Equal(t, 4.0, gs[0].Trials[0].Values["client_max_in_flight"], "its share of the concurrency")
}

// A shard with no share of a point (concurrency 1 over two shards: shard 0 sends it) still
// lines up and writes the point's records, and its test does not fail for want of requests.
func TestAShardWithoutAShareOfAPointPasses(t *testing.T) {
	s := simSuite(t, true, nil)
	s.sharding = sharding{shard: shard.Shard{Index: 1, Count: 2}, sync: &shard.At{Time: time.Now()}}
	sc, err := scenario.Lookup("concurrent", scenario.Quick)
	require.NoError(t, err)
	t.Run("c1", func(t *testing.T) { checkPoint(t, s.measure(t, sc, sc.Points[0], 1)) })
	gs, err := schema.ReadRecords(results.RecordsPath(results.ShardPath(s.out, "sim", s.preset.Name, 1, 2)))
	require.NoError(t, err)
	require.Len(t, gs, 1)
	assert.Equal(t, "c1", gs[0].Head.Point.Point)
	assert.Empty(t, gs[0].Requests)
}
