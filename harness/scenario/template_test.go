package scenario

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/servegate/servegate/fixtures"
	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/tokens"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// English and Korean prompts' tokens per character are their text's own: the chat
// template's share, measured with an empty-content request or the server's tokenizer, is
// taken out. The simulator's tokenizer is the truth.
func TestContentTokensLeaveTheTemplateOut(t *testing.T) {
	sim, _ := startSimProcess(t)
	pairs, err := fixtures.Pairs()
	require.NoError(t, err)
	template := tokens.Prompt("")
	for _, tc := range []struct {
		name     string
		tokenize bool
	}{{"probe request", false}, {"server tokenizer", true}} {
		t.Run(tc.name, func(t *testing.T) {
			target := sim
			if tc.tokenize {
				target.Tokenize = func(ctx context.Context, msgs []stream.Message) (int, error) { return prompt.Local(msgs), nil }
			}
			for _, kind := range []Prompts{English, Korean} {
				const n = 4
				tr := runWith(t, &Runner{Target: target}, Point{Name: string(kind), Concurrency: 1, OutputTokens: 2, Requests: n, Prompts: kind})
				v := tr.Summary.Values
				assert.Equal(t, float64(template), v["template_tokens"], kind)
				var counted, chars int
				for k := range n {
					text := pairs[k%len(pairs)].English
					if kind == Korean {
						text = pairs[k%len(pairs)].Korean
					}
					counted += tokens.Count(text)
					chars += utf8.RuneCountInString(text)
				}
				assert.InDelta(t, float64(counted)/float64(chars), v["input_content_tokens_per_char"], 1e-12, kind)
				assert.Greater(t, v["input_tokens_per_char"], v["input_content_tokens_per_char"], "the template's tokens were counted before")
				for k := range v {
					assert.NoError(t, metrics.Check(k), "every metric a trial writes can be named in a hypothesis")
				}
			}
		})
	}
}
