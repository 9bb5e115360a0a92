// Package stream sends one chat request to a serving engine and turns its streamed response,
// OpenAI-compatible SSE or Ollama NDJSON, into a Record: when it was sent, when every token
// chunk arrived and how many tokens it carried, and what the server said it counted.
//
// Bodies are parsed incrementally as bytes arrive; a stream is never buffered whole.
package stream

import (
	"time"
)

// Dialect names the wire format a target speaks.
type Dialect string

// The dialects the harness speaks.
const (
	// OpenAI is POST /v1/chat/completions with "stream": true, answered with server-sent events.
	OpenAI Dialect = "openai"
	// Ollama is Ollama's native POST /api/chat, answered with newline-delimited JSON.
	Ollama Dialect = "ollama"
	// OpenAICompletions is POST /v1/completions with a prompt of token ids (the chat as
	// the server's own template renders it) and "stream": true, answered with server-sent
	// events whose text carries reasoning and answer alike.
	OpenAICompletions Dialect = "openai_completions"
)

// TokenSource says how the token count of each chunk was obtained.
type TokenSource string

const (
	// FromUsage means the server reported a running completion-token count with every chunk
	// (vLLM's continuous_usage_stats), so each chunk's token count is exact.
	FromUsage TokenSource = "server_usage"
	// FromEvents means each token-bearing event was counted as one token. It is exact for
	// servers that send one event per token and an estimate otherwise.
	FromEvents TokenSource = "events"
)

// Chunk is one token-bearing event of a stream.
type Chunk struct {
	// Offset is the arrival time of the event's last byte, measured from Record.Sent. With
	// kernel receive timestamps (Record.KernelStamps) it is when the bytes reached this
	// host's socket: a read that takes several events dates them all by the newest.
	Offset time.Duration
	// Lag is how long after arriving the event was read: the client's own delay, which
	// kernel timestamps keep out of Offset. Zero where reads are dated when they return.
	Lag time.Duration
	// Tokens is how many output tokens the event carried (see Record.TokenSource).
	Tokens int
	// Kernel says Offset is the kernel's receive timestamp rather than the time of the
	// read that returned the event.
	Kernel bool
}

// ServerTiming holds the durations a server reports about its own work (Ollama's final
// message). Zero values mean the server did not report them.
type ServerTiming struct {
	Total      time.Duration `json:"total_ns"`
	Load       time.Duration `json:"load_ns"`
	PromptEval time.Duration `json:"prompt_eval_ns"`
	Eval       time.Duration `json:"eval_ns"`
}

// Record is everything measured about one request.
type Record struct {
	// ID is the request id sent as X-Request-Id.
	ID string
	// Scheduled is when the load model wanted the request sent; Sent is when it was: when
	// its first byte went to the socket, or, on a connection that cannot tell, just before
	// the HTTP client was asked to send it. Time before that (connection set-up, the
	// client's own scheduling) is queue, not latency.
	Scheduled, Sent time.Time
	// KernelStamps says every chunk is dated by the kernel's receive timestamp (Linux,
	// connections from NewHTTPClient) rather than by when the client read it.
	KernelStamps bool
	// FirstByte is when the response's first byte (its status line) arrived, from Sent;
	// zero when no response came.
	FirstByte time.Duration
	// Chunks lists the token-bearing events in arrival order.
	Chunks []Chunk
	// End is when the stream finished ([DONE], done:true or end of body), from Sent.
	End time.Duration
	// PromptTokens and CompletionTokens are the server's counts; -1 when it gave none.
	PromptTokens, CompletionTokens int
	// TokenSource says how Chunks[i].Tokens was obtained.
	TokenSource TokenSource
	// PromptChars is the number of characters (runes) in the prompt, set by the caller
	// that built it; it feeds the tokens-per-character figures.
	PromptChars int
	// OutputChars counts the characters (runes) of content and reasoning received.
	OutputChars int
	// ReasoningTokens counts tokens that arrived as reasoning rather than answer content.
	ReasoningTokens int
	// Answered says an event carried answer content (a delta's content, Ollama's message
	// content) and FirstAnswer is its offset from Sent, after whatever reasoning came
	// first. Answered is false when none did, or when the endpoint does not tell answer
	// from reasoning (the plain completions stream).
	Answered    bool
	FirstAnswer time.Duration
	// Server holds the server's own timings where it reports them.
	Server *ServerTiming
	// HTTPStatus is the response status code; 0 when no response arrived.
	HTTPStatus int
	// UsageDisagrees says the server's completion-token count is below the tokens the
	// stream carried (ChunkTokens): the server under-reports, so OutputTokens is the
	// stream's count.
	UsageDisagrees bool
	// Err is why the request failed; nil on success.
	Err error
}

// Reset clears r for reuse, keeping the Chunks backing array.
func (r *Record) Reset() {
	chunks := r.Chunks[:0]
	*r = Record{Chunks: chunks, PromptTokens: -1, CompletionTokens: -1}
}

// OK reports whether the request succeeded (class Succeeded): it ended properly with at
// least one token, and with max_tokens of them where it asked for ignore_eos.
func (r *Record) OK() bool { return r.Err == nil && len(r.Chunks) > 0 }

// TTFT is the time from send to the first token-bearing event.
func (r *Record) TTFT() time.Duration {
	if len(r.Chunks) == 0 {
		return 0
	}
	return r.Chunks[0].Offset
}

// TTFAT is the time from send to the first event carrying answer content: TTFT for a
// model that answers at once, later for one that reasons first. ok is false when no answer
// content arrived.
func (r *Record) TTFAT() (d time.Duration, ok bool) { return r.FirstAnswer, r.Answered }

// Latency is the end-to-end latency: send to the last token-bearing event. A trailing
// usage-only event or [DONE] does not extend it.
func (r *Record) Latency() time.Duration {
	if len(r.Chunks) == 0 {
		return 0
	}
	return r.Chunks[len(r.Chunks)-1].Offset
}

// QueueDelay is how long the request waited between its scheduled time and its send.
func (r *Record) QueueDelay() time.Duration {
	if r.Scheduled.IsZero() {
		return 0
	}
	return r.Sent.Sub(r.Scheduled)
}

// ChunkTokens is the sum of the tokens counted on the chunks.
func (r *Record) ChunkTokens() int {
	n := 0
	for _, c := range r.Chunks {
		n += c.Tokens
	}
	return n
}

// OutputTokens is the number of output tokens: the server's count where it gave one and
// it is not below what the stream carried (UsageDisagrees), otherwise the tokens counted
// on the chunks.
func (r *Record) OutputTokens() int {
	if r.CompletionTokens >= 0 && !r.UsageDisagrees {
		return r.CompletionTokens
	}
	return r.ChunkTokens()
}
