//go:build ollama

package benchmarks

import (
	"slices"
	"strings"
	"testing"

	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOllamaContextWindow shows, on the Ollama under test, the silent truncation users hit:
// a prompt longer than the default context window comes back with prompt_eval_count capped
// at the window, through /api/chat without num_ctx and through /v1/chat/completions, which
// ignores num_ctx. The suite must flag both, and get the whole prompt through with its own
// num_ctx.
func TestOllamaContextWindow(t *testing.T) {
	if current.spec.name != "ollama" {
		t.Skip("runs against Ollama")
	}
	runner, _ := current.up(t)
	const in = 3000 // above the 2048-token default window
	point := scenario.Point{Name: "window", Concurrency: 1, InputTokens: in, OutputTokens: 8, Requests: 2, Prompts: scenario.Plain}
	sc := scenario.Scenario{Name: "context_window", ResultName: "context_window"}
	seen := func(t *testing.T, target scenario.Target) ([]int, []string) {
		r := *runner
		r.Target, r.Trials, r.Logf = target, 1, t.Logf
		res, err := r.RunPoint(current.ctx, sc, point)
		require.NoError(t, err)
		var prompt []int
		for _, s := range res.Requests {
			require.Empty(t, s.Error)
			prompt = append(prompt, s.InputTokens)
		}
		return prompt, res.Warnings
	}
	truncated := func(w []string) bool {
		return slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, "prompts were truncated") })
	}

	t.Run("api/chat with the suite's num_ctx", func(t *testing.T) {
		require.GreaterOrEqual(t, runner.Target.NumCtx, in)
		prompt, warns := seen(t, runner.Target)
		t.Logf("num_ctx %d: prompt_eval_count %v", runner.Target.NumCtx, prompt)
		for _, p := range prompt {
			assert.InDelta(t, in, p, 0.02*in, "the whole prompt reached the model")
		}
		assert.False(t, truncated(warns), "%v", warns)
	})
	t.Run("api/chat without num_ctx", func(t *testing.T) {
		target := runner.Target
		target.NumCtx = 0
		prompt, warns := seen(t, target)
		t.Logf("server default window: prompt_eval_count %v; warnings %v", prompt, warns)
		for _, p := range prompt {
			assert.LessOrEqual(t, p, 2048, "capped at the default window")
		}
		assert.True(t, truncated(warns), "the suite flags the truncation")
	})
	t.Run("v1/chat/completions ignores num_ctx", func(t *testing.T) {
		target := runner.Target
		target.Dialect, target.NumCtx, target.KeepLoaded = stream.OpenAI, 0, false
		prompt, warns := seen(t, target)
		t.Logf("OpenAI-compatible endpoint: prompt tokens %v; warnings %v", prompt, warns)
		for _, p := range prompt {
			require.GreaterOrEqual(t, p, 0, "the usage chunk reports prompt tokens")
			assert.LessOrEqual(t, p, 2048, "capped at the default window")
		}
		assert.True(t, truncated(warns), "the suite flags the truncation")
	})
}
