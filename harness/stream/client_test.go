package stream

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/servegate/servegate/internal/sockstamp"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientSendsDialectBody(t *testing.T) {
	tests := []struct {
		dialect Dialect
		path    string
		check   func(t *testing.T, body map[string]any)
	}{
		{OpenAI, "/v1/chat/completions", func(t *testing.T, b map[string]any) {
			assert.Equal(t, true, b["stream"])
			assert.Equal(t, float64(1), b["max_tokens"])
			assert.Equal(t, true, b["ignore_eos"])
			assert.Equal(t, map[string]any{"include_usage": true, "continuous_usage_stats": true}, b["stream_options"])
		}},
		{OpenAICompletions, "/v1/completions", func(t *testing.T, b map[string]any) {
			assert.Equal(t, []any{float64(1), float64(42), float64(7)}, b["prompt"], "the chat as the server's template renders it")
			assert.NotContains(t, b, "messages")
			assert.Equal(t, float64(1), b["max_tokens"])
			assert.Equal(t, true, b["ignore_eos"])
			assert.Equal(t, map[string]any{"include_usage": true, "continuous_usage_stats": true}, b["stream_options"])
		}},
		{Ollama, "/api/chat", func(t *testing.T, b map[string]any) {
			assert.Equal(t, true, b["stream"])
			opts := b["options"].(map[string]any)
			assert.Equal(t, float64(1), opts["num_predict"])
			assert.Equal(t, float64(8192), opts["num_ctx"])
			assert.NotContains(t, b, "ignore_eos")
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.dialect), func(t *testing.T) {
			var got map[string]any
			var gotID string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, tc.path, r.URL.Path)
				gotID = r.Header.Get("X-Request-Id")
				require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
				if tc.dialect == Ollama {
					io.WriteString(w, `{"message":{"content":"a"},"done":false}`+"\n"+`{"done":true,"eval_count":1,"prompt_eval_count":3}`+"\n")
					return
				}
				io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n")
			}))
			defer srv.Close()
			c := &Client{HTTP: NewHTTPClient(1), BaseURL: srv.URL, Dialect: tc.dialect, Model: "m", ContinuousUsage: true}
			var rec Record
			c.Stream(context.Background(), Request{ID: "r1", Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 1, IgnoreEOS: true, NumCtx: 8192,
				PromptIDs: []int{1, 42, 7}}, &rec)
			require.NoError(t, rec.Err)
			assert.Equal(t, "r1", gotID)
			assert.Equal(t, "m", got["model"])
			tc.check(t, got)
			assert.Len(t, rec.Chunks, 1)
			assert.True(t, rec.OK())
		})
	}
}

func TestCompletionsDialectNeedsPromptIDs(t *testing.T) {
	c := &Client{Dialect: OpenAICompletions, Model: "m"}
	_, err := c.Body(Request{ID: "r1", Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 4})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sends the prompt as token ids, and it has none")
}

func TestClientErrors(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadURL := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		handler http.HandlerFunc
		url     string
		timeout time.Duration
		is      error
		has     []string
	}{
		{
			name: "HTTP error keeps its body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"error":{"message":"The model m does not exist."}}`)
			},
			is: ErrServer, has: []string{"HTTP 404", "does not exist"},
		},
		{
			name: "server that stops sending hits the request deadline",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n")
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
			timeout: 300 * time.Millisecond, is: context.DeadlineExceeded, has: []string{"after 1 token chunks"},
		},
		{
			name:    "garbage body is malformed",
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>proxy error</html>\n\n") },
			is:      ErrMalformed, has: []string{"proxy error"},
		},
		{name: "unreachable server names the URL", url: deadURL, has: []string{deadURL, "connection refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			if tc.handler != nil {
				srv := httptest.NewServer(tc.handler)
				defer srv.Close()
				url = srv.URL
			}
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			c := &Client{HTTP: NewHTTPClient(1), BaseURL: url, Dialect: OpenAI, Model: "m"}
			var rec Record
			c.Stream(ctx, Request{Messages: []Message{{Role: "user", Content: "hi"}}}, &rec)
			require.Error(t, rec.Err)
			if tc.is != nil {
				assert.ErrorIs(t, rec.Err, tc.is)
			}
			for _, h := range tc.has {
				assert.Contains(t, rec.Err.Error(), h)
			}
			assert.False(t, rec.OK())
		})
	}
}

// lateConn is a stamped connection whose reader comes late on purpose: each read waits
// until the server has written its next piece, then a further delay, as a client busy
// with a thousand other streams would, and lets the server write the next piece only
// once it has read this one.
type lateConn struct {
	*sockstamp.Conn
	delay    time.Duration
	written  <-chan struct{} // one per server write; closed when the handler ends
	consumed chan<- struct{}
}

func (c *lateConn) Read(p []byte) (int, error) {
	<-c.written
	<-time.After(c.delay)
	n, err := c.Conn.Read(p)
	select {
	case c.consumed <- struct{}{}:
	default:
	}
	return n, err
}

// A client that reads every event late still dates it by its arrival, and says how late
// it was; the send is dated when the request went to the socket.
func TestClientDatesEventsByArrival(t *testing.T) {
	const events, delay = 4, 15 * time.Millisecond
	written := make(chan struct{}, events+2)
	consumed := make(chan struct{}, 1)
	type window struct{ before, after time.Time }
	var writes []window
	var handlerStart time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlerStart = time.Now()
		defer close(written)
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		require.NoError(t, rc.Flush())
		written <- struct{}{}
		for i := 0; i < events; i++ {
			select {
			case <-consumed: // one piece per read, so each read's stamp is its own
			case <-r.Context().Done():
				return
			}
			before := time.Now()
			_, _ = io.WriteString(w, `data: {"choices":[{"delta":{"content":"a"}}]}`+"\n\n")
			require.NoError(t, rc.Flush())
			writes = append(writes, window{before, time.Now()})
			written <- struct{}{}
		}
		<-consumed
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &lateConn{Conn: sockstamp.Wrap(c).(*sockstamp.Conn), delay: delay, written: written, consumed: consumed}, nil
	}}}
	c := &Client{HTTP: hc, BaseURL: srv.URL, Dialect: OpenAI, Model: "m"}
	var rec Record
	c.Stream(context.Background(), Request{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: events}, &rec)
	require.NoError(t, rec.Err)
	require.Len(t, rec.Chunks, events)
	require.Len(t, writes, events)
	assert.False(t, rec.Sent.After(handlerStart), "sent after the server had the request")
	for i, ch := range rec.Chunks {
		arrived := rec.Sent.Add(ch.Offset)
		if runtime.GOOS != "linux" || !rec.KernelStamps {
			// Dated when read: the delay shows in the measurement.
			assert.False(t, arrived.Before(writes[i].after.Add(delay)), "event %d", i)
			continue
		}
		assert.GreaterOrEqual(t, ch.Lag, delay, "event %d was read late", i)
		const slack = 300 * time.Microsecond
		assert.False(t, arrived.Before(writes[i].before.Add(-slack)), "event %d dated %v before its write", i, writes[i].before.Sub(arrived))
		assert.False(t, arrived.After(writes[i].after.Add(slack)), "event %d dated %v after its write", i, arrived.Sub(writes[i].after))
	}
	if runtime.GOOS == "linux" {
		assert.True(t, rec.KernelStamps, "Linux dates reads by the kernel's receive timestamps")
	}
}
