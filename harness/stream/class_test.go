package stream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sse writes SSE data events and flushes them.
func sse(w http.ResponseWriter, events ...string) {
	for _, e := range events {
		io.WriteString(w, "data: "+e+"\n\n")
	}
	w.(http.Flusher).Flush()
}

const tok = `{"choices":[{"delta":{"content":"a"}}]}`

// TestEveryOutcomeIsClassified drives one request per kind of failure against a small
// hostile server and checks its class. The caller's context allows 20 s; a request whose
// class came from that context (Cancelled) would show a failure the client did not see.
func TestEveryOutcomeIsClassified(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadURL := "http://" + refused.Addr().String()
	refused.Close()

	tests := []struct {
		name      string
		handler   http.HandlerFunc
		url       string
		req       Request
		client    Client
		want      Class
		has       string
		check     func(t *testing.T, rec *Record)
		wantCalls int64
	}{
		{name: "success", handler: func(w http.ResponseWriter, r *http.Request) { sse(w, tok, tok, "[DONE]") },
			req: Request{MaxTokens: 2, IgnoreEOS: true}, want: Succeeded},
		{name: "rate limited keeps Retry-After and is not retried", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"slow down"}}`)
		}, want: RateLimited, has: "Retry-After: 7", wantCalls: 1, check: func(t *testing.T, rec *Record) {
			assert.Equal(t, "7", RetryAfter(rec.Err))
			assert.Equal(t, http.StatusTooManyRequests, rec.HTTPStatus)
		}},
		{name: "HTTP 500", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "engine dead", http.StatusInternalServerError)
		}, want: HTTPError, has: "engine dead"},
		// vLLM's streaming error: an error object as a data event, then [DONE]
		// (vllm/entrypoints/openai/serving_chat.py, create_streaming_error_response).
		{name: "in-band error object", handler: func(w http.ResponseWriter, r *http.Request) {
			sse(w, tok, `{"error":{"object":"error","message":"KV cache exhausted","type":"InternalServerError","code":500}}`, "[DONE]")
		}, want: ErrorEvent, has: "KV cache exhausted"},
		{name: "SSE error event", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "event: error\ndata: overloaded\n\n")
		}, want: ErrorEvent, has: "overloaded"},
		{name: "tokenless", handler: func(w http.ResponseWriter, r *http.Request) {
			sse(w, `{"choices":[{"delta":{"role":"assistant","content":""}}]}`, `{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":0}}`, "[DONE]")
		}, want: Tokenless},
		{name: "short under ignore_eos is truncated", handler: func(w http.ResponseWriter, r *http.Request) { sse(w, tok, tok, "[DONE]") },
			req: Request{MaxTokens: 8, IgnoreEOS: true}, want: Truncated, has: "2 of 8 tokens"},
		{name: "short without ignore_eos is a success", handler: func(w http.ResponseWriter, r *http.Request) { sse(w, tok, tok, "[DONE]") },
			req: Request{MaxTokens: 8}, want: Succeeded},
		{name: "usage below the stream is not believed", handler: func(w http.ResponseWriter, r *http.Request) {
			sse(w, tok, tok, tok, `{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1}}`, "[DONE]")
		}, req: Request{MaxTokens: 3, IgnoreEOS: true}, want: Succeeded, check: func(t *testing.T, rec *Record) {
			assert.True(t, rec.UsageDisagrees)
			assert.Equal(t, 3, rec.OutputTokens(), "the stream's count, not the server's 1")
		}},
		{name: "usage above the stream is believed (several tokens per event)", handler: func(w http.ResponseWriter, r *http.Request) {
			sse(w, tok, tok, `{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":8}}`, "[DONE]")
		}, req: Request{MaxTokens: 8, IgnoreEOS: true}, want: Succeeded, check: func(t *testing.T, rec *Record) {
			assert.False(t, rec.UsageDisagrees)
			assert.Equal(t, 8, rec.OutputTokens())
		}},
		{name: "cut mid-event", handler: func(w http.ResponseWriter, r *http.Request) {
			sse(w, tok)
			io.WriteString(w, `data: {"choices":[{"del`)
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drops the connection without ending the chunked body
		}, want: Cut, has: "after 1 token chunks"},
		{name: "body ends without [DONE]", handler: func(w http.ResponseWriter, r *http.Request) { sse(w, tok) },
			want: Cut, has: "no [DONE]"},
		{name: "stall mid-stream", handler: func(w http.ResponseWriter, r *http.Request) {
			sse(w, tok)
			<-r.Context().Done()
		}, client: Client{StallTimeout: 300 * time.Millisecond}, want: Stalled, has: "after 1 token chunks"},
		{name: "stall before the status line", handler: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, client: Client{StallTimeout: 300 * time.Millisecond}, want: Stalled, has: "before the first token"},
		{name: "stall after the headers", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, client: Client{StallTimeout: 300 * time.Millisecond}, want: Stalled, has: "before the first token"},
		{name: "a slow stream is not a stall", handler: trickle(8, 100*time.Millisecond),
			client: Client{StallTimeout: 400 * time.Millisecond}, req: Request{MaxTokens: 8, IgnoreEOS: true}, want: Succeeded},
		{name: "a trickle past the request timeout", handler: trickle(1000, 20*time.Millisecond),
			client: Client{StallTimeout: time.Minute, RequestTimeout: 300 * time.Millisecond}, want: TimedOut},
		{name: "garbage", handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>proxy error</html>\n\n") },
			want: Malformed},
		{name: "nothing listens", url: deadURL, want: NoResponse, has: "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			var calls atomic.Int64
			if tc.handler != nil {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					// Read the request first: the server notices a closed connection (and
					// ends r.Context()) only once the body is consumed.
					_, _ = io.Copy(io.Discard, r.Body)
					tc.handler(w, r)
				}))
				t.Cleanup(srv.Close)
				url = srv.URL
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := tc.client
			c.HTTP, c.BaseURL, c.Dialect, c.Model = NewHTTPClient(1), url, OpenAI, "m"
			req := tc.req
			req.Messages = []Message{{Role: "user", Content: "hi"}}
			var rec Record
			c.Stream(ctx, req, &rec)
			assert.Equal(t, tc.want, rec.Class(), "err: %v", rec.Err)
			assert.Equal(t, tc.want == Succeeded, rec.OK())
			if tc.has != "" && assert.Error(t, rec.Err) {
				assert.Contains(t, rec.Err.Error(), tc.has)
			}
			if tc.wantCalls > 0 {
				assert.Equal(t, tc.wantCalls, calls.Load())
			}
			if tc.check != nil {
				tc.check(t, &rec)
			}
		})
	}
}

// trickle sends n one-token events, one every gap, then [DONE].
func trickle(n int, gap time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tick := time.NewTicker(gap)
		defer tick.Stop()
		for range n {
			select {
			case <-tick.C:
				sse(w, tok)
			case <-r.Context().Done():
				return
			}
		}
		sse(w, "[DONE]")
	}
}

func TestTheCallersCancellationIsNotTheServers(t *testing.T) {
	sent := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		sse(w, tok)
		close(sent)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &Client{HTTP: NewHTTPClient(1), BaseURL: srv.URL, Dialect: OpenAI, Model: "m"}
	var rec Record
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Stream(ctx, Request{Messages: []Message{{Role: "user", Content: "hi"}}}, &rec)
	}()
	<-sent                                          // mid-stream
	cancel(errors.New("interrupt signal received")) // a cause of its own, as signal.NotifyContext gives
	<-done
	assert.Equal(t, Cancelled, rec.Class(), "err: %v", rec.Err)
	assert.Contains(t, rec.Err.Error(), "interrupt signal received")
}
