package scenario

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkManyStreams drives 1,000 concurrent streams against the simulator and reports
// how far the harness's TTFT and inter-token gaps are from the simulator's recorded truth
// (p99 of |harness - truth|). Goal: both within 1 ms. Client and simulator share this
// machine's two cores, so the client reads a decode step's 1,000 events milliseconds after
// they arrive (client-read-lag); it dates them by the kernel's receive timestamps, which
// is what keeps that lag out of the measurement. Where the kernel gives none (not Linux),
// kernel-stamped-pct is 0 and the deviations include the lag.
//
// The client runs with SERVEGATE_BENCH_CLIENT_PROCS Ps (default 8, Runner.ClientProcs):
// with one per core, the request storm at the start keeps both busy, the network goes
// unpolled, and 1-25% of first tokens were still unread when the second arrived (TTFT
// p99 0.2-33 ms over five runs; 0.06-0.12 ms with 8).
func BenchmarkManyStreams(b *testing.B) {
	const streams = 1000
	procs := 8
	if v := os.Getenv("SERVEGATE_BENCH_CLIENT_PROCS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("SERVEGATE_BENCH_CLIENT_PROCS=%q: want a whole number, 1 or more", v)
		}
		procs = n
	}
	// Short steps (20 µs per further sequence) keep a thousand events a few milliseconds
	// apart: the client's reading is what is under test, not the engine's batch cost.
	target, truthOf := startSimProcess(b, "-max-batch", "1024", "-decode-per-seq-ns", "20000")
	var ttftDev, itlDev, arrival, window, readLag, intake []float64
	stamped, chunks := 0, 0
	for i := 0; i < b.N; i++ {
		tr := runWith(b, &Runner{Target: target, ClientProcs: procs}, Point{Name: fmt.Sprintf("c1000-%d", i), Concurrency: streams, InputTokens: 256, OutputTokens: 32, Requests: streams, Prompts: Plain})
		td, id := deviations(b, truthOf, tr.Records)
		ttftDev, itlDev = append(ttftDev, td...), append(itlDev, id...)
		for _, rec := range tr.Records {
			truth, err := truthOf(context.Background(), rec.ID)
			require.NoError(b, err)
			intake = append(intake, float64(truth.Arrived.Sub(truth.Received))/1e6)
			for k, c := range rec.Chunks {
				e := truth.Emitted[k]
				arrival = append(arrival, float64(rec.Sent.Add(c.Offset).Sub(e.At))/1e6)
				window = append(window, float64(e.Done.Sub(e.At))/1e6)
				readLag = append(readLag, float64(c.Lag)/1e6)
				chunks++
				if rec.KernelStamps {
					stamped++
				}
			}
		}
		if m := tr.Load.MaxInFlight; m != streams {
			b.Fatalf("held %d streams in flight, want %d", m, streams)
		}
	}
	for _, xs := range [][]float64{arrival, window, readLag, intake} {
		slices.Sort(xs)
	}
	b.ReportMetric(absP99(ttftDev), "ttft-dev-p99-ms")
	b.ReportMetric(absP99(itlDev), "itl-dev-p99-ms")
	// How long the simulator's own write took (the bytes reached the client's socket
	// somewhere in it), and how long after the write began the harness dated the chunk.
	b.ReportMetric(metrics.Percentile(window, 99), "sim-write-window-p99-ms")
	b.ReportMetric(metrics.Percentile(arrival, 99), "dated-after-write-p99-ms")
	// How late the client read the chunks, and how long the simulator took to start
	// handling a request after its first byte arrived: neither is in the measurement.
	b.ReportMetric(metrics.Percentile(readLag, 50), "client-read-lag-p50-ms")
	b.ReportMetric(metrics.Percentile(readLag, 99), "client-read-lag-p99-ms")
	b.ReportMetric(metrics.Percentile(intake, 99), "sim-intake-p99-ms")
	b.ReportMetric(100*float64(stamped)/float64(max(chunks, 1)), "kernel-stamped-pct")
	b.ReportMetric(float64(procs), "client-procs")
}

// TestLongPromptsDoNotThrottleTheClient streams 64k-token prompts at concurrency 64 and
// checks the measured throughput and first-token times against the simulator's truth.
// vLLM's own client reported a tenth of the true throughput at 50k-token prompts
// (vllm-project/vllm#39963).
//
// The simulator's truth starts when a request's first byte reached it; its handler starts
// later, after its ingress (reading and tokenizing 64 prompts of 256 KiB on the same two
// cores) got to the request, and the client's TTFT rightly includes that wait. A throttled
// client shows in how late it reads the first tokens and in the throughput.
func TestLongPromptsDoNotThrottleTheClient(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 64 prompts of 64k tokens")
	}
	// One long prompt prefilled per step, as chunked prefill would; short decode steps, so
	// the client reads as fast as the engine writes.
	target, truthOf := startSimProcess(t, "-kv-tokens", "8388608", "-prefill-per-token-ns", "50", "-prefill-chunk", "65536", "-decode-per-seq-ns", "20000")
	const in, out, conc = 65536, 32, 64
	tr := runOn(t, target, Point{Name: "in64k_c64", Concurrency: conc, InputTokens: in, OutputTokens: out, Requests: conc, Prompts: Plain})
	ctx := context.Background()
	var first, last time.Time
	tokens := 0
	var readLag, ttftDev, harnessTTFT, truthTTFT []float64
	for _, rec := range tr.Records {
		require.Equal(t, in, rec.PromptTokens)
		truth, err := truthOf(ctx, rec.ID)
		require.NoError(t, err)
		if first.IsZero() || truth.Received.Before(first) {
			first = truth.Received
		}
		if end := truth.Emitted[len(truth.Emitted)-1].At; end.After(last) {
			last = end
		}
		tokens += truth.OutputTokens()
		readLag = append(readLag, float64(rec.Chunks[0].Lag)/1e6)
		ttftDev = append(ttftDev, float64(rec.TTFT()-truth.TTFT())/1e6)
		harnessTTFT = append(harnessTTFT, float64(rec.TTFT())/1e6)
		truthTTFT = append(truthTTFT, float64(truth.TTFT())/1e6)
	}
	slices.Sort(readLag)
	// 64 samples: p99 is the worst one, which a parallel package's burst can delay (31 ms
	// seen once in six full runs while p50 stayed at 0.12 ms). A throttled client shows in
	// the median and in the throughput, so bound those.
	assert.Less(t, metrics.Percentile(readLag, 50), 5.0, "first-token read lag p50 (ms)")
	assert.Less(t, metrics.Percentile(readLag, 90), 25.0, "first-token read lag p90 (ms)")
	// The truth's side of the TTFT can be late, not the harness's: while the simulator is
	// too busy to read, a 256 KiB upload fills its receive window and stalls (about 250 ms,
	// a TCP persist timer), and the kernel merges the request's first packets with those
	// that follow the stall, so its stamp of the "first byte" is the later one. The client
	// rightly counts the stall in TTFT. A few of 64 requests show it, so bound the median.
	if tr.Records[0].KernelStamps {
		assert.Less(t, absP(ttftDev, 50), 1.0, "|harness - truth| TTFT p50 (ms)")
	}
	t.Logf("first-token read lag p50 %.2f ms p99 %.2f ms; TTFT p50 harness %.1f ms, truth %.1f ms; |harness - truth| p50 %.2f ms p99 %.2f ms",
		metrics.Percentile(readLag, 50), metrics.Percentile(readLag, 99), metrics.Describe(harnessTTFT).P50, metrics.Describe(truthTTFT).P50,
		absP(ttftDev, 50), absP99(ttftDev))
	trueThroughput := float64(tokens) / last.Sub(first).Seconds()
	got := tr.Summary.Values["output_token_throughput"]
	t.Logf("64k prompts at c64: measured %.0f tok/s, simulator truth %.0f tok/s; p50 TTFT %.1f ms",
		got, trueThroughput, tr.Summary.Values["p50_ttft_ms"])
	assert.InEpsilon(t, trueThroughput, got, 0.05)
}
