package results

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/slo"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/schema"
)

// Request is a measured request as its records file keeps it: trial is the trial's number
// and index the request's place in the trial's load.
func Request(trial, index int, rec *stream.Record) schema.Request {
	q := schema.Request{Trial: trial, Index: index, ID: rec.ID, Status: rec.HTTPStatus,
		PromptTokens: rec.PromptTokens, CompletionTokens: rec.CompletionTokens, TokenSource: string(rec.TokenSource),
		ReasoningTokens: rec.ReasoningTokens, PromptChars: rec.PromptChars, OutputChars: rec.OutputChars,
		FirstByteNs: int64(rec.FirstByte), EndNs: int64(rec.End),
		ChunkNs: make([]int64, len(rec.Chunks)), ChunkTokens: make([]int, len(rec.Chunks))}
	if !rec.Scheduled.IsZero() {
		q.ScheduledNs = rec.Scheduled.UnixNano()
	}
	if rec.Answered {
		a := int64(rec.FirstAnswer)
		q.FirstAnswerNs = &a
	}
	if !rec.Sent.IsZero() {
		q.SentNs = rec.Sent.UnixNano()
	}
	q.Class, q.UsageDisagrees = string(rec.Class()), rec.UsageDisagrees
	if rec.Err != nil {
		q.Error = rec.Err.Error()
		q.RetryAfter = stream.RetryAfter(rec.Err)
	}
	if rec.Server != nil {
		q.Server = &schema.ServerTiming{TotalNs: int64(rec.Server.Total), LoadNs: int64(rec.Server.Load),
			PromptEvalNs: int64(rec.Server.PromptEval), EvalNs: int64(rec.Server.Eval)}
	}
	kernel := 0
	for i, c := range rec.Chunks {
		q.ChunkNs[i], q.ChunkTokens[i] = int64(c.Offset), c.Tokens
		if c.Lag != 0 {
			if q.ChunkLagNs == nil {
				q.ChunkLagNs = make([]int64, len(rec.Chunks))
			}
			q.ChunkLagNs[i] = int64(c.Lag)
		}
		if c.Kernel {
			kernel++
		}
	}
	switch {
	case rec.KernelStamps:
		q.Dated = schema.DatedKernel
	case kernel == 0:
		q.Dated = schema.DatedRead
	default:
		q.Dated = schema.DatedMixed
		for i, c := range rec.Chunks {
			if !c.Kernel {
				q.ReadDated = append(q.ReadDated, i)
			}
		}
	}
	return q
}

// Record is the inverse of Request: the measured request a records line holds. Instants
// come back on the wall clock (no monotonic reading), as every reader of the records sees
// them.
func Record(q *schema.Request) stream.Record {
	rec := stream.Record{ID: q.ID, HTTPStatus: q.Status, PromptTokens: q.PromptTokens, CompletionTokens: q.CompletionTokens,
		Answered:    q.FirstAnswerNs != nil,
		TokenSource: stream.TokenSource(q.TokenSource), ReasoningTokens: q.ReasoningTokens, PromptChars: q.PromptChars,
		OutputChars: q.OutputChars, FirstByte: time.Duration(q.FirstByteNs), End: time.Duration(q.EndNs),
		KernelStamps: q.Dated == schema.DatedKernel, UsageDisagrees: q.UsageDisagrees, Chunks: make([]stream.Chunk, len(q.ChunkNs))}
	if q.ScheduledNs != 0 {
		rec.Scheduled = time.Unix(0, q.ScheduledNs)
	}
	if q.FirstAnswerNs != nil {
		rec.FirstAnswer = time.Duration(*q.FirstAnswerNs)
	}
	if q.SentNs != 0 {
		rec.Sent = time.Unix(0, q.SentNs)
	}
	switch {
	case q.Error != "" && q.Class != "":
		rec.Err = stream.Recorded(stream.Class(q.Class), q.Error)
	case q.Error != "":
		rec.Err = errors.New(q.Error) // records from before requests were classified
	}
	if q.Server != nil {
		rec.Server = &stream.ServerTiming{Total: time.Duration(q.Server.TotalNs), Load: time.Duration(q.Server.LoadNs),
			PromptEval: time.Duration(q.Server.PromptEvalNs), Eval: time.Duration(q.Server.EvalNs)}
	}
	for i := range rec.Chunks {
		c := &rec.Chunks[i]
		c.Offset, c.Kernel = time.Duration(q.ChunkNs[i]), q.Dated == schema.DatedKernel
		if i < len(q.ChunkTokens) {
			c.Tokens = q.ChunkTokens[i]
		}
		if i < len(q.ChunkLagNs) {
			c.Lag = time.Duration(q.ChunkLagNs[i])
		}
	}
	if q.Dated == schema.DatedMixed {
		for i := range rec.Chunks {
			rec.Chunks[i].Kernel = true
		}
		for _, i := range q.ReadDated {
			if i >= 0 && i < len(rec.Chunks) {
				rec.Chunks[i].Kernel = false
			}
		}
	}
	return rec
}

// SLO is s as the records and the result file keep it; nil when none is set.
func SLO(s *slo.SLO) *schema.SLO {
	if s == nil {
		return nil
	}
	c := schema.SLO(*s)
	return &c
}

// Trials splits a group's requests by trial, each trial's in index order.
func Trials(g *schema.Group) map[int][]schema.Request {
	out := map[int][]schema.Request{}
	for _, q := range g.Requests {
		out[q.Trial] = append(out[q.Trial], q)
	}
	for _, qs := range out {
		slices.SortStableFunc(qs, func(a, b schema.Request) int { return cmp.Compare(a.Index, b.Index) })
	}
	return out
}

// Assemble computes a point from its records: every request metric from the requests of
// each trial (metrics.Compute), the trial's other figures from its trial line, then the
// mean over trials with its interval. The suite writes the point it returns, and
// servegate-report -recompute and servegate-merge call it on records read back, so a
// result file is always what its records compute to.
func Assemble(g *schema.Group) (Point, error) {
	out := g.Head.Point
	out.Trials = len(g.Trials)
	out.ITLBasis = metrics.ITLExact
	out.Errors, out.ErrorClasses = map[string]int{}, map[string]int{}
	out.OutputLengthVaried, out.OutputTokensFrom, out.UsageDisagreements = false, "", 0
	// The head's warnings are about how the whole point ran; they follow the trials'.
	headWarnings := out.Warnings
	out.Warnings, out.Invalid, out.Requests, out.Metrics, out.TrialStats = nil, "", nil, nil, nil
	out.GPUMemoryMB, out.GPUUtilizationPct, out.GPUs = nil, nil, nil
	out.SLO = g.Head.SLO
	if c := out.Capacity; c != nil && len(g.Trials) == 0 && len(g.Requests) == 0 {
		// A capacity search's point: its answer and every probe (each with its requests'
		// tally) are on the head; the probes' requests are not kept.
		out.Trials, out.ITLBasis, out.Errors, out.ErrorClasses = g.Head.Point.Trials, "", nil, nil
		out.Warnings = headWarnings
		out.Metrics = map[string]float64{"capacity_value": c.Value}
		if g.Head.Stopped != "" {
			out.Invalid = fmt.Sprintf("capacity search stopped after %d probes: %s", len(c.Probes), g.Head.Stopped)
		}
		return out, nil
	}
	if len(g.Trials) == 0 {
		return out, fmt.Errorf("%s: no trials in its records", out.Key())
	}
	byTrial := Trials(g)
	perMetric := map[string][]float64{}
	var ok, serverCounted int
	for _, tr := range g.Trials {
		qs := byTrial[tr.Trial]
		recs := make([]stream.Record, len(qs))
		for i := range qs {
			recs[i] = Record(&qs[i])
		}
		s := metrics.Compute(recs)
		values := s.Values
		if g.Head.SLO != nil {
			goodput(slo.SLO(*g.Head.SLO), recs, values)
		}
		maps.Copy(values, tr.Values)
		if cpu, tokens := values["client_cpu_sec"], values["total_output_tokens"]; cpu > 0 && tokens > 0 {
			values["client_cpu_us_per_token"] = 1e6 * cpu / tokens
		}
		for _, k := range slices.Sorted(maps.Keys(values)) {
			perMetric[k] = append(perMetric[k], values[k])
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
		for i := range recs {
			rec := &recs[i]
			smp := Sample{Trial: tr.Trial, Index: qs[i].Index, QueueMs: Ms(rec.QueueDelay()), TTFTMs: Ms(rec.TTFT()),
				LatencyMs: Ms(rec.Latency()), InputTokens: rec.PromptTokens, OutputTokens: rec.OutputTokens(), Chunks: len(rec.Chunks),
				Class: string(rec.Class()), RetryAfter: qs[i].RetryAfter, UsageDisagrees: rec.UsageDisagrees}
			if rec.HTTPStatus != http.StatusOK {
				smp.HTTPStatus = rec.HTTPStatus
			}
			if rec.Err != nil {
				smp.Error = rec.Err.Error()
			}
			if a, ok := rec.TTFAT(); ok {
				x := Ms(a)
				smp.TTFATMs = &x
			}
			smp.ReasoningTokens = rec.ReasoningTokens
			out.Requests = append(out.Requests, smp)
			if rec.OK() && rec.OutputTokens() != out.OutputTokens {
				out.OutputLengthVaried = true
			}
		}
		for _, d := range tr.GPUs {
			d.Trial = tr.Trial
			out.GPUs = append(out.GPUs, d)
		}
		out.Warnings = append(out.Warnings, tr.Warnings...)
		if tr.Invalid != "" {
			out.Invalid = appendReason(out.Invalid, fmt.Sprintf("trial %d %s", tr.Trial, tr.Invalid))
		}
	}
	if g.Head.Stopped != "" {
		of := fmt.Sprint(g.Head.Point.Trials)
		if g.Head.Adaptive {
			of = "at most " + of
		}
		out.Invalid = appendReason(out.Invalid, fmt.Sprintf("stopped after %d of %s trials: %s", len(g.Trials), of, g.Head.Stopped))
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
	out.Warnings = append(out.Warnings, headWarnings...)
	if len(out.Errors) == 0 {
		out.Errors = nil
	}
	if len(out.ErrorClasses) == 0 {
		out.ErrorClasses = nil
	}
	out.Metrics = map[string]float64{}
	out.TrialStats = map[string]schema.Interval{}
	for k, xs := range perMetric {
		iv := metrics.Estimate(xs)
		out.Metrics[k] = iv.Mean
		if len(g.Trials) > 1 {
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

// goodput adds to a trial's values the share of its requests that met every objective of
// s (slo_attainment_pct) and how many such requests the target answered per second over
// the trial's window (request_goodput).
func goodput(s slo.SLO, recs []stream.Record, values map[string]float64) {
	if len(recs) == 0 {
		return
	}
	t := s.CountRecords(recs)
	values["slo_attainment_pct"] = t.AttainmentPct()
	if sec := values["total_time_sec"]; sec > 0 {
		values["request_goodput"] = float64(t.Good) / sec
	}
}

func appendReason(all, one string) string {
	if all == "" {
		return one
	}
	return all + "; " + one
}

// Ms is d in milliseconds, rounded to the microsecond, as the result file writes
// request times.
func Ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Recompute rebuilds the result file at path from the records beside it: every point is
// computed again (Assemble) from the records it was measured with (those with its
// measured_at), and the file's head is kept. A point without its records is an error
// naming it: the file would otherwise mix recomputed points with others.
func Recompute(path string) (*File, error) {
	f, err := Read(path)
	if err != nil {
		return nil, err
	}
	groups, err := schema.ReadRecords(RecordsPath(path))
	if err != nil && !errors.Is(err, schema.ErrTruncated) {
		return nil, err
	}
	byPoint := map[string]*schema.Group{}
	for i := range groups {
		p := &groups[i].Head.Point
		byPoint[p.Key()+"@"+p.MeasuredAt] = &groups[i]
	}
	var missing []string
	for i, p := range f.Results {
		g, ok := byPoint[p.Key()+"@"+p.MeasuredAt]
		if !ok {
			missing = append(missing, p.Key())
			continue
		}
		if f.Results[i], err = Assemble(g); err != nil {
			return nil, err
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: no records for %s in %s (measured before servegate kept records, or the records file was removed)",
			path, strings.Join(missing, ", "), RecordsPath(path))
	}
	return f, nil
}

// RecomputeDir rebuilds every result file under dir (<framework>/*_results.json; summary/
// excepted) from its records (Recompute) and rewrites those whose content changed,
// atomically. It returns the files rewritten.
func RecomputeDir(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "*_results.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no result files under %s (expected %s/<framework>/<framework>_<preset>_results.json)", dir, dir)
	}
	var changed []string
	for _, path := range paths {
		if filepath.Base(filepath.Dir(path)) == "summary" {
			continue
		}
		f, err := Recompute(path)
		if err != nil {
			return changed, err
		}
		b, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			return changed, fmt.Errorf("encode %s: %w", path, err)
		}
		b = append(b, '\n')
		old, err := os.ReadFile(path)
		if err != nil {
			return changed, fmt.Errorf("read result file: %w", err)
		}
		if bytes.Equal(old, b) {
			continue
		}
		if err := writeAtomic(path, b); err != nil {
			return changed, err
		}
		changed = append(changed, path)
	}
	return changed, nil
}
