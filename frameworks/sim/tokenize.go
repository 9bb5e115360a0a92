package sim

import (
	"unicode/utf8"
)

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

// The simulator's tokenizer is deterministic and cheap, and shaped like a real BPE
// vocabulary where it matters for benchmarking: English costs about a token per four
// characters, a word's leading space rides on its first token, every punctuation mark is a
// token, and each Hangul syllable (any non-ASCII character) is a token of its own, so
// Korean costs more tokens per character than English.

const maxPiece = 4 // ASCII letters or digits per token

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// eachToken calls fn with every token piece of text, in order.
func eachToken(text string, fn func(piece string)) {
	i := 0
	for i < len(text) {
		c := text[i]
		switch {
		case c >= utf8.RuneSelf:
			_, n := utf8.DecodeRuneInString(text[i:])
			fn(text[i : i+n])
			i += n
		case isAlnum(c) || c == ' ' && i+1 < len(text) && isAlnum(text[i+1]):
			j := i
			if c == ' ' {
				j++
			}
			end := j
			for end < len(text) && end-j < maxPiece && isAlnum(text[end]) {
				end++
			}
			fn(text[i:end])
			i = end
		default:
			fn(text[i : i+1])
			i++
		}
	}
}

// CountTokens returns the number of tokens in text.
func CountTokens(text string) int {
	n := 0
	eachToken(text, func(string) { n++ })
	return n
}

// Chat-template costs, in tokens, shaped like Llama 3's: a BOS token, a header and an
// end-of-turn token around every message, and the assistant header that opens the answer.
const (
	bosTokens       = 1
	perMessageCost  = 5
	assistantHeader = 4
)

// PromptTokens returns how many prompt tokens the simulator counts for messages after
// applying its chat template. It is what the server reports as prompt_tokens.
func PromptTokens(msgs []Message) int {
	n := bosTokens + assistantHeader
	for _, m := range msgs {
		n += perMessageCost + CountTokens(m.Content)
	}
	return n
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
	special("<bos>", bosTokens)
	for _, m := range msgs {
		special("<header:"+m.Role+">", perMessageCost-1)
		eachToken(m.Content, func(p string) { ids = append(ids, tokenID(p, 0)) })
		special("<eot>", 1)
	}
	special("<header:assistant>", assistantHeader)
	return ids
}

// textIDs returns the token ids of a plain prompt: the BOS token, then its text, as a
// completions endpoint tokenizes it (special tokens added, no chat template).
func textIDs(text string) []uint64 {
	ids := []uint64{tokenID("<bos>", 0)}
	eachToken(text, func(p string) { ids = append(ids, tokenID(p, 0)) })
	return ids
}
