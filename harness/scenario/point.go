package scenario

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/schema"
)

// Measure runs every trial of p and returns its records: the point's description, each
// trial's figures and findings, and every measured request. results.Assemble computes the
// point from them; the suite writes both. When a trial fails or is interrupted, the group
// still holds what was measured (the trials before it, and that trial's requests where it
// got as far as sending them; Head.Stopped says why it ended), with the error: a caller
// writes the group when it has requests.
func (r *Runner) Measure(ctx context.Context, sc Scenario, p Point) (schema.Group, error) {
	trials := max(r.Trials, 1)
	g := schema.Group{Head: schema.Head{
		Point: schema.Point{
			Scenario: sc.ResultName, Point: p.Name, Framework: r.Target.Framework,
			Concurrency: p.Concurrency, RequestRate: p.RequestRate, InputTokens: p.InputTokens,
			OutputTokens: p.OutputTokens, OutputLengthMethod: string(r.Target.lengthMethod()),
			OutputLengthForced: r.Target.lengthMethod().Forced(), NumRequests: p.Requests,
			Warmup: p.Warmup, Trials: trials, Prompts: string(p.Prompts), PrefixTokens: p.PrefixTokens,
			ParallelSlots: r.Target.ParallelSlots,
		},
		SLO: results.SLO(r.SLO), Adaptive: r.Until != nil,
	}}
	var stopped error
	for t := 1; t <= trials; t++ {
		if r.Until != nil && t > max(r.MinTrials, 1) {
			// The point so far, computed as it will be written.
			sofar, err := results.Assemble(&g)
			if err != nil {
				return g, err
			}
			if stop, why := r.Until(sofar); stop {
				g.Head.Point.TrialsStop = why
				r.logf("%s/%s: %s", sc.Name, p.Name, why)
				break
			}
		}
		tr, err := r.RunTrial(ctx, sc, p, t)
		if err != nil {
			stopped = err
			if len(tr.Records) == 0 {
				break
			}
		}
		if len(g.Trials) == 0 {
			// The first trial's prompts say how long the point's prompts were meant to be
			// (natural-length ones are counted); the head keeps it, so -recompute agrees.
			g.Head.Point.InputTokens = tr.InputTokens
		}
		warns, _ := r.checks(p, t, tr.Records) // whether lengths varied is read off the records
		line := schema.Trial{Trial: t, Values: tr.Extra, Warnings: warns, Invalid: tr.Client.Invalid, GPUs: tr.GPUs}
		for _, w := range tr.Warnings {
			line.Warnings = append(line.Warnings, fmt.Sprintf("trial %d: %s", t, w))
		}
		g.Trials = append(g.Trials, line)
		for i := range tr.Records {
			g.Requests = append(g.Requests, results.Request(t, tr.Indices[i], &tr.Records[i]))
		}
		if !r.Shard.Whole() {
			if g.Head.Shard == nil {
				g.Head.Shard = &schema.Shard{Index: r.Shard.Index, Count: r.Shard.Count}
			}
			g.Head.Shard.Starts = append(g.Head.Shard.Starts, tr.Start.UTC().Format(time.RFC3339Nano))
		}
		if tr.Client.Invalid != "" {
			r.logf("%s/%s trial %d is INVALID: %s", sc.Name, p.Name, t, tr.Client.Invalid)
		}
		s := tr.Summary
		r.logf("%s/%s trial %d/%d: %d req, success %.0f%%%s, ttft p50 %.1f ms, itl p50 %.2f ms, out %.0f tok/s",
			sc.Name, p.Name, t, trials, len(tr.Records), s.Values["success_rate"], classList(s.Classes), s.Values["p50_ttft_ms"],
			s.Values["p50_itl_ms"], s.Values["output_token_throughput"])
		if stopped != nil {
			break
		}
	}
	if stopped != nil && len(g.Trials) > 0 {
		g.Head.Stopped = stopped.Error()
	}
	// How the point was run, for every trial: on the head, with the warnings that go with it.
	head := &g.Head.Point
	if r.Target.ResetCache == nil && r.Target.CacheShared != "" {
		head.TrialsSharedCache = true
		head.Warnings = append(head.Warnings, "trials shared the server's prefix cache, which was not emptied between them ("+
			r.Target.CacheShared+"): prompts an earlier trial or point left cached are served faster")
	}
	if head.PromptTokensCorrection = r.countOffset; r.countOffset != 0 {
		head.Warnings = append(head.Warnings, fmt.Sprintf("the server counts %+d prompt tokens against its tokenizer endpoint for the same messages; "+
			"prompts were fitted to the server's count (prompt_tokens_correction)", r.countOffset))
	}
	if r.Until != nil && head.TrialsStop == "" && stopped == nil {
		head.TrialsStop = fmt.Sprintf("%d trials, the most", len(g.Trials))
	}
	head.MeasuredAt = time.Now().Format(results.TimeFormat)
	return g, stopped
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

// RunPoint runs every trial of p and returns its result entry, computed from its records
// (see Measure). When measuring stopped early, the entry holds what was measured (marked
// invalid), with the error.
func (r *Runner) RunPoint(ctx context.Context, sc Scenario, p Point) (results.Point, error) {
	g, err := r.Measure(ctx, sc, p)
	if len(g.Trials) == 0 {
		return g.Head.Point, err
	}
	out, aerr := results.Assemble(&g)
	if aerr != nil {
		return out, errors.Join(err, aerr)
	}
	return out, err
}
