package launch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replay stands for one framework: its health, models and version answers, and every chat
// request answered with a recorded transcript of that framework's stream, event by event.
// The transcripts in testdata/transcripts were written for servegate in each framework's
// wire format (vLLM 0.15 and SGLang 0.5.8 with a reasoning parser, Ollama 0.16 with a
// thinking model).
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
	case "/tokenize": // the tokenizer's count, as servegate counts (the transcript's model is not here)
		var req struct {
			Messages []stream.Message `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		json.NewEncoder(w).Encode(map[string]any{"count": localCount(req.Messages), "max_model_len": 131072, "tokens": []int{}})
	case "/v1/chat/completions", "/api/chat":
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		rp.mu.Lock()
		rp.chatBody = body
		rp.mu.Unlock()
		f, err := os.Open(filepath.Join("testdata", "transcripts", rp.transcript))
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

func TestRecordedTranscriptsReplayThroughTheAdapters(t *testing.T) {
	gpt := models.Preset{Name: "gpt-oss-20b", HF: "openai/gpt-oss-20b", Ollama: "gpt-oss:20b", Reasoning: true}
	tests := []struct {
		framework, transcript string
		answers               map[string]string
		// wants
		output, reasoning, chunks, prompt int
		source                            stream.TokenSource
		request                           map[string]any // fields the adapter must send
		absent                            []string       // fields it must not send
	}{
		{framework: "vllm", transcript: "vllm_gpt-oss_reasoning.sse",
			answers: map[string]string{"GET /health": ``, "GET /version": `{"version":"0.15.1"}`,
				"GET /v1/models": `{"object":"list","data":[{"id":"openai/gpt-oss-20b","object":"model","created":1763852000,"owned_by":"vllm","root":"openai/gpt-oss-20b","max_model_len":131072}]}`},
			output: 16, reasoning: 9, chunks: 15, prompt: 87, source: stream.FromUsage,
			request: map[string]any{"ignore_eos": true, "stream": true, "max_tokens": 16.0,
				"stream_options": map[string]any{"include_usage": true, "continuous_usage_stats": true}},
			absent: []string{"options", "keep_alive"}},
		{framework: "sglang", transcript: "sglang_gpt-oss_reasoning.sse",
			answers: map[string]string{"GET /health": ``, "GET /get_server_info": `{"model_path":"openai/gpt-oss-20b","tp_size":1,"version":"0.5.8"}`,
				"GET /v1/models":    `{"object":"list","data":[{"id":"openai/gpt-oss-20b","object":"model","owned_by":"sglang","root":"openai/gpt-oss-20b","max_model_len":131072}]}`,
				"POST /flush_cache": `Cache flushed.`},
			output: 9, reasoning: 4, chunks: 9, prompt: 87, source: stream.FromEvents,
			request: map[string]any{"ignore_eos": true, "stream": true, "stream_options": map[string]any{"include_usage": true}},
			absent:  []string{"options", "keep_alive"}},
		{framework: "ollama", transcript: "ollama_gpt-oss_thinking.ndjson",
			answers: map[string]string{"GET /api/version": `{"version":"0.16.2"}`,
				"GET /api/tags":      `{"models":[{"name":"gpt-oss:20b","model":"gpt-oss:20b","size":13780173734,"details":{"family":"gptoss","parameter_size":"20.9B","quantization_level":"MXFP4"}}]}`,
				"POST /api/generate": `{"model":"gpt-oss:20b","created_at":"2026-11-22T22:39:59Z","response":"","done":true,"done_reason":"load"}`},
			output: 11, reasoning: 6, chunks: 11, prompt: 87, source: stream.FromEvents,
			request: map[string]any{"stream": true, "keep_alive": -1.0, "options": map[string]any{"num_predict": 16.0, "num_ctx": 5120.0, "temperature": 0.0}},
			absent:  []string{"ignore_eos", "stream_options", "max_tokens"}},
	}
	for _, tc := range tests {
		t.Run(tc.framework, func(t *testing.T) {
			rp := &replay{framework: tc.framework, transcript: tc.transcript, answers: tc.answers}
			srv := httptest.NewServer(rp)
			t.Cleanup(srv.Close)
			spec := mustLookup(t, tc.framework)
			// A calibration cached by an earlier run: no probe requests are needed.
			cache := t.TempDir()
			version := map[string]string{"vllm": "0.15.1", "sglang": "0.5.8", "ollama": "0.16.2"}[tc.framework]
			require.NoError(t, saveCalibration(cachePath(cache, tc.framework, spec.Model(gpt), version),
				&Calibration{Framework: tc.framework, Slope: 1.02, Intercept: 9, Method: "usage"}))

			s, err := Start(context.Background(), spec, Options{Settings: Settings{URL: srv.URL}, Preset: gpt, CacheDir: cache,
				ContextTokens: 4608, Logf: t.Logf})
			require.NoError(t, err)
			assert.Equal(t, version, s.Target.Version)
			assert.Equal(t, 1.02, s.Info.Calibration.Slope, "the cached calibration is used")

			tg := s.Target
			c := &stream.Client{HTTP: stream.NewHTTPClient(1), BaseURL: tg.BaseURL, Dialect: tg.Dialect, Model: tg.Model,
				ContinuousUsage: tg.ContinuousUsage, KeepLoaded: tg.KeepLoaded}
			var rec stream.Record
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c.Stream(ctx, stream.Request{ID: "replay", Messages: []stream.Message{{Role: "user", Content: "What is the capital of France?"}},
				MaxTokens: 16, IgnoreEOS: tg.OutputLength.Forced(), NumCtx: tg.NumCtx}, &rec)
			require.NoError(t, rec.Err)
			assert.Equal(t, tc.output, rec.OutputTokens(), "output tokens")
			assert.Equal(t, tc.reasoning, rec.ReasoningTokens, "reasoning tokens count as output")
			assert.Len(t, rec.Chunks, tc.chunks)
			assert.Equal(t, tc.prompt, rec.PromptTokens)
			assert.Equal(t, tc.source, rec.TokenSource)
			if tc.framework == "ollama" {
				require.NotNil(t, rec.Server)
				assert.Equal(t, 45678901*time.Nanosecond, rec.Server.PromptEval)
				assert.Equal(t, rec.CompletionTokens, rec.ChunkTokens(), "eval_count matches the lines streamed")
			}

			rp.mu.Lock()
			body := rp.chatBody
			rp.mu.Unlock()
			assert.Equal(t, spec.Model(gpt), body["model"])
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

// The transcripts are well-formed: each SSE event is one data line and a blank line, each
// NDJSON line one JSON object.
func TestTranscriptsAreWellFormed(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*")
	require.NoError(t, err)
	require.Len(t, files, 3)
	for _, f := range files {
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
