package scenario

import (
	"fmt"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/servegate/servegate/harness/load"
	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/stream"
)

// Limits beyond which a point measured the client rather than the server.
const (
	// MaxSchedulerLag is the p99 lateness of the lag probe's timer in the client process.
	MaxSchedulerLag = 10 * time.Millisecond
	// ProbeEvery is how often the lag probe's timer fires. Its lateness says how late
	// goroutines ran whatever its period, but every firing wakes an idle process, and at
	// 1 ms that cost more than the streams themselves at concurrency 1 (client CPU per
	// token several times the probe-free figure, README's Performance); at 10 ms it is a
	// tenth of that, and a trial of seconds still gives hundreds of samples for its p99.
	ProbeEvery = 10 * time.Millisecond
	// MaxSendLag is the p99 delay between a request's scheduled and send times in an open
	// loop with no concurrency cap, where nothing but the client can delay a send.
	MaxSendLag = 10 * time.Millisecond
	// MinRateRatio is the least fraction of the target request rate the sends of an
	// uncapped open loop must achieve.
	MinRateRatio = 0.95
)

// ClientStats is what the client achieved while a trial ran.
type ClientStats struct {
	// CPUPercent is the process's CPU time over the trial as a percentage of all cores
	// (an in-process target's work is included).
	CPUPercent float64
	// SchedLagP99 is the p99 lateness of the probe's timer: how late goroutines ran.
	SchedLagP99 time.Duration
	// MaxInFlight is the most requests in flight; Wanted the concurrency asked for.
	MaxInFlight, Wanted int
	// SendRate is the achieved requests/s between first and last send; TargetRate the
	// schedule's (open loop only).
	SendRate, TargetRate float64
	// SendLagP99 is the p99 of send minus scheduled time.
	SendLagP99 time.Duration
	// Procs is GOMAXPROCS while the trial ran.
	Procs int
	// Invalid says why the point measured the client, not the server; empty when valid.
	Invalid string
}

// probe samples scheduler lag until stopped.
type probe struct {
	stop chan struct{}
	done chan []time.Duration
}

func startProbe(every time.Duration) *probe {
	p := &probe{stop: make(chan struct{}), done: make(chan []time.Duration, 1)}
	go func() {
		var lags []time.Duration
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			start := time.Now()
			t.Reset(every)
			select {
			case <-t.C:
				lags = append(lags, time.Since(start)-every)
			case <-p.stop:
				p.done <- lags
				return
			}
		}
	}()
	return p
}

func (p *probe) finish() []time.Duration {
	close(p.stop)
	return <-p.done
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	slices.Sort(xs)
	return time.Duration(metrics.Percentile(xs, 99))
}

// judgeClient measures what the client achieved in a trial and decides whether the trial
// measured the client instead of the server.
func judgeClient(p Point, rep load.Report, recs []stream.Record, lags []time.Duration, cpu, wall time.Duration) ClientStats {
	s := ClientStats{SchedLagP99: p99(lags), MaxInFlight: rep.MaxInFlight, Wanted: min(max(p.Concurrency, 1), len(recs)),
		Procs: runtime.GOMAXPROCS(0)}
	if wall > 0 {
		s.CPUPercent = 100 * cpu.Seconds() / wall.Seconds() / float64(min(runtime.NumCPU(), s.Procs))
	}
	var sendLags []time.Duration
	// The sends' span and the schedule's span are taken separately: goroutines do not start
	// in release order (Go often runs the newest first), so the first request sent need not
	// be the first scheduled.
	var first, last, schedFirst, schedLast time.Time
	for _, r := range recs {
		if r.Sent.IsZero() {
			continue
		}
		sendLags = append(sendLags, r.QueueDelay())
		if first.IsZero() || r.Sent.Before(first) {
			first = r.Sent
		}
		if r.Sent.After(last) {
			last = r.Sent
		}
		if schedFirst.IsZero() || r.Scheduled.Before(schedFirst) {
			schedFirst = r.Scheduled
		}
		if r.Scheduled.After(schedLast) {
			schedLast = r.Scheduled
		}
	}
	s.SendLagP99 = p99(sendLags)
	if n := len(sendLags); n > 1 && last.After(first) {
		s.SendRate = float64(n-1) / last.Sub(first).Seconds()
		if p.RequestRate > 0 && schedLast.After(schedFirst) {
			s.TargetRate = float64(n-1) / schedLast.Sub(schedFirst).Seconds()
		}
	}
	var why []string
	if s.SchedLagP99 > MaxSchedulerLag {
		why = append(why, fmt.Sprintf("goroutines ran %v late (p99 of the lag probe's timer; limit %v)", s.SchedLagP99.Round(time.Microsecond), MaxSchedulerLag))
	}
	failed := slices.ContainsFunc(recs, func(r stream.Record) bool { return !r.OK() })
	// Requests the server refuses at once return before others start, so a closed loop
	// with failures may never fill its slots through no fault of the client.
	if p.RequestRate <= 0 && !failed && s.MaxInFlight < s.Wanted {
		why = append(why, fmt.Sprintf("held %d of %d requests in flight", s.MaxInFlight, s.Wanted))
	}
	if p.RequestRate > 0 && p.Concurrency == 0 && s.SendLagP99 > MaxSendLag {
		why = append(why, fmt.Sprintf("sends lagged their schedule by %v (p99; limit %v)", s.SendLagP99.Round(time.Microsecond), MaxSendLag))
	}
	// With a concurrency cap, sends slowed by full slots are the server's doing.
	if p.Concurrency == 0 && s.TargetRate > 0 && s.SendRate < MinRateRatio*s.TargetRate {
		why = append(why, fmt.Sprintf("sent %.1f req/s of the %.1f scheduled", s.SendRate, s.TargetRate))
	}
	if len(why) > 0 {
		s.Invalid = "client-bound: " + why[0]
		for _, w := range why[1:] {
			s.Invalid += "; " + w
		}
	}
	return s
}
