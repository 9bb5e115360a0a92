package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"unicode"
)

// The simulator accepts the request shapes real OpenAI-compatible servers accept, so any
// benchmark client can be pointed at it: content as a string or as a list of text parts
// (vLLM's benchmark client, GuideLLM and AIPerf send parts), max_tokens or
// max_completion_tokens, stream_options, the X-Request-Id header in any case, and fields
// it does not model (temperature, stop, seed, logprobs, ...) ignored, as the servers
// ignore what they do not support. What it cannot serve, an image for a text-only model
// or a batch of prompts, is refused with a 400 that says so.

// UnmarshalJSON reads a chat message whose content is a string, null or a list of parts.
// Text parts are joined with newlines, as vLLM renders them for a text-only model
// (vllm/entrypoints/chat_utils.py); any other part is refused.
func (m *Message) UnmarshalJSON(b []byte) error {
	var raw struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	m.Role, m.Content = raw.Role, ""
	c := bytes.TrimSpace(raw.Content)
	switch {
	case len(c) == 0 || string(c) == "null":
		return nil
	case c[0] == '"':
		return json.Unmarshal(c, &m.Content)
	case c[0] != '[':
		return fmt.Errorf("message content must be a string or a list of content parts, got %s", excerpt(c))
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(c, &parts); err != nil {
		return fmt.Errorf("message content parts: %w", err)
	}
	texts := make([]string, 0, len(parts))
	for i, p := range parts {
		if p.Type != "text" {
			return fmt.Errorf("content part %d has type %q: the simulator serves a text-only model, which accepts only \"text\" parts", i, p.Type)
		}
		if p.Text == nil {
			return fmt.Errorf("content part %d of type \"text\" has no text", i)
		}
		texts = append(texts, *p.Text)
	}
	m.Content = strings.Join(texts, "\n")
	return nil
}

func excerpt(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// streamOptions is OpenAI's stream_options with vLLM's continuous_usage_stats.
type streamOptions struct {
	IncludeUsage         bool `json:"include_usage"`
	ContinuousUsageStats bool `json:"continuous_usage_stats"`
}

// chatRequest holds the fields of both dialects' chat requests that the simulator honours.
type chatRequest struct {
	Model               string         `json:"model"`
	Messages            []Message      `json:"messages"`
	MaxTokens           *int           `json:"max_tokens"`
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
	Stream              *bool          `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options"`
	IgnoreEOS           bool           `json:"ignore_eos"`
	Options             *struct {
		NumPredict *int `json:"num_predict"`
		NumCtx     *int `json:"num_ctx"`
	} `json:"options"`
}

// completionRequest holds the fields of a completions request the simulator honours. The
// prompt is text or token ids; a batch of prompts is refused.
type completionRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	MaxTokens     *int            `json:"max_tokens"`
	Stream        *bool           `json:"stream"`
	StreamOptions *streamOptions  `json:"stream_options"`
	IgnoreEOS     bool            `json:"ignore_eos"`
}

// DefaultCompletionTokens is the output length of a completions request that sets none:
// 16, the OpenAI API's default, which vLLM's CompletionRequest keeps.
const DefaultCompletionTokens = 16

// generation is a parsed request, whatever endpoint it came on.
type generation struct {
	model             string
	ids               []uint64
	maxTokens         int
	streaming         bool
	usage, continuous bool
	ignoreEOS, korean bool
	seed              uint64 // seeds the request's early-EOS draws: the same prompt stops alike
}

// bodyError says what is wrong with a request body: not JSON at all, or JSON the
// endpoint cannot take.
func bodyError(d dialect, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("request body is not valid JSON for %s: %w", d.path(), err)
	}
	return fmt.Errorf("request body for %s: %w", d.path(), err)
}

func (s *Server) unknownModel(d dialect, model string) (int, error) {
	if d == ollama {
		return http.StatusNotFound, fmt.Errorf("model %q not found, try pulling it first", model)
	}
	return http.StatusNotFound, fmt.Errorf("The model `%s` does not exist. Served: %s", model, strings.Join(s.cfg.Models, ", "))
}

// parseChat reads a chat request of dialect d; on error it returns the status to answer.
func (s *Server) parseChat(r *http.Request, d dialect) (generation, int, error) {
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return generation{}, http.StatusBadRequest, bodyError(d, err)
	}
	if !s.served(req.Model) {
		status, err := s.unknownModel(d, req.Model)
		return generation{}, status, err
	}
	if len(req.Messages) == 0 {
		return generation{}, http.StatusBadRequest, errors.New("messages must not be empty")
	}
	g := generation{model: req.Model, maxTokens: DefaultMaxTokens, streaming: d == ollama, // Ollama streams unless told not to; OpenAI the reverse
		ignoreEOS: req.IgnoreEOS, korean: isKorean(req.Messages)}
	if req.Stream != nil {
		g.streaming = *req.Stream
	}
	if o := req.StreamOptions; o != nil {
		g.usage, g.continuous = o.IncludeUsage, o.ContinuousUsageStats
	}
	switch {
	case d == ollama:
		g.ignoreEOS = false // Ollama's API has no such switch
		if req.Options != nil && req.Options.NumPredict != nil && *req.Options.NumPredict > 0 {
			g.maxTokens = *req.Options.NumPredict
		}
	case req.MaxCompletionTokens != nil:
		g.maxTokens = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		g.maxTokens = *req.MaxTokens
	}
	if g.maxTokens < 1 {
		return generation{}, http.StatusBadRequest, fmt.Errorf("max_tokens must be at least 1, got %d", g.maxTokens)
	}
	g.ids = promptIDs(req.Messages, nil)
	// Ollama truncates to its context window on both APIs; only the native one can raise it.
	if d == ollama || s.cfg.Mimic == "ollama" {
		window := s.cfg.OllamaContext
		if d == ollama && req.Options != nil && req.Options.NumCtx != nil && *req.Options.NumCtx > 0 {
			window = *req.Options.NumCtx
		}
		if window > 0 && len(g.ids) > window {
			g.ids = g.ids[len(g.ids)-window:] // Ollama keeps the end of an over-long prompt, silently
		}
	}
	h := fnv.New64a()
	for _, m := range req.Messages {
		h.Write([]byte(m.Role))
		h.Write([]byte(m.Content))
	}
	g.seed = h.Sum64()
	return g, 0, nil
}

// parseCompletion reads a completions request.
func (s *Server) parseCompletion(r *http.Request) (generation, int, error) {
	var req completionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return generation{}, http.StatusBadRequest, bodyError(completion, err)
	}
	if !s.served(req.Model) {
		status, err := s.unknownModel(openAI, req.Model)
		return generation{}, status, err
	}
	g := generation{model: req.Model, maxTokens: DefaultCompletionTokens, ignoreEOS: req.IgnoreEOS}
	if req.Stream != nil {
		g.streaming = *req.Stream
	}
	if o := req.StreamOptions; o != nil {
		g.usage, g.continuous = o.IncludeUsage, o.ContinuousUsageStats
	}
	if req.MaxTokens != nil {
		g.maxTokens = *req.MaxTokens
	}
	if g.maxTokens < 1 {
		return generation{}, http.StatusBadRequest, fmt.Errorf("max_tokens must be at least 1, got %d", g.maxTokens)
	}
	var text string
	var ids []int64
	h := fnv.New64a()
	switch p := bytes.TrimSpace(req.Prompt); {
	case len(p) == 0 || string(p) == "null":
		return generation{}, http.StatusBadRequest, errors.New("prompt is required: text or a list of token ids")
	case json.Unmarshal(p, &text) == nil:
		g.ids, g.korean = textIDs(text), strings.IndexFunc(text, func(r rune) bool { return unicode.Is(unicode.Hangul, r) }) >= 0
		h.Write([]byte(text))
	case json.Unmarshal(p, &ids) == nil:
		if len(ids) == 0 {
			return generation{}, http.StatusBadRequest, errors.New("prompt is an empty list of token ids")
		}
		for _, id := range ids {
			if id < 0 || id >= vocabSize {
				return generation{}, http.StatusBadRequest, fmt.Errorf("token id %d is out of vocabulary (0..%d)", id, vocabSize-1)
			}
			g.ids = append(g.ids, uint64(id))
		}
		h.Write(p)
	default:
		return generation{}, http.StatusBadRequest, errors.New("prompt must be text or one list of token ids: the simulator serves one prompt per request, not a batch")
	}
	g.seed = h.Sum64()
	return g, 0, nil
}

func isKorean(msgs []Message) bool {
	if len(msgs) == 0 {
		return false
	}
	for _, r := range msgs[len(msgs)-1].Content {
		if unicode.Is(unicode.Hangul, r) {
			return true
		}
	}
	return false
}
