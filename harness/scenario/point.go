package scenario

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/results"
)

// RunPoint runs every trial of p and returns its result entry.
func (r *Runner) RunPoint(ctx context.Context, sc Scenario, p Point) (results.Point, error) {
	trials := max(r.Trials, 1)
	out := results.Point{
		Scenario: sc.ResultName, Point: p.Name, Framework: r.Target.Framework,
		Concurrency: p.Concurrency, RequestRate: p.RequestRate, InputTokens: p.InputTokens,
		OutputTokens: p.OutputTokens, OutputLengthMethod: string(r.Target.lengthMethod()),
		OutputLengthForced: r.Target.lengthMethod().Forced(), NumRequests: p.Requests, Warmup: p.Warmup, Trials: trials,
		Prompts: string(p.Prompts), PrefixTokens: p.PrefixTokens, ParallelSlots: r.Target.ParallelSlots,
		ITLBasis: metrics.ITLExact, Errors: map[string]int{}, SLO: r.SLO,
	}
	perMetric := map[string][]float64{}
	ran := 0
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
			return out, err
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
		for i := range tr.Records {
			rec := &tr.Records[i]
			smp := results.Sample{Trial: t, Index: i, QueueMs: msf(rec.QueueDelay()), TTFTMs: msf(rec.TTFT()),
				LatencyMs: msf(rec.Latency()), InputTokens: rec.PromptTokens, OutputTokens: rec.OutputTokens(), Chunks: len(rec.Chunks)}
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
		r.logf("%s/%s trial %d/%d: %d req, success %.0f%%, ttft p50 %.1f ms, itl p50 %.2f ms, out %.0f tok/s",
			sc.Name, p.Name, t, trials, p.Requests, s.Values["success_rate"], s.Values["p50_ttft_ms"],
			s.Values["p50_itl_ms"], s.Values["output_token_throughput"])
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
	aggregate(&out, perMetric, ran)
	if r.Until != nil && out.TrialsStop == "" {
		out.TrialsStop = fmt.Sprintf("%d trials, the most", out.Trials)
	}
	return out, nil
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
		if trials > 1 {
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

func appendReason(all, one string) string {
	if all == "" {
		return one
	}
	return all + "; " + one
}

func msf(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
