// Package openai describes any other OpenAI-compatible server at a URL (TGI, llama.cpp's
// server, TensorRT-LLM): servegate attaches to it and starts nothing unless a launch
// command is configured.
package openai

import "github.com/servegate/servegate/frameworks"

// Spec is the common ground of OpenAI-compatible servers: /v1/models and streamed chat
// completions with a usage chunk. No metrics, version, tokenizer or cache reset are
// assumed; ignore_eos is not either, so output lengths are checked and flagged.
var Spec = frameworks.Spec{
	Name:             "openai",
	DefaultPort:      8000,
	HealthPath:       "/v1/models",
	Dialect:          "openai",
	ModelsPath:       "/v1/models",
	Model:            frameworks.HF,
	MissingModelHint: func(m string) string { return "serve " + m + " on that server, or set its served model name" },
}
