package stream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What a server says comes back in errors, result files and on the terminal: without its
// escape sequences and with credentials masked, whether an error body or an error event.
func TestServerTextIsQuotedSafely(t *testing.T) {
	const hostile = "\x1b[2J\x1b]0;owned\x07bad key sk-live-5150: api_key=sk-live-5150\x1b[0m"
	for name, handler := range map[string]http.HandlerFunc{
		"error body": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, hostile)
		},
		"error event": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "data: {\"error\": {\"message\": \"\\u001b[31m"+"api_key=sk-live-5150\\u001b]0;x\\u0007\"}}\n\n")
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(handler)
			defer srv.Close()
			c := &Client{HTTP: NewHTTPClient(1), BaseURL: srv.URL, Dialect: OpenAI, Model: "m"}
			var rec Record
			c.Stream(context.Background(), Request{Messages: []Message{{Role: "user", Content: "hi"}}}, &rec)
			require.ErrorIs(t, rec.Err, ErrServer)
			assert.NotContains(t, rec.Err.Error(), "\x1b")
			assert.NotContains(t, rec.Err.Error(), "\x07")
			assert.Contains(t, rec.Err.Error(), "api_key=***")
		})
	}
}

func TestAuthorizeSetsTheHeaderOnEveryRequest(t *testing.T) {
	var mu sync.Mutex // the handler runs on the server's goroutine
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	plain := NewHTTPClient(1)
	assert.Same(t, plain, Authorize(plain, ""), "no credential: the client as it was")
	c := Authorize(plain, "Bearer k")
	for range 2 {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Empty(t, req.Header.Get("Authorization"), "the caller's request is not changed")
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"Bearer k", "Bearer k"}, got)
}
