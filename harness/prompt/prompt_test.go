package prompt

import (
	"strings"
	"testing"

	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wordCounter counts whitespace-separated words plus one per period, plus 3 per message.
func wordCounter(msgs []stream.Message) int {
	n := 0
	for _, m := range msgs {
		n += 3 + len(strings.Fields(strings.ReplaceAll(m.Content, ".", " "))) + strings.Count(m.Content, ".")
	}
	return n
}

func TestFitHitsTheTarget(t *testing.T) {
	build := func(words, pads int) []stream.Message {
		return []stream.Message{{Role: "user", Content: "Question here " + Filler(5, words, pads)}}
	}
	for _, target := range []int{5, 6, 50, 1000, 65536} {
		msgs, n, err := Fit(wordCounter, build, target)
		require.NoError(t, err, "target %d", target)
		assert.Equal(t, target, n)
		assert.Equal(t, target, wordCounter(msgs))
	}
}

func TestFitReportsATargetBelowTheFixedPart(t *testing.T) {
	build := func(words, pads int) []stream.Message {
		return []stream.Message{{Role: "user", Content: "a long fixed question " + Filler(0, words, pads)}}
	}
	_, _, err := Fit(wordCounter, build, 3)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "above the target 3")
}

func TestFillerCycles(t *testing.T) {
	n := len(fillerWords)
	assert.Equal(t, Filler(0, 3, 0), Filler(n, 3, 0))
	assert.Equal(t, " x x", Filler(0, 0, 2))
	assert.Equal(t, 4, Chars([]stream.Message{{Content: "한국"}, {Content: "ab"}}))
}

func TestFitFromAHintCostsFewCalls(t *testing.T) {
	build := func(words, pads int) []stream.Message {
		return []stream.Message{{Role: "user", Content: "Question here " + Filler(5, words, pads)}}
	}
	calls := 0
	counting := func(m []stream.Message) int { calls++; return wordCounter(m) }
	_, _, words, err := FitFrom(counting, build, 20000, 0)
	require.NoError(t, err)
	cold := calls
	for _, hint := range []int{words - 7, words, words + 5} {
		calls = 0
		msgs, n, got, err := FitFrom(counting, build, 20000, hint)
		require.NoError(t, err, "hint %d", hint)
		assert.Equal(t, 20000, n)
		assert.Equal(t, 20000, wordCounter(msgs))
		assert.Equal(t, words, got)
		assert.Less(t, calls, cold/2, "hint %d (exact at %d) took %d calls; a cold search %d", hint, words, calls, cold)
	}
}
