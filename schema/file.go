package schema

import (
	"encoding/json"
	"fmt"
	"sync"
)

// File is one result file: results/<framework>/<framework>_<preset>_results.json.
type File struct {
	// Schema is the schema's major version (Version when written by this code).
	Schema      int    `json:"schema_version"`
	Framework   string `json:"framework"`
	ModelPreset string `json:"model_preset"`
	Model       string `json:"model"`
	// Simulated is true when servegate's simulated engine produced the numbers: they
	// describe no serving framework and no GPU, whatever the model's name.
	Simulated    bool         `json:"simulated"`
	Timestamp    string       `json:"timestamp"`
	ServerConfig ServerConfig `json:"server_config"`
	GPUInfo      GPUInfo      `json:"gpu_info"`
	Provenance   Provenance   `json:"provenance"`
	// Settings are those every point of the file was measured under; nil in files of
	// the original project and of servegate before results accumulated.
	Settings    *Settings         `json:"settings,omitempty"`
	Results     []Point           `json:"results"`
	Definitions map[string]string `json:"definitions"`
}

// ServerConfig describes the target as the original did, plus how it was launched.
type ServerConfig struct {
	BaseURL      string `json:"base_url"`
	Model        string `json:"model"`
	ChatEndpoint string `json:"chat_endpoint"`
	Dialect      string `json:"dialect"`
	// Launch holds framework-specific settings (the sim's profile, a server's flags). Read
	// back from a file it is the JSON as written (a json.RawMessage), so a file rewritten
	// from what was read keeps it byte for byte.
	Launch any `json:"launch,omitempty"`
}

// UnmarshalJSON keeps Launch as the JSON it was written as.
func (c *ServerConfig) UnmarshalJSON(b []byte) error {
	type fields ServerConfig
	var f struct {
		fields
		Launch json.RawMessage `json:"launch,omitempty"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*c = ServerConfig(f.fields)
	c.Launch = nil
	if len(f.Launch) > 0 && string(f.Launch) != "null" {
		c.Launch = f.Launch
	}
	return nil
}

// GPUInfo is the run's GPU snapshot. It is always an object, as the original's was, so a
// reader's gpu_info["memory_used_mb"] never fails: without a GPU its figures are null
// (never a made-up zero) and it has no name. The flat fields are the first sampled
// device's; Devices lists every sampled one.
type GPUInfo struct {
	Name              string   `json:"name,omitempty"`
	Driver            string   `json:"driver,omitempty"`
	MemoryUsedMB      *float64 `json:"memory_used_mb"`
	MemoryTotalMB     *float64 `json:"memory_total_mb"`
	GPUUtilizationPct *float64 `json:"gpu_utilization_pct"`
	// Devices are the devices sampled: those the server uses (CUDA_VISIBLE_DEVICES or
	// the gpus setting), else every GPU. Their type is harness/gpu's Info.
	Devices any `json:"devices,omitempty"`
	// Selection says how they were chosen.
	Selection string `json:"selection,omitempty"`
}

// GPUFigures are one device's figures over one trial of a point (harness/gpu).
type GPUFigures struct {
	Trial int `json:"trial,omitempty"`
	// Device is the device's id in the run's GPU list (gpu_info.devices).
	Device       int     `json:"device"`
	PeakMemoryMB float64 `json:"memory_peak_mb"`
	MeanMemoryMB float64 `json:"memory_mean_mb"`
	// MeanUtilPct is null where the device reports no utilisation (a MIG instance).
	MeanUtilPct *float64 `json:"utilization_mean_pct"`
	// PeakProcessMemoryMB is the server's memory on the device, found as
	// ProcessMemoryMethod says: "pid" (NVML listed the server's processes) or
	// "memory_delta" (used memory above its level before launch; "pid+memory_delta" when
	// the trial saw both).
	PeakProcessMemoryMB float64 `json:"server_memory_peak_mb"`
	ProcessMemoryMethod string  `json:"server_memory_method,omitempty"`
	// EnergyJ is the energy counter's rise; null where the device has none.
	EnergyJ *float64 `json:"energy_j"`
	Samples int      `json:"samples"`
}

// Provenance says what produced the numbers.
type Provenance struct {
	Servegate string `json:"servegate_version"`
	// Commit is the servegate source revision (git), "-dirty" with uncommitted changes.
	Commit    string `json:"servegate_commit,omitempty"`
	GoVersion string `json:"go_version"`
	Engine    string `json:"engine"`
	EngineVer string `json:"engine_version,omitempty"`
	// ModelRevision is the model's revision where the target reports one.
	ModelRevision string `json:"model_revision,omitempty"`
	Scale         string `json:"scale"`
	Seed          uint64 `json:"seed"`
	Host          string `json:"host,omitempty"`
}

// Settings are what a run was measured under. Points measured under different settings
// are not comparable, so a file holds the points of one set of settings only, and shards
// of one measurement must share them.
type Settings struct {
	// Scale is the scenario shapes (quick, full).
	Scale string `json:"scale"`
	// Preset is the model preset (also in the file name).
	Preset string `json:"model_preset"`
	// Profile is the simulator's profile; empty for a real framework.
	Profile string `json:"profile,omitempty"`
	// TargetVersion is the version the target reported (vLLM 0.10.1, sim-batching, ...).
	TargetVersion string `json:"target_version"`
}

// Differences lists the settings in which s (a file's) and o (a run's) differ, as
// `name "a" in the file, "b" in this run`; none when they agree.
func (s Settings) Differences(o Settings) []string {
	var out []string
	for _, f := range []struct{ name, a, b string }{
		{"scale", s.Scale, o.Scale}, {"model_preset", s.Preset, o.Preset},
		{"profile", s.Profile, o.Profile}, {"target_version", s.TargetVersion, o.TargetVersion},
	} {
		if f.a != f.b {
			out = append(out, fmt.Sprintf("%s %q in the file, %q in this run", f.name, f.a, f.b))
		}
	}
	return out
}

// Sample is one measured request, kept in the result file so charts and checks can look
// past the aggregates without opening the records.
type Sample struct {
	Trial   int     `json:"trial"`
	Index   int     `json:"index"`
	QueueMs float64 `json:"queue_ms"`
	TTFTMs  float64 `json:"ttft_ms"`
	// TTFATMs is the time to the first answer token; absent when no answer content came.
	TTFATMs      *float64 `json:"ttfat_ms,omitempty"`
	LatencyMs    float64  `json:"latency_ms"`
	InputTokens  int      `json:"input_tokens"`
	OutputTokens int      `json:"output_tokens"`
	// ReasoningTokens are the output tokens that came as reasoning.
	ReasoningTokens int `json:"reasoning_tokens,omitempty"`
	Chunks          int `json:"chunks"`
	// Class is how the request ended (ok, stalled, cut, ...: see Point.ErrorClasses).
	Class string `json:"class"`
	Error string `json:"error,omitempty"`
	// HTTPStatus is the response's status where it was not 200; RetryAfter its
	// Retry-After header (a 429's), as sent.
	HTTPStatus int    `json:"http_status,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	// UsageDisagrees says the server's output count was below the tokens streamed, so
	// OutputTokens is the stream's count.
	UsageDisagrees bool `json:"usage_disagrees,omitempty"`
}

// Interval is a trial-level estimate of one metric: the mean over trials, the sample
// standard deviation and a 95% confidence interval for the mean.
type Interval struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	// Low and High bound the 95% interval; with one trial there is none and both are
	// null.
	Low  *float64 `json:"ci95_low"`
	High *float64 `json:"ci95_high"`
	// Values are the per-trial values, kept for significance tests between runs.
	Values []float64 `json:"values"`
}

// Point is the result of one scenario point: the original's entry (scenario, concurrency,
// input_tokens, output_tokens, num_requests and the flat metric fields such as
// avg_ttft_ms) plus servegate's additions. With several trials each metric is the mean
// over trials and TrialStats holds its spread and 95% interval.
type Point struct {
	Scenario    string  `json:"scenario"`
	Point       string  `json:"point"`
	Framework   string  `json:"framework"`
	Concurrency int     `json:"concurrency"`
	RequestRate float64 `json:"request_rate,omitempty"`
	// InputTokens is the prompt length the point aims at: the fitted length, or the mean
	// of natural-length prompts as the target counts them (the definitions say so).
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	// OutputLengthMethod says how the requests held their output length: ignore_eos
	// (chat completions), completions_ignore_eos (the prompt rendered by the server's chat
	// template, sent to the plain completions endpoint) or natural (left to the model,
	// max_tokens only capping it). OutputLengthForced says the method asked for exactly
	// OutputTokens; where it did not, output lengths may differ across frameworks and
	// latencies compare per token.
	OutputLengthMethod string `json:"output_length_method"`
	OutputLengthForced bool   `json:"output_length_forced"`
	// OutputLengthVaried says some successful request's output length differed from
	// OutputTokens (a warning says by how much).
	OutputLengthVaried bool `json:"output_length_varied"`
	NumRequests        int  `json:"num_requests"`
	Warmup             int  `json:"warmup_requests"`
	// Prompts names how the prompts were made (plain, shared_prefix, ...); PrefixTokens is
	// the shared system prompt's length where there is one.
	Prompts      string `json:"prompts"`
	PrefixTokens int    `json:"prefix_tokens,omitempty"`
	// ParallelSlots is how many requests the server decoded at once, where it has a fixed
	// number it told (Ollama's OLLAMA_NUM_PARALLEL as its runner loaded the model; SGLang's
	// effective max_running_requests; vLLM's --max-num-seqs where the command line set it);
	// absent when unknown. A comparison with such a server
	// compares this configuration too.
	ParallelSlots int `json:"parallel_slots,omitempty"`
	Trials        int `json:"trials"`
	// TrialsStop says why adaptive trials (-trials=auto) stopped where they did.
	TrialsStop string `json:"trials_stop,omitempty"`
	// ITLBasis says how itl_ms was derived (exact_tokens_per_chunk or
	// estimated_from_chunk_count).
	ITLBasis string `json:"itl_basis"`
	// TrialsSharedCache says the server's prefix cache was not emptied between trials
	// (nor before the point): a warning says why.
	TrialsSharedCache bool `json:"trials_shared_cache"`
	// PromptTokensCorrection is how many prompt tokens more than its tokenizer endpoint
	// the server counted for the same messages (a warm-up request's usage against
	// /tokenize); prompts were fitted to the server's count. 0 when they agree.
	PromptTokensCorrection int `json:"prompt_tokens_correction,omitempty"`
	// GPU figures are null when no GPU was sampled; never a made-up zero.
	GPUMemoryMB       *float64 `json:"gpu_memory_mb"`
	GPUUtilizationPct *float64 `json:"gpu_utilization_pct"`
	// GPUs are each sampled device's own figures, trial by trial.
	GPUs []GPUFigures `json:"gpus,omitempty"`
	// Invalid, when set, says why the point did not measure the server (e.g.
	// "client-bound: ..."); its numbers describe the client and must not be compared.
	Invalid string `json:"invalid,omitempty"`
	// Errors counts failed requests by message.
	Errors map[string]int `json:"errors,omitempty"`
	// ErrorClasses counts failed requests by class (http_error, rate_limited,
	// error_event, cut, stalled, timed_out, tokenless, truncated, malformed, no_response,
	// cancelled). Every failed request is in it; cancelled ones (stopped by the run itself)
	// are left out of the metrics.
	ErrorClasses map[string]int `json:"error_classes,omitempty"`
	// OutputTokensFrom says whose count the output-token figures use: "server" (the usage
	// or eval_count of every successful request), "stream" (the tokens counted on the
	// chunks: the server gave no count, or a count below what it streamed), or "mixed";
	// UsageDisagreements counts the requests whose server count was below the stream's.
	OutputTokensFrom   string `json:"output_tokens_from,omitempty"`
	UsageDisagreements int    `json:"usage_disagreements"`
	// Warnings are things a reader must know before trusting the numbers.
	Warnings []string `json:"warnings,omitempty"`
	// TrialStats holds, per metric, the mean, std and 95% interval over trials.
	TrialStats map[string]Interval `json:"trial_stats,omitempty"`
	// Requests lists every measured request of every trial.
	Requests []Sample `json:"requests,omitempty"`
	// Capacity is the answer of a capacity search (scenario capacity); its value is also
	// the metric capacity_value.
	Capacity *Capacity `json:"capacity,omitempty"`
	// SLO is what a request had to meet to count toward request_goodput and
	// slo_attainment_pct; absent when the run set none.
	SLO *SLO `json:"slo,omitempty"`
	// MeasuredAt is when the point finished (RFC 3339): a file accumulates points of
	// several runs, and a verdict names the points it was decided on by this time.
	MeasuredAt string `json:"measured_at,omitempty"`
	// Shards is how many processes measured the point together (servegate-merge); 0 or
	// absent for one.
	Shards int `json:"shards,omitempty"`
	// Metrics are written as top-level fields (avg_ttft_ms, p99_latency_ms, ...).
	Metrics map[string]float64 `json:"-"`
}

// Key names a point within a file: scenario/point.
func (p *Point) Key() string { return p.Scenario + "/" + p.Point }

type pointFields Point

// MarshalJSON writes Metrics as top-level fields beside the others.
func (p Point) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(pointFields(p))
	if err != nil {
		return nil, err
	}
	if len(p.Metrics) == 0 {
		return b, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range p.Metrics {
		if NamedField(k) {
			return nil, fmt.Errorf("metric %q clashes with a result field", k)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", k, err)
		}
		m[k] = raw
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the top-level numeric fields that are not named fields into Metrics.
func (p *Point) UnmarshalJSON(b []byte) error {
	var f pointFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	f.Metrics = map[string]float64{}
	for k, raw := range m {
		if NamedField(k) {
			continue
		}
		var x float64
		if json.Unmarshal(raw, &x) == nil {
			f.Metrics[k] = x
		}
	}
	*p = Point(f)
	return nil
}

// NamedField reports whether key is a field of Point's own rather than a metric: the one
// list every reader of result files goes by.
func NamedField(key string) bool { return namedFields()[key] }

// namedFields is the set of JSON keys of Point's fields, read off its type.
var namedFields = sync.OnceValue(func() map[string]bool {
	known := map[string]bool{}
	for _, f := range jsonFields[pointFields]() {
		known[f] = true
	}
	return known
})
