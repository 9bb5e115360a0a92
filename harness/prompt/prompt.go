// Package prompt builds the chat messages the scenarios send, padded with filler prose to
// an exact input length as the target counts tokens.
package prompt

import (
	"fmt"
	"strings"

	"github.com/servegate/servegate/fixtures"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/tokens"
)

// Counter returns how many prompt tokens a target counts for messages, chat template
// included: the number its server would report as prompt tokens.
type Counter func(msgs []stream.Message) int

// Builder makes messages from a number of filler words and a number of one-character pads.
type Builder func(words, pads int) []stream.Message

// maxPads bounds the fine adjustment after the filler words: a word costs a few tokens, a
// pad about one.
const maxPads = 32

// Fit returns the messages build makes that count exactly target tokens, found by a binary
// search over filler words and then single-token pads. When target cannot be met exactly
// (a tokenizer that merges pads) it returns the closest count below it and an error naming
// both.
func Fit(count Counter, build Builder, target int) ([]stream.Message, int, error) {
	msgs, n, _, err := FitFrom(count, build, target, 0)
	return msgs, n, err
}

// FitFrom is Fit with the search starting at hint filler words (0: no hint), galloping
// out from it; it also returns the filler words of the result. A close hint (from a
// calibrated estimate) makes a costly exact counter, such as a round trip to the server's
// tokenizer, cost a handful of calls.
func FitFrom(count Counter, build Builder, target, hint int) ([]stream.Message, int, int, error) {
	base := count(build(0, 0))
	if base > target {
		return build(0, 0), base, 0, fmt.Errorf("prompt: the fixed part alone is %d tokens, above the target %d", base, target)
	}
	fits := func(words int) bool { return words == 0 || count(build(words, 0)) <= target }
	// Find lo < hi with fits(lo) and !fits(hi).
	lo, hi := 0, 1
	switch {
	case hint > 0 && fits(hint):
		lo, hi = hint, hint+1
		for step := 1; fits(hi); step *= 2 {
			lo, hi = hi, hint+2*step
			if hi > 1<<22 {
				return nil, 0, 0, fmt.Errorf("prompt: filler does not grow the token count toward %d", target)
			}
		}
	case hint > 0:
		lo, hi = hint-1, hint
		for step := 1; !fits(lo); step *= 2 {
			lo, hi = max(hint-2*step, 0), lo
		}
	default:
		for fits(hi) {
			lo, hi = hi, hi*2
			if hi > 1<<22 {
				return nil, 0, 0, fmt.Errorf("prompt: filler does not grow the token count toward %d", target)
			}
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	best, bestN := build(lo, 0), count(build(lo, 0))
	for p := 1; p <= maxPads && bestN < target; p++ {
		m := build(lo, p)
		n := count(m)
		if n > target {
			break
		}
		best, bestN = m, n
	}
	if bestN != target {
		return best, bestN, lo, fmt.Errorf("prompt: reached %d tokens, not the target %d", bestN, target)
	}
	return best, bestN, lo, nil
}

// Filler returns n filler words starting at word offset, cycling through the fixture, with
// pads " x" appended: one token each in the BPE and SentencePiece vocabularies servegate
// has met (a space-led letter never merges with its neighbours, unlike runs of periods).
func Filler(offset, n, pads int) string {
	words := fillerWords
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[(offset+i)%len(words)])
	}
	b.WriteString(strings.Repeat(" x", pads))
	return b.String()
}

var fillerWords = fixtures.FillerWords()

// Chars counts the characters of the messages' contents.
func Chars(msgs []stream.Message) int {
	n := 0
	for _, m := range msgs {
		n += len([]rune(m.Content))
	}
	return n
}

// Local counts msgs with servegate's own tokenizer and chat template (internal/tokens):
// the estimate a calibration maps to a server's counts, and exact for a target that
// counts the same way (the simulator).
func Local(msgs []stream.Message) int {
	contents := make([]string, len(msgs))
	for i, m := range msgs {
		contents[i] = m.Content
	}
	return tokens.Prompt(contents...)
}
