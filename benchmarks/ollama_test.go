//go:build ollama

package benchmarks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/servegate/servegate/fixtures/tinyllama"
	"github.com/servegate/servegate/frameworks/ollama"
	"github.com/servegate/servegate/harness/probe"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOllamaContextWindow shows, on the Ollama under test, the silent truncation users hit:
// a prompt longer than the server's default context window comes back with
// prompt_eval_count capped at the window, through /api/chat without num_ctx and through
// /v1/chat/completions, which ignores num_ctx. The suite must flag both, and get the whole
// prompt through with its own num_ctx. The default window is the server's to say (2048 in
// 0.6.5; by VRAM in 0.17.4: 4096 without a GPU, 32768 or 262144 with one), so it is asked,
// never assumed.
func TestOllamaContextWindow(t *testing.T) {
	if current.spec.name != "ollama" {
		t.Skip("runs against Ollama")
	}
	runner, _ := current.up(t)
	target := runner.Target
	t.Cleanup(func() { // the scenarios expect the model loaded with the suite's num_ctx
		if target.ResetCache != nil {
			require.NoError(t, target.ResetCache(current.ctx))
		}
	})
	window, how := defaultWindow(t, target.BaseURL, target.Model)
	trained := trainedContext(t, target.BaseURL, target.Model)
	t.Logf("default context window %d (%s); the model was trained for %d", window, how, trained)
	in := window + max(window/2, 512)
	if in+256 > trained {
		t.Skipf("the default window (%d) leaves no room below the model's trained context (%d) to show truncation", window, trained)
	}
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
		withCtx := target
		withCtx.NumCtx = max(target.NumCtx, (in+256+1023)/1024*1024)
		prompt, warns := seen(t, withCtx)
		t.Logf("num_ctx %d: prompt_eval_count %v", withCtx.NumCtx, prompt)
		for _, p := range prompt {
			assert.InDelta(t, in, p, 0.02*float64(in), "the whole prompt reached the model")
		}
		assert.False(t, truncated(warns), "%v", warns)
	})
	t.Run("api/chat without num_ctx", func(t *testing.T) {
		noCtx := target
		noCtx.NumCtx = 0
		prompt, warns := seen(t, noCtx)
		t.Logf("server default window: prompt_eval_count %v; warnings %v", prompt, warns)
		for _, p := range prompt {
			assert.LessOrEqual(t, p, window, "capped at the default window")
		}
		assert.True(t, truncated(warns), "the suite flags the truncation")
	})
	t.Run("v1/chat/completions ignores num_ctx", func(t *testing.T) {
		v1 := target
		v1.Dialect, v1.NumCtx, v1.KeepLoaded = stream.OpenAI, 0, false
		prompt, warns := seen(t, v1)
		t.Logf("OpenAI-compatible endpoint: prompt tokens %v; warnings %v", prompt, warns)
		for _, p := range prompt {
			require.GreaterOrEqual(t, p, 0, "the usage chunk reports prompt tokens")
			assert.LessOrEqual(t, p, window, "capped at the default window")
		}
		assert.True(t, truncated(warns), "the suite flags the truncation")
	})
}

// TestOllamaThinking runs a point against servegate's thinking model where the server has
// it (ci/ollama-cpu.sh creates it on Ollama 0.9 and later): the model thinks a..z, closes
// the block and answers, and Ollama sends no line for the closing tag while eval_count
// counts it. Every response must count all its tokens, have exactly one unsent, and raise
// no warning about the server's count.
func TestOllamaThinking(t *testing.T) {
	if current.spec.name != "ollama" {
		t.Skip("runs against Ollama")
	}
	runner, _ := current.up(t)
	served, err := probe.Models(current.ctx, http.DefaultClient, ollama.Spec, runner.Target.BaseURL)
	require.NoError(t, err)
	model := tinyllama.ThinkingName
	if !slices.Contains(served, model) && !slices.Contains(served, model+":latest") {
		t.Skipf("the server has no %s (it serves %v): Ollama before 0.9 cannot think, and ci/ollama-cpu.sh creates it only where the server reports the capability", model, served)
	}
	r := *runner
	r.Target.Model, r.Trials, r.Logf = model, 1, t.Logf
	const out = 40 // 26 letters of thinking, the closing tag, 13 of answer
	res, err := r.RunPoint(current.ctx, scenario.Scenario{Name: "thinking", ResultName: "thinking"},
		scenario.Point{Name: "c2", Concurrency: 2, InputTokens: 256, OutputTokens: out, Requests: 4, Prompts: scenario.Plain})
	require.NoError(t, err)
	require.Len(t, res.Requests, 4)
	for _, s := range res.Requests {
		require.Empty(t, s.Error)
		assert.Equal(t, out, s.OutputTokens, "eval_count is the output count")
		assert.Equal(t, out-1, s.Chunks, "one token, the closing tag, never reached the stream")
	}
	for _, w := range res.Warnings {
		assert.NotContains(t, w, "eval_count")
	}
	t.Logf("thinking point: %v tokens/s, warnings %v", res.Metrics["output_token_throughput"], res.Warnings)
}

// defaultWindow asks the server for the context window it gives a request without num_ctx:
// it loads the model with its defaults and reads /api/ps (context_length, 0.17.4); where the
// server does not say (0.6.5), it measures: prompt_eval_count of ever longer prompts stops
// growing at the window, where Ollama truncates.
func defaultWindow(t *testing.T, base, model string) (int, string) {
	t.Helper()
	postJSON(t, base+"/api/generate", map[string]any{"model": model, "keep_alive": -1}, nil)
	n, err := probe.LoadedContext(current.ctx, http.DefaultClient, ollama.Spec, base, model)
	require.NoError(t, err)
	if n > 0 {
		return n, "/api/ps context_length"
	}
	evaluated := func(words int) int {
		var resp struct {
			PromptEvalCount int `json:"prompt_eval_count"`
		}
		postJSON(t, base+"/api/chat", map[string]any{"model": model, "stream": false, "keep_alive": -1,
			"messages": []stream.Message{{Role: "user", Content: strings.Repeat("the quick brown fox ", words/4)}},
			"options":  map[string]any{"num_predict": 1}}, &resp)
		return resp.PromptEvalCount
	}
	last := evaluated(1024)
	for words := 2048; words <= 1<<20; words *= 2 {
		next := evaluated(words)
		if next == last {
			return next, fmt.Sprintf("measured: prompt_eval_count stops at %d for prompts of %d and %d words", next, words/2, words)
		}
		last = next
	}
	t.Fatalf("prompt_eval_count still grew at %d tokens: no default window found", last)
	return 0, ""
}

// trainedContext is the model's trained context length from /api/show's model_info.
func trainedContext(t *testing.T, base, model string) int {
	t.Helper()
	var show struct {
		ModelInfo map[string]any `json:"model_info"`
	}
	postJSON(t, base+"/api/show", map[string]any{"model": model}, &show)
	for k, v := range show.ModelInfo {
		if f, ok := v.(float64); ok && strings.HasSuffix(k, ".context_length") {
			return int(f)
		}
	}
	t.Fatalf("/api/show for %s has no <arch>.context_length in model_info", model)
	return 0
}

func postJSON(t *testing.T, url string, body, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(current.ctx, http.MethodPost, url, bytes.NewReader(b))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s: %s", url, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "POST %s: %s", url, raw)
	}
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
	type figures struct {
		tput1, tput8, ttft8, itl1, itl8 float64
		slots                           int
	}
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
				fig.slots = p.ParallelSlots
			}
		}
		require.Positive(t, fig.tput1, "%s has concurrent/c1", path)
		require.Positive(t, fig.ttft8, "%s has concurrent/c8", path)
		return fig
	}
	a, b := read(np1), read(np4)
	// The slots the server reports using, not the setting asked for: the runs compare them.
	assert.Equal(t, 1, a.slots, "%s records the one slot its server ran", np1)
	assert.Equal(t, 4, b.slots, "%s records the four slots its server ran", np4)
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
