package metrics

import (
	"fmt"
	"slices"
	"strings"
)

// Definitions names every metric servegate writes, with its formula. It is copied into
// each result file so a number never travels without its meaning. Distribution metrics
// come as avg_, std_, min_, max_, p50_, p90_, p95_ and p99_ of the base name; percentiles
// interpolate linearly between closest ranks (numpy's default); std is the population
// standard deviation of the sample.
var Definitions = map[string]string{
	"input_tokens": "the prompt length the point aims at, in the target's tokens: the exact length plain prompts " +
		"are fitted to; for prompts of their natural length (prefix_cache: the shared or unshared system prompt " +
		"and a question; korean: the fixture texts) the mean length of the point's prompts as the target counts " +
		"them before sending (an estimate where the server offers no tokenizer); what the server counted is " +
		"mean_input_tokens",
	"output_tokens": "max_tokens of every request; held exactly where output_length_forced (ignore_eos), " +
		"otherwise an upper bound (see mean_output_tokens)",
	"ttft_ms": "time to first token: from the request's send (when its first byte went to the socket) " +
		"to the arrival of the first event carrying at least one output token, answer or reasoning " +
		"(role-only and usage-only events do not count); arrivals are the kernel's receive timestamps " +
		"where the OS gives them (Linux), so the harness's own lateness in reading is not counted " +
		"(see client_read_lag_p99_ms)",
	"ttfat_ms": "time to first answer token: from the request's send to the arrival of the first event " +
		"carrying answer content (a delta's content, Ollama's message content) rather than reasoning; " +
		"equal to ttft_ms for a model that answers at once. Only requests that reached an answer count " +
		"(answered_pct); requests on the plain completions endpoint, whose text does not separate reasoning " +
		"from answer, have none. GuideLLM's time_to_first_output_token_ms and AIPerf's " +
		"time_to_first_output_token measure the same",
	"answered_pct": "percent of successful requests whose stream carried answer content, written where any " +
		"stream carried reasoning: the others spent their whole token budget reasoning",
	"latency_ms": "end-to-end latency: from send to the arrival of the last event carrying an output token " +
		"(a trailing usage event or [DONE] does not extend it)",
	"itl_ms": "inter-token latency, per token: each gap between consecutive token-bearing events divided " +
		"evenly among the tokens of the later event (token counts from the server's per-event usage, or one " +
		"per event when the server's total confirms it; see itl_basis); pooled over all requests",
	"chunk_gap_ms": "raw gap between consecutive token-bearing events, whatever they carry (what vLLM and " +
		"SGLang call ITL); pooled over all requests",
	"tpot_ms": "time per output token, per request: (latency - ttft) / (output_tokens - 1), for requests " +
		"with more than one output token",
	"ttft_incl_queue_ms": "ttft measured from the request's scheduled time rather than its send, so time " +
		"waiting for a concurrency slot is included",
	"latency_incl_queue_ms": "end-to-end latency measured from the scheduled time",
	"queue_ms":              "time between a request's scheduled time and its send (client-side wait, connection set-up included)",
	"first_ttft_ms":         "ttft of the first measured request (for sequential points: the cold-cache request)",
	"rest_avg_ttft_ms":      "mean ttft of all measured requests but the first (for sequential points: warm requests)",
	"total_time_sec":        "measurement window: earliest scheduled time to the last token of any request; warm-up excluded",
	"total_token_throughput": "output tokens of successful requests / total_time_sec (the original project's " +
		"meaning of this field; equal to output_token_throughput)",
	"output_token_throughput":        "output tokens of successful requests / total_time_sec",
	"input_output_token_throughput":  "(input + output tokens of successful requests) / total_time_sec (vLLM's total_token_throughput)",
	"request_throughput":             "successful requests / total_time_sec",
	"request_goodput":                "requests that succeeded and met every objective of the point's SLO (slo: ttft, itl as the request's mean inter-token latency, e2e; each <=) / total_time_sec; requests the run itself cancelled are not counted",
	"slo_attainment_pct":             "percent of the requests sent that succeeded and met every objective of the point's SLO (slo); a failed request of any class misses it, requests the run itself cancelled are not counted",
	"capacity_value":                 "a capacity search's answer: the most concurrent users (capacity/users) or requests per second (capacity/rate) shown to meet every objective of the SLO; its interval, what bound it and every probe are in the point's capacity block",
	"success_rate":                   "percent of requests that completed with at least one token and no error (under ignore_eos, with max_tokens of them); requests the run itself cancelled are not counted",
	"successful_requests":            "requests that completed with at least one token and no error (under ignore_eos, with max_tokens of them)",
	"failed_requests":                "requests that failed, of any class but cancelled (error_classes counts them by class)",
	"total_input_tokens":             "sum of the server-reported prompt tokens of successful requests",
	"total_output_tokens":            "sum of the server-reported completion tokens of successful requests (tokens counted on events where the server reports none, or fewer than it streamed)",
	"mean_input_tokens":              "total_input_tokens / successful_requests",
	"mean_output_tokens":             "total_output_tokens / successful_requests",
	"input_tokens_per_char":          "total_input_tokens / characters of the prompts' message contents (the chat template's tokens included)",
	"input_content_tokens_per_char":  "(server-reported prompt tokens - template_tokens) / characters of the message contents, over successful requests: the text's own tokens per character, without the chat template's fixed cost",
	"template_tokens":                "prompt tokens the server counts for the point's messages with their contents emptied: what its chat template adds to every prompt (from its tokenizer where it has one, else a one-token probe request before each trial)",
	"output_tokens_per_char":         "total_output_tokens / characters received",
	"mean_concurrency":               "sum of successful requests' latencies / total_time_sec (Little's law)",
	"max_concurrency_observed":       "most requests between send and stream end at any instant",
	"server_generation_tokens":       "generation tokens the server's Prometheus counter (<prefix>generation_tokens_total) gained during the measured requests; must equal total_output_tokens plus failed requests' streamed tokens, else a warning",
	"server_prompt_tokens":           "prompt tokens the server's counter (<prefix>prompt_tokens_total) gained during the measured requests; must equal the requests' reported prompt tokens, else a warning",
	"server_avg_ttft_ms":             "the server's own mean TTFT: from its time_to_first_token_seconds histogram (sum/count delta), or Ollama's load_duration + prompt_eval_duration",
	"server_prefix_cache_hit_rate":   "the share of prompt tokens the server served from its prefix cache over the point, from its counters (vLLM: prefix_cache_hits_total / prefix_cache_queries_total; SGLang: cached_tokens_total / prompt_tokens_total); only where those are absent, the mean of a hit-rate gauge sampled while the point ran",
	"server_preemptions":             "requests the server preempted during the point: the rise of its counter (vLLM: num_preemptions_total; SGLang: num_retracted_requests_total)",
	"server_kv_cache_usage_peak_pct": "highest KV-cache usage the server reported while the point ran, sampled every second (vLLM: kv_cache_usage_perc; SGLang: token_usage), in percent",
	"server_running_peak":            "most requests the server reported running at once, sampled every second while the point ran",
	"server_waiting_peak":            "most requests the server reported queued at once, sampled every second while the point ran",
	"server_waiting_mean":            "mean of the requests the server reported queued, sampled every second while the point ran: at 1 or more the load exceeds what it runs at once",
	"ttft_overhead_ms":               "avg_ttft_ms - server_avg_ttft_ms: network and client overhead (and server ingress the server's clock does not see)",
	"gpu_memory_peak_mb":             "highest device memory used during the measured requests (MiB, summed over devices); also written as gpu_memory_mb",
	"gpu_memory_mean_mb":             "mean device memory used during the measured requests (MiB, summed over devices)",
	"gpu_utilization_mean_pct":       "mean NVML GPU utilisation over devices and samples during the measured requests; also written as gpu_utilization_pct",
	"gpu_server_memory_peak_mb":      "highest GPU memory held by the server's own processes (MiB)",
	"gpu_energy_j":                   "rise of the devices' total-energy counters over the measured requests (J)",
	"gpu_joules_per_output_token":    "gpu_energy_j / total_output_tokens",
	"client_cpu_pct":                 "the harness process's CPU time during the measured requests, percent of all cores (includes an in-process target's work)",
	"client_cpu_sec":                 "the harness process's CPU time (user and system) during the measured requests, in seconds; summed over shards",
	"client_cpu_us_per_token":        "client_cpu_sec per output token, in microseconds: what the client spends per streamed token (includes an in-process target's work)",
	"client_sched_lag_p99_ms":        "p99 lateness of a timer firing every 10 ms in the harness process while measuring: how late its goroutines ran; above 10 ms the point is invalid (client-bound)",
	"client_send_lag_p99_ms":         "p99 of send minus scheduled time; in an uncapped open loop above 10 ms the point is invalid (client-bound)",
	"client_max_in_flight":           "most requests the load generator had in flight; in a closed loop below the concurrency the point is invalid (client-bound)",
	"client_read_lag_p99_ms":         "p99 over token events of how long after arriving at this host's socket the harness read them; arrival times come from the kernel's receive timestamps (client_kernel_stamped_pct), which keep this lag out of every latency, except that events read together are all dated by the newest",
	"client_kernel_stamped_pct":      "percent of successful requests whose every token event is dated by the kernel's receive timestamp (Linux) rather than by when the harness read it",
	"client_procs":                   "GOMAXPROCS while the point's requests ran (-client-procs): Ps beyond the cores keep one polling the network during bursts",
	"client_send_rate":               "achieved sends per second between the first and the last send; below 95% of an open loop's scheduled rate the point is invalid (client-bound)",
}

// Distributions are the metrics written as statistics of a distribution (avg_ttft_ms,
// p99_itl_ms, ...) rather than under their own name.
var Distributions = []string{"ttft_ms", "ttfat_ms", "latency_ms", "itl_ms", "chunk_gap_ms", "tpot_ms",
	"ttft_incl_queue_ms", "latency_incl_queue_ms", "queue_ms"}

// DistributionStats are the prefixes of a distribution's statistics.
var DistributionStats = []string{"avg_", "std_", "min_", "max_", "p50_", "p90_", "p95_", "p99_"}

// Check says whether name is a metric servegate writes into a result point: a key of
// Definitions other than a distribution's base name, or a statistic of a distribution. Its
// error lists the valid names.
func Check(name string) error {
	for _, d := range Distributions {
		for _, s := range DistributionStats {
			if name == s+d {
				return nil
			}
		}
	}
	if _, ok := Definitions[name]; ok && !slices.Contains(Distributions, name) {
		return nil
	}
	var names []string
	for k := range Definitions {
		if !slices.Contains(Distributions, k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return fmt.Errorf("unknown metric %q: valid are %s, and %s of %s", name, strings.Join(names, ", "),
		strings.Join(DistributionStats, "/"), strings.Join(Distributions, ", "))
}
