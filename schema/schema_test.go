package schema

import (
	"bytes"
	"encoding/json"
	"errors"
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
	for _, k := range []string{"concurrency", "measured_at", "shards"} {
		_, err := json.Marshal(Point{Metrics: map[string]float64{k: 3}})
		require.Error(t, err, k)
		assert.Contains(t, err.Error(), k)
	}
}

// Every field of Point is a field, whether omitted when empty or not: none of them may
// be read back as a metric.
func TestNoFieldIsReadAsAMetric(t *testing.T) {
	one := 1.0
	p := Point{Scenario: "s", Point: "p", RequestRate: 2, PrefixTokens: 3, Shards: 4, GPUMemoryMB: &one, GPUUtilizationPct: &one,
		Errors: map[string]int{"x": 1}, TrialStats: map[string]Interval{"m": {N: 1}}, MeasuredAt: "now", Invalid: "no"}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var back Point
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Empty(t, back.Metrics)
}

func TestDecodeRefusesANewerMajorVersion(t *testing.T) {
	_, err := Decode("results/x_results.json", []byte(`{"schema_version": 2, "framework": "sim", "results": [{"scenario": "s", "renamed_ttft": 1}]}`))
	var ve *VersionError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, 2, ve.Found)
	assert.Contains(t, err.Error(), "results/x_results.json has schema_version 2, newer than this servegate reads (1)")

	f, err := Decode("old.json", []byte(`{"framework": "vllm", "results": [{"scenario": "concurrent", "concurrency": 8, "input_tokens": 512, "avg_ttft_ms": 3}]}`))
	require.NoError(t, err, "a file without schema_version is the original project's: version 1")
	assert.Equal(t, "c8_in512", f.Results[0].Point, "the original project's points are named as the reporter always named them")
	assert.Equal(t, 3.0, f.Results[0].Metrics["avg_ttft_ms"])
}

func group(key string, trials, requests int) Group {
	g := Group{Head: Head{File: File{Framework: "sim"}, Point: Point{Scenario: "concurrent", Point: key, Trials: trials, Metrics: map[string]float64{}}}}
	for t := 1; t <= trials; t++ {
		g.Trials = append(g.Trials, Trial{Trial: t, Values: map[string]float64{"client_cpu_pct": float64(t)}})
		for i := range requests {
			g.Requests = append(g.Requests, Request{Trial: t, Index: i, SentNs: int64(1e18 + i), ChunkNs: []int64{5, 9},
				ChunkTokens: []int{1, 1}, Dated: DatedKernel, Status: 200, PromptTokens: 10, CompletionTokens: 2})
		}
	}
	return g
}

func TestRecordsRoundTripAsConcatenatedMembers(t *testing.T) {
	var buf bytes.Buffer
	a, b := group("c1", 2, 3), group("c8", 1, 2)
	require.NoError(t, WriteGroup(&buf, &a))
	require.NoError(t, WriteGroup(&buf, &b))
	gs, err := ReadGroups(&buf)
	require.NoError(t, err)
	require.Len(t, gs, 2)
	assert.Equal(t, a, gs[0])
	assert.Equal(t, b, gs[1])
	assert.Equal(t, Version, gs[0].Head.Schema)
	assert.Equal(t, 6, gs[0].Head.Requests)
}

func TestRecordsCutShortKeepTheWholeGroupsBefore(t *testing.T) {
	var buf bytes.Buffer
	a, b := group("c1", 1, 3), group("c8", 1, 200)
	require.NoError(t, WriteGroup(&buf, &a))
	whole := buf.Len()
	require.NoError(t, WriteGroup(&buf, &b))
	for _, c := range []struct {
		cut, whole int
	}{{whole + 5, 1}, {whole + (buf.Len()-whole)/2, 1}, {buf.Len() - 3, 2}} {
		gs, err := ReadGroups(bytes.NewReader(buf.Bytes()[:c.cut]))
		require.ErrorIs(t, err, ErrTruncated, "cut at %d of %d", c.cut, buf.Len())
		require.Equal(t, c.whole, len(gs), "cut at %d of %d: every line of a group read makes it whole", c.cut, buf.Len())
		assert.True(t, assert.ObjectsAreEqual(a, gs[0]))
	}
}

func TestRecordsOfANewerSchemaAreRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim_p_records.ndjson.gz")
	var buf bytes.Buffer
	g := group("c1", 1, 1)
	require.NoError(t, WriteGroup(&buf, &g))
	// Rewrite the head's version as a newer servegate would have written it.
	gs, err := ReadGroups(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	var out bytes.Buffer
	zwGroup := gs[0]
	require.NoError(t, WriteGroup(&out, &zwGroup))
	raw := bytes.Replace(ungzip(t, out.Bytes()), []byte(`"schema_version":1`), []byte(`"schema_version":3`), 1)
	require.NoError(t, os.WriteFile(path, gz(t, raw), 0o644))
	_, err = ReadRecords(path)
	var ve *VersionError
	require.True(t, errors.As(err, &ve), "got %v", err)
	assert.Contains(t, err.Error(), path+" has schema_version 3")
}

// A file read and written again is the file: the launch settings keep their order.
func TestLaunchSettingsSurviveARewrite(t *testing.T) {
	in := `{"base_url":"u","model":"m","chat_endpoint":"/c","dialect":"openai","launch":{"name":"batching","max_batch":256}}`
	var c ServerConfig
	require.NoError(t, json.Unmarshal([]byte(in), &c))
	out, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, in, string(out))
	assert.Contains(t, string(out), `{"name":"batching","max_batch":256}`)
}
