package launch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replay stands for one framework: its health, models and version answers, and every chat
// or completions request answered with a transcript of that framework's stream, event by
// event. The transcripts in testdata/transcripts were rebuilt from the frameworks' own
// captures and source, those in testdata/ollama recorded from real Ollamas
// (testdata/README.md says which). Calibration probes (one-token
// requests) are answered with the prompt length servegate counts, as /tokenize is.
type replay struct {
	framework, transcript string
	answers               map[string]string
	mu                    sync.Mutex
	chatBody              map[string]any
}

func (rp *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if body, ok := rp.answers[r.Method+" "+r.URL.Path]; ok {
		io.WriteString(w, body)
		return
	}
	switch r.URL.Path {
	case "/tokenize": // the tokenizer's count and ids, as servegate counts (the transcript's model is not here)
		var req struct {
			Messages []stream.Message `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		n := localCount(req.Messages)
		ids := make([]int, n)
		for i := range ids {
			ids[i] = 200000 - n + i
		}
		json.NewEncoder(w).Encode(map[string]any{"count": n, "max_model_len": 131072, "tokens": ids})
	case "/v1/chat/completions", "/v1/completions", "/api/chat":
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if rp.probe(w, r.URL.Path, body) {
			return
		}
		rp.mu.Lock()
		rp.chatBody = body
		rp.mu.Unlock()
		f, err := os.Open(filepath.Join("testdata", rp.transcript))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		if strings.HasSuffix(rp.transcript, ".sse") {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/x-ndjson")
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			w.Write(append(sc.Bytes(), '\n'))
			if line := sc.Bytes(); len(line) == 0 || !strings.HasSuffix(rp.transcript, ".sse") {
				w.(http.Flusher).Flush() // one write per event, as the servers send them
			}
		}
	default:
		http.NotFound(w, r)
	}
}

// probe answers a calibration probe (a one-token request) with the prompt length servegate
// counts for it; it reports whether body was one.
func (rp *replay) probe(w http.ResponseWriter, path string, body map[string]any) bool {
	opts, _ := body["options"].(map[string]any)
	if body["max_tokens"] != 1.0 && (opts == nil || opts["num_predict"] != 1.0) {
		return false
	}
	raw, _ := json.Marshal(body["messages"])
	var msgs []stream.Message
	json.Unmarshal(raw, &msgs)
	n := localCount(msgs)
	if path == "/api/chat" {
		fmt.Fprintf(w, `{"message":{"role":"assistant","content":"x"},"done":false}`+"\n"+`{"done":true,"prompt_eval_count":%d,"eval_count":1}`+"\n", n)
		return true
	}
	fmt.Fprintf(w, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n", n)
	return true
}

func TestRecordedTranscriptsReplayThroughTheAdapters(t *testing.T) {
	gpt := models.Preset{Name: "gpt-oss-20b", HF: "openai/gpt-oss-20b", Ollama: "gpt-oss:20b", Reasoning: true, ChatFormat: "harmony"}
	vllmAnswers := map[string]string{"GET /health": ``, "GET /version": `{"version":"0.10.2"}`,
		"GET /v1/models": `{"object":"list","data":[{"id":"openai/gpt-oss-20b","object":"model","created":1763852000,"owned_by":"vllm","root":"openai/gpt-oss-20b","max_model_len":131072}]}`}
	think := models.Preset{Name: "tiny-think", Ollama: "servegate-tiny-think", Reasoning: true}
	tests := []struct {
		name, framework, transcript string
		preset                      models.Preset           // gpt-oss-20b when unset
		outputLength                frameworks.OutputLength // the output_length setting, "" for the framework's choice
		answers                     map[string]string
		// wants
		method                            frameworks.OutputLength
		output, reasoning, chunks, prompt int
		answered                          bool
		source                            stream.TokenSource
		request                           map[string]any // fields the adapter must send
		absent                            []string       // fields it must not send
	}{
		{name: "vllm chat", framework: "vllm", transcript: "transcripts/vllm_gpt-oss_chat.sse", outputLength: frameworks.Natural, answers: vllmAnswers,
			method: frameworks.Natural, output: 25, reasoning: 12, chunks: 16, prompt: 87, answered: true, source: stream.FromUsage,
			request: map[string]any{"stream": true, "max_tokens": 16.0,
				"stream_options": map[string]any{"include_usage": true, "continuous_usage_stats": true}},
			absent: []string{"ignore_eos", "options", "keep_alive", "prompt"}},
		{name: "vllm completions", framework: "vllm", transcript: "transcripts/vllm_gpt-oss_completions.sse", answers: vllmAnswers,
			method: frameworks.CompletionsIgnoreEOS, output: 24, reasoning: 0, chunks: 14, prompt: 87, source: stream.FromUsage,
			request: map[string]any{"ignore_eos": true, "stream": true, "max_tokens": 16.0,
				"stream_options": map[string]any{"include_usage": true, "continuous_usage_stats": true}},
			absent: []string{"messages", "options", "keep_alive"}},
		{name: "sglang chat", framework: "sglang", transcript: "transcripts/sglang_gpt-oss_chat.sse",
			answers: map[string]string{"GET /health": ``, "GET /get_server_info": `{"model_path":"openai/gpt-oss-20b","tp_size":1,"version":"0.5.8"}`,
				"GET /v1/models":    `{"object":"list","data":[{"id":"openai/gpt-oss-20b","object":"model","owned_by":"sglang","root":"openai/gpt-oss-20b","max_model_len":131072}]}`,
				"POST /flush_cache": `Cache flushed.`},
			method: frameworks.Natural, output: 18, reasoning: 4, chunks: 9, prompt: 87, answered: true, source: stream.FromEvents,
			request: map[string]any{"stream": true, "stream_options": map[string]any{"include_usage": true}},
			absent:  []string{"ignore_eos", "options", "keep_alive"}},
		// Recorded from Ollama 0.17.4: 26 thinking lines, the closing tag consumed unsent,
		// 5 answer lines; eval_count counts all 32 tokens.
		{name: "ollama chat", framework: "ollama", transcript: "ollama/0.17.4/api_chat_think.ndjson", preset: think,
			answers: map[string]string{"GET /api/version": `{"version":"0.17.4"}`,
				"GET /api/tags":      `{"models":[{"name":"servegate-tiny-think:latest","model":"servegate-tiny-think:latest","size":2887680,"details":{"family":"llama","parameter_size":"313K"}}]}`,
				"POST /api/generate": `{"model":"servegate-tiny-think","created_at":"2026-12-01T11:13:44Z","response":"","done":true,"done_reason":"load"}`},
			method: frameworks.Natural, output: 32, reasoning: 26, chunks: 31, prompt: 71, answered: true, source: stream.FromEvents,
			request: map[string]any{"stream": true, "keep_alive": -1.0, "options": map[string]any{"num_predict": 16.0, "num_ctx": 5120.0, "temperature": 0.0}},
			absent:  []string{"ignore_eos", "stream_options", "max_tokens"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rp := &replay{framework: tc.framework, transcript: tc.transcript, answers: tc.answers}
			srv := httptest.NewServer(rp)
			t.Cleanup(srv.Close)
			spec := mustLookup(t, tc.framework)
			preset := gpt
			if tc.preset.Name != "" {
				preset = tc.preset
			}
			s, err := Start(context.Background(), spec, Options{Settings: Settings{URL: srv.URL, OutputLength: tc.outputLength}, Preset: preset,
				CacheDir: t.TempDir(), ContextTokens: 4608, Logf: t.Logf})
			require.NoError(t, err)
			require.NotNil(t, s.Info.Calibration)
			assert.Equal(t, tc.method, s.Info.OutputLength)

			tg := s.Target
			c := &stream.Client{HTTP: stream.NewHTTPClient(1), BaseURL: tg.BaseURL, Dialect: tg.Dialect, Model: tg.Model,
				ContinuousUsage: tg.ContinuousUsage, KeepLoaded: tg.KeepLoaded}
			msgs := []stream.Message{{Role: "user", Content: "What is the capital of France?"}}
			req := stream.Request{ID: "replay", Messages: msgs, MaxTokens: 16, IgnoreEOS: tg.OutputLength.Forced(), NumCtx: tg.NumCtx}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if tg.Render != nil {
				req.PromptIDs, err = tg.Render(ctx, msgs)
				require.NoError(t, err)
			}
			var rec stream.Record
			c.Stream(ctx, req, &rec)
			require.NoError(t, rec.Err)
			assert.Equal(t, tc.output, rec.OutputTokens(), "output tokens")
			assert.Equal(t, tc.reasoning, rec.ReasoningTokens, "reasoning tokens count as output")
			assert.Len(t, rec.Chunks, tc.chunks)
			assert.Equal(t, tc.prompt, rec.PromptTokens)
			assert.Equal(t, tc.source, rec.TokenSource)
			ttfat, answered := rec.TTFAT()
			assert.Equal(t, tc.answered, answered, "the stream tells its answer from its reasoning")
			if answered {
				assert.GreaterOrEqual(t, ttfat, rec.TTFT(), "the answer comes after the reasoning")
			}
			if tc.framework == "ollama" {
				require.NotNil(t, rec.Server)
				assert.Equal(t, 2699771*time.Nanosecond, rec.Server.PromptEval)
				assert.Equal(t, rec.CompletionTokens, rec.ChunkTokens()+1, "eval_count counts the closing tag Ollama consumed unsent")
			}

			rp.mu.Lock()
			body := rp.chatBody
			rp.mu.Unlock()
			assert.Equal(t, spec.Model(preset), body["model"])
			if tg.Render != nil {
				assert.Len(t, body["prompt"], len(req.PromptIDs), "the chat rendered by the server's template")
			}
			for k, v := range tc.request {
				assert.Equal(t, v, body[k], "request field %s", k)
			}
			for _, k := range tc.absent {
				assert.NotContains(t, body, k)
			}
			require.NoError(t, s.Stop())
		})
	}
}

// Every stream recorded from a real Ollama runs as a scenario point without a false
// warning: eval_count is the output count, and Ollama's tokens that never reach the stream
// (a thinking model's closing tag) are no disagreement between client and server.
func TestRecordedOllamaStreamsRunAsPoints(t *testing.T) {
	files, err := filepath.Glob("testdata/ollama/*/*_chat*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		transcript, _ := filepath.Rel("testdata", f)
		if strings.Contains(f, "_long") {
			continue // an over-long prompt, truncated: TestOllamaContextWindow's matter
		}
		t.Run(transcript, func(t *testing.T) {
			version := filepath.Base(filepath.Dir(f))
			model := "servegate-tiny"
			if strings.Contains(f, "think") {
				model = "servegate-tiny-think"
			}
			rp := &replay{framework: "ollama", transcript: transcript, answers: map[string]string{
				"GET /api/version":   `{"version":"` + version + `"}`,
				"GET /api/tags":      `{"models":[{"name":"` + model + `:latest","model":"` + model + `:latest"}]}`,
				"POST /api/generate": `{"model":"` + model + `","response":"","done":true,"done_reason":"load"}`}}
			srv := httptest.NewServer(rp)
			t.Cleanup(srv.Close)
			s, err := Start(context.Background(), mustLookup(t, "ollama"), Options{Settings: Settings{URL: srv.URL},
				Preset: models.Preset{Name: "tiny", Ollama: model}, CacheDir: t.TempDir(), ContextTokens: 512})
			require.NoError(t, err)
			t.Cleanup(func() { s.Stop() })
			target := s.Target
			if strings.HasSuffix(f, ".sse") {
				target.Dialect = stream.OpenAI
			}
			r := &scenario.Runner{Target: target, Trials: 1, Nonce: "replay"}
			res, err := r.RunPoint(context.Background(), scenario.Scenario{Name: "replay", ResultName: "replay"},
				scenario.Point{Name: "c1", Concurrency: 1, InputTokens: 64, OutputTokens: 32, Requests: 2, Prompts: scenario.Plain})
			require.NoError(t, err)
			assert.Equal(t, 64.0, res.Metrics["total_output_tokens"], "32 tokens a request, as the server counted them")
			for _, w := range res.Warnings {
				assert.NotContains(t, w, "eval_count", "a true count is no disagreement")
			}
		})
	}
}

// The transcripts are well-formed (each SSE event is one data line and a blank line, each
// NDJSON line one JSON object) and each names its source in testdata/README.md.
func TestTranscriptsAreWellFormed(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*")
	require.NoError(t, err)
	require.Len(t, files, 3)
	recorded, err := filepath.Glob("testdata/ollama/*/*")
	require.NoError(t, err)
	require.NotEmpty(t, recorded)
	files = append(files, recorded...)
	readme, err := os.ReadFile("testdata/README.md")
	require.NoError(t, err)
	for _, f := range files {
		assert.Contains(t, string(readme), "`"+filepath.Base(f)+"`", "testdata/README.md says where %s comes from", f)
		if strings.HasSuffix(f, ".log") {
			continue // a server log excerpt, not JSON
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			line = bytes.TrimPrefix(line, []byte("data: "))
			if len(line) == 0 || string(line) == "[DONE]" {
				continue
			}
			assert.True(t, json.Valid(line), "%s: %s", f, line)
		}
	}
}

// The window the server reports for the loaded model is recorded, and one smaller than the
// run's num_ctx (Ollama caps it at the model's trained context) is said at start.
func TestOllamaLoadedContextIsRecorded(t *testing.T) {
	ps, err := os.ReadFile("testdata/ollama/0.17.4/api_ps.json") // context_length 4096
	require.NoError(t, err)
	for _, tc := range []struct {
		contextTokens int
		warned        bool
	}{{contextTokens: 512}, {contextTokens: 6000, warned: true}} {
		rp := &replay{framework: "ollama", answers: map[string]string{
			"GET /api/version":   `{"version":"0.17.4"}`,
			"GET /api/tags":      `{"models":[{"name":"servegate-tiny:latest","model":"servegate-tiny:latest"}]}`,
			"GET /api/ps":        string(ps),
			"POST /api/generate": `{"model":"servegate-tiny","response":"","done":true,"done_reason":"load"}`}}
		srv := httptest.NewServer(rp)
		t.Cleanup(srv.Close)
		var logs []string
		s, err := Start(context.Background(), mustLookup(t, "ollama"), Options{Settings: Settings{URL: srv.URL},
			Preset: models.Preset{Name: "tiny", Ollama: "servegate-tiny"}, CacheDir: t.TempDir(), ContextTokens: tc.contextTokens,
			Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
		require.NoError(t, err)
		assert.Equal(t, 4096, s.Info.LoadedContext)
		assert.Equal(t, tc.warned, strings.Contains(strings.Join(logs, "\n"), "holds a 4096-token context, not the"), "%v", logs)
		assert.Contains(t, s.Info.ParallelSlotsFrom, "unknown: an attached server", "attached: its log is not at hand")
		require.NoError(t, s.Stop())
	}
}
