package metrics

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 50, 2.5},
		{[]float64{1, 2, 3, 4}, 90, 3.7}, // rank 2.7: 3 + 0.7·(4-3)
		{[]float64{1, 2, 3, 4}, 0, 1},
		{[]float64{1, 2, 3, 4}, 100, 4},
		{[]float64{7}, 99, 7},
		{[]float64{0, 10}, 99, 9.9},
	}
	for _, tc := range tests {
		assert.InDelta(t, tc.want, Percentile(tc.xs, tc.q), 1e-12, "p%v of %v", tc.q, tc.xs)
	}
	assert.True(t, math.IsNaN(Percentile(nil, 50)))
}

func TestDescribe(t *testing.T) {
	d := Describe([]float64{4, 1, 3, 2})
	assert.Equal(t, 4, d.N)
	assert.InDelta(t, 2.5, d.Mean, 1e-12)
	assert.InDelta(t, math.Sqrt(1.25), d.Std, 1e-12) // population: mean of squared deviations 1.25
	assert.Equal(t, 1.0, d.Min)
	assert.Equal(t, 4.0, d.Max)
	assert.InDelta(t, 2.5, d.P50, 1e-12)
	assert.InDelta(t, 3.97, d.P99, 1e-12)
}

func TestEstimate(t *testing.T) {
	iv := Estimate([]float64{10, 12, 14})
	assert.Equal(t, 3, iv.N)
	assert.InDelta(t, 12, iv.Mean, 1e-12)
	assert.InDelta(t, 2, iv.Std, 1e-12) // sample std: sqrt((4+0+4)/2)
	// t(0.975, 2) = 4.302653; half-width = 4.302653 · 2 / √3 = 4.968275.
	require.NotNil(t, iv.Low)
	assert.InDelta(t, 12-4.968275, *iv.Low, 1e-5)
	assert.InDelta(t, 12+4.968275, *iv.High, 1e-5)

	one := Estimate([]float64{5})
	assert.Equal(t, 5.0, one.Mean)
	assert.Nil(t, one.Low, "one trial has no interval")
}

func chunks(tokens []int, offsetsMs ...int) []stream.Chunk {
	out := make([]stream.Chunk, len(offsetsMs))
	for i, o := range offsetsMs {
		out[i] = stream.Chunk{Offset: time.Duration(o) * time.Millisecond, Tokens: tokens[i]}
	}
	return out
}

func TestCompute(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	recs := []stream.Record{
		{ // exact per-chunk usage; the last event carries two tokens
			Sent: t0, Chunks: chunks([]int{1, 1, 2}, 100, 150, 250), PromptTokens: 10, CompletionTokens: 4,
			TokenSource: stream.FromUsage, OutputChars: 8, PromptChars: 40,
		},
		{ // scheduled at t0, sent 10 ms later (waited for a slot)
			Scheduled: t0, Sent: t0.Add(10 * ms), Chunks: chunks([]int{1, 1}, 200, 300), PromptTokens: 10,
			CompletionTokens: 2, TokenSource: stream.FromEvents, OutputChars: 4, PromptChars: 40,
		},
		{Sent: t0.Add(20 * ms), Err: errors.New("boom"), PromptTokens: -1, CompletionTokens: -1},
	}
	// The first request's events were dated by the kernel and read 0, 2 and 30 ms late.
	recs[0].KernelStamps = true
	for i, lag := range []time.Duration{0, 2 * ms, 30 * ms} {
		recs[0].Chunks[i].Lag = lag
	}
	s := Compute(recs)
	v := s.Values
	want := map[string]float64{
		"avg_ttft_ms": 150, "p50_ttft_ms": 150, "p99_ttft_ms": 199, "std_ttft_ms": 50,
		"avg_latency_ms": 275, "p50_latency_ms": 275,
		"avg_tpot_ms": 75, // (250-100)/3 = 50 and (300-200)/1 = 100
		// ITL per token: 50 (one token), then 100 ms shared by two tokens → 50, 50; then 100.
		"avg_itl_ms": 62.5, "p50_itl_ms": 50, "p90_itl_ms": 85, "max_itl_ms": 100,
		"avg_chunk_gap_ms": (50 + 100 + 100) / 3.0,
		"avg_queue_ms":     5, "max_queue_ms": 10,
		"avg_ttft_incl_queue_ms": 155, "max_latency_incl_queue_ms": 310,
		"successful_requests": 2, "failed_requests": 1, "success_rate": 200.0 / 3,
		"total_input_tokens": 20, "total_output_tokens": 6, "mean_output_tokens": 3,
		"output_tokens_per_char": 0.5, "input_tokens_per_char": 0.25,
		// window: t0 (earliest schedule/send) to t0+310 ms (B's last token)
		"total_time_sec": 0.31, "output_token_throughput": 6 / 0.31, "total_token_throughput": 6 / 0.31,
		"input_output_token_throughput": 26 / 0.31, "request_throughput": 2 / 0.31,
		"mean_concurrency": 0.55 / 0.31, "max_concurrency_observed": 2,
		"first_ttft_ms": 100, "rest_avg_ttft_ms": 200,
		// lags 0, 0, 0, 2, 30: rank 0.99*4 = 3.96 lies between 2 and 30
		"client_read_lag_p99_ms": 2 + 0.96*28, "client_kernel_stamped_pct": 50,
	}
	for k, w := range want {
		got, ok := v[k]
		if assert.True(t, ok, "missing %s", k) {
			assert.InDelta(t, w, got, 1e-9, k)
		}
	}
	assert.Equal(t, ITLExact, s.ITLBasis)
	assert.Equal(t, map[string]int{"boom": 1}, s.Errors)
	for k := range v {
		assert.NoError(t, Check(k), "every metric written is one a hypothesis may name")
	}
}

func TestCheckNamesTheValidMetrics(t *testing.T) {
	for _, ok := range []string{"p99_ttft_ms", "avg_itl_ms", "success_rate", "output_token_throughput", "rest_avg_ttft_ms"} {
		assert.NoError(t, Check(ok), ok)
	}
	for _, bad := range []string{"ttft_ms", "p99_success_rate", "output_token_thruput"} {
		err := Check(bad)
		if assert.Error(t, err, bad) {
			assert.Contains(t, err.Error(), "output_token_throughput")
			assert.Contains(t, err.Error(), "p99_")
		}
	}
}

func TestComputeEstimatesITLWhenChunksHideTokens(t *testing.T) {
	// Three events but the server counted five tokens and gave no per-event usage: the
	// four tokens after the first are spread over two gaps, two per gap.
	rec := stream.Record{Sent: time.Unix(0, 0), Chunks: chunks([]int{1, 1, 1}, 10, 30, 50),
		CompletionTokens: 5, PromptTokens: 3, TokenSource: stream.FromEvents}
	s := Compute([]stream.Record{rec})
	assert.Equal(t, ITLEstimated, s.ITLBasis)
	assert.InDelta(t, 10, s.Values["avg_itl_ms"], 1e-9)
	assert.InDelta(t, 20, s.Values["avg_chunk_gap_ms"], 1e-9)
	assert.InDelta(t, 10, s.Values["avg_tpot_ms"], 1e-9) // (50-10)/(5-1)
}

func TestComputeNothingSucceeded(t *testing.T) {
	s := Compute([]stream.Record{{Sent: time.Unix(0, 0), Err: errors.New("refused")}})
	assert.Equal(t, 0.0, s.Values["successful_requests"])
	assert.Equal(t, 0.0, s.Values["success_rate"])
	assert.NotContains(t, s.Values, "avg_ttft_ms")
}

func TestContentTokensPerCharLeavesTheTemplateOut(t *testing.T) {
	// Two prompts of 40 and 20 characters whose text is 10 and 5 tokens, each wrapped in a
	// 10-token template; a failed request does not count.
	recs := []stream.Record{
		{Chunks: chunks([]int{1}, 10), PromptTokens: 20, PromptChars: 40, CompletionTokens: 1, TokenSource: stream.FromUsage},
		{Chunks: chunks([]int{1}, 10), PromptTokens: 15, PromptChars: 20, CompletionTokens: 1, TokenSource: stream.FromUsage},
		{Err: errors.New("boom"), PromptTokens: -1, PromptChars: 99},
	}
	v, ok := ContentTokensPerChar(recs, 10)
	require.True(t, ok)
	assert.InDelta(t, 15.0/60, v, 1e-12)
	with := Compute(recs).Values["input_tokens_per_char"]
	assert.InDelta(t, 35.0/60, with, 1e-12, "the template's 20 tokens more than double the ratio")
	_, ok = ContentTokensPerChar(recs[2:], 10)
	assert.False(t, ok)
}

// A reasoning model's first token and first answer token are reported apart, over the
// requests that reached an answer.
func TestComputeTimeToFirstAnswerToken(t *testing.T) {
	t0, ms := time.Unix(1000, 0), time.Millisecond
	recs := []stream.Record{
		{Sent: t0, Chunks: chunks([]int{1, 1, 1}, 100, 150, 400), CompletionTokens: 3, ReasoningTokens: 2,
			Answered: true, FirstAnswer: 400 * ms},
		{Sent: t0, Chunks: chunks([]int{1, 1, 1}, 120, 300, 350), CompletionTokens: 3, ReasoningTokens: 1,
			Answered: true, FirstAnswer: 300 * ms},
		{Sent: t0, Chunks: chunks([]int{1, 1}, 110, 200), CompletionTokens: 2, ReasoningTokens: 2}, // all reasoning
	}
	v := Compute(recs).Values
	assert.InDelta(t, 110, v["avg_ttft_ms"], 1e-9, "the first token of any kind")
	assert.InDelta(t, 350, v["avg_ttfat_ms"], 1e-9, "the first answer token, over the two that answered")
	assert.InDelta(t, 200.0/3, v["answered_pct"], 1e-9)
	for k := range v {
		assert.NoError(t, Check(k), "%s is defined and can be named in a hypothesis", k)
	}

	plain := Compute([]stream.Record{{Sent: t0, Chunks: chunks([]int{1}, 90), CompletionTokens: 1, Answered: true, FirstAnswer: 90 * ms}}).Values
	assert.Equal(t, plain["avg_ttft_ms"], plain["avg_ttfat_ms"], "no reasoning: the first token is the answer")
	assert.NotContains(t, plain, "answered_pct")
}

func TestWilson(t *testing.T) {
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{
		// Reference values: the closed form (Wilson 1927) evaluated independently in Python.
		{80, 80, 0.95419, 1},
		{76, 80, 0.87838, 0.98039},
		{0, 10, 0, 0.27753},
		{5, 10, 0.23659, 0.76341},
		{0, 0, 0, 1},
	} {
		lo, hi := Wilson(c.k, c.n)
		assert.InDelta(t, c.lo, lo, 1e-4, "%d/%d low", c.k, c.n)
		assert.InDelta(t, c.hi, hi, 1e-4, "%d/%d high", c.k, c.n)
	}
}
