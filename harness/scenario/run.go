package scenario

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/servegate/servegate/fixtures"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/harness/load"
	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/stream"
)

// Runner runs scenario points against one target.
type Runner struct {
	Target Target
	// Trials repeats each point; metrics are averaged and given 95% intervals.
	Trials int
	// SLO, if set, defines goodput.
	SLO metrics.SLO
	// RequestTimeout bounds one request; 0 means 10 minutes.
	RequestTimeout time.Duration
	// Nonce makes this run's prompts unique, so no cache survives from an earlier run.
	Nonce string
	// Seed drives open-loop schedules.
	Seed uint64
	// Logf prints progress; nil is silent.
	Logf func(format string, args ...any)
	// Progress is how often a long point reports how far it has got; 0 means 10 s.
	Progress time.Duration
	// GPU, when set, is sampling the GPUs; each trial's figures come from its samples.
	GPU *gpu.Sampler
	// ClientProcs, when above 0, is GOMAXPROCS while a trial's requests run. Go polls the
	// network only when a P runs out of goroutines (or every 10 ms): with one P per core and
	// a burst of runnable goroutines, such as a thousand requests starting together on two
	// cores, streams already answered go unread until their next event arrives, and the
	// kernel then dates both by the later one. Ps beyond the cores keep one polling, for
	// about a third more client CPU per token. 0 leaves the process's setting.
	ClientProcs int
}

func (r *Runner) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}

// job is one request ready to send.
type job struct {
	req   stream.Request
	chars int
}

// prompts builds n requests for point p of trial; prefix-sharing points share one system
// prompt per trial.
func (r *Runner) prompts(ctx context.Context, p Point, trial, first, n int, tag string) ([]job, error) {
	pairs, err := fixtures.Pairs()
	if err != nil {
		return nil, err
	}
	out := make([]job, 0, n)
	var shared *stream.Message // one system prompt for every request of the trial
	for k := first; k < first+n; k++ {
		id := fmt.Sprintf("%s-%s-t%d-%d", r.Nonce, tag, trial, k)
		pair := pairs[k%len(pairs)]
		var msgs []stream.Message
		switch p.Prompts {
		case Plain:
			// The id at the start makes every prompt unique from its first tokens, so no
			// prefix cache serves it; the question and filler after it are the same for
			// every request of the trial, so every prompt counts the same under any
			// tokenizer and an estimated count lands all of them equally close.
			head := fmt.Sprintf("[%s] %s\n\n", id, pairs[trial%len(pairs)].English)
			build := func(words, pads int) []stream.Message {
				return []stream.Message{{Role: "user", Content: head + prompt.Filler(trial*97, words, pads)}}
			}
			if msgs, err = r.fit(ctx, build, p.InputTokens); err != nil {
				return nil, fmt.Errorf("build %d-token prompt: %w", p.InputTokens, err)
			}
		case SharedPrefix:
			if shared == nil {
				if shared, err = r.systemPrompt(ctx, fmt.Sprintf("[session %s-t%d]\n", r.Nonce, trial), p.PrefixTokens); err != nil {
					return nil, err
				}
			}
			msgs = []stream.Message{*shared, {Role: "user", Content: fmt.Sprintf("Question %d: %s", k, pair.English)}}
		case UnsharedPrefix:
			sys, err := r.systemPrompt(ctx, fmt.Sprintf("[session %s]\n", id), p.PrefixTokens)
			if err != nil {
				return nil, err
			}
			msgs = []stream.Message{*sys, {Role: "user", Content: fmt.Sprintf("Question %d: %s", k, pair.English)}}
		case English:
			msgs = []stream.Message{{Role: "user", Content: pair.English}}
		case Korean:
			msgs = []stream.Message{{Role: "user", Content: pair.Korean}}
		default:
			return nil, fmt.Errorf("point %s: unknown prompt kind %q", p.Name, p.Prompts)
		}
		out = append(out, job{
			req: stream.Request{ID: id, Messages: msgs, MaxTokens: p.OutputTokens, IgnoreEOS: r.Target.HoldsOutputLength,
				NumCtx: r.Target.NumCtx},
			chars: prompt.Chars(msgs),
		})
	}
	return out, nil
}

// systemPrompt returns a system message of exactly tokens tokens: head (which makes it
// shared or unique from its first token), the fixture system prompt, then filler.
func (r *Runner) systemPrompt(ctx context.Context, head string, tokens int) (*stream.Message, error) {
	build := func(words, pads int) []stream.Message {
		return []stream.Message{{Role: "system", Content: head + fixtures.SystemPrompt() + "\n" + prompt.Filler(0, words, pads)}}
	}
	msgs, err := r.fit(ctx, build, tokens)
	if err != nil {
		return nil, fmt.Errorf("build %d-token system prompt: %w", tokens, err)
	}
	return &msgs[0], nil
}

// fit builds messages of exactly target tokens: with the target's Count, then, where the
// server offers a tokenizer, refitted against it from there (a few round trips).
func (r *Runner) fit(ctx context.Context, build prompt.Builder, target int) ([]stream.Message, error) {
	msgs, n, words, err := prompt.FitFrom(r.Target.Count, build, target, 0)
	if r.Target.Tokenize == nil {
		if err != nil && msgs != nil && math.Abs(float64(n-target)) <= r.Target.CountTolerance*float64(target) {
			return msgs, nil // as close as the estimate resolves
		}
		return msgs, err
	}
	if err != nil && words == 0 {
		return msgs, err
	}
	var tokErr error
	exact := func(m []stream.Message) int {
		if tokErr != nil {
			return math.MaxInt32
		}
		n, err := r.Target.Tokenize(ctx, m)
		if err != nil {
			tokErr = err
			return math.MaxInt32
		}
		return n
	}
	msgs, _, _, err = prompt.FitFrom(exact, build, target, words)
	if tokErr != nil {
		return nil, fmt.Errorf("count prompt tokens with the server's tokenizer: %w", tokErr)
	}
	return msgs, err
}

func (r *Runner) client(concurrency int) *stream.Client {
	return &stream.Client{
		HTTP:            stream.NewHTTPClient(max(concurrency, 1)),
		BaseURL:         r.Target.BaseURL,
		Dialect:         r.Target.Dialect,
		Model:           r.Target.Model,
		ContinuousUsage: r.Target.ContinuousUsage,
		KeepLoaded:      r.Target.KeepLoaded,
	}
}

// openConnections fills the client's pool with n connections by sending n concurrent
// health requests, so the measured requests reuse them instead of dialling.
func (r *Runner) openConnections(ctx context.Context, c *stream.Client, n int) error {
	if r.Target.HealthPath == "" || n < 1 {
		return nil
	}
	url := strings.TrimSuffix(r.Target.BaseURL, "/") + r.Target.HealthPath
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

// Trial is the outcome of one trial of a point.
type Trial struct {
	Records []stream.Record
	Summary metrics.Summary
	Load    load.Report
	Client  ClientStats
	// Warnings are disagreements between the server's account and the client's.
	Warnings []string
}

// RunTrial runs one trial of point p: warm-up, then the measured requests.
func (r *Runner) RunTrial(ctx context.Context, sc Scenario, p Point, trial int) (Trial, error) {
	tag := sc.Name + "-" + p.Name
	if r.Target.ResetCache != nil {
		if err := r.Target.ResetCache(ctx); err != nil {
			return Trial{}, fmt.Errorf("%s trial %d: %w", tag, trial, err)
		}
	}
	jobs, err := r.prompts(ctx, p, trial, 0, p.Warmup+p.Requests, tag)
	if err != nil {
		return Trial{}, fmt.Errorf("%s: %w", tag, err)
	}
	c := r.client(p.Concurrency)
	defer c.HTTP.CloseIdleConnections()
	timeout := r.RequestTimeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	send := func(ctx context.Context, j job, rec *stream.Record) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		rec.PromptChars = j.chars
		c.Stream(ctx, j.req, rec)
	}
	if err := r.openConnections(ctx, c, p.Concurrency); err != nil {
		return Trial{}, fmt.Errorf("%s: %w", tag, err)
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
		if rec.Err != nil {
			return Trial{}, fmt.Errorf("%s: warm-up request failed, so the target is not serving: %w", tag, rec.Err)
		}
		if off := rec.PromptTokens - p.InputTokens; r.Target.CountTolerance > 0 && p.Prompts == Plain &&
			p.InputTokens > 0 && rec.PromptTokens > 0 && off != 0 {
			q := p
			fitTo -= off
			q.InputTokens = fitTo
			refit, err := r.prompts(ctx, q, trial, i+1, len(jobs)-i-1, tag)
			if err != nil {
				return Trial{}, fmt.Errorf("%s: refit prompts to %d estimated tokens: %w", tag, fitTo, err)
			}
			r.logf("  %s trial %d: the server counted %d prompt tokens for a %d-token warm-up; later prompts refitted", tag, trial, rec.PromptTokens, p.InputTokens)
			copy(jobs[i+1:], refit)
		}
	}
	measured := jobs[p.Warmup:]
	before, err := r.scrape(ctx)
	if err != nil {
		return Trial{}, fmt.Errorf("%s: %w", tag, err)
	}
	// Collect garbage less often while measuring: a collection in the middle of a burst of
	// chunks delays their timestamps (as gc.freeze does for vLLM's client).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	recs := make([]stream.Record, len(measured))
	var pattern load.Pattern = load.ClosedLoop{Concurrency: p.Concurrency}
	if p.RequestRate > 0 {
		pattern = load.OpenLoop{Rate: p.RequestRate, MaxConcurrency: p.Concurrency, Seed: r.Seed + uint64(trial)}
	}
	var done atomic.Int64
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
	lagProbe := startProbe()
	cpu0, wall0 := cpuTime(), time.Now()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.logf("  %s trial %d: %d/%d requests done", tag, trial, done.Load(), len(recs))
			case <-stop:
				return
			}
		}
	}()
	rep := pattern.Run(ctx, len(measured), func(ctx context.Context, i int, scheduled time.Time) {
		recs[i].Scheduled = scheduled
		send(ctx, measured[i], &recs[i])
		done.Add(1)
	})
	close(stop)
	client := judgeClient(p, rep, recs, lagProbe.finish(), cpuTime()-cpu0, time.Since(wall0))
	if err := ctx.Err(); err != nil {
		return Trial{}, fmt.Errorf("%s trial %d interrupted after %d of %d requests: %w", tag, trial, done.Load(), len(recs), err)
	}
	sum := metrics.Compute(recs, r.SLO)
	if r.GPU != nil {
		f := gpu.Summarize(r.GPU.Samples(wall0, time.Now()), int(sum.Values["total_output_tokens"]))
		if f.Samples > 0 {
			sum.Values["gpu_memory_peak_mb"] = f.PeakMemoryMB
			sum.Values["gpu_memory_mean_mb"] = f.MeanMemoryMB
			sum.Values["gpu_utilization_mean_pct"] = f.MeanUtilPct
			sum.Values["gpu_server_memory_peak_mb"] = f.PeakProcessMemoryMB
			if f.EnergyJ > 0 {
				sum.Values["gpu_energy_j"] = f.EnergyJ
				sum.Values["gpu_joules_per_output_token"] = f.JoulesPerToken
			}
		}
	}
	var warns []string
	if before != nil {
		after, err := r.scrape(ctx)
		if err != nil {
			return Trial{}, fmt.Errorf("%s: %w", tag, err)
		}
		warns = r.reconcile(before, after, recs, sum.Values)
		watch.finish(sum.Values)
	} else {
		warns = r.reconcile(nil, nil, recs, sum.Values)
	}
	sum.Values["client_cpu_pct"] = client.CPUPercent
	sum.Values["client_procs"] = float64(client.Procs)
	sum.Values["client_sched_lag_p99_ms"] = float64(client.SchedLagP99) / 1e6
	sum.Values["client_send_lag_p99_ms"] = float64(client.SendLagP99) / 1e6
	sum.Values["client_max_in_flight"] = float64(client.MaxInFlight)
	if client.SendRate > 0 {
		sum.Values["client_send_rate"] = client.SendRate
	}
	return Trial{Records: recs, Summary: sum, Load: rep, Client: client, Warnings: warns}, nil
}

// RunPoint runs every trial of p and returns its result entry.
func (r *Runner) RunPoint(ctx context.Context, sc Scenario, p Point) (results.Point, error) {
	trials := max(r.Trials, 1)
	out := results.Point{
		Scenario: sc.ResultName, Point: p.Name, Framework: r.Target.Framework,
		Concurrency: p.Concurrency, RequestRate: p.RequestRate, InputTokens: p.InputTokens,
		OutputTokens: p.OutputTokens, OutputLengthForced: r.Target.HoldsOutputLength, NumRequests: p.Requests, Warmup: p.Warmup, Trials: trials,
		Prompts: string(p.Prompts), PrefixTokens: p.PrefixTokens,
		ITLBasis: metrics.ITLExact, Errors: map[string]int{},
	}
	perMetric := map[string][]float64{}
	for t := 1; t <= trials; t++ {
		tr, err := r.RunTrial(ctx, sc, p, t)
		if err != nil {
			return out, err
		}
		s := tr.Summary
		for k, v := range s.Values {
			perMetric[k] = append(perMetric[k], v)
		}
		if s.ITLBasis != metrics.ITLExact {
			out.ITLBasis = s.ITLBasis
		}
		for msg, n := range s.Errors {
			out.Errors[msg] += n
		}
		for i := range tr.Records {
			rec := &tr.Records[i]
			smp := results.Sample{Trial: t, Index: i, QueueMs: msf(rec.QueueDelay()), TTFTMs: msf(rec.TTFT()),
				LatencyMs: msf(rec.Latency()), InputTokens: rec.PromptTokens, OutputTokens: rec.OutputTokens(), Chunks: len(rec.Chunks)}
			if rec.Err != nil {
				smp.Error = rec.Err.Error()
			}
			out.Requests = append(out.Requests, smp)
		}
		out.Warnings = append(out.Warnings, r.checks(p, t, tr.Records)...)
		for _, w := range tr.Warnings {
			out.Warnings = append(out.Warnings, fmt.Sprintf("trial %d: %s", t, w))
		}
		if tr.Client.Invalid != "" {
			out.Invalid = appendReason(out.Invalid, fmt.Sprintf("trial %d %s", t, tr.Client.Invalid))
			r.logf("%s/%s trial %d is INVALID: %s", sc.Name, p.Name, t, tr.Client.Invalid)
		}
		r.logf("%s/%s trial %d/%d: %d req, success %.0f%%, ttft p50 %.1f ms, itl p50 %.2f ms, out %.0f tok/s",
			sc.Name, p.Name, t, trials, p.Requests, s.Values["success_rate"], s.Values["p50_ttft_ms"],
			s.Values["p50_itl_ms"], s.Values["output_token_throughput"])
	}
	if len(out.Errors) == 0 {
		out.Errors = nil
	}
	out.Metrics = map[string]float64{}
	out.TrialStats = map[string]metrics.Interval{}
	for k, xs := range perMetric {
		iv := metrics.Estimate(xs)
		out.Metrics[k] = iv.Mean
		if trials > 1 {
			out.TrialStats[k] = iv
		}
	}
	if len(out.TrialStats) == 0 {
		out.TrialStats = nil
	}
	// The original's fields: peak memory and mean utilisation, only when measured.
	if v, ok := out.Metrics["gpu_memory_peak_mb"]; ok {
		out.GPUMemoryMB = &v
	}
	if v, ok := out.Metrics["gpu_utilization_mean_pct"]; ok {
		out.GPUUtilizationPct = &v
	}
	return out, nil
}

func appendReason(all, one string) string {
	if all == "" {
		return one
	}
	return all + "; " + one
}

func msf(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// checks returns the fairness warnings for one trial's records.
func (r *Runner) checks(p Point, trial int, recs []stream.Record) []string {
	var warns []string
	if p.InputTokens > 0 {
		var off []int
		for _, rec := range recs {
			if rec.OK() && rec.PromptTokens >= 0 && math.Abs(float64(rec.PromptTokens-p.InputTokens)) > 0.02*float64(p.InputTokens) {
				off = append(off, rec.PromptTokens)
			}
		}
		if len(off) > 0 {
			slices.Sort(off)
			warns = append(warns, fmt.Sprintf("trial %d: %d requests' server-reported prompt tokens differ from the target %d by more than 2%% (seen %d..%d): prompts were truncated or counted differently",
				trial, len(off), p.InputTokens, off[0], off[len(off)-1]))
		}
	}
	short := map[int]int{}
	for _, rec := range recs {
		if rec.OK() && rec.OutputTokens() != p.OutputTokens {
			short[rec.OutputTokens()]++
		}
	}
	if len(short) > 0 {
		lens := make([]int, 0, len(short))
		for l := range short {
			lens = append(lens, l)
		}
		sort.Ints(lens)
		why := "the server stopped at EOS"
		if !r.Target.HoldsOutputLength {
			why = "this API cannot force a fixed output length"
		}
		warns = append(warns, fmt.Sprintf("trial %d: output length not held at %d tokens (%v seen): %s; compare throughput, not latency, across frameworks",
			trial, p.OutputTokens, lens, why))
	}
	if n := len(recs); n > 0 {
		failed := 0
		for _, rec := range recs {
			if !rec.OK() {
				failed++
			}
		}
		if failed > 0 {
			warns = append(warns, fmt.Sprintf("trial %d: %d of %d requests failed", trial, failed, n))
		}
	}
	return warns
}
