package sim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request's truth starts when its first byte reached the simulator, not when a busy
// server got round to handling it, and each request on a kept-alive connection is dated
// by its own bytes.
func TestTruthDatesRequestsByTheirFirstByte(t *testing.T) {
	const stall = 20 * time.Millisecond
	s, err := Start(Config{Profile: Profiles()["batching"], Middleware: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-time.After(stall) // a server busy with other requests
			h.ServeHTTP(w, r)
		})
	}})
	require.NoError(t, err)
	defer s.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var prev RequestTruth
	for i, id := range []string{"first", "second", "third"} {
		body := `{"model":"sim-model","stream":true,"max_tokens":3,"messages":[{"role":"user","content":"hi"}]}`
		req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/chat/completions", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Request-Id", id)
		var reused bool
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		sent := time.Now()
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		truth, err := s.Truth(context.Background(), id)
		require.NoError(t, err)
		require.False(t, truth.Received.IsZero())
		assert.False(t, truth.Received.Before(sent), "%s: received before it was sent", id)
		assert.GreaterOrEqual(t, truth.Arrived.Sub(truth.Received), stall, "%s: the stall lies between receipt and handling", id)
		assert.Equal(t, truth.Emitted[0].At.Sub(truth.Received), truth.TTFT())
		if i > 0 {
			require.True(t, reused, "%s: on the previous request's connection", id)
			assert.True(t, truth.Received.After(prev.Finished), "%s: dated by its own bytes, not the previous request's", id)
		}
		prev = truth
	}
}
