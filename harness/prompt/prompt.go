// Package prompt builds the chat messages the scenarios send, padded with filler prose to
// an exact input length as the target counts tokens.
package prompt

import (
	"fmt"
	"strings"

	"github.com/servegate/servegate/fixtures"
	"github.com/servegate/servegate/harness/stream"
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
// search over filler words and then single-character pads. When target cannot be met
// exactly (a tokenizer that merges pads) it returns the closest count below it and an error
// naming both.
func Fit(count Counter, build Builder, target int) ([]stream.Message, int, error) {
	base := count(build(0, 0))
	if base > target {
		return build(0, 0), base, fmt.Errorf("prompt: the fixed part alone is %d tokens, above the target %d", base, target)
	}
	lo, hi := 0, 1
	for count(build(hi, 0)) <= target {
		lo, hi = hi, hi*2
		if hi > 1<<22 {
			return nil, 0, fmt.Errorf("prompt: filler does not grow the token count toward %d", target)
		}
	}
	for hi-lo > 1 { // invariant: count(lo) <= target < count(hi)
		mid := (lo + hi) / 2
		if count(build(mid, 0)) <= target {
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
		return best, bestN, fmt.Errorf("prompt: reached %d tokens, not the target %d", bestN, target)
	}
	return best, bestN, nil
}

// Filler returns n filler words starting at word offset, cycling through the fixture, with
// pads single periods appended.
func Filler(offset, n, pads int) string {
	words := fillerWords
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[(offset+i)%len(words)])
	}
	b.WriteString(strings.Repeat(".", pads))
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
