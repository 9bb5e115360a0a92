// Package frameworks describes the serving frameworks servegate drives, as data: default
// port, launch command, health, API dialect, model names, where they list served models,
// report their version and count tokens, the names of their Prometheus metrics and how to
// reset their prefix cache. One sub-package per framework (vllm, sglang, ollama, openai)
// holds its Spec; the harness turns a Spec into a running target. Nothing here starts a
// process.
package frameworks

import (
	"regexp"

	"github.com/servegate/servegate/frameworks/models"
)

// Spec is one framework.
type Spec struct {
	Name        string
	DefaultPort int
	// HealthPath answers 200 once the server serves.
	HealthPath string
	// Dialect is "openai" (SSE chat completions) or "ollama" (NDJSON /api/chat).
	Dialect string
	// ModelsPath lists served models: /v1/models (OpenAI list) or /api/tags (Ollama).
	ModelsPath string
	// VersionPath answers JSON with a "version" field; empty when the server has none.
	VersionPath string
	// TokenizePath counts the tokens of chat messages, template included (vLLM's /tokenize:
	// {"model", "messages"} in, {"count"} out); empty when the server has none, and prompt
	// lengths are then calibrated from the usage counts of probe requests.
	TokenizePath string
	// MetricsPath is its Prometheus endpoint and Metrics the names it uses there; empty
	// when it has none.
	MetricsPath string
	Metrics     MetricNames
	// ResetCachePath empties its prefix cache (POST); empty when it has no way.
	ResetCachePath string
	// ResetCacheHint says how to enable the reset endpoint when the server refuses it.
	ResetCacheHint string
	// ResetCacheBusy is the HTTP status the reset answers while requests run (SGLang's
	// 400); the reset is then retried until the server is idle, within a deadline.
	ResetCacheBusy int
	// ResetByReload says the only way to empty its prompt cache is to unload and reload
	// the model (Ollama, whose kept slot caches also slow every later prefill).
	ResetByReload bool
	// OutputLength says how requests hold their output to the scenario's length, by the
	// preset's chat format (models.Preset.ChatFormat; the entry "" for every other
	// format). Without an entry the length is left to the model (Natural).
	OutputLength map[string]OutputLength
	// ContinuousUsage says it streams usage on every chunk when asked.
	ContinuousUsage bool
	// ContextOption says the context window is a request option (Ollama's num_ctx, which
	// defaults to a window that silently truncates long prompts); the suite then sets it
	// for the longest prompt of the run, the same on every request.
	ContextOption bool
	// LoadedPath lists the loaded models with the context window each holds (Ollama's
	// /api/ps and its context_length); empty when the server has no such list.
	LoadedPath string
	// SlotsInLog finds, in a launched server's log, how many requests it decodes at once
	// (its first group; the last match wins); nil when its log does not say.
	SlotsInLog *regexp.Regexp
	// SlotsInInfo reads, from the body VersionPath answers, the most requests the server
	// runs at once and the field that said so (n 0 when the body does not say); nil when
	// that body never says.
	SlotsInInfo func(body []byte) (n int, from string)
	// SlotsFlag is the launch flag that caps how many requests the server runs at once
	// (vLLM's --max-num-seqs), read from a launched server's command line when the Spec
	// has no SlotsInInfo; empty when there is none. RanksFlags are the flags that run
	// several schedulers, each with that cap (vLLM's --data-parallel-size, -dp): where one
	// asks for more than one, the slots are not recorded.
	SlotsFlag  string
	RanksFlags []string
	// Launch returns the default command line for serving model on host:port.
	Launch func(model, host string, port int) []string
	// LaunchEnv returns environment the default launch needs.
	LaunchEnv func(host string, port int) []string
	// Model maps a preset to the name this framework serves it under.
	Model func(p models.Preset) string
	// MissingModelHint says how to make a missing model available.
	MissingModelHint func(model string) string
}

// OutputLength is how a request holds its output to the length a scenario asks for.
type OutputLength string

const (
	// IgnoreEOS sends chat completions with ignore_eos (vLLM, SGLang): the server
	// generates exactly max_tokens.
	IgnoreEOS OutputLength = "ignore_eos"
	// CompletionsIgnoreEOS sends the chat rendered by the server's own chat template (the
	// token ids its tokenizer endpoint returns) to the plain completions endpoint with
	// ignore_eos. No chat stream parser sees the tokens generated past the end of the
	// model's turn: vLLM's Harmony parser for gpt-oss answers them with HTTP 500
	// ("Unexpected token 200002 while expecting start token 200006",
	// vllm-project/vllm#50690), while vLLM's completions endpoint
	// (vllm/entrypoints/openai/serving_completion.py) streams tokens without one. The
	// stream then carries reasoning and answer as one text.
	CompletionsIgnoreEOS OutputLength = "completions_ignore_eos"
	// Natural leaves the length to the model, max_tokens only capping it: output lengths
	// vary, so latencies compare per token (tpot_ms, itl_ms), and each point says how much
	// its lengths varied.
	Natural OutputLength = "natural"
)

// OutputLengths lists the methods, for messages and validation.
var OutputLengths = []OutputLength{IgnoreEOS, CompletionsIgnoreEOS, Natural}

// Forced says the method asks the server for exactly max_tokens.
func (o OutputLength) Forced() bool { return o == IgnoreEOS || o == CompletionsIgnoreEOS }

// OutputLengthFor returns how requests for preset p hold their output length.
func (s Spec) OutputLengthFor(p models.Preset) OutputLength {
	if o, ok := s.OutputLength[p.ChatFormat]; ok {
		return o
	}
	if o, ok := s.OutputLength[""]; ok {
		return o
	}
	return Natural
}

// MetricNames are the Prometheus names one framework gives the figures servegate reads,
// each a list of candidates across its versions: the first one the server exposes wins.
// Counters and histograms are read as deltas over a scenario point, gauges as the peak
// seen while it ran.
type MetricNames struct {
	// Counters.
	PromptTokens, GenerationTokens []string
	PrefixQueries, PrefixHits      []string
	Preemptions                    []string
	// TTFT is a histogram in seconds (name without _sum/_count).
	TTFT []string
	// Gauges: KV-cache usage (0..1), running and waiting requests, and a prefix-cache hit
	// rate where the server exposes a rate instead of counters.
	KVCacheUsage, Running, Waiting, PrefixHitRate []string
}

// Each calls f with the name of every figure and its candidate metric names, in a fixed
// order, skipping figures with none.
func (m MetricNames) Each(f func(figure string, names []string)) {
	for _, x := range []struct {
		figure string
		names  []string
	}{
		{"PromptTokens", m.PromptTokens}, {"GenerationTokens", m.GenerationTokens},
		{"PrefixQueries", m.PrefixQueries}, {"PrefixHits", m.PrefixHits}, {"Preemptions", m.Preemptions},
		{"TTFT", m.TTFT}, {"KVCacheUsage", m.KVCacheUsage}, {"Running", m.Running}, {"Waiting", m.Waiting},
		{"PrefixHitRate", m.PrefixHitRate},
	} {
		if len(x.names) > 0 {
			f(x.figure, x.names)
		}
	}
}

// HF is the model name of servers that load Hugging Face repositories.
func HF(p models.Preset) string { return p.HF }
