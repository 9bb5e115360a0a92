// Package models maps servegate's model presets to the names each framework serves them
// under.
package models

import (
	"fmt"
	"sort"
	"strings"
)

// Preset is one model as each kind of framework names it.
type Preset struct {
	// Name is the preset's short name (gpt-oss-20b).
	Name string
	// HF is the Hugging Face id used by vLLM, SGLang and OpenAI-compatible servers.
	HF string
	// Ollama is the Ollama library tag.
	Ollama string
	// Reasoning marks models that stream reasoning before the answer.
	Reasoning bool
	// ChatFormat names a chat format whose serving needs care, "" for an ordinary chat
	// template: "harmony" is gpt-oss's (github.com/openai/harmony), whose turn ends in
	// special tokens that servers parse while streaming.
	ChatFormat string
}

var presets = map[string]Preset{
	"gpt-oss-20b": {Name: "gpt-oss-20b", HF: "openai/gpt-oss-20b", Ollama: "gpt-oss:20b", Reasoning: true, ChatFormat: "harmony"},
	"llama3.1-8b": {Name: "llama3.1-8b", HF: "meta-llama/Llama-3.1-8B-Instruct", Ollama: "llama3.1:8b"},
	// tiny is the random 2-layer llama servegate generates (fixtures/tinyllama,
	// cmd/servegate-tinymodel) to run a real Ollama on CPU in CI.
	"tiny": {Name: "tiny", HF: "servegate/tiny-random-llama", Ollama: "servegate-tiny"},
}

// DefaultPreset is used when none is named.
const DefaultPreset = "gpt-oss-20b"

// Lookup returns the named preset or an error listing the known ones.
func Lookup(name string) (Preset, error) {
	if p, ok := presets[name]; ok {
		return p, nil
	}
	return Preset{}, fmt.Errorf("unknown model preset %q: choose one of %s", name, strings.Join(Names(), ", "))
}

// Names lists the presets by name, sorted.
func Names() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
