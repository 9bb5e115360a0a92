//go:build !vllm && !sglang && !ollama && !openai

package benchmarks

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/servegate/servegate/benchmarks/simtarget"
	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/hypothesis"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// simSuite makes a suite against a simulator whose handler is wrapped by middleware, with
// results in a temporary directory, and makes it the current one for the test.
func simSuite(t *testing.T, exact bool, middleware func(http.Handler) http.Handler) *suite {
	t.Helper()
	preset, err := models.Lookup(models.DefaultPreset)
	require.NoError(t, err)
	spec := targetSpec{name: "sim", exact: exact, start: func(ctx context.Context, s *suite) (scenario.Target, func() error, error) {
		p, err := sim.LookupProfile(sim.DefaultProfile)
		if err != nil {
			return scenario.Target{}, nil, err
		}
		s.profile = p.Name
		srv, err := sim.Start(sim.Config{Profile: p, Models: []string{preset.HF}, Middleware: middleware})
		if err != nil {
			return scenario.Target{}, nil, err
		}
		return simtarget.Of(srv, preset.HF), srv.Close, nil
	}}
	s := &suite{spec: spec, preset: preset, scale: scenario.Quick, ctx: context.Background(), nonce: "once", out: t.TempDir()}
	old := current
	current = s
	t.Cleanup(func() {
		current = old
		if s.writer != nil {
			assert.NoError(t, s.writer.Close())
		}
		if s.stop != nil {
			assert.NoError(t, s.stop())
		}
	})
	return s
}

// chats counts the chat requests a simulator served.
func chats(n *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/chat/completions") {
				n.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// make ci-bench runs the hypothesis gates and the scenarios in one go test: a point both
// need is measured once, with the trials the gate needs, and the gate decides on the same
// measurement the scenario test checks and writes. Counted where it cannot be argued with:
// the requests the simulator served.
func TestCIBenchMeasuresEachPointOnce(t *testing.T) {
	var served atomic.Int64
	s := simSuite(t, true, chats(&served))
	// As go test orders make ci-bench's selection: the gates' file sorts first.
	t.Run("TestHypothesisH1", func(t *testing.T) { runHypothesis(t, "H1") })
	t.Run("TestConcurrent", func(t *testing.T) { runScenario(t, "concurrent") })

	sc, err := scenario.Lookup("concurrent", scenario.Quick)
	require.NoError(t, err)
	hs, err := loadHypotheses()
	require.NoError(t, err)
	h1, err := hypothesis.Lookup(hs, "H1")
	require.NoError(t, err)
	want := 0
	trials := map[string]int{}
	for _, p := range sc.Points {
		trials[p.Name] = flagTrials.n
		if p.Name == "c1" || p.Name == "c64" { // H1's points
			trials[p.Name] = max(flagTrials.n, h1.Trials())
		}
		want += trials[p.Name] * (p.Warmup + p.Requests)
	}
	assert.Equal(t, int64(want), served.Load(), "every point measured once (warm-up included)")
	f, err := results.Read(s.writer.Path())
	require.NoError(t, err)
	require.Len(t, f.Results, len(sc.Points))
	for _, p := range f.Results {
		assert.Equal(t, trials[p.Point], p.Trials, p.Point)
	}
}

// testRecorder stands in for *testing.T to watch what checkPoint reports.
type testRecorder struct {
	errors, fatals []string
}

func (r *testRecorder) Helper()             {}
func (r *testRecorder) Logf(string, ...any) {}
func (r *testRecorder) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}
func (r *testRecorder) Fatalf(format string, a ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, a...))
}

// A point where two requests in three got HTTP 429 fails its test, with the errors by
// kind; at a floor it meets, it passes.
func TestSuccessBelowTheFloorFailsThePoint(t *testing.T) {
	var n atomic.Int64
	s := simSuite(t, false, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/chat/completions") && n.Add(1)%3 != 0 {
				http.Error(w, `{"error": "rate limited"}`, http.StatusTooManyRequests)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	sc := scenario.Scenario{Name: "floor", ResultName: "floor"}
	p := scenario.Point{Name: "p", Concurrency: 1, InputTokens: 64, OutputTokens: 4, Requests: 6, Prompts: scenario.Plain}
	res := s.measure(t, sc, p, 1)
	assert.InDelta(t, 100.0/3, res.Metrics["success_rate"], 1e-9)

	var rec testRecorder
	checkPoint(&rec, res)
	require.Len(t, rec.errors, 1, "%v", rec.errors)
	assert.Contains(t, rec.errors[0], "below the 99% floor")
	assert.Contains(t, rec.errors[0], "4 failed request(s)")
	assert.Contains(t, rec.errors[0], "4× ")
	assert.Contains(t, rec.errors[0], "429")
	assert.Empty(t, rec.fatals)

	old := *flagMinSuccess
	*flagMinSuccess = 30
	t.Cleanup(func() { *flagMinSuccess = old })
	rec = testRecorder{}
	checkPoint(&rec, res)
	assert.Empty(t, rec.errors, "a floor of 30% lets 33% through")
}
