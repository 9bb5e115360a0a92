package scenario

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkManyStreams drives 1,000 concurrent streams against the simulator and reports
// how far the harness's TTFT and inter-token gaps are from the simulator's recorded truth
// (p99 of |harness - truth|), and how late the harness saw chunks after they were written.
// Goal: both p99 deviations within 1 ms. Client and simulator share this machine's cores.
func BenchmarkManyStreams(b *testing.B) {
	const streams = 1000
	target, truthOf := startSimProcess(b, "-max-batch", "1024")
	var ttftDev, itlDev, lag, window, beyond []float64
	for i := 0; i < b.N; i++ {
		tr := runOn(b, target, Point{Name: fmt.Sprintf("c1000-%d", i), Concurrency: streams, InputTokens: 256, OutputTokens: 32, Requests: streams, Prompts: Plain})
		td, id := deviations(b, truthOf, tr.Records)
		ttftDev, itlDev = append(ttftDev, td...), append(itlDev, id...)
		for _, rec := range tr.Records {
			truth, err := truthOf(context.Background(), rec.ID)
			require.NoError(b, err)
			for k, c := range rec.Chunks {
				e := truth.Emitted[k]
				seen := rec.Sent.Add(c.Offset)
				lag = append(lag, float64(seen.Sub(e.At))/1e6)
				window = append(window, float64(e.Done.Sub(e.At))/1e6)
				beyond = append(beyond, max(0, float64(seen.Sub(e.Done))/1e6))
			}
		}
		if m := tr.Load.MaxInFlight; m != streams {
			b.Fatalf("held %d streams in flight, want %d", m, streams)
		}
	}
	slices.Sort(lag)
	slices.Sort(window)
	slices.Sort(beyond)
	// How long the simulator's own write took (the bytes became readable somewhere in it),
	// and how late the client saw a chunk after that write had certainly returned.
	b.ReportMetric(metrics.Percentile(window, 99), "sim-write-window-p99-ms")
	b.ReportMetric(metrics.Percentile(beyond, 99), "lag-after-write-p99-ms")
	b.ReportMetric(absP99(ttftDev), "ttft-dev-p99-ms")
	b.ReportMetric(absP99(itlDev), "itl-dev-p99-ms")
	b.ReportMetric(metrics.Percentile(lag, 99), "read-lag-p99-ms")
	b.ReportMetric(metrics.Percentile(lag, 50), "read-lag-p50-ms")
}

// TestLongPromptsDoNotThrottleTheClient streams 64k-token prompts at concurrency 64 and
// checks the measured throughput and first-token times against the simulator's truth.
// vLLM's own client reported a tenth of the true throughput at 50k-token prompts
// (vllm-project/vllm#39963).
//
// The simulator's own TTFT starts when its handler begins, after its ingress (reading and
// tokenizing 64 prompts of 256 KiB on the same two cores) has queued the request; the
// client's TTFT rightly includes that wait. So the client is judged where its own work
// shows: how late it saw each first token after the simulator wrote it.
func TestLongPromptsDoNotThrottleTheClient(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 64 prompts of 64k tokens")
	}
	// One long prompt prefilled per step, as chunked prefill would.
	target, truthOf := startSimProcess(t, "-kv-tokens", "8388608", "-prefill-per-token-ns", "50", "-prefill-chunk", "65536")
	const in, out, conc = 65536, 32, 64
	tr := runOn(t, target, Point{Name: "in64k_c64", Concurrency: conc, InputTokens: in, OutputTokens: out, Requests: conc, Prompts: Plain})
	ctx := context.Background()
	var first, last time.Time
	tokens := 0
	var lag, harnessTTFT, truthTTFT []float64
	for _, rec := range tr.Records {
		require.Equal(t, in, rec.PromptTokens)
		truth, err := truthOf(ctx, rec.ID)
		require.NoError(t, err)
		if first.IsZero() || truth.Arrived.Before(first) {
			first = truth.Arrived
		}
		if end := truth.Emitted[len(truth.Emitted)-1].At; end.After(last) {
			last = end
		}
		tokens += truth.OutputTokens()
		lag = append(lag, float64(rec.Sent.Add(rec.TTFT()).Sub(truth.Emitted[0].At))/1e6)
		harnessTTFT = append(harnessTTFT, float64(rec.TTFT())/1e6)
		truthTTFT = append(truthTTFT, float64(truth.TTFT())/1e6)
	}
	slices.Sort(lag)
	// 64 samples: p99 is the worst one, which a parallel package's burst can delay (31 ms
	// seen once in six full runs while p50 stayed at 0.12 ms). A throttled client shows in
	// the median and in the throughput, so bound those.
	assert.Less(t, metrics.Percentile(lag, 50), 5.0, "first-token read lag p50 (ms)")
	assert.Less(t, metrics.Percentile(lag, 90), 25.0, "first-token read lag p90 (ms)")
	t.Logf("first-token read lag p50 %.2f ms p99 %.2f ms; TTFT p50 harness %.1f ms, simulator (from handler start) %.1f ms",
		metrics.Percentile(lag, 50), metrics.Percentile(lag, 99), metrics.Describe(harnessTTFT).P50, metrics.Describe(truthTTFT).P50)
	trueThroughput := float64(tokens) / last.Sub(first).Seconds()
	got := tr.Summary.Values["output_token_throughput"]
	t.Logf("64k prompts at c64: measured %.0f tok/s, simulator truth %.0f tok/s; p50 TTFT %.1f ms",
		got, trueThroughput, tr.Summary.Values["p50_ttft_ms"])
	assert.InEpsilon(t, trueThroughput, got, 0.05)
}
