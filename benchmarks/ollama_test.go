//go:build ollama

package benchmarks

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/servegate/servegate/harness/results"
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

// TestOllamaParallelism compares two runs of the concurrent scenario against Ollama,
// one with OLLAMA_NUM_PARALLEL=1 and one with =4 (the result files named by
// SERVEGATE_OLLAMA_NP1 and SERVEGATE_OLLAMA_NP4; ci/ollama-cpu.sh makes them). H1 asks
// whether throughput grows with concurrency. What four slots must show on any machine is
// that requests decode together: at concurrency 8 each token waits for the whole batch, so
// the time between tokens grows with concurrency, while one slot decodes one request at a
// time at the same pace whatever the load. Whether throughput grows too depends on the
// hardware (on two CPU cores a batch of four decodes about four times slower: no gain), so
// throughput and TTFT are reported, not asserted.
func TestOllamaParallelism(t *testing.T) {
	np1, np4 := os.Getenv("SERVEGATE_OLLAMA_NP1"), os.Getenv("SERVEGATE_OLLAMA_NP4")
	if np1 == "" || np4 == "" {
		t.Skip("set SERVEGATE_OLLAMA_NP1 and SERVEGATE_OLLAMA_NP4 to the two runs' result files (ci/ollama-cpu.sh)")
	}
	type figures struct{ tput1, tput8, ttft8, itl1, itl8 float64 }
	read := func(path string) figures {
		f, err := results.Read(path)
		require.NoError(t, err)
		var fig figures
		for _, p := range f.Results {
			switch {
			case p.Scenario == "concurrent" && p.Point == "c1":
				fig.tput1, fig.itl1 = p.Metrics["output_token_throughput"], p.Metrics["p50_itl_ms"]
			case p.Scenario == "concurrent" && p.Point == "c8":
				fig.tput8, fig.ttft8, fig.itl8 = p.Metrics["output_token_throughput"], p.Metrics["p50_ttft_ms"], p.Metrics["p50_itl_ms"]
			}
		}
		require.Positive(t, fig.tput1, "%s has concurrent/c1", path)
		require.Positive(t, fig.ttft8, "%s has concurrent/c8", path)
		return fig
	}
	a, b := read(np1), read(np4)
	for _, r := range []struct {
		name string
		f    figures
	}{{"NUM_PARALLEL=1", a}, {"NUM_PARALLEL=4", b}} {
		t.Logf("%s: ITL p50 %.2f ms at c1, %.2f at c8; output %.0f tok/s at c1, %.0f at c8 (%.2fx); c8 TTFT p50 %.0f ms",
			r.name, r.f.itl1, r.f.itl8, r.f.tput1, r.f.tput8, r.f.tput8/r.f.tput1, r.f.ttft8)
	}
	assert.Greater(t, b.itl8, 2*a.itl8, "at concurrency 8, four slots decode requests together: each token waits for the batch")
	assert.Less(t, a.itl8, 1.5*a.itl1, "one slot decodes one request at a time")
}
