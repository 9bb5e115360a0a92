package capacity

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fake is a target whose share of requests meeting the ITL objective at each level is
// met(level); TTFT is always met.
type fake struct {
	met      func(level float64, n int) float64
	requests int
	// saturated, invalid say which measurements the target saturates or the client
	// cannot drive.
	saturated func(level float64) bool
	invalid   func(level float64, n int) bool
	// throughput is output tokens/s at a level; queued the server's mean waiting requests.
	throughput func(level float64) float64
	queued     func(level float64) float64
	calls      map[float64]int
}

func (f *fake) measure(_ context.Context, level float64, n int) (Measurement, error) {
	if f.calls == nil {
		f.calls = map[float64]int{}
	}
	f.calls[level]++
	m := Measurement{Stop: "requests returned"}
	if f.saturated != nil && f.saturated(level) {
		m.Saturated, m.Stop = true, "backlog grew"
		return m, nil
	}
	if f.invalid != nil && f.invalid(level, n) {
		m.Invalid = "client-bound"
	}
	r := f.requests
	if r == 0 {
		r = 80
	}
	itl := int(math.Round(f.met(level, n) * float64(r)))
	m.Tally = slo.Tally{Requests: r, Good: itl, Met: map[string]int{"ttft": r, "itl": itl}}
	if f.throughput != nil {
		m.OutputTokenThroughput = f.throughput(level)
	}
	if f.queued != nil {
		q := f.queued(level)
		m.Queued = &q
	}
	return m, nil
}

// sharp meets every objective up to capacity and none above.
func sharp(capacity float64) func(float64, int) float64 {
	return func(level float64, _ int) float64 {
		if level <= capacity {
			return 1
		}
		return 0
	}
}

func users(f *fake) *Search {
	return &Search{Mode: results.UsersMode, Subject: "sim", SLO: slo.Default(), Start: 1, Ceiling: 512,
		MinStep: 1, RelStep: 0.05, Measure: f.measure}
}

func TestSearchFindsTheKneeWithinOneStep(t *testing.T) {
	for _, truth := range []float64{1, 7, 85, 189, 300} {
		f := &fake{met: sharp(truth)}
		s := users(f)
		c, err := s.Run(context.Background())
		require.NoError(t, err)
		assert.LessOrEqual(t, c.Value, truth, "never above the truth")
		assert.GreaterOrEqual(t, c.Value, truth-s.Step(truth), "within one step below it")
		assert.Greater(t, c.High+1, truth, "the interval holds the truth")
		assert.LessOrEqual(t, c.High-c.Low, s.Step(c.Value), "narrowed to the resolution")
		assert.Equal(t, "itl", c.Binding)
		assert.False(t, c.AtCeiling)
		for _, p := range c.Probes {
			assert.Equal(t, 1, p.Measurements, "a sharp target decides every level at once")
			assert.NotEmpty(t, p.Stop)
			if p.Level <= truth {
				assert.Equal(t, results.ProbePass, p.Verdict, "%g", p.Level)
			} else {
				assert.Equal(t, results.ProbeFail, p.Verdict, "%g", p.Level)
			}
		}
	}
}

func TestSentence(t *testing.T) {
	c, err := users(&fake{met: sharp(48)}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "sim serves 48 concurrent users (48–49) at TTFT p95 ≤ 500 ms, ITL p95 ≤ 50 ms; ITL binds first.", c.Sentence)

	c, err = users(&fake{met: sharp(1e9)}).Run(context.Background())
	require.NoError(t, err)
	assert.True(t, c.AtCeiling)
	assert.Equal(t, 512.0, c.Value)
	assert.Equal(t, "sim serves at least 512 concurrent users (the search's ceiling) at TTFT p95 ≤ 500 ms, ITL p95 ≤ 50 ms; nothing binds up to it.", c.Sentence)

	c, err = users(&fake{met: sharp(0)}).Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, c.Value)
	assert.Equal(t, "sim serves no load at TTFT p95 ≤ 500 ms, ITL p95 ≤ 50 ms: even 1 concurrent user does not meet it; ITL binds first.", c.Sentence)
}

func TestAStartAboveCapacityIsHalvedDown(t *testing.T) {
	f := &fake{met: sharp(5)}
	s := users(f)
	s.Start = 64
	c, err := s.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 5.0, c.Value)
	assert.Equal(t, 5.0, c.High)
}

func TestAStraddlingLevelIsMeasuredAgainNeverJudged(t *testing.T) {
	// At 40 users 94% of requests meet ITL: one measurement of 80 straddles 95%; pooled
	// with a second it still straddles; the third decides nothing either: undecided.
	// At 30, the first measurement straddles (78/80) and the second (80/80) decides.
	f := &fake{met: func(level float64, n int) float64 {
		switch {
		case level <= 20:
			return 1
		case level <= 32 && n == 1:
			return 78.0 / 80
		case level <= 32:
			return 1
		case level <= 40:
			return 0.94
		}
		return 0
	}}
	c, err := users(f).Run(context.Background())
	require.NoError(t, err)
	byLevel := map[float64]results.Probe{}
	for _, p := range c.Probes {
		byLevel[p.Level] = p
	}
	assert.Equal(t, 2, byLevel[32].Measurements)
	assert.Equal(t, results.ProbePass, byLevel[32].Verdict)
	assert.Equal(t, 160, byLevel[32].Requests, "requests of both measurements pooled")
	for level, p := range byLevel {
		if p.Verdict == results.ProbeUndecided {
			assert.Equal(t, 3, p.Measurements, "%g measured until the limit", level)
			assert.Contains(t, p.Stop, "undecided")
		}
		if level > 32 && level <= 40 {
			assert.Equal(t, results.ProbeUndecided, p.Verdict, "%g never counts as pass or fail", level)
		}
	}
	assert.GreaterOrEqual(t, c.Value, 32.0)
	assert.Less(t, c.Value, 40.0, "an undecided level never counts as a pass")
	assert.Greater(t, c.High, c.Low, "undecided levels widen the interval")
}

func TestSaturationBindsInRateMode(t *testing.T) {
	f := &fake{met: sharp(1e9), saturated: func(level float64) bool { return level > 100 }}
	s := &Search{Mode: results.RateMode, Arrivals: "poisson", Subject: "sim", SLO: slo.Default(), Start: 10, Ceiling: 10000,
		MinStep: 0.5, RelStep: 0.05, Measure: f.measure}
	c, err := s.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "saturated", c.Binding)
	assert.LessOrEqual(t, c.Value, 100.0)
	assert.GreaterOrEqual(t, c.Value, 95.0)
	assert.Greater(t, c.SaturatedAt, 100.0)
	assert.Contains(t, c.Sentence, "requests/s")
	assert.Contains(t, c.Sentence, "of poisson arrivals")
	assert.Contains(t, c.Sentence, "above it the backlog grows (saturated, not a latency figure)")
	for _, p := range c.Probes {
		if p.Saturated {
			assert.Equal(t, results.ProbeSaturated, p.Verdict)
			assert.Empty(t, p.Objectives, "no latency verdict for a saturated level")
		}
	}
}

func TestARateSaysWhereItSaturated(t *testing.T) {
	// 40 and 80/s pass, 160/s saturates; bisection finds ITL failing from just above 100/s.
	f := &fake{met: sharp(100), saturated: func(level float64) bool { return level > 150 }}
	s := &Search{Mode: results.RateMode, Arrivals: "constant", Subject: "sim", SLO: slo.Default(), Start: 40, Ceiling: 10000,
		MinStep: 0.5, RelStep: 0.05, Measure: f.measure}
	c, err := s.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "itl", c.Binding)
	assert.Equal(t, 160.0, c.SaturatedAt)
	assert.Contains(t, c.Sentence, "of constant arrivals at TTFT p95 ≤ 500 ms, ITL p95 ≤ 50 ms; ITL binds first; at 160 requests/s it saturated.")
}

// Requests queued at a rate the server keeps up with are not saturation: the sentence names
// the rate whose backlog grew, not the first with a queue.
func TestARateWithAQueueIsNotSaturated(t *testing.T) {
	f := &fake{met: sharp(100), saturated: func(level float64) bool { return level > 150 },
		queued: func(level float64) float64 { return level / 20 }}
	s := &Search{Mode: results.RateMode, Arrivals: "constant", Subject: "sim", SLO: slo.Default(), Start: 40, Ceiling: 10000,
		MinStep: 0.5, RelStep: 0.05, Measure: f.measure}
	c, err := s.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 160.0, c.SaturatedAt, "40/s queues 2 requests and passes")
	// In a closed loop the queue is the sign: the backlog cannot grow there.
	u := users(&fake{met: sharp(40), queued: func(level float64) float64 { return level / 16 }})
	c, err = u.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 16.0, c.SaturatedAt)
}

func TestAClientBoundMeasurementIsNotJudged(t *testing.T) {
	f := &fake{met: sharp(20), invalid: func(level float64, n int) bool { return level == 16 && n == 1 }}
	c, err := users(f).Run(context.Background())
	require.NoError(t, err)
	for _, p := range c.Probes {
		if p.Level == 16 {
			assert.Equal(t, 2, p.Measurements)
			assert.Equal(t, results.ProbePass, p.Verdict)
			assert.Equal(t, 80, p.Requests, "the client-bound measurement is not pooled")
			assert.Contains(t, p.Stop, "not judged: client-bound")
		}
	}
}

func TestKnee(t *testing.T) {
	f := &fake{met: sharp(1e9), throughput: func(level float64) float64 { return 10 * min(level, 40) }}
	s := users(f)
	s.Ceiling = 256
	c, err := s.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 32.0, c.Knee, "from 32 to 64 users throughput grew by a quarter: the knee is 32")
}

func TestMeasureErrorsStopTheSearch(t *testing.T) {
	s := users(&fake{})
	s.Measure = func(context.Context, float64, int) (Measurement, error) {
		return Measurement{}, errors.New("target gone")
	}
	_, err := s.Run(context.Background())
	assert.ErrorContains(t, err, "capacity probe at 1 users: target gone")
	s.Start = 0
	_, err = s.Run(context.Background())
	assert.ErrorContains(t, err, "want 0 < start")
}

// A search that an error stops mid-way (an interrupt, the deadline) returns the probes it
// measured, with the highest level shown to pass as a lower bound only.
func TestAStoppedSearchKeepsItsProbes(t *testing.T) {
	f := &fake{met: sharp(40)}
	s := users(f)
	inner := s.Measure
	s.Measure = func(ctx context.Context, level float64, n int) (Measurement, error) {
		if level > 16 {
			return Measurement{}, context.Canceled
		}
		return inner(ctx, level, n)
	}
	c, err := s.Run(context.Background())
	require.ErrorIs(t, err, context.Canceled)
	var levels []float64
	for _, p := range c.Probes {
		levels = append(levels, p.Level)
	}
	assert.Equal(t, []float64{1, 2, 4, 8, 16}, levels)
	assert.Equal(t, 16.0, c.Value)
	assert.Zero(t, c.High, "no upper bound was shown")
	assert.Contains(t, c.Sentence, "the search stopped after 5 probes")
	assert.Contains(t, c.Sentence, "16 users")
}
