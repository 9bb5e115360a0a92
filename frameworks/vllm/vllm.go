// Package vllm describes vLLM's OpenAI-compatible server (vllm serve) for servegate.
package vllm

import (
	"strconv"

	"github.com/servegate/servegate/frameworks"
)

// Spec is vLLM as of 0.15, with the metric names of earlier V1 releases as fallbacks.
var Spec = frameworks.Spec{
	Name:         "vllm",
	DefaultPort:  8000,
	HealthPath:   "/health",
	Dialect:      "openai",
	ModelsPath:   "/v1/models",
	VersionPath:  "/version",
	TokenizePath: "/tokenize",
	MetricsPath:  "/metrics",
	// Every name is defined in vLLM's vllm/v1/metrics/loggers.py (PrometheusStatLogger); the
	// first of each list is what current releases expose (tests/entrypoints/openai/
	// test_metrics.py, EXPECTED_METRICS_V1), the second the name vLLM deprecated in 0.9 and
	// later hid unless --show-hidden-metrics-for-version is set (HIDDEN_DEPRECATED_METRICS
	// there). Counters are named as prometheus_client writes them, with _total. Fixtures:
	// frameworks/testdata/vllm*_metrics.prom.
	Metrics: frameworks.MetricNames{
		PromptTokens:     []string{"vllm:prompt_tokens_total"},
		GenerationTokens: []string{"vllm:generation_tokens_total"},
		// In tokens (the deprecated gpu_ names counted blocks before 0.9).
		PrefixQueries: []string{"vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"},
		PrefixHits:    []string{"vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"},
		Preemptions:   []string{"vllm:num_preemptions_total"},
		TTFT:          []string{"vllm:time_to_first_token_seconds"},
		KVCacheUsage:  []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"},
		Running:       []string{"vllm:num_requests_running"},
		Waiting:       []string{"vllm:num_requests_waiting"},
	},
	// Registered only in the server's development mode.
	ResetCachePath: "/reset_prefix_cache",
	ResetCacheHint: "start vllm with VLLM_SERVER_DEV_MODE=1 to enable /reset_prefix_cache",
	// ignore_eos on chat completions holds the length, except for gpt-oss: its Harmony
	// stream parser fails on the tokens forced past the end of the turn (see
	// frameworks.CompletionsIgnoreEOS), so those go to the completions endpoint.
	OutputLength:    map[string]frameworks.OutputLength{"": frameworks.IgnoreEOS, "harmony": frameworks.CompletionsIgnoreEOS},
	ContinuousUsage: true,
	Model:           frameworks.HF,
	// The most sequences a step schedules (vLLM's engine arguments, --max-num-seqs), per
	// data-parallel rank (--data-parallel-size, alias -dp, in vllm/engine/arg_utils.py).
	// Left unset, vLLM picks the number itself; servegate then does not say it.
	SlotsFlag:  "--max-num-seqs",
	RanksFlags: []string{"--data-parallel-size", "-dp"},
	Launch: func(model, host string, port int) []string {
		return []string{"vllm", "serve", model, "--host", host, "--port", strconv.Itoa(port), "--tensor-parallel-size", "1",
			"--gpu-memory-utilization", "0.85", "--enable-prefix-caching"}
	},
	LaunchEnv: func(host string, port int) []string { return []string{"VLLM_SERVER_DEV_MODE=1"} },
	MissingModelHint: func(m string) string {
		return "start vllm serve with " + m + " (or set --served-model-name to it)"
	},
}
