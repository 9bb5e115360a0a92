package frameworks

// SimMetrics are the names under which servegate's simulator (frameworks/sim), unless it
// mimics a framework, exposes its Prometheus figures: its own "sim:" prefix with vLLM's
// suffixes. The suite's simulator target and the harness's tests, which run the simulator
// as a process of its own, both read them from here.
var SimMetrics = MetricNames{
	PromptTokens: []string{"sim:prompt_tokens_total"}, GenerationTokens: []string{"sim:generation_tokens_total"},
	PrefixQueries: []string{"sim:prefix_cache_queries_total"}, PrefixHits: []string{"sim:prefix_cache_hits_total"},
	Preemptions: []string{"sim:num_preemptions_total"}, TTFT: []string{"sim:time_to_first_token_seconds"},
	KVCacheUsage: []string{"sim:kv_cache_usage_perc"}, Running: []string{"sim:num_requests_running"},
	Waiting: []string{"sim:num_requests_waiting"},
}
