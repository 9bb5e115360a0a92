package scenario

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runOn(t testing.TB, target Target, p Point) Trial {
	t.Helper()
	return runWith(t, &Runner{Target: target}, p)
}

// runWith runs one trial of p with r, named after the test, and fails on any error.
func runWith(t testing.TB, r *Runner, p Point) Trial {
	t.Helper()
	r.Nonce = strings.ReplaceAll(t.Name(), "/", "_")
	tr, err := r.RunTrial(context.Background(), Scenario{Name: "test", ResultName: "test"}, p, 1)
	require.NoError(t, err)
	for _, rec := range tr.Records {
		require.NoError(t, rec.Err)
	}
	return tr
}

// deviations compares every record with the simulator's truth and returns, in ms, the
// TTFT differences and the per-gap ITL differences (harness minus truth).
func deviations(t testing.TB, truthOf truthFunc, recs []stream.Record) (ttft, itl []float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, rec := range recs {
		truth, err := truthOf(ctx, rec.ID)
		require.NoError(t, err)
		require.Len(t, rec.Chunks, len(truth.Emitted), "request %s: one harness chunk per simulator event", rec.ID)
		require.Equal(t, truth.OutputTokens(), rec.OutputTokens())
		require.Equal(t, truth.PromptTokens, rec.PromptTokens)
		for i, c := range rec.Chunks {
			arrived := rec.Sent.Add(c.Offset)
			// Causality: no chunk is seen before the simulator wrote it.
			require.False(t, arrived.Before(truth.Emitted[i].At), "request %s chunk %d arrived before it was written", rec.ID, i)
			require.Equal(t, truth.Emitted[i].Tokens, c.Tokens)
			if i > 0 {
				got := rec.Chunks[i].Offset - rec.Chunks[i-1].Offset
				want := truth.Emitted[i].At.Sub(truth.Emitted[i-1].At)
				itl = append(itl, float64(got-want)/1e6)
			}
		}
		ttft = append(ttft, float64(rec.TTFT()-truth.TTFT())/1e6)
	}
	return ttft, itl
}

// absP returns the q-th percentile of |xs|.
func absP(xs []float64, q float64) float64 {
	a := make([]float64, len(xs))
	for i, x := range xs {
		a[i] = math.Abs(x)
	}
	slices.Sort(a)
	return metrics.Percentile(a, q)
}

func absP99(xs []float64) float64 { return absP(xs, 99) }

// kernelStamped reports whether every record's chunks are dated by kernel receive
// timestamps (Linux).
func kernelStamped(recs []stream.Record) bool {
	for _, r := range recs {
		if !r.KernelStamps {
			return false
		}
	}
	return true
}

func TestFidelityAgainstSimTruth(t *testing.T) {
	for _, name := range []string{"batching", "batching-chunked", "reasoning"} {
		t.Run(name, func(t *testing.T) {
			target, truthOf := startSimProcess(t, "-profile", name)
			tr := runOn(t, target, Point{Name: "c16", Concurrency: 16, InputTokens: 512, OutputTokens: 48, Requests: 48, Warmup: 1, Prompts: Plain})
			if runtime.GOOS == "linux" {
				require.True(t, kernelStamped(tr.Records), "Linux gives the client TCP receive timestamps")
			}
			ttft, itl := deviations(t, truthOf, tr.Records)
			t.Logf("|harness - truth| ms: TTFT p50 %.2f p90 %.2f p99 %.2f; ITL p50 %.2f p90 %.2f p99 %.2f",
				absP(ttft, 50), absP(ttft, 90), absP(ttft, 99), absP(itl, 50), absP(itl, 90), absP(itl, 99))
			// Bounds on the median and p90, which scheduling noise on a shared 2-core machine
			// (go test runs packages in parallel) leaves small, while a harness timing the
			// wrong thing moves them by whole token intervals: stamping at the end of the stream
			// shifts every gap by ~3.5 ms, watching only answer content shifts TTFT by 16
			// reasoning tokens (~56 ms). With the kernel's receive timestamps the client's
			// own lateness is out of the measurement and what is left is the simulator's
			// write (p90 0.01-0.08 ms here); reads dated when they return (not Linux) carry
			// the client's scheduling noise. The p99 goal (1 ms) is BenchmarkManyStreams's.
			ttft50, ttft90, itl50, itl90 := 5.0, 15.0, 1.0, 3.0
			if kernelStamped(tr.Records) {
				ttft50, ttft90, itl50, itl90 = 0.5, 1.0, 0.25, 0.5
			}
			assert.Less(t, absP(ttft, 50), ttft50, "TTFT p50 deviation (ms)")
			assert.Less(t, absP(ttft, 90), ttft90, "TTFT p90 deviation (ms)")
			assert.Less(t, absP(itl, 50), itl50, "ITL p50 deviation (ms)")
			assert.Less(t, absP(itl, 90), itl90, "ITL p90 deviation (ms)")
			if name == "batching-chunked" {
				assert.Equal(t, 4, tr.Records[0].Chunks[1].Tokens)
				// Four tokens per event: per-token ITL is a quarter of the event gap.
				v := tr.Summary.Values
				assert.InDelta(t, v["p50_chunk_gap_ms"]/4, v["p50_itl_ms"], v["p50_chunk_gap_ms"]/8)
			}
			if name == "reasoning" {
				assert.Equal(t, 16, tr.Records[0].ReasoningTokens)
			}
		})
	}
}

func TestPrefixCacheLowersTTFT(t *testing.T) {
	shared := Point{Name: "shared", Concurrency: 1, OutputTokens: 4, Requests: 8, Prompts: SharedPrefix, PrefixTokens: 4096}
	control := shared
	control.Name, control.Prompts = "control", UnsharedPrefix
	ratio := func(profileName string) float64 {
		target, _ := startSimProcess(t, "-profile", profileName)
		s := runOn(t, target, shared).Summary.Values
		c := runOn(t, target, control).Summary.Values
		return s["rest_avg_ttft_ms"] / c["rest_avg_ttft_ms"]
	}
	assert.Less(t, ratio("batching"), 0.5, "warm shared-prefix TTFT vs control with the prefix cache")
	assert.Greater(t, ratio("batching-nocache"), 0.8, "no cache, no gain")
}

func TestBatchingRaisesThroughput(t *testing.T) {
	scaling := func(profileName string) float64 {
		target, _ := startSimProcess(t, "-profile", profileName)
		c1 := runOn(t, target, Point{Name: "c1", Concurrency: 1, InputTokens: 128, OutputTokens: 32, Requests: 4, Prompts: Plain})
		c16 := runOn(t, target, Point{Name: "c16", Concurrency: 16, InputTokens: 128, OutputTokens: 32, Requests: 32, Prompts: Plain})
		return c16.Summary.Values["output_token_throughput"] / c1.Summary.Values["output_token_throughput"]
	}
	assert.Greater(t, scaling("batching"), 6.0, "continuous batching: 16 streams share each decode step")
	assert.Less(t, scaling("single-slot"), 1.5, "one slot: requests queue, throughput stays flat")
}

func TestSimQueuesWhenKVBudgetIsFull(t *testing.T) {
	// Room for two 600-token prompts with 16 output tokens.
	target, truthOf := startSimProcess(t, "-kv-tokens", strconv.Itoa(2*(600+16)))
	tr := runOn(t, target, Point{Name: "c6", Concurrency: 6, InputTokens: 600, OutputTokens: 16, Requests: 6, Prompts: Plain})
	ctx := context.Background()
	type span struct{ from, to time.Time }
	var spans []span
	for _, rec := range tr.Records {
		truth, err := truthOf(ctx, rec.ID)
		require.NoError(t, err)
		spans = append(spans, span{truth.Admitted, truth.Generated[len(truth.Generated)-1]})
	}
	for _, s := range spans {
		running := 0
		for _, o := range spans {
			if !o.from.After(s.from) && o.to.After(s.from) {
				running++
			}
		}
		assert.LessOrEqual(t, running, 2, "at most two requests fit the KV budget")
	}
	assert.Greater(t, tr.Summary.Values["max_ttft_ms"], 2*tr.Summary.Values["min_ttft_ms"], "later requests waited in the queue")
}

func TestSimOllamaDialect(t *testing.T) {
	target, truthOf := startSimProcess(t)
	c := &stream.Client{HTTP: stream.NewHTTPClient(1), BaseURL: target.BaseURL, Dialect: stream.Ollama, Model: testModel}
	var rec stream.Record
	c.Stream(context.Background(), stream.Request{ID: "o1", Messages: []stream.Message{{Role: "user", Content: "hello"}}, MaxTokens: 12}, &rec)
	require.NoError(t, rec.Err)
	assert.Equal(t, 12, rec.CompletionTokens)
	assert.Len(t, rec.Chunks, 12)
	require.NotNil(t, rec.Server)
	assert.Greater(t, rec.Server.Eval, time.Duration(0))
	truth, err := truthOf(context.Background(), "o1")
	require.NoError(t, err)
	assert.Equal(t, truth.PromptTokens, rec.PromptTokens)
}

func TestSimRejectsWhatARealServerWould(t *testing.T) {
	target, _ := startSimProcess(t)
	tests := []struct {
		name  string
		model string
		max   int
		has   string
	}{
		{"model not served", "llama-70b", 8, "does not exist"},
		{"longer than the context", testModel, 200000, "maximum context length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &stream.Client{HTTP: stream.NewHTTPClient(1), BaseURL: target.BaseURL, Dialect: stream.OpenAI, Model: tc.model}
			var rec stream.Record
			c.Stream(context.Background(), stream.Request{Messages: []stream.Message{{Role: "user", Content: "hi"}}, MaxTokens: tc.max}, &rec)
			require.ErrorIs(t, rec.Err, stream.ErrServer)
			assert.Contains(t, rec.Err.Error(), tc.has)
		})
	}
}

func TestPromptsAreRefittedWithTheServersTokenizer(t *testing.T) {
	target, _ := startSimProcess(t)
	// A calibration 4% off: alone it would miss the 2% band; the server's tokenizer puts
	// every prompt back on the target.
	target.Count = func(msgs []stream.Message) int { return prompt.Local(msgs) * 96 / 100 }
	calls := 0
	target.Tokenize = func(ctx context.Context, msgs []stream.Message) (int, error) { calls++; return prompt.Local(msgs), nil }
	r := &Runner{Target: target, Nonce: "refit"}
	res, err := r.RunPoint(context.Background(), Scenario{Name: "t", ResultName: "t"},
		Point{Name: "p", Concurrency: 2, InputTokens: 2000, OutputTokens: 4, Requests: 4, Prompts: Plain})
	require.NoError(t, err)
	assert.Empty(t, res.Warnings)
	for _, s := range res.Requests {
		assert.Equal(t, 2000, s.InputTokens)
	}
	assert.Less(t, calls, 4*40, "a few tokenizer round trips per prompt, not a cold search")

	target.Tokenize = func(ctx context.Context, msgs []stream.Message) (int, error) { return 0, errors.New("HTTP 500") }
	r = &Runner{Target: target, Nonce: "refit2"}
	_, err = r.RunPoint(context.Background(), Scenario{Name: "t", ResultName: "t"},
		Point{Name: "p", Concurrency: 1, InputTokens: 500, OutputTokens: 4, Requests: 1, Prompts: Plain})
	assert.ErrorContains(t, err, "count prompt tokens with the server's tokenizer: HTTP 500")
}

func TestMaxContextCoversEveryPoint(t *testing.T) {
	for _, scale := range []Scale{Quick, Full} {
		most := MaxContext(scale)
		for _, sc := range Suite(scale) {
			for _, p := range sc.Points {
				assert.GreaterOrEqual(t, most, p.InputTokens+p.OutputTokens, "%s/%s", sc.Name, p.Name)
				assert.GreaterOrEqual(t, most, p.PrefixTokens+p.OutputTokens, "%s/%s", sc.Name, p.Name)
			}
		}
	}
}

func TestAnEstimatedCountIsAcceptedWithinItsTolerance(t *testing.T) {
	target, _ := startSimProcess(t)
	// A calibration that moves in steps of 3 tokens cannot reach every count.
	target.Count = func(msgs []stream.Message) int { return 3 * prompt.Local(msgs) }
	run := func(tol float64) error {
		target.CountTolerance = tol
		r := &Runner{Target: target, Nonce: "tol"}
		_, err := r.RunPoint(context.Background(), Scenario{Name: "t", ResultName: "t"},
			Point{Name: "p", Concurrency: 1, InputTokens: 1000, OutputTokens: 4, Requests: 1, Prompts: Plain})
		return err
	}
	assert.ErrorContains(t, run(0), "not the target 1000")
	assert.NoError(t, run(0.01))
}

func TestTheWarmUpCorrectsAnEstimatedCount(t *testing.T) {
	target, _ := startSimProcess(t)
	// A calibration that undercounts by 40 tokens: every prompt would come out 40 long.
	target.Count = func(msgs []stream.Message) int { return prompt.Local(msgs) - 40 }
	target.CountTolerance = 0.01
	r := &Runner{Target: target, Nonce: "warm", Logf: t.Logf}
	res, err := r.RunPoint(context.Background(), Scenario{Name: "t", ResultName: "t"},
		Point{Name: "p", Concurrency: 2, InputTokens: 1000, OutputTokens: 4, Requests: 4, Warmup: 1, Prompts: Plain})
	require.NoError(t, err)
	assert.Empty(t, res.Warnings)
	for _, s := range res.Requests {
		assert.Equal(t, 1000, s.InputTokens, "refitted after the warm-up reported %d", 1040)
	}

	// A calibration 10% off in slope: each warm-up is one correction step.
	target.Count = func(msgs []stream.Message) int { return prompt.Local(msgs) * 9 / 10 }
	r = &Runner{Target: target, Nonce: "warm2", Logf: t.Logf}
	res, err = r.RunPoint(context.Background(), Scenario{Name: "t", ResultName: "t"},
		Point{Name: "p", Concurrency: 2, InputTokens: 1000, OutputTokens: 4, Requests: 4, Warmup: 2, Prompts: Plain})
	require.NoError(t, err)
	assert.Empty(t, res.Warnings)
	for _, s := range res.Requests {
		assert.InDelta(t, 1000, s.InputTokens, 3, "two warm-ups, two steps: from 1111 to within a few tokens")
	}
}

func TestClientProcsHoldWhileMeasuring(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	target, _ := startSimProcess(t)
	want := before + 3
	tr := runWith(t, &Runner{Target: target, ClientProcs: want},
		Point{Name: "c4", Concurrency: 4, InputTokens: 64, OutputTokens: 4, Requests: 4, Prompts: Plain})
	assert.Equal(t, float64(want), tr.Summary.Values["client_procs"])
	assert.Equal(t, want, tr.Client.Procs)
	assert.Equal(t, before, runtime.GOMAXPROCS(0), "restored after the trial")
	tr = runOn(t, target, Point{Name: "c4", Concurrency: 4, InputTokens: 64, OutputTokens: 4, Requests: 4, Prompts: Plain})
	assert.Equal(t, float64(before), tr.Summary.Values["client_procs"], "0 leaves the process's setting")
}

// Every result entry says how long its prompts were meant to be, natural-length ones too:
// the shared prefix and a question, a fixture text as the target counts it.
func TestEveryPointRecordsItsAimedInputLength(t *testing.T) {
	target, _ := startSimProcess(t)
	r := &Runner{Target: target, Nonce: "aimed"}
	for _, p := range []Point{
		{Name: "plain", Concurrency: 1, InputTokens: 300, OutputTokens: 2, Requests: 2, Prompts: Plain},
		{Name: "shared", Concurrency: 1, OutputTokens: 2, Requests: 3, Prompts: SharedPrefix, PrefixTokens: 512},
		{Name: "ko", Concurrency: 1, OutputTokens: 2, Requests: 3, Prompts: Korean},
	} {
		res, err := r.RunPoint(context.Background(), Scenario{Name: "t", ResultName: "t"}, p)
		require.NoError(t, err, p.Name)
		served := res.Metrics["mean_input_tokens"]
		require.Positive(t, res.InputTokens, p.Name)
		// The simulator counts as prompt.Local does, so the aim is what it served.
		assert.InDelta(t, served, float64(res.InputTokens), 0.5, p.Name)
		if p.Prompts == SharedPrefix {
			assert.Greater(t, res.InputTokens, p.PrefixTokens, "the prefix and a question")
		}
	}
}

func TestAWatchStopsATrialAndDropsWhatItCutOff(t *testing.T) {
	// One slot and requests arriving far faster than it serves them: the backlog grows.
	target, _ := startSimProcess(t, "-profile", "single-slot")
	r := &Runner{Target: target, Nonce: t.Name()}
	p := Point{Name: "flood", RequestRate: 400, Arrivals: ConstantArrivals, InputTokens: 64, OutputTokens: 16, Requests: 200, Prompts: Plain}
	var seen []Progress
	tr, err := r.RunWatched(context.Background(), Scenario{Name: "test", ResultName: "test"}, p, 1, func(pr Progress) string {
		seen = append(seen, pr)
		if pr.InFlight() >= 20 {
			return "backlog"
		}
		return ""
	})
	require.NoError(t, err)
	assert.Equal(t, "backlog", tr.Stopped)
	require.NotEmpty(t, seen)
	assert.Less(t, len(tr.Records), p.Requests, "the cut-off requests are dropped")
	for _, rec := range tr.Records {
		assert.NoError(t, rec.Err, "no request counts as failed for being cut off")
	}
	assert.Zero(t, tr.Summary.Values["failed_requests"])
}

// Adaptive trials: from MinTrials on, Until sees the point so far after every trial and
// may stop; otherwise Trials is the most.
func TestUntilStopsTrials(t *testing.T) {
	target, _ := startSimProcess(t, "-profile", "batching")
	p := Point{Name: "c2", Concurrency: 2, InputTokens: 64, OutputTokens: 4, Requests: 2, Prompts: Plain}
	var seen []int
	r := &Runner{Target: target, Nonce: t.Name(), Trials: 6, MinTrials: 3,
		Until: func(sofar results.Point) (bool, string) {
			seen = append(seen, sofar.Trials)
			require.Len(t, sofar.TrialStats["output_token_throughput"].Values, sofar.Trials)
			return sofar.Trials == 4, "decided"
		}}
	res, err := r.RunPoint(context.Background(), Scenario{Name: "test", ResultName: "test"}, p)
	require.NoError(t, err)
	assert.Equal(t, []int{3, 4}, seen, "asked after the third trial and each after it")
	assert.Equal(t, 4, res.Trials)
	assert.Equal(t, "decided", res.TrialsStop)
	assert.Len(t, res.TrialStats["output_token_throughput"].Values, 4)

	r.Until = func(results.Point) (bool, string) { return false, "" }
	res, err = r.RunPoint(context.Background(), Scenario{Name: "test", ResultName: "test"}, p)
	require.NoError(t, err)
	assert.Equal(t, 6, res.Trials)
	assert.Equal(t, "6 trials, the most", res.TrialsStop)

	// The run stops (an interrupt, the suite's deadline) after the third trial: the point
	// keeps its three trials and says it was stopped, not that adaptive trials ended it.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r.Logf = func(format string, args ...any) {
		if strings.HasPrefix(format, "%s/%s trial %d/%d") && args[2] == 3 {
			cancel(errors.New("suite deadline"))
		}
	}
	res, err = r.RunPoint(ctx, Scenario{Name: "test", ResultName: "test"}, p)
	require.ErrorContains(t, err, "suite deadline", "the caller tells the stop by its context")
	assert.Equal(t, 3, res.Trials)
	assert.Len(t, res.TrialStats["output_token_throughput"].Values, 3)
	assert.Empty(t, res.TrialsStop, "adaptive trials did not end the point")
	assert.Contains(t, res.Invalid, "stopped after 3 of at most 6 trials")
	assert.Contains(t, res.Invalid, "suite deadline")
}
