package shards

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servegate/servegate/benchmarks/simtarget"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/shard"
	"github.com/servegate/servegate/internal/cpulock"
	"github.com/servegate/servegate/internal/simproc"
	"github.com/servegate/servegate/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv carries a shard process's job (a childJob as JSON); a test binary started with
// it runs that shard instead of its tests.
const childEnv = "SERVEGATE_SHARD_CHILD"

// childJob is what one shard process does: its share of point against the simulator at
// URL, lining up in Barrier, records written under Out.
type childJob struct {
	URL, Model, Profile string
	Shard               shard.Shard
	Barrier, Run, Out   string
	Point               scenario.Point
	Trials              int
	ClientProcs         int
}

func TestMain(m *testing.M) {
	if job := os.Getenv(childEnv); job != "" {
		if err := runChild(job); err != nil {
			fmt.Fprintln(os.Stderr, "shard:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(cpulock.Run(m.Run))
}

var settings = schema.Settings{Scale: "test", Preset: "test", Profile: "batching", TargetVersion: "sim-batching"}

// head is the result file head of a measurement against the simulator.
func head() results.File {
	set := settings
	return results.File{Framework: "sim", ModelPreset: "test", Model: "sim-model", Settings: &set,
		Provenance: results.Provenance{Engine: "sim", Scale: "test", Seed: 1}}
}

func runChild(raw string) error {
	var job childJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		return err
	}
	ctx := context.Background()
	p, err := sim.LookupProfile(job.Profile)
	if err != nil {
		return err
	}
	r := &scenario.Runner{Target: simtarget.Target(job.URL, job.Model, p), Trials: job.Trials, Seed: 1,
		Nonce: fmt.Sprintf("%s-s%d", job.Run, job.Shard.Index), Shard: job.Shard, ClientProcs: job.ClientProcs,
		Sync: &shard.Barrier{Dir: job.Barrier, Run: job.Run, Shard: job.Shard, Timeout: 5 * time.Minute}}
	w, err := results.Open(ctx, results.ShardPath(job.Out, "sim", "test", job.Shard.Index, job.Shard.Count), head(),
		results.Options{RecordsOnly: true})
	if err != nil {
		return err
	}
	defer w.Close()
	g, err := r.Measure(ctx, scenario.Scenario{Name: "test", ResultName: "test"}, job.Point)
	if err != nil {
		return err
	}
	_, err = w.Record(&g)
	return err
}

// runShards runs n shard processes of p (trials trials) against s and merges their
// records under out; it returns the merged point and its records.
func runShards(t testing.TB, s *simproc.Sim, p scenario.Point, trials, n, procs int) (results.Point, []schema.Group) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "results")
	cmds := make([]*exec.Cmd, n)
	run := "run-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range n {
		job, err := json.Marshal(childJob{URL: s.URL, Model: s.Model, Profile: "batching", Shard: shard.Shard{Index: i, Count: n},
			Barrier: filepath.Join(dir, "barrier"), Run: run, Out: out,
			Point: p, Trials: trials, ClientProcs: procs})
		require.NoError(t, err)
		cmds[i] = exec.Command(os.Args[0], "-test.run", "^$")
		cmds[i].Env = append(os.Environ(), childEnv+"="+string(job))
		cmds[i].Stdout, cmds[i].Stderr = os.Stderr, os.Stderr
	}
	for _, c := range cmds {
		require.NoError(t, c.Start())
	}
	for i, c := range cmds {
		require.NoError(t, c.Wait(), "shard %d", i)
	}
	written, err := results.MergeDir(context.Background(), out, results.Options{})
	require.NoError(t, err)
	require.Len(t, written, 1)
	f, err := results.Read(written[0])
	require.NoError(t, err)
	require.Len(t, f.Results, 1)
	gs, err := schema.ReadRecords(results.RecordsPath(written[0]))
	require.NoError(t, err)
	return f.Results[0], gs
}

// onePoint measures p in this process against s, as one client sending the whole load.
func onePoint(t testing.TB, s *simproc.Sim, p scenario.Point, trials int) results.Point {
	t.Helper()
	prof, err := sim.LookupProfile("batching")
	require.NoError(t, err)
	r := &scenario.Runner{Target: simtarget.Target(s.URL, s.Model, prof), Trials: trials, Seed: 1, Nonce: "whole"}
	res, err := r.RunPoint(context.Background(), scenario.Scenario{Name: "test", ResultName: "test"}, p)
	require.NoError(t, err)
	return res
}

// deviations compares every request of gs with the simulator's truth: |harness - truth|
// of TTFT and of every inter-chunk gap, in ms.
func deviations(t testing.TB, s *simproc.Sim, gs []schema.Group) (ttft, itl []float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, g := range gs {
		for i := range g.Requests {
			rec := results.Record(&g.Requests[i])
			tr, err := s.Truth(ctx, rec.ID)
			require.NoError(t, err)
			require.Len(t, rec.Chunks, len(tr.Emitted), "request %s: one chunk per simulator write", rec.ID)
			ttft = append(ttft, math.Abs(float64(rec.TTFT()-tr.TTFT())/1e6))
			for k := 1; k < len(rec.Chunks); k++ {
				got := rec.Chunks[k].Offset - rec.Chunks[k-1].Offset
				want := tr.Emitted[k].At.Sub(tr.Emitted[k-1].At)
				itl = append(itl, math.Abs(float64(got-want)/1e6))
			}
		}
	}
	slices.Sort(ttft)
	slices.Sort(itl)
	return ttft, itl
}

// Four shard processes, each sending a quarter of a 16-stream point from one start,
// merged, measure what one process sending all 16 measures: the same requests and
// tokens, the point's full concurrency held at once, and latencies that agree with each
// other and with the simulator's truth.
func TestFourShardProcessesMatchOneProcess(t *testing.T) {
	s := simproc.Start(t, simproc.Options{Args: []string{"-profile", "batching"}})
	p := scenario.Point{Name: "c16", Concurrency: 16, InputTokens: 256, OutputTokens: 32, Requests: 64, Warmup: 1, Prompts: scenario.Plain}
	merged, gs := runShards(t, s, p, 2, 4, 0)
	whole := onePoint(t, s, p, 2)

	for _, k := range []string{"p50_ttft_ms", "p50_itl_ms", "output_token_throughput", "max_concurrency_observed"} {
		t.Logf("%s: one process %.3f, four shards %.3f", k, whole.Metrics[k], merged.Metrics[k])
	}
	assert.Equal(t, 4, merged.Shards)
	assert.Equal(t, 2, merged.Trials)
	for _, k := range []string{"successful_requests", "total_output_tokens", "total_input_tokens", "success_rate"} {
		assert.Equal(t, whole.Metrics[k], merged.Metrics[k], k)
	}
	assert.Equal(t, 16.0, merged.Metrics["max_concurrency_observed"], "the shards held the point's 16 streams at once")
	assert.Equal(t, 16.0, whole.Metrics["max_concurrency_observed"])
	for _, k := range []string{"p50_itl_ms", "p50_tpot_ms", "output_token_throughput"} {
		assert.InEpsilon(t, whole.Metrics[k], merged.Metrics[k], 0.2, "%s: one process %.3f, four shards %.3f", k, whole.Metrics[k], merged.Metrics[k])
	}
	assert.InEpsilon(t, whole.Metrics["p50_ttft_ms"], merged.Metrics["p50_ttft_ms"], 0.5, "p50_ttft_ms")
	require.Len(t, merged.Requests, 2*64)
	for i, r := range merged.Requests[:64] {
		assert.Equal(t, i, r.Index, "requests numbered as one process numbers them")
	}
	ttft, itl := deviations(t, s, gs)
	t.Logf("four shards vs truth, |harness - truth| ms: TTFT p50 %.3f p99 %.3f; ITL p50 %.3f p99 %.3f",
		metrics.Percentile(ttft, 50), metrics.Percentile(ttft, 99), metrics.Percentile(itl, 50), metrics.Percentile(itl, 99))
	assert.Less(t, metrics.Percentile(ttft, 50), 1.0, "TTFT p50 deviation (ms)")
	assert.Less(t, metrics.Percentile(itl, 50), 0.5, "ITL p50 deviation (ms)")
}

// BenchmarkShardedStreams drives SERVEGATE_BENCH_STREAMS concurrent streams (default
// 10,000) from SERVEGATE_BENCH_SHARDS shard processes (default 4) against one simulator
// process and reports how far the merged measurement is from the simulator's truth (p50
// and p99 of |harness - truth| for TTFT and every inter-token gap) and the clients' read
// lag. Each shard runs with SERVEGATE_BENCH_CLIENT_PROCS Ps (default 8).
func BenchmarkShardedStreams(b *testing.B) {
	streams, shards := envInt(b, "SERVEGATE_BENCH_STREAMS", 10000), envInt(b, "SERVEGATE_BENCH_SHARDS", 4)
	// As BenchmarkManyStreams: more Ps than cores keep one polling the network while a
	// burst of requests starts, so no first token waits unread for the second.
	procs := envInt(b, "SERVEGATE_BENCH_CLIENT_PROCS", 8)
	s := simproc.Start(b, simproc.Options{Procs: envInt(b, "SERVEGATE_BENCH_SIM_PROCS", 1),
		Args: []string{"-profile", "batching", "-max-batch", strconv.Itoa(streams), "-kv-tokens", strconv.Itoa(streams * 400)}})
	p := scenario.Point{Name: fmt.Sprintf("c%d", streams), Concurrency: streams, InputTokens: 128, OutputTokens: 16, Requests: streams, Prompts: scenario.Plain}
	var ttft, itl []float64
	var lag, stamped, conc float64
	for i := 0; i < b.N; i++ {
		merged, gs := runShards(b, s, p, 1, shards, procs)
		td, id := deviations(b, s, gs)
		ttft, itl = append(ttft, td...), append(itl, id...)
		lag = max(lag, merged.Metrics["client_read_lag_p99_ms"])
		stamped += merged.Metrics["client_kernel_stamped_pct"] / float64(b.N)
		conc = max(conc, merged.Metrics["max_concurrency_observed"])
		require.Equal(b, float64(streams), merged.Metrics["successful_requests"], "every stream succeeded")
	}
	slices.Sort(ttft)
	slices.Sort(itl)
	b.ReportMetric(metrics.Percentile(ttft, 50), "ttft-dev-p50-ms")
	b.ReportMetric(metrics.Percentile(ttft, 99), "ttft-dev-p99-ms")
	b.ReportMetric(metrics.Percentile(itl, 50), "itl-dev-p50-ms")
	b.ReportMetric(metrics.Percentile(itl, 99), "itl-dev-p99-ms")
	b.ReportMetric(lag, "client-read-lag-p99-ms")
	b.ReportMetric(stamped, "kernel-stamped-pct")
	b.ReportMetric(conc, "streams-at-once")
}

func envInt(t testing.TB, key string, def int) int {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a whole number, 1 or more", key, v)
	}
	return n
}
