// Package sglang describes SGLang's server (python3 -m sglang.launch_server) for servegate.
package sglang

import (
	"strconv"

	"github.com/servegate/servegate/frameworks"
)

// Spec is SGLang as of 0.5.8. Its metrics need --enable-metrics; it exposes a prefix-cache
// hit rate as a gauge rather than counters. Its version comes with /get_server_info.
var Spec = frameworks.Spec{
	Name:        "sglang",
	DefaultPort: 30000,
	HealthPath:  "/health",
	Dialect:     "openai",
	ModelsPath:  "/v1/models",
	VersionPath: "/get_server_info",
	MetricsPath: "/metrics",
	Metrics: frameworks.MetricNames{
		PromptTokens:     []string{"sglang:prompt_tokens_total"},
		GenerationTokens: []string{"sglang:generation_tokens_total"},
		Preemptions:      []string{"sglang:num_retracted_reqs_total", "sglang:num_retracted_reqs"},
		TTFT:             []string{"sglang:time_to_first_token_seconds"},
		KVCacheUsage:     []string{"sglang:token_usage"},
		Running:          []string{"sglang:num_running_reqs"},
		Waiting:          []string{"sglang:num_queue_reqs"},
		PrefixHitRate:    []string{"sglang:cache_hit_rate"},
	},
	ResetCachePath:    "/flush_cache",
	ResetCacheHint:    "SGLang refuses /flush_cache while requests run; none should run between trials",
	HoldsOutputLength: true,
	Model:             frameworks.HF,
	Launch: func(model, host string, port int) []string {
		return []string{"python3", "-m", "sglang.launch_server", "--model-path", model, "--tp", "1", "--host", host,
			"--port", strconv.Itoa(port), "--mem-fraction-static", "0.85", "--enable-metrics"}
	},
	MissingModelHint: func(m string) string { return "launch sglang with --model-path " + m + " (or --served-model-name)" },
}
