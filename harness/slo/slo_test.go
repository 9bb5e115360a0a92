package slo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultReadsLikeThePromise(t *testing.T) {
	s := Default()
	assert.Equal(t, "TTFT p95 ≤ 500 ms, ITL p95 ≤ 50 ms, errors ≤ 1%", s.String())
	assert.Equal(t, "TTFT p95 ≤ 500 ms, ITL p95 ≤ 50 ms", s.Latencies())
	require.NoError(t, s.Validate("default"))
}

func TestLoad(t *testing.T) {
	write := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "slo.json")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	t.Run("fields given replace the default's", func(t *testing.T) {
		s, err := Load(write(t, `{"ttft": {"percentile": 99, "max_ms": 300}, "e2e": {"percentile": 99, "max_ms": 4000}, "itl": null}`))
		require.NoError(t, err)
		assert.Equal(t, &Objective{Percentile: 99, MaxMs: 300}, s.TTFT)
		assert.Nil(t, s.ITL)
		assert.Equal(t, &Objective{Percentile: 99, MaxMs: 4000}, s.E2E)
		assert.Equal(t, 1.0, s.MaxErrorPct)
	})
	t.Run("no file is the default", func(t *testing.T) {
		s, err := Load("")
		require.NoError(t, err)
		assert.Equal(t, Default(), s)
	})
	for _, c := range []struct{ name, body, want string }{
		{"typo at the top", `{"tfft": {"percentile": 95, "max_ms": 500}}`, `unknown field "tfft": valid are e2e, itl, max_error_pct, ttft`},
		{"typo inside", `{"ttft": {"percentile": 95, "max": 500}}`, `ttft: unknown field "max": valid are max_ms, percentile`},
		{"half an objective", `{"ttft": {"max_ms": 300}}`, `ttft: needs "percentile"`},
		{"percentile 100", `{"itl": {"percentile": 100, "max_ms": 50}}`, `itl: percentile 100: want above 0 and below 100`},
		{"negative bound", `{"e2e": {"percentile": 99, "max_ms": -1}}`, `e2e: max_ms -1: want a positive number`},
		{"error percent", `{"max_error_pct": 120}`, `max_error_pct 120: want a percentage`},
		{"a string for a number", `{"max_error_pct": "1"}`, `cannot unmarshal string`},
		{"nothing left", `{"ttft": null, "itl": null}`, `no objective left`},
		{"not an object", `[1]`, `want a JSON object`},
		{"text after", `{"max_error_pct": 2} {}`, `after top-level value`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(write(t, c.body))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "slo.json", "the error names the file")
		})
	}
	_, err := Load(filepath.Join(t.TempDir(), "absent.json"))
	assert.ErrorContains(t, err, "read SLO file")
}

func ok(ttft, itl time.Duration) Outcome {
	return Outcome{OK: true, TTFT: ttft, ITL: itl, E2E: ttft + 10*itl}
}

// many repeats an outcome n times.
func many(n int, o Outcome) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}

func TestCountAndDecide(t *testing.T) {
	s := Default()
	fast := ok(100*time.Millisecond, 10*time.Millisecond)
	slowITL := ok(100*time.Millisecond, 80*time.Millisecond)
	slowTTFT := ok(900*time.Millisecond, 10*time.Millisecond)
	for _, c := range []struct {
		name     string
		outs     []Outcome
		verdict  string
		binding  string
		goodPct  float64
		errorPct float64
	}{
		{"all met, enough requests to show 95%", many(80, fast), Pass, "ttft", 100, 0},
		{"all met, too few requests to show 95%", many(20, fast), Straddle, "ttft", 100, 0},
		{"ITL missed by a third", append(many(54, fast), many(26, slowITL)...), Fail, "itl", 67.5, 0},
		{"TTFT missed by a third", append(many(54, fast), many(26, slowTTFT)...), Fail, "ttft", 67.5, 0},
		{"a few misses straddle", append(many(76, fast), many(4, slowITL)...), Straddle, "itl", 95, 0},
		{"errors above the ceiling", append(many(78, fast), many(2, Outcome{})...), Fail, "errors", 97.5, 2.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			tally := s.Count(c.outs)
			d := s.Decide(tally)
			assert.Equal(t, c.verdict, d.Verdict)
			assert.Equal(t, c.binding, d.Binding)
			assert.InDelta(t, c.goodPct, tally.AttainmentPct(), 1e-9)
			assert.InDelta(t, c.errorPct, tally.ErrorPct(), 1e-9)
		})
	}
}

func TestTalliesAddUp(t *testing.T) {
	s := Default()
	a := s.Count(many(20, ok(time.Millisecond, time.Millisecond)))
	b := s.Count(append(many(119, ok(time.Millisecond, time.Millisecond)), Outcome{}))
	sum := a.Add(b)
	assert.Equal(t, Tally{Requests: 140, Failed: 1, Good: 139, Met: map[string]int{"ttft": 139, "itl": 139}}, sum)
	assert.Equal(t, Straddle, s.Decide(a).Verdict, "20 requests cannot show 95%")
	assert.Equal(t, Pass, s.Decide(sum).Verdict, "140 together can, one failure being under 1%")
}

// TestEveryFailedClassMissesAndCancelledIsLeftOut holds the tally to the request classes:
// a request that failed in any way, even one that streamed fast tokens before it was cut,
// stalled or came up short, meets no objective and counts as failed; one the run itself
// cancelled says nothing about the server and is not counted.
func TestEveryFailedClassMissesAndCancelledIsLeftOut(t *testing.T) {
	fast := func(err error) stream.Record {
		r := stream.Record{Sent: time.Unix(0, 0), Err: err, CompletionTokens: 8}
		for i := range 8 {
			r.Chunks = append(r.Chunks, stream.Chunk{Offset: 100*time.Millisecond + time.Duration(i)*10*time.Millisecond, Tokens: 1})
		}
		return r
	}
	fails := map[stream.Class]error{
		stream.HTTPError:   &stream.StatusError{Code: 500},
		stream.RateLimited: &stream.StatusError{Code: 429, RetryAfter: "1"},
		stream.ErrorEvent:  fmt.Errorf("%w: in-band error", stream.ErrServer),
		stream.Cut:         stream.ErrIncomplete,
		stream.Stalled:     fmt.Errorf("no byte for 5s: %w", stream.ErrStalled),
		stream.TimedOut:    stream.ErrRequestTimeout,
		stream.Truncated:   stream.ErrTruncated,
		stream.Malformed:   stream.ErrMalformed,
		stream.NoResponse:  stream.ErrNoResponse,
	}
	recs := []stream.Record{fast(nil), fast(nil), {Sent: time.Unix(0, 0)}} // two good, one tokenless
	for class, err := range fails {
		r := fast(err)
		require.Equal(t, class, r.Class())
		recs = append(recs, r)
	}
	cancelled := fast(fmt.Errorf("read: %w", context.Canceled))
	require.Equal(t, stream.Cancelled, cancelled.Class())
	recs = append(recs, cancelled, cancelled)

	tally := Default().CountRecords(recs)
	assert.Equal(t, 2+1+len(fails), tally.Requests, "cancelled requests are not counted")
	assert.Equal(t, 1+len(fails), tally.Failed, "tokenless and every failed class count as failed")
	assert.Equal(t, 2, tally.Good)
	assert.Equal(t, map[string]int{"ttft": 2, "itl": 2}, tally.Met, "a failed request meets no objective, however fast its tokens")
}
