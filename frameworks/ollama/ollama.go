// Package ollama describes Ollama's server (ollama serve) and its native /api/chat for
// servegate.
package ollama

import (
	"regexp"
	"strconv"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/models"
)

// Spec is Ollama. It has no Prometheus endpoint, tokenizer endpoint or cache reset; it
// reports its own durations on every response. Its context window is the request option
// num_ctx, whose default moves between versions (2048 in 0.6.5, envconfig; 4096, 32768 or
// 262144 by VRAM in 0.17.4, server/routes.go), and a longer prompt is truncated without an
// error, so the suite always sets it. A change of num_ctx reloads the
// model, so every request of a run carries the same value. It has no cache reset: the
// suite unloads and reloads the model between trials, because the prompts its slots keep
// cached make every later prefill slower (llama.cpp attends over every occupied cache
// cell: a 1,000-token prefill took 0.3 s on a fresh server and 5 s after four 4,000-token
// prompts had run in parallel, in servegate's CPU run), which would make each scenario's
// numbers depend on the ones before it.
var Spec = frameworks.Spec{
	Name:          "ollama",
	DefaultPort:   11434,
	HealthPath:    "/api/version",
	Dialect:       "ollama",
	ModelsPath:    "/api/tags",
	VersionPath:   "/api/version",
	ContextOption: true,
	ResetByReload: true,
	// /api/ps reports context_length in 0.17.4 (server/routes.go PsHandler), not in 0.6.5.
	LoadedPath: "/api/ps",
	// How many requests a model's runner decodes at once: the scheduler's choice from
	// OLLAMA_NUM_PARALLEL and memory (0.6.5 defaults to 4 on CPU, 0.17.4 to 1), which no
	// API reports. 0.6.5 logs the runner's command line ("starting llama server ...
	// --parallel 4", llm/server.go); 0.17.4 logs the runner's load request ("load
	// request={... Parallel:1 ...}", runner/llamarunner and ollamarunner).
	SlotsInLog: regexp.MustCompile(`(?:--parallel |\bParallel:)(\d+)`),
	Model:      func(p models.Preset) string { return p.Ollama },
	Launch:     func(model, host string, port int) []string { return []string{"ollama", "serve"} },
	// The model stays loaded between runs: OLLAMA_KEEP_ALIVE=-1 (requests also ask so).
	LaunchEnv: func(host string, port int) []string {
		return []string{"OLLAMA_HOST=" + host + ":" + strconv.Itoa(port), "OLLAMA_KEEP_ALIVE=-1"}
	},
	MissingModelHint: func(m string) string { return "run: ollama pull " + m },
}
