package stream

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodeAll feeds body to a fresh decoder in pieces of size step (0 = whole), each piece
// arriving 1 ms after the previous, and returns the record and Finish's error.
func decodeAll(t testing.TB, d Dialect, body string, step int) (*Record, error) {
	t.Helper()
	rec := &Record{PromptTokens: -1, CompletionTokens: -1, Sent: time.Unix(1000, 0)}
	dec, err := NewDecoder(d, rec)
	require.NoError(t, err)
	at := rec.Sent
	if step <= 0 {
		step = len(body) + 1
	}
	for i := 0; i < len(body); i += step {
		at = at.Add(time.Millisecond)
		if err := dec.Feed([]byte(body[i:min(i+step, len(body))]), at); err != nil {
			return rec, err
		}
	}
	return rec, dec.Finish(at.Add(time.Millisecond))
}

func tokensOf(r *Record) []int {
	var n []int
	for _, c := range r.Chunks {
		n = append(n, c.Tokens)
	}
	return n
}

func TestSSE(t *testing.T) {
	const role = `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}` + "\n\n"
	tests := []struct {
		name       string
		body       string
		wantTokens []int
		wantErr    error
		errHas     string
		prompt     int
		completion int
		reasoning  int
		chars      int
		source     TokenSource
	}{
		{
			name: "content chunks and DONE",
			body: role + `data: {"choices":[{"delta":{"content":"Hel"}}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"lo"}}]}` + "\n\n" + "data: [DONE]\n\n",
			wantTokens: []int{1, 1}, prompt: -1, completion: -1, chars: 5, source: FromEvents,
		},
		{
			name: "usage chunk after the last token",
			body: `data: {"choices":[{"delta":{"content":"a"}}]}` + "\n\n" +
				`data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":1}}` + "\n\n" + "data: [DONE]\n\n",
			wantTokens: []int{1}, prompt: 12, completion: 1, chars: 1, source: FromEvents,
		},
		{
			name: "continuous usage gives exact per-chunk tokens",
			body: `data: {"choices":[{"delta":{"role":"assistant","content":""}}],"usage":{"prompt_tokens":7,"completion_tokens":0}}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"ab"}}],"usage":{"prompt_tokens":7,"completion_tokens":1}}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"cdef"}}],"usage":{"prompt_tokens":7,"completion_tokens":4}}` + "\n\n" +
				"data: [DONE]\n\n",
			wantTokens: []int{1, 3}, prompt: 7, completion: 4, chars: 6, source: FromUsage,
		},
		{
			name:       "comments keep-alives and unknown fields are skipped",
			body:       ": ping\n\nid: 3\nretry: 10\n" + `data: {"choices":[{"delta":{"content":"x"}}]}` + "\n\n: keep-alive\n\ndata: [DONE]\n\n",
			wantTokens: []int{1}, prompt: -1, completion: -1, chars: 1, source: FromEvents,
		},
		{
			name:       "multi-line data event",
			body:       "data: {\"choices\":\ndata: [{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n",
			wantTokens: []int{1}, prompt: -1, completion: -1, chars: 1, source: FromEvents,
		},
		{
			name:       "CRLF and CR line endings",
			body:       "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"y\"}}]}\r\rdata: [DONE]\r\n\r\n",
			wantTokens: []int{1, 1}, prompt: -1, completion: -1, chars: 2, source: FromEvents,
		},
		{
			name: "reasoning deltas count as output tokens",
			body: `data: {"choices":[{"delta":{"reasoning_content":"think"}}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"reasoning":"more"}}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"answer"}}]}` + "\n\n" + "data: [DONE]\n\n",
			wantTokens: []int{1, 1, 1}, prompt: -1, completion: -1, reasoning: 2, chars: 15, source: FromEvents,
		},
		{
			name:       "legacy completions text",
			body:       `data: {"choices":[{"text":"hi"}]}` + "\n\ndata: [DONE]\n\n",
			wantTokens: []int{1}, prompt: -1, completion: -1, chars: 2, source: FromEvents,
		},
		{
			name:    "error event",
			body:    "event: error\ndata: {\"message\":\"overloaded\"}\n\n",
			wantErr: ErrServer, errHas: "overloaded", prompt: -1, completion: -1,
		},
		{
			name:    "error object in data",
			body:    `data: {"choices":[{"delta":{"content":"a"}}]}` + "\n\n" + `data: {"error":{"message":"KV cache exhausted","code":500}}` + "\n\n",
			wantErr: ErrServer, errHas: "KV cache exhausted", wantTokens: []int{1}, prompt: -1, completion: -1, chars: 1, source: FromEvents,
		},
		{
			name:    "vLLM error object",
			body:    `data: {"object":"error","message":"bad request","code":400}` + "\n\n",
			wantErr: ErrServer, errHas: "bad request", prompt: -1, completion: -1,
		},
		{
			name:    "malformed JSON",
			body:    "data: {\"choices\":[{\"delta\":\n\n",
			wantErr: ErrMalformed, errHas: "not JSON", prompt: -1, completion: -1,
		},
		{
			name:    "JSON that is not an object",
			body:    "data: 42\n\n",
			wantErr: ErrMalformed, prompt: -1, completion: -1,
		},
		{
			name:    "stream cut before DONE keeps the tokens",
			body:    `data: {"choices":[{"delta":{"content":"a"}}]}` + "\n\n" + `data: {"choices":[{"delta":{"content":"b"}}]}`,
			wantErr: ErrIncomplete, wantTokens: []int{1, 1}, prompt: -1, completion: -1, chars: 2, source: FromEvents,
		},
		{
			name:       "events after DONE change nothing",
			body:       `data: {"choices":[{"delta":{"content":"a"}}]}` + "\n\ndata: [DONE]\n\n" + `data: {"choices":[{"delta":{"content":"b"}}]}` + "\n\n",
			wantTokens: []int{1}, prompt: -1, completion: -1, chars: 1, source: FromEvents,
		},
	}
	for _, tc := range tests {
		for _, step := range []int{0, 1, 7} {
			t.Run(tc.name+"/step"+string(rune('0'+step%10)), func(t *testing.T) {
				rec, err := decodeAll(t, OpenAI, tc.body, step)
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
					assert.Contains(t, err.Error(), tc.errHas)
				} else {
					require.NoError(t, err)
				}
				assert.Equal(t, tc.wantTokens, tokensOf(rec))
				assert.Equal(t, tc.prompt, rec.PromptTokens)
				assert.Equal(t, tc.completion, rec.CompletionTokens)
				assert.Equal(t, tc.reasoning, rec.ReasoningTokens)
				assert.Equal(t, tc.chars, rec.OutputChars)
				assert.Equal(t, tc.source, rec.TokenSource)
			})
		}
	}
}

func TestSSETimestampsAreArrivalOfLastByte(t *testing.T) {
	// Fed one byte per millisecond, a chunk is stamped when its terminating newline arrives.
	first := `data: {"choices":[{"delta":{"content":"a"}}]}` + "\n"
	body := first + "\n" + "data: [DONE]\n\n"
	rec, err := decodeAll(t, OpenAI, body, 1)
	require.NoError(t, err)
	require.Len(t, rec.Chunks, 1)
	// The event dispatches on the blank line: byte len(first)+1, arriving at that many ms.
	assert.Equal(t, time.Duration(len(first)+1)*time.Millisecond, rec.TTFT())
}

func TestNDJSON(t *testing.T) {
	line := func(s string) string { return s + "\n" }
	done := line(`{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"length","total_duration":5000000,"load_duration":100,"prompt_eval_count":33,"prompt_eval_duration":2000000,"eval_count":2,"eval_duration":3000000}`)
	tests := []struct {
		name       string
		body       string
		wantTokens []int
		wantErr    error
		errHas     string
		reasoning  int
	}{
		{name: "content and done", body: line(`{"message":{"role":"assistant","content":"a"},"done":false}`) + line(`{"message":{"role":"assistant","content":"b"},"done":false}`) + done, wantTokens: []int{1, 1}},
		{name: "thinking counts", body: line(`{"message":{"role":"assistant","content":"","thinking":"hm"},"done":false}`) + line(`{"message":{"role":"assistant","content":"b"},"done":false}`) + done, wantTokens: []int{1, 1}, reasoning: 1},
		{name: "generate API response field", body: line(`{"response":"a","done":false}`) + done, wantTokens: []int{1}},
		{name: "final line without newline", body: line(`{"message":{"content":"a"},"done":false}`) + strings.TrimSuffix(done, "\n"), wantTokens: []int{1}},
		{name: "error line", body: line(`{"message":{"content":"a"},"done":false}`) + line(`{"error":"model requires more system memory"}`), wantTokens: []int{1}, wantErr: ErrServer, errHas: "more system memory"},
		{name: "malformed", body: line(`{"message":`), wantErr: ErrMalformed},
		{name: "no done", body: line(`{"message":{"content":"a"},"done":false}`), wantTokens: []int{1}, wantErr: ErrIncomplete},
	}
	for _, tc := range tests {
		for _, step := range []int{0, 1, 5} {
			t.Run(tc.name, func(t *testing.T) {
				rec, err := decodeAll(t, Ollama, tc.body, step)
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
					assert.Contains(t, err.Error(), tc.errHas)
				} else {
					require.NoError(t, err)
					assert.Equal(t, 33, rec.PromptTokens)
					assert.Equal(t, 2, rec.CompletionTokens)
					require.NotNil(t, rec.Server)
					assert.Equal(t, 2*time.Millisecond, rec.Server.PromptEval)
					assert.Equal(t, 3*time.Millisecond, rec.Server.Eval)
				}
				assert.Equal(t, tc.wantTokens, tokensOf(rec))
				assert.Equal(t, tc.reasoning, rec.ReasoningTokens)
			})
		}
	}
}

func TestLineTooLongIsAnError(t *testing.T) {
	rec := &Record{Sent: time.Now()}
	dec, _ := NewDecoder(OpenAI, rec)
	chunk := []byte("data: " + strings.Repeat("x", 1<<20))
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = dec.Feed(chunk, time.Now())
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "longer than")
}

func TestUnknownDialect(t *testing.T) {
	_, err := NewDecoder("grpc", &Record{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"grpc"`)
	assert.False(t, errors.Is(err, ErrMalformed))
}

// fuzzDecode feeds data split at cut and must return (never panic or loop).
func fuzzDecode(t *testing.T, d Dialect, data []byte, cut uint16) {
	rec := &Record{PromptTokens: -1, CompletionTokens: -1, Sent: time.Unix(0, 0)}
	dec, err := NewDecoder(d, rec)
	require.NoError(t, err)
	c := int(cut) % (len(data) + 1)
	at := time.Unix(1, 0)
	if err := dec.Feed(data[:c], at); err != nil {
		return
	}
	if err := dec.Feed(data[c:], at.Add(time.Millisecond)); err != nil {
		return
	}
	err = dec.Finish(at.Add(2 * time.Millisecond))
	if err == nil && !dec.Done() {
		t.Fatalf("Finish returned nil but the stream never ended")
	}
	for _, ch := range rec.Chunks {
		if ch.Tokens < 1 {
			t.Fatalf("chunk with %d tokens", ch.Tokens)
		}
	}
}

func FuzzSSE(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n"), uint16(10))
	f.Add([]byte("event: error\ndata: {}\n\n"), uint16(3))
	f.Add([]byte(": ping\r\n\r\ndata: {\"usage\":{\"completion_tokens\":3},\"choices\":[{\"delta\":{\"reasoning_content\":\"x\"}}]}\r\r"), uint16(30))
	f.Add([]byte("data: {\"error\":\"x\"}\n\n"), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) { fuzzDecode(t, OpenAI, data, cut) })
}

func FuzzNDJSON(f *testing.F) {
	f.Add([]byte("{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"done\":true,\"eval_count\":1}\n"), uint16(5))
	f.Add([]byte("{\"error\":\"boom\"}\n"), uint16(2))
	f.Add([]byte("{\"message\":{\"thinking\":\"t\"}}\r\n{\"done\":true}"), uint16(9))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) { fuzzDecode(t, Ollama, data, cut) })
}

// The first answer token is the first event carrying answer content, after the reasoning a
// reasoning model streams first; the first token of any kind stays the TTFT.
func TestFirstAnswerFollowsTheReasoning(t *testing.T) {
	tests := []struct {
		name    string
		dialect Dialect
		body    string
		// wants: the chunk whose offset is the first answer's; -1 when none
		answer int
	}{
		{"vLLM reasoning then content", OpenAI,
			`data: {"choices":[{"delta":{"role":"assistant","content":""}}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"reasoning":"think"}}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"reasoning_content":"more"}}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"Paris"}}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"."}}]}` + "\n\ndata: [DONE]\n\n", 2},
		{"SGLang nulls beside the reasoning", OpenAI,
			`data: {"choices":[{"delta":{"role":null,"content":null,"reasoning_content":"Simple"}}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"role":null,"content":"Paris","reasoning_content":null}}]}` + "\n\ndata: [DONE]\n\n", 1},
		{"no reasoning: the first token", OpenAI,
			`data: {"choices":[{"delta":{"content":"Paris"}}]}` + "\n\ndata: [DONE]\n\n", 0},
		{"all reasoning, cut by max_tokens", OpenAI,
			`data: {"choices":[{"delta":{"reasoning":"think"}}]}` + "\n\ndata: [DONE]\n\n", -1},
		{"completions text says neither", OpenAI,
			`data: {"choices":[{"text":"analysis"}]}` + "\n\ndata: [DONE]\n\n", -1},
		{"Ollama thinking then content", Ollama,
			`{"message":{"role":"assistant","content":"","thinking":"Hmm"},"done":false}` + "\n" +
				`{"message":{"role":"assistant","content":"Paris"},"done":false}` + "\n" +
				`{"message":{"role":"assistant","content":""},"done":true,"eval_count":2}` + "\n", 1},
	}
	for _, tc := range tests {
		for _, step := range []int{0, 3} {
			t.Run(tc.name, func(t *testing.T) {
				rec, err := decodeAll(t, tc.dialect, tc.body, step)
				require.NoError(t, err)
				got, ok := rec.TTFAT()
				if tc.answer < 0 {
					assert.False(t, ok)
					return
				}
				require.True(t, ok)
				assert.Equal(t, rec.Chunks[tc.answer].Offset, got)
				assert.LessOrEqual(t, rec.TTFT(), got)
			})
		}
	}
}
