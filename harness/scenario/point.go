package scenario

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/stream"
)

// RunPoint runs every trial of p and returns its result entry. When a trial fails or is
// interrupted, the entry still holds what was measured (the trials before it, and that
// trial's requests where it got as far as sending them), with the error: a caller writes
// the entry when it has requests.
func (r *Runner) RunPoint(ctx context.Context, sc Scenario, p Point) (results.Point, error) {
	trials := max(r.Trials, 1)
	out := results.Point{
		Scenario: sc.ResultName, Point: p.Name, Framework: r.Target.Framework,
		Concurrency: p.Concurrency, RequestRate: p.RequestRate, InputTokens: p.InputTokens,
		OutputTokens: p.OutputTokens, OutputLengthMethod: string(r.Target.lengthMethod()),
		OutputLengthForced: r.Target.lengthMethod().Forced(), NumRequests: p.Requests, Warmup: p.Warmup, Trials: trials,
		Prompts: string(p.Prompts), PrefixTokens: p.PrefixTokens, ParallelSlots: r.Target.ParallelSlots,
		ITLBasis: metrics.ITLExact, Errors: map[string]int{}, ErrorClasses: map[string]int{}, SLO: r.SLO,
	}
	perMetric := map[string][]float64{}
	ran := 0 // trials whose figures count: every trial run, the stopped one if it sent requests
	var ok, serverCounted int
	var stopped error
	for t := 1; t <= trials; t++ {
		if r.Until != nil && t > max(r.MinTrials, 1) {
			aggregate(&out, perMetric, t-1)
			if stop, why := r.Until(out); stop {
				out.TrialsStop = why
				r.logf("%s/%s: %s", sc.Name, p.Name, why)
				break
			}
		}
		tr, err := r.RunTrial(ctx, sc, p, t)
		if err != nil {
			stopped = err
			out.Trials = t - 1
			if len(tr.Records) == 0 {
				break
			}
			out.Trials = t
		}
		ran++
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
		for class, n := range s.Classes {
			out.ErrorClasses[string(class)] += n
		}
		ok += int(s.Values["successful_requests"])
		serverCounted += s.ServerCounted
		out.UsageDisagreements += s.UsageDisagreements
		for i := range tr.Records {
			rec := &tr.Records[i]
			smp := results.Sample{Trial: t, Index: i, QueueMs: msf(rec.QueueDelay()), TTFTMs: msf(rec.TTFT()),
				LatencyMs: msf(rec.Latency()), InputTokens: rec.PromptTokens, OutputTokens: rec.OutputTokens(), Chunks: len(rec.Chunks),
				Class: string(rec.Class()), RetryAfter: stream.RetryAfter(rec.Err), UsageDisagrees: rec.UsageDisagrees}
			if rec.HTTPStatus != http.StatusOK {
				smp.HTTPStatus = rec.HTTPStatus
			}
			if rec.Err != nil {
				smp.Error = rec.Err.Error()
			}
			if a, ok := rec.TTFAT(); ok {
				x := msf(a)
				smp.TTFATMs = &x
			}
			smp.ReasoningTokens = rec.ReasoningTokens
			out.Requests = append(out.Requests, smp)
		}
		for _, g := range tr.GPUs {
			g.Trial = t
			out.GPUs = append(out.GPUs, g)
		}
		warns, varied := r.checks(p, t, tr.Records)
		out.Warnings = append(out.Warnings, warns...)
		out.OutputLengthVaried = out.OutputLengthVaried || varied
		for _, w := range tr.Warnings {
			out.Warnings = append(out.Warnings, fmt.Sprintf("trial %d: %s", t, w))
		}
		if tr.Client.Invalid != "" {
			out.Invalid = appendReason(out.Invalid, fmt.Sprintf("trial %d %s", t, tr.Client.Invalid))
			r.logf("%s/%s trial %d is INVALID: %s", sc.Name, p.Name, t, tr.Client.Invalid)
		}
		r.logf("%s/%s trial %d/%d: %d req, success %.0f%%%s, ttft p50 %.1f ms, itl p50 %.2f ms, out %.0f tok/s",
			sc.Name, p.Name, t, trials, p.Requests, s.Values["success_rate"], classList(s.Classes), s.Values["p50_ttft_ms"],
			s.Values["p50_itl_ms"], s.Values["output_token_throughput"])
		if stopped != nil {
			break
		}
	}
	if stopped != nil && out.Trials > 0 {
		of := fmt.Sprint(trials)
		if r.Until != nil {
			of = fmt.Sprintf("at most %d", trials)
		}
		out.Invalid = appendReason(out.Invalid, fmt.Sprintf("stopped after %d of %s trials: %v", out.Trials, of, stopped))
	}
	switch {
	case ok == 0:
	case serverCounted == ok:
		out.OutputTokensFrom = "server"
	case serverCounted == 0:
		out.OutputTokensFrom = "stream"
	default:
		out.OutputTokensFrom = "mixed"
	}
	if out.UsageDisagreements > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d requests' server-reported output tokens were fewer than their streams carried: the stream's count is used for them",
			out.UsageDisagreements))
	}
	if len(out.Errors) == 0 {
		out.Errors = nil
	}
	if r.Target.ResetCache == nil && r.Target.CacheShared != "" {
		out.TrialsSharedCache = true
		out.Warnings = append(out.Warnings, "trials shared the server's prefix cache, which was not emptied between them ("+
			r.Target.CacheShared+"): prompts an earlier trial or point left cached are served faster")
	}
	if out.PromptTokensCorrection = r.countOffset; r.countOffset != 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the server counts %+d prompt tokens against its tokenizer endpoint for the same messages; "+
			"prompts were fitted to the server's count (prompt_tokens_correction)", r.countOffset))
	}
	if len(out.ErrorClasses) == 0 {
		out.ErrorClasses = nil
	}
	aggregate(&out, perMetric, ran)
	if r.Until != nil && out.TrialsStop == "" && stopped == nil {
		out.TrialsStop = fmt.Sprintf("%d trials, the most", out.Trials)
	}
	return out, stopped
}

// aggregate sets out's metrics from the per-trial values of its first trials trials: the
// mean of each, and its spread and 95% interval when there are several.
func aggregate(out *results.Point, perMetric map[string][]float64, trials int) {
	out.Trials = trials
	out.Metrics = map[string]float64{}
	out.TrialStats = map[string]metrics.Interval{}
	for k, xs := range perMetric {
		iv := metrics.Estimate(xs)
		out.Metrics[k] = iv.Mean
		if out.Trials > 1 {
			out.TrialStats[k] = iv
		}
	}
	if len(out.TrialStats) == 0 {
		out.TrialStats = nil
	}
	// The original's fields: peak memory and mean utilisation, only when measured.
	out.GPUMemoryMB, out.GPUUtilizationPct = nil, nil
	if v, ok := out.Metrics["gpu_memory_peak_mb"]; ok {
		out.GPUMemoryMB = &v
	}
	if v, ok := out.Metrics["gpu_utilization_mean_pct"]; ok {
		out.GPUUtilizationPct = &v
	}
}

// classList renders failure counts by class for a progress line: " (stalled 2, cut 1)".
func classList(classes map[stream.Class]int) string {
	if len(classes) == 0 {
		return ""
	}
	parts := make([]string, 0, len(classes))
	for c, n := range classes {
		parts = append(parts, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

func appendReason(all, one string) string {
	if all == "" {
		return one
	}
	return all + "; " + one
}

func msf(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
