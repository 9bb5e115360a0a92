// Package frameworks describes the serving frameworks servegate drives, as data: default
// port, launch command, health, API dialect, model names, where they list served models and
// report their version, their Prometheus metric prefix and how to reset their prefix
// cache. The harness turns a Spec into a running target; nothing here starts a process.
package frameworks

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

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
	// VersionPath reports the server's version as {"version": "..."}.
	VersionPath string
	// MetricsPath and MetricsPrefix locate its Prometheus metrics; empty when it has none.
	MetricsPath, MetricsPrefix string
	// ResetCachePath empties its prefix cache (POST); empty when it has no way.
	ResetCachePath string
	// HoldsOutputLength says the API honours ignore_eos; ContinuousUsage that it streams
	// usage on every chunk when asked.
	HoldsOutputLength, ContinuousUsage bool
	// Launch returns the default command line for serving model on host:port (SPEC.md).
	Launch func(model, host string, port int) []string
	// LaunchEnv returns environment the default launch needs.
	LaunchEnv func(host string, port int) []string
	// Model maps a preset to the name this framework serves it under.
	Model func(p models.Preset) string
	// MissingModelHint says how to make a missing model available.
	MissingModelHint func(model string) string
}

func hf(p models.Preset) string     { return p.HF }
func ollama(p models.Preset) string { return p.Ollama }

var specs = map[string]Spec{
	"vllm": {Name: "vllm", DefaultPort: 8000, HealthPath: "/health", Dialect: "openai", ModelsPath: "/v1/models",
		VersionPath: "/version", MetricsPath: "/metrics", MetricsPrefix: "vllm:", ResetCachePath: "/reset_prefix_cache",
		HoldsOutputLength: true, ContinuousUsage: true, Model: hf,
		Launch: func(model, host string, port int) []string {
			return []string{"vllm", "serve", model, "--host", host, "--port", strconv.Itoa(port), "--tensor-parallel-size", "1",
				"--gpu-memory-utilization", "0.85", "--enable-prefix-caching"}
		},
		MissingModelHint: func(m string) string { return "start vllm serve with " + m + " (or set the served model name)" }},
	"sglang": {Name: "sglang", DefaultPort: 30000, HealthPath: "/health", Dialect: "openai", ModelsPath: "/v1/models",
		VersionPath: "/version", MetricsPath: "/metrics", MetricsPrefix: "sglang:", ResetCachePath: "/flush_cache",
		HoldsOutputLength: true, Model: hf,
		Launch: func(model, host string, port int) []string {
			return []string{"python3", "-m", "sglang.launch_server", "--model-path", model, "--tp", "1", "--host", host,
				"--port", strconv.Itoa(port), "--mem-fraction-static", "0.85", "--enable-metrics"}
		},
		MissingModelHint: func(m string) string { return "launch sglang with --model-path " + m }},
	"ollama": {Name: "ollama", DefaultPort: 11434, HealthPath: "/api/version", Dialect: "ollama", ModelsPath: "/api/tags",
		VersionPath: "/api/version", Model: ollama,
		Launch: func(model, host string, port int) []string { return []string{"ollama", "serve"} },
		LaunchEnv: func(host string, port int) []string {
			return []string{"OLLAMA_HOST=" + host + ":" + strconv.Itoa(port)}
		},
		MissingModelHint: func(m string) string { return "run: ollama pull " + m }},
	"openai": {Name: "openai", DefaultPort: 8000, HealthPath: "/v1/models", Dialect: "openai", ModelsPath: "/v1/models",
		Model: hf, MissingModelHint: func(m string) string { return "serve " + m + " on that server" }},
}

// Lookup returns the named framework or an error listing the known ones.
func Lookup(name string) (Spec, error) {
	if s, ok := specs[name]; ok {
		return s, nil
	}
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return Spec{}, fmt.Errorf("unknown framework %q: choose one of %s", name, strings.Join(names, ", "))
}
