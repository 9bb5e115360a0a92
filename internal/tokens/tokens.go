// Package tokens is a deterministic, cheap tokenizer and chat template shaped like a real
// BPE vocabulary and Llama 3's template. The simulator counts its prompts with it, and the
// harness uses it as its local estimate of a server's counts before calibrating against
// the server's own (harness/launch); neither knows the other.
package tokens

import "unicode/utf8"

// The tokenizer is deterministic and cheap, and shaped like a real BPE
// vocabulary where it matters for benchmarking: English costs about a token per four
// characters, a word's leading space rides on its first token, every punctuation mark is a
// token, and each Hangul syllable (any non-ASCII character) is a token of its own, so
// Korean costs more tokens per character than English.

const maxPiece = 4 // ASCII letters or digits per token

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Each calls fn with every token piece of text, in order.
func Each(text string, fn func(piece string)) {
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

// Count returns the number of tokens in text.
func Count(text string) int {
	n := 0
	Each(text, func(string) { n++ })
	return n
}

// Chat-template costs, in tokens, shaped like Llama 3's: a BOS token, a header and an
// end-of-turn token around every message, and the assistant header that opens the answer.
const (
	// BOS is the tokens before the first message.
	BOS = 1
	// PerMessage is the tokens around every message's content (its header and end-of-turn).
	PerMessage = 5
	// AssistantHeader is the tokens that open the answer.
	AssistantHeader = 4
)

// Prompt returns how many prompt tokens messages with these contents count after the
// chat template (the role does not change the count).
func Prompt(contents ...string) int {
	n := BOS + AssistantHeader
	for _, c := range contents {
		n += PerMessage + Count(c)
	}
	return n
}
