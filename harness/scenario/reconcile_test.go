package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/sglang"

	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doctoredServer streams 3 tokens per request but misreports its own totals: /metrics
// counts 5 generation tokens per request, and Ollama's eval_count says 2.
func doctoredServer(t *testing.T) *httptest.Server {
	var requests atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		n := requests.Load()
		fmt.Fprintf(w, "# TYPE fake:generation_tokens_total counter\nfake:generation_tokens_total %d\n", 5*n)
		fmt.Fprintf(w, "# TYPE fake:prompt_tokens_total counter\nfake:prompt_tokens_total %d\n", 10*n)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: {\"choices\":[{\"delta\":{\"content\":\"t%d\"}}]}\n\n", i)
		}
		io.WriteString(w, `data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3}}`+"\n\ndata: [DONE]\n\n")
	})
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) {
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "{\"message\":{\"content\":\"t%d\"},\"done\":false}\n", i)
		}
		io.WriteString(w, `{"done":true,"prompt_eval_count":10,"eval_count":2,"load_duration":1000,"prompt_eval_duration":2000000,"eval_duration":3000000}`+"\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestReconciliationFlagsADoctoredServer(t *testing.T) {
	srv := doctoredServer(t)
	sc := Scenario{Name: "test", ResultName: "test"}
	p := Point{Name: "p", Concurrency: 2, OutputTokens: 3, Requests: 4, Prompts: English}
	tests := []struct {
		name    string
		target  Target
		warning string
	}{
		{"vLLM-style /metrics disagree with usage", Target{Framework: "fake", Model: "m", BaseURL: srv.URL, Dialect: stream.OpenAI,
			OutputLength: frameworks.IgnoreEOS, MetricsPath: "/metrics", Metrics: frameworks.MetricNames{GenerationTokens: []string{"fake:generation_tokens_total"}, PromptTokens: []string{"fake:prompt_tokens_total"}, TTFT: []string{"fake:time_to_first_token_seconds"}}}, "server /metrics counted 20 generation tokens during the point; the client counted 12"},
		{"Ollama eval_count below the lines streamed", Target{Framework: "fake", Model: "m", BaseURL: srv.URL, Dialect: stream.Ollama},
			"4 of 4 responses report an eval_count below the token lines streamed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Runner{Target: tc.target, Nonce: "doctored"}
			res, err := r.RunPoint(context.Background(), sc, p)
			require.NoError(t, err)
			assert.Contains(t, res.Warnings, "trial 1: "+tc.warning)
		})
	}
}

func TestReconciliationAgreesWithAnHonestServer(t *testing.T) {
	target, _ := startSimProcess(t)
	r := &Runner{Target: target, Nonce: "honest"}
	res, err := r.RunPoint(context.Background(), Scenario{Name: "test", ResultName: "test"},
		Point{Name: "c4", Concurrency: 4, InputTokens: 128, OutputTokens: 16, Requests: 8, Prompts: Plain})
	require.NoError(t, err)
	assert.Empty(t, res.Warnings)
	assert.Equal(t, 8*16.0, res.Metrics["server_generation_tokens"])
	assert.Equal(t, 8*128.0, res.Metrics["server_prompt_tokens"])
	// Client TTFT includes the trip to the server and back: never below the server's own.
	assert.Greater(t, res.Metrics["ttft_overhead_ms"], 0.0)
	assert.Less(t, res.Metrics["server_avg_ttft_ms"], res.Metrics["avg_ttft_ms"])
}

// SGLang's counters come from its own collector: cache hits are cached over prompt tokens,
// preemptions the retracted-requests counter, and a counter first exposed during the point
// (multiprocess mode writes none before its first increment) counts from zero.
func TestReconcileReadsSGLangCounters(t *testing.T) {
	r := &Runner{Target: Target{Metrics: sglang.Spec.Metrics}}
	before := counters{"sglang:prompt_tokens_total": 1000, "sglang:generation_tokens_total": 100,
		"sglang:num_retracted_requests_total": 2, "sglang:num_retracted_reqs": 5}
	after := counters{"sglang:prompt_tokens_total": 3000, "sglang:generation_tokens_total": 300,
		"sglang:cached_tokens_total": 500, "sglang:num_retracted_requests_total": 3, "sglang:num_retracted_reqs": 0}
	values := map[string]float64{}
	r.reconcile(before, after, nil, values)
	assert.Equal(t, 0.25, values["server_prefix_cache_hit_rate"], "500 cached of 2000 prompt tokens")
	assert.Equal(t, 1.0, values["server_preemptions"], "the counter's rise, not a gauge's difference")
}
