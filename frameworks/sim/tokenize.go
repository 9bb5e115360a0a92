package sim

import "github.com/servegate/servegate/internal/tokens"

// Message is one chat turn as the simulator receives it; content sent as a list of parts
// arrives here as their text (see UnmarshalJSON).
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// dialect is the API a request arrived on.
type dialect int

const (
	openAI     dialect = iota // POST /v1/chat/completions, SSE
	ollama                    // POST /api/chat, NDJSON
	completion                // POST /v1/completions, SSE
)

func (d dialect) path() string {
	switch d {
	case ollama:
		return "/api/chat"
	case completion:
		return "/v1/completions"
	}
	return "/v1/chat/completions"
}

// CountTokens returns the number of tokens in text (tokens.Count).
func CountTokens(text string) int { return tokens.Count(text) }

// PromptTokens returns how many prompt tokens the simulator counts for messages after
// applying its chat template (tokens.Prompt). It is what the server reports as
// prompt_tokens.
func PromptTokens(msgs []Message) int {
	contents := make([]string, len(msgs))
	for i, m := range msgs {
		contents[i] = m.Content
	}
	return tokens.Prompt(contents...)
}

// fnv64a hashes s with FNV-1a, seeded by h.
func fnv64a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

const fnvOffset = 14695981039346656037

// vocabSize bounds the simulator's token ids, as a real vocabulary does (Llama 3 has
// 128,256 tokens): ids travel as JSON numbers through /tokenize and back as a
// completions prompt.
const vocabSize = 1 << 17

// tokenID is the id of a token piece (or a special token's name).
func tokenID(piece string, i int) uint64 { return (fnv64a(fnvOffset, piece) + uint64(i)) % vocabSize }

// promptIDs returns the token ids of messages after the chat template, appended to ids.
func promptIDs(msgs []Message, ids []uint64) []uint64 {
	special := func(name string, n int) {
		for i := 0; i < n; i++ {
			ids = append(ids, tokenID(name, i))
		}
	}
	special("<bos>", tokens.BOS)
	for _, m := range msgs {
		special("<header:"+m.Role+">", tokens.PerMessage-1)
		tokens.Each(m.Content, func(p string) { ids = append(ids, tokenID(p, 0)) })
		special("<eot>", 1)
	}
	special("<header:assistant>", tokens.AssistantHeader)
	return ids
}

// textIDs returns the token ids of a plain prompt: the BOS token, then its text, as a
// completions endpoint tokenizes it (special tokens added, no chat template).
func textIDs(text string) []uint64 {
	ids := []uint64{tokenID("<bos>", 0)}
	tokens.Each(text, func(p string) { ids = append(ids, tokenID(p, 0)) })
	return ids
}
