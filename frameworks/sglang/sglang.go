// Package sglang describes SGLang's server (python3 -m sglang.launch_server) for servegate.
package sglang

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/servegate/servegate/frameworks"
)

// Spec is SGLang as of 0.5.8. Its metrics need --enable-metrics. Its version comes with
// /get_server_info.
var Spec = frameworks.Spec{
	Name:        "sglang",
	DefaultPort: 30000,
	HealthPath:  "/health",
	Dialect:     "openai",
	ModelsPath:  "/v1/models",
	VersionPath: "/get_server_info",
	SlotsInInfo: slotsInInfo,
	MetricsPath: "/metrics",
	// Every name is defined in SGLang's python/sglang/srt/metrics/collector.py:
	// SchedulerMetricsCollector (num_running_reqs, num_queue_reqs, token_usage,
	// cache_hit_rate, num_retracted_requests_total) and TokenizerMetricsCollector
	// (prompt_tokens_total, generation_tokens_total, cached_tokens_total,
	// time_to_first_token_seconds). SGLang serves them in prometheus_client's
	// multiprocess mode, where a labelled counter appears only once it has been
	// incremented. Fixture: frameworks/testdata/sglang_metrics.prom.
	Metrics: frameworks.MetricNames{
		PromptTokens:     []string{"sglang:prompt_tokens_total"},
		GenerationTokens: []string{"sglang:generation_tokens_total"},
		// Cached prompt tokens over prompt tokens, both counted when a request finishes
		// (TokenizerMetricsCollector.observe_one_finished_request).
		PrefixQueries: []string{"sglang:prompt_tokens_total"},
		PrefixHits:    []string{"sglang:cached_tokens_total"},
		// A counter of retracted (preempted) requests; the older sglang:num_retracted_reqs
		// is a gauge of the last scheduling step and must not be differenced.
		Preemptions:  []string{"sglang:num_retracted_requests_total"},
		TTFT:         []string{"sglang:time_to_first_token_seconds"},
		KVCacheUsage: []string{"sglang:token_usage"},
		Running:      []string{"sglang:num_running_reqs"},
		Waiting:      []string{"sglang:num_queue_reqs"},
		// The hit rate of the last scheduling step: read only where the counters are absent.
		PrefixHitRate: []string{"sglang:cache_hit_rate"},
	},
	// /flush_cache answers 400 "Cache not flushed ... (When there are running or waiting
	// requests, the operation will not be performed.)" while requests run
	// (python/sglang/srt/entrypoints/http_server.py; docs/basic_usage/native_api: "0 means
	// fail fast if not idle"): the reset waits for the server to go idle.
	ResetCachePath: "/flush_cache",
	ResetCacheHint: "SGLang flushes its cache only when no request runs or waits",
	ResetCacheBusy: 400,
	// ignore_eos holds the length, except for gpt-oss: SGLang then skips the stop-token
	// check and generates past the end of the Harmony turn, text the model never meant
	// to write, and it has no tokenizer endpoint that applies the chat template (its
	// /tokenize takes plain text), so the completions route is closed: the length is
	// left to the model.
	OutputLength: map[string]frameworks.OutputLength{"": frameworks.IgnoreEOS, "harmony": frameworks.Natural},
	Model:        frameworks.HF,
	Launch: func(model, host string, port int) []string {
		cmd := []string{"python3", "-m", "sglang.launch_server", "--model-path", model, "--tp", "1", "--host", host,
			"--port", strconv.Itoa(port), "--mem-fraction-static", "0.85", "--enable-metrics"}
		// gpt-oss's analysis channel reaches the client as reasoning_content only with
		// SGLang's gpt-oss reasoning parser (docs.sglang.io, advanced_features/
		// separate_reasoning: parser "gpt-oss"); without it the reasoning arrives as content
		// and the time to the first answer token cannot be told from TTFT. vLLM parses
		// Harmony without a flag.
		if strings.Contains(strings.ToLower(model), "gpt-oss") {
			cmd = append(cmd, "--reasoning-parser", "gpt-oss")
		}
		return cmd
	},
	MissingModelHint: func(m string) string { return "launch sglang with --model-path " + m + " (or --served-model-name)" },
}

// serverInfo is the part of /get_server_info that says how many requests SGLang runs at
// once. The body is the server's arguments, the scheduler's start-up figures, one internal
// state per data-parallel rank and the version (python/sglang/srt/entrypoints/
// http_server.py, get_server_info). Fixture: frameworks/testdata/sglang_server_info.json.
type serverInfo struct {
	MaxRunning     *int `json:"max_running_requests"`
	InternalStates []struct {
		MaxRunning *int `json:"max_running_requests"`
		// The scheduler's own limit for its rank, after SGLang's defaults and memory
		// have had their say.
		Effective *int `json:"effective_max_running_requests_per_dp"`
	} `json:"internal_states"`
}

// slotsInInfo reads the most requests SGLang runs at once: the sum over data-parallel
// ranks of each scheduler's effective limit (or its max_running_requests where a version
// has no effective one), else, for one scheduler, the server argument where it was set;
// 0 where none says.
func slotsInInfo(body []byte) (int, string) {
	var info serverInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return 0, ""
	}
	sum, field := 0, ""
	for _, st := range info.InternalStates {
		n, f := 0, ""
		switch {
		case st.Effective != nil && *st.Effective > 0:
			n, f = *st.Effective, "effective_max_running_requests_per_dp"
		case st.MaxRunning != nil && *st.MaxRunning > 0:
			n, f = *st.MaxRunning, "max_running_requests"
		}
		if n == 0 || (field != "" && f != field) { // a rank that does not say, or says otherwise
			sum = 0
			break
		}
		sum, field = sum+n, f
	}
	if sum > 0 {
		if n := len(info.InternalStates); n > 1 {
			return sum, fmt.Sprintf("get_server_info: %s of its %d data-parallel ranks, summed", field, n)
		}
		return sum, "get_server_info: internal_states " + field
	}
	// The server argument speaks for one scheduler: how SGLang splits it between
	// data-parallel ranks is not read here, so with several it says nothing.
	if info.MaxRunning != nil && *info.MaxRunning > 0 && len(info.InternalStates) <= 1 {
		return *info.MaxRunning, "get_server_info: max_running_requests"
	}
	return 0, ""
}
