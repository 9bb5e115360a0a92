package capacity

import (
	"testing"
	"time"

	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/slo"
	"github.com/stretchr/testify/assert"
)

// replay feeds a backlog the progress of arrivals at rate per second over 4 s, served at
// most serve per second after a latency, and returns what it said.
func replay(rate, serve float64, latency time.Duration) string {
	b := &backlog{arrivals: 4 * time.Second}
	for el := time.Duration(0); el <= 5*time.Second; el += scenario.WatchEvery {
		sec := el.Seconds()
		sent := int(rate * min(sec, 4))
		done := 0
		if t := sec - latency.Seconds(); t > 0 {
			done = min(int(rate*min(t, 4)), int(serve*t), sent)
		}
		if why := b.check(scenario.Progress{Elapsed: el, Sent: sent, Done: done}); why != "" {
			return why
		}
	}
	return ""
}

func TestBacklog(t *testing.T) {
	assert.Empty(t, replay(100, 1000, 800*time.Millisecond), "a long but steady latency is no backlog")
	assert.Empty(t, replay(100, 95, 200*time.Millisecond), "five percent short is within the noise")
	why := replay(200, 100, 200*time.Millisecond)
	assert.Contains(t, why, "saturated: ")
	assert.Contains(t, why, "in flight halfway through the arrivals")
}

func TestMinRequestsCanShowThePercentile(t *testing.T) {
	assert.Equal(t, 81, MinRequests(slo.Default()))
	s := slo.Default()
	s.E2E = &slo.Objective{Percentile: 99, MaxMs: 4000}
	n := MinRequests(s)
	assert.Equal(t, 419, n)
	d := s.Decide(slo.Tally{Requests: n, Good: n, Met: map[string]int{"ttft": n, "itl": n, "e2e": n}})
	assert.Equal(t, slo.Pass, d.Verdict, "every request meeting every objective decides at once")
}

func TestDriverPoints(t *testing.T) {
	d := &Driver{Shape: scenario.Point{InputTokens: 256, OutputTokens: 16, Prompts: scenario.Plain, Warmup: 1},
		Mode: results.UsersMode, MinRequests: 81, RampPerUser: 2 * time.Millisecond}
	p := d.Point(64)
	assert.Equal(t, "c64", p.Name)
	assert.Equal(t, 128*time.Millisecond, p.RampUp, "users start 2 ms apart")
	assert.Equal(t, 64, p.Concurrency)
	assert.Equal(t, 128, p.Requests, "two requests per user")
	assert.Equal(t, 81, d.Point(4).Requests, "at least the requests that can show the percentile")
	d.Mode, d.Arrivals, d.Window = results.RateMode, scenario.ConstantArrivals, 4*time.Second
	p = d.Point(50)
	assert.Equal(t, "r50", p.Name)
	assert.Equal(t, 200, p.Requests, "four seconds of arrivals")
	assert.Equal(t, 0, p.Concurrency, "an open loop without a cap")
	assert.Equal(t, scenario.ConstantArrivals, p.Arrivals)
}
