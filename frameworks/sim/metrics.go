package sim

import "github.com/servegate/servegate/frameworks"

// Metrics are the names under which the simulator, unless it mimics a framework, exposes
// its Prometheus figures: its own "sim:" prefix with vLLM's suffixes (see Server.metrics).
var Metrics = frameworks.MetricNames{
	PromptTokens: []string{"sim:prompt_tokens_total"}, GenerationTokens: []string{"sim:generation_tokens_total"},
	PrefixQueries: []string{"sim:prefix_cache_queries_total"}, PrefixHits: []string{"sim:prefix_cache_hits_total"},
	Preemptions: []string{"sim:num_preemptions_total"}, TTFT: []string{"sim:time_to_first_token_seconds"},
	KVCacheUsage: []string{"sim:kv_cache_usage_perc"}, Running: []string{"sim:num_requests_running"},
	Waiting: []string{"sim:num_requests_waiting"},
}
