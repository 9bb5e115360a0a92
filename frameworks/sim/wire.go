package sim

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// writer renders the simulator's responses in one dialect. Events are appended to byte
// slices by hand: at a thousand streams the server's own cost must stay small beside the
// client it measures.
type writer struct {
	d                 dialect
	model, id         string
	promptTokens      int
	created           int64
	arrived           time.Time
	usage, continuous bool
	generated         int
	firstAt           time.Time
}

func newWriter(d dialect, model, id string, promptTokens int, arrived time.Time) *writer {
	return &writer{d: d, model: model, id: id, promptTokens: promptTokens, created: arrived.Unix(), arrived: arrived}
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped appends s escaped for the inside of a JSON string literal.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return b
}

func (w *writer) openAIHead(b []byte) []byte {
	if w.d == completion {
		b = append(b, `data: {"id":"cmpl-`...)
		b = append(b, w.id...)
		b = append(b, `","object":"text_completion","created":`...)
	} else {
		b = append(b, `data: {"id":"chatcmpl-`...)
		b = append(b, w.id...)
		b = append(b, `","object":"chat.completion.chunk","created":`...)
	}
	b = strconv.AppendInt(b, w.created, 10)
	b = append(b, `,"model":`...)
	return appendJSONString(b, w.model)
}

func (w *writer) appendUsage(b []byte) []byte {
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(w.promptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(w.generated), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(w.promptTokens+w.generated), 10)
	return append(b, '}')
}

// tokens appends one event carrying ts.
func (w *writer) tokens(b []byte, ts []token) []byte {
	first := w.generated == 0
	if first {
		w.firstAt = time.Now()
	}
	w.generated += len(ts)
	reasoning := ts[0].reasoning
	if w.d == ollama {
		b = append(b, `{"model":`...)
		b = appendJSONString(b, w.model)
		b = append(b, `,"created_at":"`...)
		b = time.Now().UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","message":{"role":"assistant","content":`...)
		if reasoning {
			b = append(b, `"","thinking":`...)
		}
		b = append(b, '"')
		for _, t := range ts {
			b = appendEscaped(b, t.text)
		}
		return append(b, `"},"done":false}`+"\n"...)
	}
	if w.d == completion {
		// vLLM's completions stream: the text on the choice itself, no role chunk, all
		// of it plain text (reasoning included).
		b = w.openAIHead(b)
		b = append(b, `,"choices":[{"index":0,"text":"`...)
		for _, t := range ts {
			b = appendEscaped(b, t.text)
		}
		b = append(b, `","logprobs":null,"finish_reason":null,"stop_reason":null}]`...)
		if w.continuous {
			b = append(b, ',')
			b = w.appendUsage(b)
		}
		return append(b, "}\n\n"...)
	}
	if first {
		// vLLM opens every stream with a role-only chunk; a harness must not count it.
		b = w.openAIHead(b)
		b = append(b, `,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]`...)
		if w.continuous {
			b = append(b, `,"usage":{"prompt_tokens":`...)
			b = strconv.AppendInt(b, int64(w.promptTokens), 10)
			b = append(b, `,"completion_tokens":0,"total_tokens":`...)
			b = strconv.AppendInt(b, int64(w.promptTokens), 10)
			b = append(b, '}')
		}
		b = append(b, "}\n\n"...)
	}
	b = w.openAIHead(b)
	if reasoning {
		b = append(b, `,"choices":[{"index":0,"delta":{"reasoning_content":"`...)
	} else {
		b = append(b, `,"choices":[{"index":0,"delta":{"content":"`...)
	}
	for _, t := range ts {
		b = appendEscaped(b, t.text)
	}
	b = append(b, `"},"finish_reason":null}]`...)
	if w.continuous {
		b = append(b, ',')
		b = w.appendUsage(b)
	}
	return append(b, "}\n\n"...)
}

// finish appends the end of the stream.
func (w *writer) finish(b []byte, reason string) []byte {
	if w.d == ollama {
		now := time.Now()
		b = append(b, `{"model":`...)
		b = appendJSONString(b, w.model)
		b = append(b, `,"created_at":"`...)
		b = now.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","message":{"role":"assistant","content":""},"done_reason":`...)
		b = appendJSONString(b, reason)
		b = append(b, `,"done":true,"total_duration":`...)
		b = strconv.AppendInt(b, int64(now.Sub(w.arrived)), 10)
		b = append(b, `,"load_duration":0,"prompt_eval_count":`...)
		b = strconv.AppendInt(b, int64(w.promptTokens), 10)
		b = append(b, `,"prompt_eval_duration":`...)
		b = strconv.AppendInt(b, int64(w.firstAt.Sub(w.arrived)), 10)
		b = append(b, `,"eval_count":`...)
		b = strconv.AppendInt(b, int64(w.generated), 10)
		b = append(b, `,"eval_duration":`...)
		b = strconv.AppendInt(b, int64(now.Sub(w.firstAt)), 10)
		return append(b, "}\n"...)
	}
	b = w.openAIHead(b)
	if w.d == completion {
		b = append(b, `,"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":`...)
	} else {
		b = append(b, `,"choices":[{"index":0,"delta":{},"finish_reason":`...)
	}
	b = appendJSONString(b, reason)
	b = append(b, `}]`...)
	if w.continuous {
		b = append(b, ',')
		b = w.appendUsage(b)
	}
	b = append(b, "}\n\n"...)
	if w.usage {
		b = w.openAIHead(b)
		b = append(b, `,"choices":[],`...)
		b = w.appendUsage(b)
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}

// whole renders a non-streaming response.
func (w *writer) whole(text, reason string) []byte {
	var b []byte
	if w.d == ollama {
		b = append(b, `{"model":`...)
		b = appendJSONString(b, w.model)
		b = append(b, `,"message":{"role":"assistant","content":`...)
		b = appendJSONString(b, text)
		b = append(b, `},"done_reason":`...)
		b = appendJSONString(b, reason)
		b = append(b, `,"done":true,"prompt_eval_count":`...)
		b = strconv.AppendInt(b, int64(w.promptTokens), 10)
		b = append(b, `,"eval_count":`...)
		b = strconv.AppendInt(b, int64(w.generated), 10)
		return append(b, "}\n"...)
	}
	if w.d == completion {
		b = append(b, `{"id":"cmpl-`...)
		b = append(b, w.id...)
		b = append(b, `","object":"text_completion","created":`...)
		b = strconv.AppendInt(b, w.created, 10)
		b = append(b, `,"model":`...)
		b = appendJSONString(b, w.model)
		b = append(b, `,"choices":[{"index":0,"text":`...)
		b = appendJSONString(b, text)
		b = append(b, `,"logprobs":null,"finish_reason":`...)
	} else {
		b = append(b, `{"id":"chatcmpl-`...)
		b = append(b, w.id...)
		b = append(b, `","object":"chat.completion","created":`...)
		b = strconv.AppendInt(b, w.created, 10)
		b = append(b, `,"model":`...)
		b = appendJSONString(b, w.model)
		b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
		b = appendJSONString(b, text)
		b = append(b, `},"finish_reason":`...)
	}
	b = appendJSONString(b, reason)
	b = append(b, `}],`...)
	b = w.appendUsage(b)
	return append(b, "}\n"...)
}
