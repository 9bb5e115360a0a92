package stream

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reference reads data with the fastjson path.
func reference(data []byte) (chunkFields, error) {
	var d sseDecoder
	return d.parse(data)
}

// agree fails unless the scanner either leaves data to fastjson or reads it as fastjson does.
func agree(t *testing.T, data []byte) (scanned bool) {
	t.Helper()
	var s chunkScanner
	got, ok := s.scan(data)
	if !ok {
		return false
	}
	want, err := reference(data)
	require.NoError(t, err, "the scanner accepted %q, which fastjson refuses", data)
	assert.Equal(t, string(want.text), string(got.text), "text of %q", data)
	got.text, want.text = nil, nil
	assert.Equal(t, want, got, "fields of %q", data)
	return true
}

func TestChunkScanner(t *testing.T) {
	tests := []struct {
		name string
		data string
		// scanned says the fast path must answer (true) or leave it to fastjson (false).
		scanned bool
	}{
		{"vLLM token", `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" tok"},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":128,"total_tokens":170,"completion_tokens":42}}`, true},
		{"role only", `{"choices":[{"delta":{"role":"assistant","content":""}}]}`, true},
		{"usage only", `{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":0}}`, true},
		{"reasoning_content first", `{"choices":[{"delta":{"content":"b","reasoning_content":"a"}}]}`, true},
		{"reasoning when reasoning_content empty", `{"choices":[{"delta":{"reasoning_content":"","reasoning":"r"}}]}`, true},
		{"legacy text", `{"choices":[{"text":"old"}]}`, true},
		{"delta null hides text", `{"choices":[{"delta":null,"text":"x"}]}`, true},
		{"several choices", `{"choices":[{"delta":{"content":"a"}},7,{"delta":{"reasoning":"b"}}]}`, true},
		{"escapes", `{"choices":[{"delta":{"content":"a\"b\\c\/d\n\t\u00e9\u4e2d"}}]}`, true},
		{"duplicate keys: first wins", `{"usage":{"completion_tokens":1,"completion_tokens":9},"choices":[{"delta":{"content":"x","content":"y"}}],"choices":[]}`, true},
		{"non-number count reads 0", `{"usage":{"prompt_tokens":"5","completion_tokens":null}}`, true},
		{"negative count", `{"usage":{"completion_tokens":-3}}`, true},
		{"whitespace", " \r\n{ \"choices\" : [ { \"delta\" : { \"content\" : \"x\" } } ] } \t", true},
		{"null error", `{"error":null,"choices":[{"delta":{"content":"x"}}]}`, true},
		{"deep ignored value", `{"x":[[[{"a":[1.5e-3,true,false,null]}]]],"choices":[]}`, true},
		{"error", `{"error":{"message":"boom"}}`, false},
		{"error object", `{"object":"error","message":"boom"}`, false},
		{"escaped key", `{"choices":[{"delta":{"con\u0074ent":"x"}}]}`, false},
		{"surrogate pair", `{"choices":[{"delta":{"content":"\ud83d\ude00"}}]}`, false},
		{"fractional count", `{"usage":{"completion_tokens":1.0}}`, false},
		{"huge count", `{"usage":{"completion_tokens":12345678901234567890}}`, false},
		{"not an object", `[1]`, false},
		{"truncated", `{"choices":[{"delta":{"content":"x"`, false},
		{"trailing bytes", `{} x`, false},
		{"leading zero", `{"a":01}`, false},
		{"control character", "{\"choices\":[{\"delta\":{\"content\":\"a\x01\"}}]}", false},
		{"bad escape", `{"choices":[{"delta":{"content":"\q"}}]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.scanned, agree(t, []byte(tc.data)))
		})
	}
}

// FuzzChunkScanner checks the fast path against fastjson on any input: wherever the
// scanner answers, fastjson must accept the chunk and read the same fields.
func FuzzChunkScanner(f *testing.F) {
	f.Add([]byte(`{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" tok","reasoning":"r"}}],"usage":{"prompt_tokens":128,"completion_tokens":42}}`))
	f.Add([]byte(`{"choices":[{"text":"a\u00e9"},{"delta":null}],"error":null}`))
	f.Add([]byte(`{"usage":{"completion_tokens":-0,"prompt_tokens":[1,{"a":"b"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) { agree(t, data) })
}
