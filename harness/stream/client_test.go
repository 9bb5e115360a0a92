package stream

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
			assert.Equal(t, float64(64), b["max_tokens"])
			assert.Equal(t, true, b["ignore_eos"])
			assert.Equal(t, map[string]any{"include_usage": true, "continuous_usage_stats": true}, b["stream_options"])
		}},
		{Ollama, "/api/chat", func(t *testing.T, b map[string]any) {
			assert.Equal(t, true, b["stream"])
			opts := b["options"].(map[string]any)
			assert.Equal(t, float64(64), opts["num_predict"])
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
			c.Stream(context.Background(), Request{ID: "r1", Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 64, IgnoreEOS: true, NumCtx: 8192}, &rec)
			require.NoError(t, rec.Err)
			assert.Equal(t, "r1", gotID)
			assert.Equal(t, "m", got["model"])
			tc.check(t, got)
			assert.Len(t, rec.Chunks, 1)
			assert.True(t, rec.OK())
		})
	}
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
