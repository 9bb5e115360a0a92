// Package sim is servegate's embedded default target: an in-process HTTP server that speaks
// the OpenAI-compatible chat API (SSE) and Ollama's /api/chat (NDJSON) and behaves, in real
// time, like a continuous-batching engine: a scheduler with a batch limit and a KV-cache
// token budget, prefill time proportional to the uncached prompt tokens, a decode step that
// grows with batch size, an optional prefix cache over prompt blocks and optional
// multi-token chunks. It records when every token was generated and written, so tests can
// check what the harness measured against the truth.
package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Profile describes the engine the simulator behaves like.
type Profile struct {
	// Name identifies the profile in results.
	Name string `json:"name"`
	// MaxBatch is the most requests decoded together (vLLM's max_num_seqs; Ollama's
	// OLLAMA_NUM_PARALLEL). Further requests wait in the queue.
	MaxBatch int `json:"max_batch"`
	// KVTokens is the KV-cache budget. A request reserves prompt + max output tokens when it
	// is admitted and frees them when it ends; requests queue while the budget is full.
	KVTokens int `json:"kv_tokens"`
	// MaxModelLen is the longest prompt + output a request may ask for; longer ones are
	// rejected with HTTP 400, as vLLM does.
	MaxModelLen int `json:"max_model_len"`
	// PrefillChunk caps the prompt tokens prefilled in one step (chunked prefill, vLLM's
	// max_num_batched_tokens); 0 prefills every admitted prompt in one step.
	PrefillChunk int `json:"prefill_chunk"`
	// PrefillBase is added to a step that prefills anything; PrefillPerToken is paid per
	// uncached prompt token.
	PrefillBase     time.Duration `json:"prefill_base_ns"`
	PrefillPerToken time.Duration `json:"prefill_per_token_ns"`
	// DecodeBase is the time of a decode step with one sequence; DecodePerSeq is added per
	// further sequence in the batch.
	DecodeBase   time.Duration `json:"decode_base_ns"`
	DecodePerSeq time.Duration `json:"decode_per_seq_ns"`
	// PrefixCache turns on reuse of cached prompt blocks (vLLM --enable-prefix-caching,
	// SGLang RadixAttention).
	PrefixCache bool `json:"prefix_cache"`
	// BlockSize is the prefix-cache block in tokens; CacheBlocks how many blocks it holds
	// (least recently used are evicted).
	BlockSize   int `json:"block_size"`
	CacheBlocks int `json:"cache_blocks"`
	// TokensPerChunk is how many tokens each streamed event carries (1 = one per token).
	TokensPerChunk int `json:"tokens_per_chunk"`
	// ReasoningTokens is how many leading output tokens stream as reasoning
	// (reasoning_content / thinking) before the answer, as gpt-oss does.
	ReasoningTokens int `json:"reasoning_tokens"`
	// EOSRate is the chance per output token of ending early when the request does not ask
	// to ignore EOS. Ollama's API cannot ask, so it applies there always.
	EOSRate float64 `json:"eos_rate"`
	// NonASCIISlowdown stretches every step that decodes a Korean (non-ASCII) answer by this
	// fraction, like an engine whose detokenizer stalls on multi-byte characters. Zero in
	// every named profile but "korean-slow", which exists so H5 can be seen to fail.
	NonASCIISlowdown float64 `json:"non_ascii_slowdown,omitempty"`
	// Seed makes generated text, early stops and the faults drawn deterministic.
	Seed uint64 `json:"seed"`
	// Faults injects misbehaviour (errors, stalls, cut streams, a crash); zero in every
	// named profile.
	Faults Faults `json:"faults,omitzero"`
}

// DefaultProfile is the profile used when none is named.
const DefaultProfile = "batching"

// Profiles returns the named profiles: engines whose behaviour the scenarios must tell
// apart. Timings are chosen so a full suite runs in minutes on a laptop while keeping the
// ratios that matter (prefill vs decode cost, batch scaling).
func Profiles() map[string]Profile {
	batching := Profile{
		Name:            "batching",
		MaxBatch:        256,
		KVTokens:        4 << 20,
		MaxModelLen:     131072,
		PrefillChunk:    0,
		PrefillBase:     500 * time.Microsecond,
		PrefillPerToken: 2 * time.Microsecond,
		DecodeBase:      3 * time.Millisecond,
		// Each sequence in the batch adds a twelfth of the base step, so batching pays
		// (64 sequences decode 10x faster than one at a time) and costs latency: the step
		// reaches an ITL objective of 50 ms near 190 sequences, a knee the capacity search
		// can find with a few hundred streams. At 1/150 of the step, as it was, the engine
		// served thousands of users under any SLO, which no GPU does.
		DecodePerSeq:   250 * time.Microsecond,
		PrefixCache:    true,
		BlockSize:      16,
		CacheBlocks:    1 << 16,
		TokensPerChunk: 1,
		Seed:           1,
	}
	nocache := batching
	nocache.Name, nocache.PrefixCache = "batching-nocache", false
	single := batching
	single.Name, single.MaxBatch, single.PrefixCache = "single-slot", 1, false
	chunked := batching
	chunked.Name, chunked.TokensPerChunk = "batching-chunked", 4
	reasoning := batching
	reasoning.Name, reasoning.ReasoningTokens = "reasoning", 16
	koreanSlow := batching
	koreanSlow.Name, koreanSlow.NonASCIISlowdown = "korean-slow", 0.5
	slowDecode := batching
	slowDecode.Name, slowDecode.DecodeBase = "slow-decode", 2*batching.DecodeBase
	return map[string]Profile{
		batching.Name:   batching,
		nocache.Name:    nocache,
		single.Name:     single,
		chunked.Name:    chunked,
		reasoning.Name:  reasoning,
		koreanSlow.Name: koreanSlow,
		slowDecode.Name: slowDecode,
	}
}

// LookupProfile returns the named profile or an error listing the known ones.
func LookupProfile(name string) (Profile, error) {
	ps := Profiles()
	if p, ok := ps[name]; ok {
		return p, nil
	}
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	sort.Strings(names)
	return Profile{}, fmt.Errorf("unknown sim profile %q: choose one of %s", name, strings.Join(names, ", "))
}

// stepTime is the duration of one engine step that decodes decoding sequences and
// prefills prefillTokens uncached prompt tokens.
func (p Profile) stepTime(decoding, prefillTokens int) time.Duration {
	var d time.Duration
	if decoding > 0 {
		d += p.DecodeBase + time.Duration(decoding-1)*p.DecodePerSeq
	}
	if prefillTokens > 0 {
		d += p.PrefillBase + time.Duration(prefillTokens)*p.PrefillPerToken
	}
	return d
}

func (p Profile) validate() error {
	switch {
	case p.MaxBatch < 1:
		return fmt.Errorf("sim profile %q: max_batch must be at least 1", p.Name)
	case p.KVTokens < 1:
		return fmt.Errorf("sim profile %q: kv_tokens must be at least 1", p.Name)
	case p.PrefixCache && (p.BlockSize < 1 || p.CacheBlocks < 1):
		return fmt.Errorf("sim profile %q: prefix cache needs block_size and cache_blocks", p.Name)
	case p.EOSRate < 0 || p.EOSRate >= 1:
		return fmt.Errorf("sim profile %q: eos_rate must be in [0, 1)", p.Name)
	}
	if err := p.Faults.validate(); err != nil {
		return fmt.Errorf("sim profile %q: %w", p.Name, err)
	}
	return nil
}
