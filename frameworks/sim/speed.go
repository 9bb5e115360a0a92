package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Speed is how long the simulated engine's steps take. A preset's speed has the magnitudes
// that published measurements of that model on one GPU show, so a simulated run's figures
// are of the size a real run's are (tens of milliseconds to a first token, not one); the
// harness's own tests use Fast, which no model reaches.
type Speed struct {
	// Name is the model preset the figures describe, or "fast".
	Name string `json:"speed"`
	// PrefillBase is paid by a step that prefills anything (a forward pass reads every
	// weight once, as a decode step does); PrefillPerToken per uncached prompt token.
	PrefillBase     time.Duration `json:"prefill_base_ns"`
	PrefillPerToken time.Duration `json:"prefill_per_token_ns"`
	// DecodeBase is a decode step with one sequence (time per output token at
	// concurrency 1); DecodePerSeq is added per further sequence in the batch.
	DecodeBase   time.Duration `json:"decode_base_ns"`
	DecodePerSeq time.Duration `json:"decode_per_seq_ns"`
	// Source says where the figures come from.
	Source string `json:"speed_source"`
}

// Fast is the speed of the harness's own tests: steps of a few milliseconds and prefill
// at 500k tokens/s, so a test runs in seconds. No published model runs this fast; results
// made with it must not be read as any model's.
var Fast = Speed{
	Name:            "fast",
	PrefillBase:     500 * time.Microsecond,
	PrefillPerToken: 2 * time.Microsecond,
	DecodeBase:      3 * time.Millisecond,
	// Each sequence in the batch adds a twelfth of the base step, so batching pays
	// (64 sequences decode 10x faster than one at a time) and costs latency: the step
	// reaches an ITL objective of 50 ms near 190 sequences, a knee the capacity search
	// can find with a few hundred streams. At 1/150 of the step the engine served
	// thousands of users under any SLO, which no GPU does.
	DecodePerSeq: 250 * time.Microsecond,
	Source:       "servegate's test engine: chosen for short tests, not measured on any model",
}

// speeds are the presets' speeds: one NVIDIA A100 and vLLM, as published. The simulator's
// step model is linear (decode: base + per sequence; prefill: base + per token), so each
// preset's figures are fitted to two published points, and a figure not published is
// derived, and says how.
var speeds = map[string]Speed{
	// GPUStack performance lab, "Optimizing GPT-OSS-20B Throughput on NVIDIA A100 GPUs"
	// (docs.gpustack.ai/latest/performance-lab/gpt-oss-20b/a100; gpustack/gpustack
	// docs/performance-lab/gpt-oss-20b/a100.md), one A100 SXM 80GB, vLLM 0.11.0, vllm bench
	// serve: 1,000 ShareGPT prompts sent at once gave 4,620 output tokens/s at a mean TPOT
	// of 48.6 ms, i.e. about 224 sequences decoding per step (4,620 x 0.0486); random
	// 2,000- and 4,000-token prompts (500 at once) were prefilled at 15.5k-17.2k tokens/s
	// (999,120 input tokens in 58.1 s; 1,999,249 in 128.8 s), hence 62.5 us per token.
	// Concurrency 1 was not published: its 5 ms TPOT is an estimate, between the
	// memory-bandwidth bound of the 3.6B active parameters (about 2.5 ms) and the 13 ms
	// measured for the dense Llama 3.1 8B below. Per further sequence: (48.6 - 5) / 223.
	"gpt-oss-20b": {
		Name:            "gpt-oss-20b",
		PrefillBase:     5 * time.Millisecond,
		PrefillPerToken: 62500 * time.Nanosecond,
		DecodeBase:      5 * time.Millisecond,
		DecodePerSeq:    195 * time.Microsecond,
		Source: "gpt-oss-20b on one A100-80GB with vLLM 0.11 (GPUStack performance lab): 4,620 output tok/s at " +
			"48.6 ms TPOT with 1,000 prompts at once, prefill ~16k tok/s; TPOT at concurrency 1 estimated",
	},
	// John Musgrave, "vLLM throughput-latency sweep on NVIDIA A100"
	// (johnmusgrave.com/p/vllm-throughput-latency-sweep-on): Llama-3.1-8B-Instruct BF16 on
	// one A100 40GB, vLLM 0.23, 1,024 input and 128 output tokens: decode at concurrency 1
	// about 75 tokens/s (13.3 ms TPOT), and 6.6x that throughput at concurrency 8
	// (495 tok/s, 16.2 ms TPOT), hence 0.41 ms per further sequence. Prefill was not
	// published: 139 us per token scales gpt-oss-20b's measured prefill by active
	// parameters (8B dense vs 3.6B), both being compute-bound on the same A100.
	"llama3.1-8b": {
		Name:            "llama3.1-8b",
		PrefillBase:     13300 * time.Microsecond,
		PrefillPerToken: 139 * time.Microsecond,
		DecodeBase:      13300 * time.Microsecond,
		DecodePerSeq:    410 * time.Microsecond,
		Source: "Llama-3.1-8B-Instruct on one A100-40GB with vLLM 0.23 (J. Musgrave's concurrency sweep): " +
			"75 tok/s at concurrency 1, 6.6x at 8; prefill scaled from gpt-oss-20b by active parameters",
	},
}

// SpeedFor returns the speed of the named preset, or Fast for "fast", or an error naming
// the presets the simulator has figures for.
func SpeedFor(preset string) (Speed, error) {
	if preset == Fast.Name {
		return Fast, nil
	}
	if s, ok := speeds[preset]; ok {
		return s, nil
	}
	names := []string{Fast.Name}
	for n := range speeds {
		names = append(names, n)
	}
	sort.Strings(names)
	return Speed{}, fmt.Errorf("the simulator has no published speed for preset %q: choose one of %s", preset, strings.Join(names, ", "))
}

// LookupProfileAt returns the named profile running at the named speed (a preset, or
// "fast").
func LookupProfileAt(name, speed string) (Profile, error) {
	s, err := SpeedFor(speed)
	if err != nil {
		return Profile{}, err
	}
	return ProfileAt(name, s)
}

// ProfileAt returns the named profile running at speed s.
func ProfileAt(name string, s Speed) (Profile, error) { return lookup(profilesAt(s), name) }
