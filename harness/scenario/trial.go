package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/harness/load"
	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/shard"
	"github.com/servegate/servegate/harness/stream"
)

func (r *Runner) client(concurrency int) *stream.Client {
	timeout := r.RequestTimeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	return &stream.Client{
		HTTP:            stream.Authorize(stream.NewHTTPClient(max(concurrency, 1)), r.Target.Authorization),
		BaseURL:         r.Target.BaseURL,
		Dialect:         r.Target.Dialect,
		Model:           r.Target.Model,
		ContinuousUsage: r.Target.ContinuousUsage,
		KeepLoaded:      r.Target.KeepLoaded,
		StallTimeout:    r.StallTimeout,
		RequestTimeout:  timeout,
	}
}

// openConnections fills the client's pool with n connections by sending n concurrent
// health requests, so the measured requests reuse them instead of dialling.
func (r *Runner) openConnections(ctx context.Context, c *stream.Client, n int) error {
	if r.Target.HealthPath == "" || n < 1 {
		return nil
	}
	url := strings.TrimSuffix(r.Target.BaseURL, "/") + r.Target.HealthPath
	ctx, cancel := context.WithTimeout(ctx, r.probeTimeout())
	defer cancel()
	errs := make(chan error, n)
	for range n {
		go func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				errs <- err
				return
			}
			resp, err := c.HTTP.Do(req)
			if err != nil {
				errs <- fmt.Errorf("open connections: GET %s: %w", url, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			errs <- nil
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// checkTokenizer compares what the server counted for a request's messages (its usage
// prompt tokens) with what its tokenizer endpoint counts for them. They differ where the
// request path renders the chat otherwise than the endpoint does: vLLM renders gpt-oss's
// chats through Harmony and /tokenize through the chat template. The difference is
// logged, kept for every later fit (changed is true when it moved) and recorded in each
// point's results (prompt_tokens_correction).
func (r *Runner) checkTokenizer(ctx context.Context, msgs []stream.Message, served int, tag string, trial int) (changed bool, err error) {
	if r.Target.Tokenize == nil || served <= 0 {
		return false, nil
	}
	n, err := r.Target.Tokenize(ctx, msgs)
	if err != nil {
		return false, fmt.Errorf("count the warm-up's prompt with the server's tokenizer: %w", err)
	}
	off := served - n
	if off == r.countOffset {
		return false, nil
	}
	r.logf("  %s trial %d: the server counted %d prompt tokens for a request its tokenizer endpoint counts as %d: "+
		"the request path renders the chat differently; prompts are fitted %+d tokens from the tokenizer's count from now on",
		tag, trial, served, n, off)
	r.countOffset = off
	return true, nil
}

// Trial is the outcome of one trial of a point.
type Trial struct {
	Records []stream.Record
	// Summary holds every figure of the trial: those computed from Records and Extra.
	Summary metrics.Summary
	// Indices number Records within the point's load: 0..len-1, or a shard's share.
	Indices []int
	// Start is when the measured load started (for shards, the instant they share).
	Start time.Time
	// Extra are the figures not computed from the requests: the client's own, the GPU's
	// and the server's. The records file keeps them on the trial's line.
	Extra  map[string]float64
	Load   load.Report
	Client ClientStats
	// Warnings are disagreements between the server's account and the client's.
	Warnings []string
	// GPUs are each sampled device's figures over the trial.
	GPUs []results.GPUFigures
	// InputTokens is the prompt length the trial aimed at: the point's InputTokens, or,
	// for prompts of their natural length (prefix, English, Korean), their mean length as
	// the target counts them before sending.
	InputTokens int
	// Stopped is why a watch stopped the trial before every request returned; the
	// requests it cut off are not in Records.
	Stopped string
}

// stopCause says why ctx ended: its error (so errors.Is finds context.Canceled or
// DeadlineExceeded) with its cause where that says more ("interrupt signal received").
func stopCause(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || errors.Is(cause, err) {
		return err
	}
	return fmt.Errorf("%w: %v", err, cause)
}

// Progress is how far a trial's measured requests have got, as a Watch sees it.
type Progress struct {
	// Elapsed is the time since the first request was due.
	Elapsed time.Duration
	// Sent requests were released to the target; Done of them returned.
	Sent, Done int
}

// InFlight is the requests released and not yet returned.
func (p Progress) InFlight() int { return p.Sent - p.Done }

// Watch looks at a trial while it runs, every WatchEvery; an answer other than "" stops
// the trial there, and is its Stopped.
type Watch func(Progress) string

// WatchEvery is how often a Watch is asked.
const WatchEvery = 50 * time.Millisecond

// RunTrial runs one trial of point p: warm-up, then the measured requests. A trial the
// context stops part-way returns the records of the requests it sent (those the run
// cancelled have class cancelled) with the error, so what was measured is kept.
func (r *Runner) RunTrial(ctx context.Context, sc Scenario, p Point, trial int) (Trial, error) {
	return r.RunWatched(ctx, sc, p, trial, nil)
}

// RunWatched runs one trial of p as RunTrial does, asking stopWhen (when not nil) while the
// measured requests run whether to stop: a capacity probe stops when the backlog shows the
// target saturated. Requests a stop cuts off are dropped, not counted as failures.
func (r *Runner) RunWatched(ctx context.Context, sc Scenario, p Point, trial int, stopWhen Watch) (Trial, error) {
	tag := sc.Name + "-" + p.Name
	share, err := r.share(p, trial)
	if err != nil {
		return Trial{}, fmt.Errorf("%s: %w", tag, err)
	}
	sharded := !r.Shard.Whole()
	if r.Target.ResetCache != nil && r.Shard.Index == 0 {
		if err := r.Target.ResetCache(ctx); err != nil {
			return Trial{}, fmt.Errorf("%s trial %d: %w", tag, trial, err)
		}
	}
	step := shard.Step{Point: sc.ResultName + "/" + p.Name, Trial: trial}
	if sharded {
		if _, err := r.lineUp(ctx, step); err != nil {
			return Trial{}, err
		}
	}
	ks := make([]int, 0, p.Warmup+len(share.requests))
	for k := range p.Warmup {
		ks = append(ks, k)
	}
	for _, j := range share.requests {
		ks = append(ks, p.Warmup+j)
	}
	jobs, err := r.prompts(ctx, p, trial, ks, tag)
	if err != nil {
		return Trial{}, fmt.Errorf("%s: %w", tag, err)
	}
	aim := r.aimedLength(p, jobs[p.Warmup:])
	c := r.client(share.point.Concurrency)
	defer c.HTTP.CloseIdleConnections()
	send := func(ctx context.Context, j job, rec *stream.Record) {
		rec.PromptChars = j.chars
		c.Stream(ctx, j.req, rec)
	}
	if err := r.openConnections(ctx, c, share.point.Concurrency); err != nil {
		return Trial{}, fmt.Errorf("%s: %w", tag, err)
	}
	var warns []string
	template := -1
	if measuresText(p) && len(jobs) > 0 {
		n, err := r.templateTokens(ctx, c, jobs[0])
		if err != nil {
			warns = append(warns, err.Error()+": input_content_tokens_per_char is left out")
		} else {
			template = n
		}
	}
	// Where prompt lengths are an estimate, each warm-up's server-reported count shows how
	// far this point's prompts land from the target: the requests after it (they share its
	// shape) are refitted by that much, one correction step per warm-up.
	fitTo := p.InputTokens
	for i := 0; i < p.Warmup; i++ {
		var rec stream.Record
		w := jobs[i]
		w.req.MaxTokens = min(w.req.MaxTokens, 16)
		send(ctx, w, &rec)
		if err := ctx.Err(); err != nil {
			return Trial{}, fmt.Errorf("%s trial %d interrupted during warm-up: %w", tag, trial, stopCause(ctx))
		}
		if rec.Err != nil {
			// The measured requests will show whether the server serves; a warm-up that
			// failed only prepared them less well.
			warns = append(warns, fmt.Sprintf("warm-up request %d failed (%s): %v", i+1, rec.Class(), rec.Err))
			r.logf("  %s trial %d: warm-up request %d failed (%s): %v", tag, trial, i+1, rec.Class(), rec.Err)
			continue
		}
		if i == 0 {
			changed, err := r.checkTokenizer(ctx, w.req.Messages, rec.PromptTokens, tag, trial)
			if err != nil {
				return Trial{}, fmt.Errorf("%s: %w", tag, err)
			}
			if changed && p.Prompts != English && p.Prompts != Korean {
				refit, err := r.prompts(ctx, p, trial, ks[1:], tag)
				if err != nil {
					return Trial{}, fmt.Errorf("%s: refit prompts after the tokenizer's correction: %w", tag, err)
				}
				copy(jobs[1:], refit)
			}
		}
		if off := rec.PromptTokens - p.InputTokens; r.Target.CountTolerance > 0 && p.Prompts == Plain &&
			p.InputTokens > 0 && rec.PromptTokens > 0 && off != 0 {
			q := p
			fitTo -= off
			q.InputTokens = fitTo
			refit, err := r.prompts(ctx, q, trial, ks[i+1:], tag)
			if err != nil {
				return Trial{}, fmt.Errorf("%s: refit prompts to %d estimated tokens: %w", tag, fitTo, err)
			}
			r.logf("  %s trial %d: the server counted %d prompt tokens for a %d-token warm-up; later prompts refitted", tag, trial, rec.PromptTokens, p.InputTokens)
			copy(jobs[i+1:], refit)
		}
	}
	measured := jobs[p.Warmup:]
	var before counters
	if !sharded { // the server's counters count every shard's requests
		if before, err = r.scrape(ctx); err != nil {
			return Trial{}, fmt.Errorf("%s: %w", tag, err)
		}
	}
	// Collect garbage less often while measuring: a collection in the middle of a burst of
	// chunks delays their timestamps (as gc.freeze does for vLLM's client).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	recs := make([]stream.Record, len(measured))
	pattern := share.pattern
	var done, sent atomic.Int64
	stop := make(chan struct{})
	every := r.Progress
	if every == 0 {
		every = 10 * time.Second
	}
	var watch *gauges
	if before != nil {
		every := r.Target.MetricsInterval
		if every == 0 {
			every = time.Second
		}
		watch = r.watch(ctx, every)
	}
	if r.ClientProcs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(r.ClientProcs))
	}
	start := time.Now()
	if sharded {
		step.Load = true
		if start, err = r.lineUp(ctx, step); err != nil {
			return Trial{}, err
		}
	}
	probeEvery := r.ProbeEvery
	if probeEvery <= 0 {
		probeEvery = ProbeEvery
	}
	lagProbe := startProbe(probeEvery)
	cpu0, wall0 := cpuTime(), time.Now()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var stopped string
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(every)
		defer t.Stop()
		var w <-chan time.Time
		if stopWhen != nil {
			wt := time.NewTicker(WatchEvery)
			defer wt.Stop()
			w = wt.C
		}
		for {
			select {
			case <-t.C:
				r.logf("  %s trial %d: %d/%d requests done", tag, trial, done.Load(), len(recs))
			case <-w:
				if why := stopWhen(Progress{Elapsed: time.Since(wall0), Sent: int(sent.Load()), Done: int(done.Load())}); why != "" {
					stopped = why
					stopLoad()
					return
				}
			case <-stop:
				return
			}
		}
	}()
	rep := pattern.Run(loadCtx, len(measured), func(ctx context.Context, i int, scheduled time.Time) {
		recs[i].Scheduled = scheduled
		sent.Add(1)
		send(ctx, measured[i], &recs[i])
		done.Add(1)
	})
	close(stop)
	<-watched
	indices := share.requests
	if stopped != "" && ctx.Err() == nil {
		r.logf("  %s trial %d stopped after %d of %d requests: %s", tag, trial, done.Load(), len(recs), stopped)
		recs, indices = keep(recs, indices, func(rec *stream.Record) bool {
			return !(rec.Sent.IsZero() && rec.Err == nil || errors.Is(rec.Err, context.Canceled))
		})
	}
	cpu := cpuTime() - cpu0
	client := judgeClient(share.point, rep, recs, lagProbe.finish(), cpu, time.Since(wall0))
	if err := ctx.Err(); err != nil {
		if watch != nil {
			watch.finish(map[string]float64{})
		}
		// The requests the run never sent are no part of the trial.
		kept, indices := keep(recs, indices, func(rec *stream.Record) bool { return !rec.Sent.IsZero() || rec.Err != nil })
		extra := clientFigures(client, cpu)
		sum := metrics.Compute(kept)
		maps.Copy(sum.Values, extra)
		return Trial{Records: kept, Indices: indices, Start: start, Summary: sum, Extra: extra, Load: rep, Client: client, Warnings: warns, InputTokens: aim},
			fmt.Errorf("%s trial %d interrupted after %d of %d requests: %w", tag, trial, done.Load(), len(measured), stopCause(ctx))
	}
	sum := metrics.Compute(recs)
	var gpus []results.GPUFigures
	extra := map[string]float64{}
	if r.GPU != nil {
		f := gpu.Summarize(r.GPU.Samples(wall0, time.Now()), int(sum.Values["total_output_tokens"]))
		if f.Samples > 0 {
			gpus = f.Devices
			extra["gpu_memory_peak_mb"] = f.PeakMemoryMB
			extra["gpu_memory_mean_mb"] = f.MeanMemoryMB
			if f.HasUtil {
				extra["gpu_utilization_mean_pct"] = f.MeanUtilPct
			}
			extra["gpu_server_memory_peak_mb"] = f.PeakProcessMemoryMB
			if f.EnergyJ > 0 {
				extra["gpu_energy_j"] = f.EnergyJ
				extra["gpu_joules_per_output_token"] = f.JoulesPerToken
			}
		}
	}
	if template >= 0 {
		extra["template_tokens"] = float64(template)
		if v, ok := metrics.ContentTokensPerChar(recs, template); ok {
			extra["input_content_tokens_per_char"] = v
		}
	}
	if before != nil {
		if after, err := r.scrape(ctx); err != nil {
			// A server that died mid-trial has no metrics to read; its requests' failures are
			// the finding, and they are kept.
			warns = append(warns, fmt.Sprintf("server metrics not read after the trial (%v): the server's own figures are missing", err))
			warns = append(warns, r.reconcile(nil, nil, recs, extra)...)
		} else {
			warns = append(warns, r.reconcile(before, after, recs, extra)...)
		}
		watch.finish(extra) // after reconcile: a counted hit rate beats the sampled one
	} else {
		warns = append(warns, r.reconcile(nil, nil, recs, extra)...)
	}
	maps.Copy(extra, clientFigures(client, cpu))
	maps.Copy(sum.Values, extra)
	return Trial{Records: recs, Indices: indices, Start: start, Summary: sum, Extra: extra, Load: rep, Client: client,
		Warnings: warns, GPUs: gpus, Stopped: stopped, InputTokens: aim}, nil
}

// keep returns the records for which ok holds, with their numbers within the point.
func keep(recs []stream.Record, indices []int, ok func(*stream.Record) bool) ([]stream.Record, []int) {
	var kept []stream.Record
	var at []int
	for i := range recs {
		if ok(&recs[i]) {
			kept, at = append(kept, recs[i]), append(at, indices[i])
		}
	}
	return kept, at
}

// share is this process's part of a point's load.
type share struct {
	// point is the point as this shard runs it: its concurrency (or cap) is the shard's.
	point Point
	// requests are the numbers of the measured requests it sends, 0..Requests-1.
	requests []int
	pattern  load.Pattern
}

// share returns this process's share of trial's load of p: the whole of it unless
// r.Shard says otherwise.
func (r *Runner) share(p Point, trial int) (share, error) {
	s := share{point: p}
	s.point.Concurrency = r.Shard.Slots(p.Concurrency)
	if p.RequestRate <= 0 {
		s.requests = r.Shard.ClosedLoop(p.Requests, p.Concurrency)
		s.pattern = load.ClosedLoop{Concurrency: s.point.Concurrency, RampUp: p.RampUp}
		return s, nil
	}
	if p.Concurrency > 0 && s.point.Concurrency == 0 {
		return s, fmt.Errorf("a cap of %d requests in flight split over %d shards leaves shard %d none: run at most %d shards",
			p.Concurrency, r.Shard.Count, r.Shard.Index, p.Concurrency)
	}
	var arrivals load.Arrivals = load.Poisson{Rate: p.RequestRate, Seed: r.Seed + uint64(trial)}
	if p.Arrivals == ConstantArrivals {
		arrivals = load.Constant{Rate: p.RequestRate}
	}
	open := load.OpenLoop{Arrivals: arrivals, MaxConcurrency: s.point.Concurrency}
	sched, err := open.Schedule(p.Requests)
	if err != nil {
		return s, err
	}
	s.requests = r.Shard.Arrivals(p.Requests)
	offsets := make([]time.Duration, len(s.requests))
	for i, j := range s.requests {
		offsets[i] = sched[j]
	}
	s.pattern = load.Scheduled{Offsets: offsets, MaxConcurrency: s.point.Concurrency}
	return s, nil
}

// lineUp waits, with the other shards, for step to start, and returns the instant they
// agreed on.
func (r *Runner) lineUp(ctx context.Context, step shard.Step) (time.Time, error) {
	if r.Sync == nil {
		return time.Time{}, fmt.Errorf("shard %s has no way to line up with the others (a start time or a barrier directory)", r.Shard)
	}
	at, err := r.Sync.Wait(ctx, step)
	if err != nil {
		return at, err
	}
	return at, shard.Until(ctx, at)
}

// clientFigures are the client's own figures over a trial: its CPU, scheduler and send
// lag, and how many requests it had in flight.
func clientFigures(client ClientStats, cpu time.Duration) map[string]float64 {
	v := map[string]float64{
		"client_cpu_pct":          client.CPUPercent,
		"client_cpu_sec":          cpu.Seconds(),
		"client_procs":            float64(client.Procs),
		"client_sched_lag_p99_ms": float64(client.SchedLagP99) / 1e6,
		"client_send_lag_p99_ms":  float64(client.SendLagP99) / 1e6,
		"client_max_in_flight":    float64(client.MaxInFlight),
	}
	if client.SendRate > 0 {
		v["client_send_rate"] = client.SendRate
	}
	return v
}
