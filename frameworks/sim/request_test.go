package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// streamed reads an SSE body: the text or content of each data event and the last usage.
func streamed(t *testing.T, body io.Reader) (texts []string, usage map[string]int, done bool) {
	t.Helper()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var ev struct {
			Choices []struct {
				Text  string `json:"text"`
				Delta struct {
					Content, ReasoningContent string
				} `json:"delta"`
			} `json:"choices"`
			Usage map[string]int `json:"usage"`
		}
		require.NoError(t, json.Unmarshal([]byte(data), &ev), data)
		for _, c := range ev.Choices {
			if s := c.Text + c.Delta.Content + c.Delta.ReasoningContent; s != "" {
				texts = append(texts, s)
			}
		}
		if ev.Usage != nil {
			usage = ev.Usage
		}
	}
	require.NoError(t, sc.Err())
	return texts, usage, done
}

// Request bodies shaped as the peer benchmark clients build them, replayed against the
// simulator: each must be served, its output length held where it asks, and its request
// id honoured.
func TestSimulatorServesThePeerClientsRequests(t *testing.T) {
	const prompt = "Tell me about the weather in Seoul in spring, please."
	text := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	tests := []struct {
		name, source, path, body string
		headers                  map[string]string
		// wants
		prompt int // the prompt tokens the server must report
	}{
		{name: "vllm bench serve, openai-chat backend",
			source: "vllm-project/vllm vllm/benchmarks/lib/endpoint_request_func.py (02cfb534df): async_request_openai_chat_completions",
			path:   "/v1/chat/completions",
			body: `{"model":"sim-model","messages":[{"role":"user","content":[{"type":"text","text":` + text(prompt) + `}]}],` +
				`"max_completion_tokens":24,"stream":true,"stream_options":{"include_usage":true},"ignore_eos":true}`,
			headers: map[string]string{"x-request-id": "vllm-bench-chat", "Authorization": "Bearer EMPTY"},
			prompt:  PromptTokens([]Message{{Role: "user", Content: prompt}})},
		{name: "vllm bench serve, vllm (completions) backend, text prompt",
			source: "vllm-project/vllm vllm/benchmarks/lib/endpoint_request_func.py (02cfb534df): async_request_openai_completions",
			path:   "/v1/completions",
			body: `{"model":"sim-model","prompt":` + text(prompt) + `,"repetition_penalty":1.0,"max_tokens":24,"logprobs":null,` +
				`"stream":true,"stream_options":{"include_usage":true},"ignore_eos":true}`,
			headers: map[string]string{"x-request-id": "vllm-bench-cmpl"},
			prompt:  len(textIDs(prompt))},
		{name: "vllm bench serve, vllm backend, token-id prompt",
			source: "vllm-project/vllm vllm/benchmarks/lib/endpoint_request_func.py (02cfb534df): RequestFuncInput.prompt list[int]",
			path:   "/v1/completions",
			body: `{"model":"sim-model","prompt":[128000,9906,1917,11,358,1097],"repetition_penalty":1.0,"max_tokens":24,` +
				`"logprobs":null,"stream":true,"stream_options":{"include_usage":true},"ignore_eos":true}`,
			headers: map[string]string{"x-request-id": "vllm-bench-ids"},
			prompt:  6},
		{name: "GuideLLM, chat completions",
			source: "vllm-project/guidellm src/guidellm/backends/openai/request_handlers.py (003104ddc7): ChatCompletionsRequestHandler.format",
			path:   "/v1/chat/completions",
			body: `{"model":"sim-model","stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true},` +
				`"max_completion_tokens":24,"stop":null,"ignore_eos":true,"messages":[{"role":"system","content":"You are terse."},` +
				`{"role":"user","content":[{"type":"text","text":` + text(prompt) + `}]}]}`,
			headers: map[string]string{"X-Request-ID": "guidellm-chat"},
			prompt:  PromptTokens([]Message{{Role: "system", Content: "You are terse."}, {Role: "user", Content: prompt}})},
		{name: "GuideLLM, text completions",
			source: "vllm-project/guidellm src/guidellm/backends/openai/request_handlers.py (003104ddc7): TextCompletionsRequestHandler.format",
			path:   "/v1/completions",
			body: `{"model":"sim-model","stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true},` +
				`"max_tokens":24,"stop":null,"ignore_eos":true,"prompt":` + text(prompt) + `}`,
			headers: map[string]string{"X-Request-Id": "guidellm-cmpl"},
			prompt:  len(textIDs(prompt))},
		{name: "AIPerf, chat",
			source: "ai-dynamo/aiperf src/aiperf/endpoints/openai_chat.py (02b0d5c368): ChatEndpoint.format_payload with ignore_eos from --extra-inputs",
			path:   "/v1/chat/completions",
			body: `{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":[{"type":"text","text":"Tell me"},` +
				`{"type":"text","text":"about Seoul."}]}],"model":"sim-model","stream":true,"max_completion_tokens":24,"ignore_eos":true,` +
				`"stream_options":{"include_usage":true}}`,
			headers: map[string]string{"X-Request-Id": "aiperf-chat"},
			prompt:  PromptTokens([]Message{{Role: "system", Content: "You are terse."}, {Role: "user", Content: "Tell me\nabout Seoul."}})},
	}
	s, err := Start(Config{Profile: Profiles()["batching"]})
	require.NoError(t, err)
	defer s.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Log("shape from " + tc.source)
			req, err := http.NewRequest(http.MethodPost, s.URL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			var id string
			for k, v := range tc.headers {
				req.Header.Set(k, v)
				if strings.EqualFold(k, "x-request-id") {
					id = v
				}
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			if !assert.Equal(t, http.StatusOK, resp.StatusCode) {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("refused: %s", b)
			}
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			texts, usage, done := streamed(t, resp.Body)
			assert.True(t, done, "the stream ends with [DONE]")
			assert.NotEmpty(t, texts)
			assert.Equal(t, 24, usage["completion_tokens"], "ignore_eos holds the output length")
			assert.Equal(t, tc.prompt, usage["prompt_tokens"])
			truth, err := s.Truth(context.Background(), id)
			require.NoError(t, err, "the request id header is honoured whatever its case")
			assert.Equal(t, tc.prompt, truth.PromptTokens)
		})
	}
}

// What the simulator cannot serve it refuses with a 400 that says why, as a real server
// with a text-only model does.
func TestSimulatorRefusesWhatItCannotServe(t *testing.T) {
	s, err := Start(Config{Profile: Profiles()["batching"]})
	require.NoError(t, err)
	defer s.Close()
	for _, tc := range []struct{ name, path, body, want string }{
		{"image part", "/v1/chat/completions", `{"model":"sim-model","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}]}`, `content part 0 has type \"image_url\"`},
		{"content neither string nor parts", "/v1/chat/completions", `{"model":"sim-model","messages":[{"role":"user","content":7}]}`, "string or a list of content parts"},
		{"batch of prompts", "/v1/completions", `{"model":"sim-model","prompt":["a","b"]}`, "not a batch"},
		{"token id out of vocabulary", "/v1/completions", `{"model":"sim-model","prompt":[1,999999999]}`, "out of vocabulary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(s.URL+tc.path, "application/json", strings.NewReader(tc.body))
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, string(b), tc.want)
		})
	}
}

// /tokenize gives the ids a chat request would prefill; sent back as a completions prompt
// they count the same, and the completions answer is shaped as vLLM's.
func TestTokenizeIDsRoundTripThroughCompletions(t *testing.T) {
	s, err := Start(Config{Profile: Profiles()["batching"], Mimic: "vllm"})
	require.NoError(t, err)
	defer s.Close()
	resp, err := http.Post(s.URL+"/tokenize", "application/json",
		strings.NewReader(`{"model":"sim-model","messages":[{"role":"user","content":"hello there"}],"add_generation_prompt":true}`))
	require.NoError(t, err)
	var tok struct {
		Count  int   `json:"count"`
		Tokens []int `json:"tokens"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	assert.Equal(t, PromptTokens([]Message{{Role: "user", Content: "hello there"}}), tok.Count)
	require.Len(t, tok.Tokens, tok.Count)
	ids, _ := json.Marshal(tok.Tokens)
	resp, err = http.Post(s.URL+"/v1/completions", "application/json",
		strings.NewReader(`{"model":"sim-model","prompt":`+string(ids)+`,"max_tokens":5,"ignore_eos":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Object  string `json:"object"`
		Choices []struct {
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	assert.Equal(t, "text_completion", out.Object)
	require.Len(t, out.Choices, 1)
	assert.NotEmpty(t, out.Choices[0].Text)
	assert.Equal(t, "length", out.Choices[0].FinishReason)
	assert.Equal(t, tok.Count, out.Usage.PromptTokens)
	assert.Equal(t, 5, out.Usage.CompletionTokens)
}
