package load

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// work stands in for a request that takes d to serve.
func work(d time.Duration) { <-time.After(d) }

func TestClosedLoopHoldsConcurrency(t *testing.T) {
	for _, c := range []int{1, 4, 16} {
		var cur, peak atomic.Int64
		var seen sync.Map
		rep := ClosedLoop{Concurrency: c}.Run(context.Background(), 10*c, func(ctx context.Context, i int, scheduled time.Time) {
			n := cur.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			_, dup := seen.LoadOrStore(i, true)
			assert.False(t, dup, "request %d sent twice", i)
			work(500 * time.Microsecond)
			cur.Add(-1)
		})
		assert.Equal(t, int64(c), peak.Load(), "concurrency %d", c)
		assert.Equal(t, c, rep.MaxInFlight)
		assert.Equal(t, 10*c, rep.Dispatched)
	}
}

func TestClosedLoopRampsUp(t *testing.T) {
	var mu sync.Mutex
	first := map[int]time.Time{} // each worker's first request, by index order
	all := make(chan struct{})   // closed when every worker has sent
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep := ClosedLoop{Concurrency: 4, RampUp: 40 * time.Millisecond}.Run(ctx, 4, func(ctx context.Context, i int, scheduled time.Time) {
		mu.Lock()
		first[i] = scheduled
		if len(first) == 4 {
			close(all)
		}
		mu.Unlock()
		// Hold the worker until all have sent, so no worker takes another's request
		// and each request is a different worker's first.
		select {
		case <-all:
		case <-ctx.Done():
		}
	})
	require.Len(t, first, 4)
	var offsets []time.Duration
	for _, at := range first {
		offsets = append(offsets, at.Sub(rep.Start))
	}
	slices.Sort(offsets)
	for w, off := range offsets {
		assert.GreaterOrEqual(t, off, time.Duration(w)*10*time.Millisecond, "worker %d starts a quarter of the ramp after the one before", w)
	}
}

func TestClosedLoopStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var sent atomic.Int64
	rep := ClosedLoop{Concurrency: 2}.Run(ctx, 1000, func(ctx context.Context, i int, _ time.Time) {
		if sent.Add(1) == 10 {
			cancel()
		}
	})
	assert.Less(t, rep.Dispatched, 1000)
}

func TestScheduleSpansExactlyNOverRate(t *testing.T) {
	for _, burst := range []float64{0.5, 1, 4} {
		o := Poisson{Rate: 50, Burstiness: burst, Seed: 7}
		s, err := o.Offsets(1000)
		require.NoError(t, err)
		require.Len(t, s, 1000)
		assert.Equal(t, time.Duration(0), s[0])
		for i := 1; i < len(s); i++ {
			require.GreaterOrEqual(t, s[i], s[i-1])
		}
		// The gaps are rescaled to sum to n/rate, so the mean rate is exact; the schedule's
		// last release comes one mean gap or so before the 20 s mark.
		assert.Less(t, s[len(s)-1], 20*time.Second)
		assert.Greater(t, s[len(s)-1], 19*time.Second)
		again, _ := o.Offsets(1000)
		assert.Equal(t, s, again, "same seed, same schedule")
	}
}

func TestScheduleBurstiness(t *testing.T) {
	// The coefficient of variation of gamma gaps with shape k is 1/√k: 1 for Poisson.
	cv := func(burst float64) float64 {
		s, err := Poisson{Rate: 100, Burstiness: burst, Seed: 3}.Offsets(20001)
		require.NoError(t, err)
		var sum, ss float64
		gaps := make([]float64, len(s)-1)
		for i := range gaps {
			gaps[i] = float64(s[i+1] - s[i])
			sum += gaps[i]
		}
		mean := sum / float64(len(gaps))
		for _, g := range gaps {
			ss += (g - mean) * (g - mean)
		}
		return math.Sqrt(ss/float64(len(gaps))) / mean
	}
	assert.InDelta(t, 1, cv(1), 0.05)
	assert.InDelta(t, math.Sqrt(4), cv(0.25), 0.15)
	assert.InDelta(t, 0.5, cv(4), 0.05)
}

func TestScheduleRejectsBadRates(t *testing.T) {
	for _, o := range []Arrivals{Poisson{Rate: 0}, Poisson{Rate: -1}, Poisson{Rate: math.Inf(1)}, Poisson{Rate: 1, Burstiness: -2},
		Constant{Rate: 0}, Constant{Rate: math.NaN()}} {
		_, err := o.Offsets(10)
		assert.Error(t, err, "%+v", o)
	}
	rep := OpenLoop{}.Run(context.Background(), 3, func(context.Context, int, time.Time) { t.Error("released without arrivals") })
	assert.Zero(t, rep.Dispatched)
}

func TestConstantArrivalsAreEvenlySpaced(t *testing.T) {
	s, err := Constant{Rate: 4}.Offsets(5)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second}, s)
}

func TestOpenLoopHoldsRate(t *testing.T) {
	const n, rate = 100, 200.0
	o := OpenLoop{Arrivals: Poisson{Rate: rate, Seed: 1}}
	sched, err := o.Arrivals.Offsets(n)
	require.NoError(t, err)
	var mu sync.Mutex
	sent := make([]time.Time, n)
	due := make([]time.Time, n)
	rep := o.Run(context.Background(), n, func(ctx context.Context, i int, scheduled time.Time) {
		mu.Lock()
		sent[i], due[i] = time.Now(), scheduled
		mu.Unlock()
	})
	for i := range sent {
		assert.False(t, sent[i].Before(due[i]), "request %d released before its time", i)
		assert.Equal(t, rep.Start.Add(sched[i]), due[i])
	}
	achieved := float64(n-1) / sent[n-1].Sub(sent[0]).Seconds()
	expected := float64(n-1) / (sched[n-1] - sched[0]).Seconds()
	assert.InEpsilon(t, expected, achieved, 0.1, "achieved %.1f req/s", achieved)
}

func TestOpenLoopCapsInFlightAndShowsTheWait(t *testing.T) {
	var cur, peak atomic.Int64
	rep := OpenLoop{Arrivals: Poisson{Rate: 5000, Seed: 2}, MaxConcurrency: 3}.Run(context.Background(), 60, func(ctx context.Context, i int, scheduled time.Time) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		work(2 * time.Millisecond)
		cur.Add(-1)
	})
	assert.LessOrEqual(t, peak.Load(), int64(3))
	assert.Equal(t, 3, rep.MaxInFlight)
	assert.Equal(t, 60, rep.Dispatched)
	// 60 requests due within 12 ms but served 3 at a time for 2 ms each: the last waits ~30 ms.
	assert.Greater(t, rep.MaxDispatchLag, 10*time.Millisecond)
}
