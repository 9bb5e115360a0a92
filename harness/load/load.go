// Package load drives requests at a target: a closed loop that keeps a fixed number of
// requests in flight, or an open loop whose arrivals follow a schedule (Poisson,
// gamma-bursty or constant: Arrivals, tested on their schedules alone) with an optional cap
// on requests in flight. Every request is handed its scheduled time, so time spent waiting
// for a slot is measured, not hidden.
package load

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Func sends request i. scheduled is when the load model wanted it sent; the function
// records its own send time.
type Func func(ctx context.Context, i int, scheduled time.Time)

// Pattern is how requests are released.
type Pattern interface {
	// Run calls do for requests 0..n-1 and returns when all have returned or ctx is done.
	Run(ctx context.Context, n int, do Func) Report
}

// Report is what the load generator observed about itself.
type Report struct {
	// Start is when the first request was due; End when the last returned.
	Start, End time.Time
	// MaxInFlight is the most requests that were inside do at once.
	MaxInFlight int
	// Dispatched counts requests released.
	Dispatched int
	// MaxDispatchLag is the longest a request was released after its scheduled time
	// (open loop; includes slot waits under MaxConcurrency).
	MaxDispatchLag time.Duration
}

// gauge tracks requests in flight.
type gauge struct {
	cur, peak atomic.Int64
}

func (g *gauge) inc() {
	c := g.cur.Add(1)
	for {
		p := g.peak.Load()
		if c <= p || g.peak.CompareAndSwap(p, c) {
			return
		}
	}
}

func (g *gauge) dec() { g.cur.Add(-1) }

// ClosedLoop keeps Concurrency requests in flight: each worker sends its next request as
// soon as its previous one returns. A request is scheduled when its worker frees up.
// RampUp starts the workers evenly over that long rather than all at once: requests of
// equal length that start together end together, and a server then sees waves (all
// prompts at once, then only decoding) instead of users at their own phases.
type ClosedLoop struct {
	Concurrency int
	RampUp      time.Duration
}

// Run implements Pattern.
func (c ClosedLoop) Run(ctx context.Context, n int, do Func) Report {
	workers := max(1, min(c.Concurrency, n))
	var next atomic.Int64
	var g gauge
	var wg sync.WaitGroup
	rep := Report{Start: time.Now()}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if delay := c.RampUp * time.Duration(w) / time.Duration(workers); delay > 0 {
				t := time.NewTimer(time.Until(rep.Start.Add(delay)))
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return
				}
			}
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				g.inc()
				do(ctx, i, time.Now())
				g.dec()
			}
		}()
	}
	wg.Wait()
	rep.End = time.Now()
	rep.MaxInFlight = int(g.peak.Load())
	rep.Dispatched = min(int(next.Load()), n)
	return rep
}

// Arrivals say when each request of an open loop is due: vegeta's pacer idea, with the
// whole schedule drawn before the first request so a run can be repeated exactly.
type Arrivals interface {
	// Offsets returns the release offset of each of n requests from the start, in order.
	Offsets(n int) ([]time.Duration, error)
	// PerSecond is the mean rate.
	PerSecond() float64
}

func checkRate(rate float64) error {
	if rate <= 0 || math.IsInf(rate, 0) || math.IsNaN(rate) {
		return fmt.Errorf("open loop: rate must be a positive number of requests per second, got %v", rate)
	}
	return nil
}

// Poisson arrivals at Rate per second: inter-arrival gaps drawn once from a gamma
// distribution of shape Burstiness (1 or 0 is a Poisson process, below 1 burstier, above 1
// smoother), rescaled so the whole schedule spans exactly n/Rate seconds, as vLLM's
// benchmark does to remove seed noise from the achieved rate.
type Poisson struct {
	Rate       float64
	Burstiness float64
	Seed       uint64
}

// PerSecond implements Arrivals.
func (p Poisson) PerSecond() float64 { return p.Rate }

// Offsets implements Arrivals.
func (p Poisson) Offsets(n int) ([]time.Duration, error) {
	if err := checkRate(p.Rate); err != nil {
		return nil, err
	}
	shape := p.Burstiness
	if shape == 0 {
		shape = 1
	}
	if shape < 0 {
		return nil, fmt.Errorf("open loop: burstiness must be positive, got %v", shape)
	}
	if n <= 0 {
		return nil, nil
	}
	// Gamma(shape k, rate k·λ) has mean 1/λ; k = 1 is the exponential of a Poisson process.
	dist := distuv.Gamma{Alpha: shape, Beta: shape * p.Rate, Src: rand.NewPCG(p.Seed, 0x5e77e)}
	gaps := make([]float64, n)
	var sum float64
	for i := range gaps {
		gaps[i] = dist.Rand()
		sum += gaps[i]
	}
	scale := float64(n) / p.Rate / sum
	out := make([]time.Duration, n)
	var at float64
	for i := range gaps {
		out[i] = time.Duration(at * float64(time.Second))
		at += gaps[i] * scale
	}
	return out, nil
}

// Constant arrivals: one request every 1/Rate seconds, the first at once.
type Constant struct {
	Rate float64
}

// PerSecond implements Arrivals.
func (c Constant) PerSecond() float64 { return c.Rate }

// Offsets implements Arrivals.
func (c Constant) Offsets(n int) ([]time.Duration, error) {
	if err := checkRate(c.Rate); err != nil {
		return nil, err
	}
	out := make([]time.Duration, max(n, 0))
	for i := range out {
		out[i] = time.Duration(float64(i) / c.Rate * float64(time.Second))
	}
	return out, nil
}

// OpenLoop releases requests when Arrivals says they are due, whether or not earlier ones
// have returned. MaxConcurrency, if set, caps requests in flight: a due request waits for
// a slot and its queue time shows in the gap between its scheduled and send times.
type OpenLoop struct {
	Arrivals       Arrivals
	MaxConcurrency int
}

// Schedule returns the release offset of each of n requests from the start, as Arrivals
// draws them.
func (o OpenLoop) Schedule(n int) ([]time.Duration, error) {
	if o.Arrivals == nil {
		return nil, fmt.Errorf("open loop: no arrivals")
	}
	return o.Arrivals.Offsets(n)
}

// Run implements Pattern. Bad arrivals release nothing; check Schedule first.
func (o OpenLoop) Run(ctx context.Context, n int, do Func) Report {
	sched, err := o.Schedule(n)
	if err != nil {
		now := time.Now()
		return Report{Start: now, End: now}
	}
	return Scheduled{Offsets: sched, MaxConcurrency: o.MaxConcurrency}.Run(ctx, n, do)
}

// Scheduled releases requests at given offsets from its start: a share of an OpenLoop's
// schedule, as one shard of several sends it. MaxConcurrency, if set, caps requests in
// flight as OpenLoop's does.
type Scheduled struct {
	Offsets        []time.Duration
	MaxConcurrency int
}

// Run implements Pattern for the first n offsets.
func (o Scheduled) Run(ctx context.Context, n int, do Func) Report {
	sched := o.Offsets[:min(n, len(o.Offsets))]
	rep := Report{Start: time.Now()}
	var slots chan struct{}
	if o.MaxConcurrency > 0 {
		slots = make(chan struct{}, o.MaxConcurrency)
	}
	var g gauge
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := rep.Start
loop:
	for i, off := range sched {
		due := start.Add(off)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break loop
			}
		}
		if slots != nil {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
		}
		if lag := time.Since(due); lag > rep.MaxDispatchLag {
			rep.MaxDispatchLag = lag
		}
		rep.Dispatched++
		wg.Add(1)
		g.inc()
		go func(i int, due time.Time) {
			defer wg.Done()
			do(ctx, i, due)
			g.dec()
			if slots != nil {
				<-slots
			}
		}(i, due)
	}
	wg.Wait()
	rep.End = time.Now()
	rep.MaxInFlight = int(g.peak.Load())
	return rep
}
