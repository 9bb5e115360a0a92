package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/stream"
)

// A server whose chat path counts 7 tokens more than its tokenizer endpoint for the same
// messages (as vLLM renders gpt-oss chats through Harmony but /tokenize through the chat
// template): the first warm-up shows it, every measured prompt is fitted to what the
// server counts, and the result says so.
func TestTokenizerDisagreeingWithTheServerIsCorrectedVisibly(t *testing.T) {
	const harmonyExtra = 7
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []stream.Message `json:"messages"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		fmt.Fprintf(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"+
			"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n", prompt.Local(req.Messages)+harmonyExtra)
	}))
	t.Cleanup(srv.Close)
	var logged []string
	r := &Runner{Target: Target{Framework: "fake", Model: "m", BaseURL: srv.URL, Dialect: stream.OpenAI, OutputLength: frameworks.IgnoreEOS,
		Count: prompt.Local, Tokenize: func(ctx context.Context, msgs []stream.Message) (int, error) { return prompt.Local(msgs), nil }},
		Nonce: "harmony", Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}
	sc := Scenario{Name: "t", ResultName: "t"}
	for _, p := range []Point{
		{Name: "first", Concurrency: 1, InputTokens: 500, OutputTokens: 1, Requests: 3, Warmup: 1, Prompts: Plain},
		{Name: "second", Concurrency: 1, InputTokens: 800, OutputTokens: 1, Requests: 2, Warmup: 1, Prompts: Plain},
	} {
		res, err := r.RunPoint(context.Background(), sc, p)
		require.NoError(t, err)
		for _, s := range res.Requests {
			assert.Equal(t, p.InputTokens, s.InputTokens, "%s: the server saw the target length", p.Name)
		}
		assert.Equal(t, harmonyExtra, res.PromptTokensCorrection, p.Name)
		require.NotEmpty(t, res.Warnings, p.Name)
		assert.Contains(t, res.Warnings[len(res.Warnings)-1], "the server counts +7 prompt tokens against its tokenizer endpoint")
	}
	assert.Contains(t, strings.Join(logged, "\n"), "prompts are fitted +7 tokens from the tokenizer's count from now on")
}
