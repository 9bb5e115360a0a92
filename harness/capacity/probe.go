package capacity

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/slo"
	"github.com/servegate/servegate/harness/stream"
)

// Driver measures the levels of a search against a target through a scenario runner:
// a closed loop of level users, or an open loop of level requests per second.
type Driver struct {
	Runner   *scenario.Runner
	Scenario scenario.Scenario
	// Shape is the point every level sends: prompt and output lengths, prompts, warm-up.
	Shape scenario.Point
	// Mode is results.UsersMode or results.RateMode; Arrivals names a rate's arrivals
	// (scenario.PoissonArrivals, scenario.ConstantArrivals).
	Mode, Arrivals string
	SLO            slo.SLO
	// MinRequests is the least requests a measurement sends; a closed loop sends at least
	// two per user, an open loop at least Window's worth of arrivals, so a backlog has time
	// to show.
	MinRequests int
	Window      time.Duration
	// RampPerUser starts a closed loop's users this far apart (scenario.Search).
	RampPerUser time.Duration
}

// MinRequests is the least requests that can show every objective of s met: with all of
// n requests meeting an objective of percentile q, the Wilson interval's lower end is
// n / (n + z²), at least q from n = z²·q / (1-q) (73 for p95, 381 for p99); a tenth more
// leaves room for a miss.
func MinRequests(s slo.SLO) int {
	const z2 = 1.959963984540054 * 1.959963984540054
	n := 1
	for _, o := range s.Objectives() {
		q := o.Percentile / 100
		n = max(n, int(math.Ceil(1.1*z2*q/(1-q))))
	}
	return n
}

// Point is the scenario point that measures level.
func (d *Driver) Point(level float64) scenario.Point {
	p := d.Shape
	if d.Mode == results.RateMode {
		p.Name = fmt.Sprintf("r%g", level)
		p.RequestRate, p.Arrivals, p.Concurrency = level, d.Arrivals, 0
		p.Requests = max(d.MinRequests, int(math.Ceil(level*d.Window.Seconds())))
		return p
	}
	p.Name = fmt.Sprintf("c%g", level)
	p.Concurrency = int(level)
	p.RampUp = time.Duration(p.Concurrency) * d.RampPerUser
	p.Requests = max(d.MinRequests, 2*p.Concurrency)
	return p
}

// Measure implements Search.Measure.
func (d *Driver) Measure(ctx context.Context, level float64, n int) (Measurement, error) {
	p := d.Point(level)
	var watch scenario.Watch
	if d.Mode == results.RateMode {
		b := &backlog{arrivals: time.Duration(float64(p.Requests) / level * float64(time.Second))}
		watch = b.check
	}
	tr, err := d.Runner.RunWatched(ctx, d.Scenario, p, n, watch)
	if err != nil {
		return Measurement{}, err
	}
	v := tr.Summary.Values
	m := Measurement{
		Tally: d.SLO.CountRecords(tr.Records), Invalid: tr.Client.Invalid,
		OutputTokenThroughput: v["output_token_throughput"], RequestThroughput: v["request_throughput"],
		P95TTFTMs: v["p95_ttft_ms"], P95ITLMs: v["p95_tpot_ms"],
		Stop: fmt.Sprintf("%d requests returned", len(tr.Records)),
	}
	if tpot := v["avg_tpot_ms"]; tpot > 0 {
		m.OutputTokensPerUser = 1000 / tpot
	}
	for c, n := range tr.Summary.Classes {
		if c != stream.Cancelled && n > 0 {
			if m.Classes == nil {
				m.Classes = map[string]int{}
			}
			m.Classes[string(c)] = n
		}
	}
	if q, ok := v["server_waiting_mean"]; ok {
		m.Queued = &q
	}
	if tr.Stopped != "" {
		m.Saturated = true
		m.Stop = fmt.Sprintf("stopped after %d of %d requests returned: %s", len(tr.Records), p.Requests, tr.Stopped)
	}
	return m, nil
}

// backlog watches an open loop for a backlog that grows through the arrivals: the target
// answers more slowly than requests arrive, so the requests in flight pile up and any
// latency measured says how long the queue has grown, not what the target does. Judged
// once, when the last request is due: over the second half of the arrivals, fewer than
// nine in ten as many requests returned as arrived, and the requests in flight grew by
// half and by more than two.
type backlog struct {
	arrivals time.Duration
	samples  []scenario.Progress
	judged   bool
}

func (b *backlog) check(p scenario.Progress) string {
	b.samples = append(b.samples, p)
	if b.judged || p.Elapsed < b.arrivals {
		return ""
	}
	b.judged = true
	at := func(d time.Duration) scenario.Progress {
		for _, s := range b.samples {
			if s.Elapsed >= d {
				return s
			}
		}
		return p
	}
	half := at(b.arrivals / 2)
	arrived, returned := p.Sent-half.Sent, p.Done-half.Done
	if arrived > 0 && float64(returned) < 0.9*float64(arrived) &&
		float64(p.InFlight()) >= 1.5*float64(half.InFlight()) && p.InFlight() > half.InFlight()+2 {
		return fmt.Sprintf("saturated: %d requests in flight halfway through the arrivals, %d at their end; %d of the %d that arrived in the second half returned",
			half.InFlight(), p.InFlight(), returned, arrived)
	}
	return ""
}
