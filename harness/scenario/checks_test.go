package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/stream"
)

// A point whose output length is left to the model records how, and flags the lengths that
// came out different; requests carry no ignore_eos. Under ignore_eos the shorter streams are
// failures (truncated): the server was told not to stop.
func TestNaturalOutputLengthIsRecordedAndItsVariationFlagged(t *testing.T) {
	var n, forced atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"ignore_eos"`) {
			forced.Add(1)
		}
		tokens := 3 + int(n.Add(1)%2)*2 // 5, 3, 5, 3, ...: the model stops where it likes
		for i := range tokens {
			fmt.Fprintf(w, "data: {\"choices\":[{\"delta\":{\"content\":\"t%d\"}}]}\n\n", i)
		}
		fmt.Fprintf(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n", tokens)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		method frameworks.OutputLength
		why    string
	}{
		{frameworks.Natural, "output length not held at 5 tokens ([3] seen): the length is left to the model here (natural)"},
		{frameworks.IgnoreEOS, "2 of 4 requests failed (truncated 2)"},
	} {
		t.Run(string(tc.method), func(t *testing.T) {
			forced.Store(0)
			r := &Runner{Target: Target{Framework: "fake", Model: "m", BaseURL: srv.URL, Dialect: stream.OpenAI, OutputLength: tc.method}, Nonce: "len"}
			res, err := r.RunPoint(context.Background(), Scenario{Name: "t", ResultName: "t"},
				Point{Name: "p", Concurrency: 1, OutputTokens: 5, Requests: 4, Prompts: English})
			require.NoError(t, err)
			assert.Equal(t, string(tc.method), res.OutputLengthMethod)
			assert.Equal(t, tc.method.Forced(), res.OutputLengthForced)
			assert.Equal(t, tc.method.Forced(), forced.Load() > 0, "ignore_eos is sent only when the method forces the length")
			require.NotEmpty(t, res.Warnings)
			assert.Contains(t, res.Warnings[0], tc.why)
			if tc.method.Forced() {
				assert.Equal(t, map[string]int{string(stream.Truncated): 2}, res.ErrorClasses)
				assert.False(t, res.OutputLengthVaried, "every request that succeeded had its 5 tokens")
			} else {
				assert.Empty(t, res.ErrorClasses)
				assert.True(t, res.OutputLengthVaried)
			}
		})
	}
}
