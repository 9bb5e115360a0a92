// Package capacity answers "how much load does this target serve within its SLO": a
// search that doubles the load until a level misses the SLO, then bisects to its
// resolution, deciding each level on the Wilson interval of the share of requests that
// met each objective (slo.Decide) and measuring a level again, requests pooled, while that
// interval straddles. It records every probe, why it stopped, what bound the answer, where
// throughput stopped growing (the knee) and where the target saturated, and says the
// answer in a sentence.
package capacity

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/slo"
	"github.com/servegate/servegate/schema"
)

// Measurement is one measurement of one level.
type Measurement struct {
	Tally slo.Tally
	// Stop says why the measurement ended ("160 requests returned").
	Stop string
	// Saturated: the backlog grew through the measurement; its latencies describe a queue,
	// not the target, and the level is not judged on them.
	Saturated bool
	// Invalid, when set, says the client could not drive the level (client-bound).
	Invalid string
	// Classes counts the failed requests by class (stream.Class); the requests the run
	// itself cancelled are in no tally and not here.
	Classes map[string]int
	// Queued is the server's mean queue of waiting requests, when the target reports it.
	Queued *float64
	// Throughputs and percentiles, for the probe's record and the knee.
	OutputTokenThroughput, RequestThroughput, OutputTokensPerUser float64
	P95TTFTMs, P95ITLMs                                           float64
}

// Search is one capacity search.
type Search struct {
	// Mode is results.UsersMode or results.RateMode; Arrivals names a RateMode's arrivals.
	Mode, Arrivals string
	// Subject names the target in the sentence ("sim", "vllm").
	Subject string
	SLO     slo.SLO
	// Start is the first level; Ceiling the highest the search tries.
	Start, Ceiling float64
	// Bisection stops when the levels shown to pass and to miss are at most
	// max(MinStep, RelStep × the passing level) apart: the search's resolution.
	MinStep, RelStep float64
	// MaxMeasurements is how often a straddling level is measured before it is called
	// undecided; 0 means 3.
	MaxMeasurements int
	// Measure measures a level once; the n-th measurement of a level is numbered n.
	Measure func(ctx context.Context, level float64, n int) (Measurement, error)
	// Logf, when set, prints each probe.
	Logf func(format string, args ...any)
}

// Step is the search's resolution at level: how far apart the levels shown to pass and to
// miss may end.
func (s *Search) Step(level float64) float64 {
	return max(s.MinStep, s.RelStep*level)
}

func (s *Search) whole() bool { return s.Mode == results.UsersMode }

func (s *Search) round(x float64) float64 {
	if s.whole() {
		return math.Floor(x)
	}
	return math.Round(x*1000) / 1000
}

func (s *Search) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// probe measures level until it is decided, or MaxMeasurements times.
func (s *Search) probe(ctx context.Context, level float64) (results.Probe, error) {
	p := results.Probe{Level: level}
	most := s.MaxMeasurements
	if most == 0 {
		most = 3
	}
	var tally slo.Tally
	var stops []string
	var d slo.Decision
	for p.Measurements < most {
		m, err := s.Measure(ctx, level, p.Measurements+1)
		if err != nil {
			return p, fmt.Errorf("capacity probe at %s: %w", s.unit(level), err)
		}
		p.Measurements++
		p.OutputTokenThroughput, p.RequestThroughput, p.OutputTokensPerUser = m.OutputTokenThroughput, m.RequestThroughput, m.OutputTokensPerUser
		p.P95TTFTMs, p.P95ITLMs, p.ServerWaitingMean = m.P95TTFTMs, m.P95ITLMs, m.Queued
		stops = append(stops, m.Stop)
		for c, n := range m.Classes {
			if !m.Saturated && m.Invalid != "" {
				break // not judged, so not in Failed either
			}
			if p.ErrorClasses == nil {
				p.ErrorClasses = map[string]int{}
			}
			p.ErrorClasses[c] += n
		}
		if m.Saturated {
			p.Verdict, p.Saturated, p.Binding = results.ProbeSaturated, true, "saturated"
			p.Requests += m.Tally.Requests
			p.Failed += m.Tally.Failed
			break
		}
		if m.Invalid != "" {
			stops[len(stops)-1] += " (not judged: " + m.Invalid + ")"
			continue
		}
		tally = tally.Add(m.Tally)
		d = s.SLO.Decide(tally)
		if d.Verdict != slo.Straddle {
			break
		}
	}
	if p.Verdict == "" {
		p.Requests, p.Failed = tally.Requests, tally.Failed
		p.AttainmentPct, p.Objectives, p.Binding = tally.AttainmentPct(), d.Shares, d.Binding
		switch d.Verdict {
		case slo.Pass:
			p.Verdict = results.ProbePass
		case slo.Fail:
			p.Verdict = results.ProbeFail
		default:
			p.Verdict = results.ProbeUndecided
		}
	}
	p.Stop = strings.Join(stops, "; ") + "; " + s.why(p, tally)
	s.logf("capacity %s: %s — %s", s.unit(level), strings.ToUpper(p.Verdict), p.Stop)
	return p, nil
}

// why says how a probe was decided.
func (s *Search) why(p results.Probe, t slo.Tally) string {
	switch {
	case p.Verdict == results.ProbeSaturated:
		return "saturated: not judged on latency"
	case t.Requests == 0:
		return "undecided: no measurement the client could drive"
	case p.Binding == "errors" && p.Verdict == results.ProbeFail:
		return fmt.Sprintf("fail: %d of %d requests failed (%.2g%%; at most %.3g%%)", t.Failed, t.Requests, t.ErrorPct(), s.SLO.MaxErrorPct)
	}
	var parts []string
	for _, sh := range p.Objectives {
		parts = append(parts, fmt.Sprintf("%s met by %d/%d (%.3f–%.3f) for %.3g", sh.Objective, sh.Met, sh.Requests, sh.Low, sh.High, sh.Want))
	}
	return p.Verdict + ": " + strings.Join(parts, ", ")
}

func (s *Search) unit(level float64) string {
	if s.whole() {
		return fmt.Sprintf("%g users", level)
	}
	return fmt.Sprintf("%.4g requests/s", level)
}

// Run searches and returns the answer with every probe. When a probe fails (an interrupt,
// a deadline, a dead server) it returns the probes measured so far with the error.
func (s *Search) Run(ctx context.Context) (results.Capacity, error) {
	out := results.Capacity{Mode: s.Mode, Arrivals: s.Arrivals, Ceiling: s.Ceiling, SLO: schema.SLO(s.SLO)}
	if !(s.Start > 0) || s.Ceiling < s.Start || !(s.MinStep > 0) || s.RelStep < 0 {
		return out, fmt.Errorf("capacity search: start %g, ceiling %g, steps %g/%g: want 0 < start <= ceiling and a positive step", s.Start, s.Ceiling, s.MinStep, s.RelStep)
	}
	byLevel := map[float64]results.Probe{}
	probe := func(level float64) (string, error) {
		p, err := s.probe(ctx, level)
		if err != nil {
			return "", err
		}
		byLevel[level] = p
		return p.Verdict, nil
	}
	// pass is the highest level shown to pass; miss the lowest level shown to fail or
	// saturate; bound the lowest level not shown to pass above pass (miss or undecided).
	pass, miss, bound := 0.0, math.Inf(1), math.Inf(1)
	note := func(level float64, v string) {
		switch v {
		case results.ProbePass:
			pass = max(pass, level)
		case results.ProbeFail, results.ProbeSaturated:
			miss = min(miss, level)
			bound = min(bound, level)
		default:
			bound = min(bound, level)
		}
	}
	// Double until a level is not shown to pass (or the ceiling passes); if the first
	// level already misses, halve until one passes or the step is reached.
	level := s.round(s.Start)
	for {
		v, err := probe(level)
		if err != nil {
			return s.stopped(out, byLevel, pass, err)
		}
		note(level, v)
		if v == results.ProbePass {
			// At the ceiling, or above a level not shown to pass (the first one halved
			// down to this one), doubling is over.
			if level >= s.Ceiling || !math.IsInf(bound, 1) {
				break
			}
			level = min(s.round(2*level), s.Ceiling)
			continue
		}
		if pass > 0 || level <= s.MinStep {
			break
		}
		next := s.round(level / 2)
		if next < s.MinStep {
			next = s.MinStep
		}
		if next >= level {
			break
		}
		level = next
	}
	// Bisect between the highest pass and the lowest level not shown to pass.
	for pass > 0 && !math.IsInf(bound, 1) && bound-pass > s.Step(pass) {
		mid := s.round((pass + bound) / 2)
		if mid <= pass || mid >= bound {
			break
		}
		v, err := probe(mid)
		if err != nil {
			return s.stopped(out, byLevel, pass, err)
		}
		note(mid, v)
	}
	out.Probes = sorted(byLevel)
	out.Value, out.Low = pass, pass
	switch {
	case !math.IsInf(miss, 1):
		out.High = miss
		if s.whole() {
			out.High = miss - 1
		}
		out.Binding = byLevel[miss].Binding
	case !math.IsInf(bound, 1):
		out.High = bound
		out.Binding = byLevel[bound].Binding
	default:
		out.High, out.AtCeiling = pass, true
	}
	out.Knee = knee(out.Probes)
	// Saturation is the backlog growing through a rate probe; under a closed loop, whose
	// backlog cannot grow, the server queueing requests throughout a probe. Requests queued
	// at a rate the server still keeps up with are not saturation.
	for _, p := range out.Probes {
		queued := s.Mode == results.UsersMode && p.ServerWaitingMean != nil && *p.ServerWaitingMean >= 1
		if p.Saturated || queued {
			out.SaturatedAt = p.Level
			break
		}
	}
	if s.Mode == results.RateMode {
		out.Knee = 0
	}
	out.Sentence = s.sentence(out)
	return out, nil
}

// sorted returns the probes by level.
func sorted(byLevel map[float64]results.Probe) []results.Probe {
	var ps []results.Probe
	for _, p := range byLevel {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Level < ps[j].Level })
	return ps
}

// stopped is the answer of a search that a probe's error ended (an interrupt, the suite's
// deadline, a dead server): the probes measured so far, kept, and the highest level shown
// to pass as a lower bound only, with err.
func (s *Search) stopped(out results.Capacity, byLevel map[float64]results.Probe, pass float64, err error) (results.Capacity, error) {
	out.Probes = sorted(byLevel)
	out.Value, out.Low, out.High = pass, pass, 0
	out.Sentence = fmt.Sprintf("%s: the search stopped after %d probes (%v)", s.Subject, len(out.Probes), err)
	if pass > 0 {
		out.Sentence += fmt.Sprintf("; it served %s within the SLO, the most it was shown to", s.unit(pass))
	}
	return out, err
}

// knee is the last probed level up to which output throughput grew at least half as fast
// as the load: beyond it, more load mostly waits. 0 when it never slowed.
func knee(ps []results.Probe) float64 {
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		if a.OutputTokenThroughput <= 0 || b.Level <= a.Level {
			continue
		}
		gain := (b.OutputTokenThroughput/a.OutputTokenThroughput - 1) / (b.Level/a.Level - 1)
		if gain < 0.5 {
			return a.Level
		}
	}
	return 0
}

// sentence says the answer: "sim serves 184 concurrent users (184–191) at TTFT p95 ≤ 500
// ms, ITL p95 ≤ 50 ms; ITL binds first."
func (s *Search) sentence(c results.Capacity) string {
	what := func(x float64) string {
		if s.whole() {
			if x == 1 {
				return "1 concurrent user"
			}
			return fmt.Sprintf("%g concurrent users", x)
		}
		return fmt.Sprintf("%.3g requests/s", x)
	}
	num := func(x float64) string {
		if s.whole() {
			return fmt.Sprintf("%g", x)
		}
		return fmt.Sprintf("%.3g", x)
	}
	arrivals := ""
	if s.Mode == results.RateMode {
		arrivals = " of " + s.Arrivals + " arrivals"
	}
	var b strings.Builder
	switch {
	case c.Value == 0:
		fmt.Fprintf(&b, "%s serves no load%s at %s: even %s does not meet it", s.Subject, arrivals, s.SLO.Latencies(), what(c.Probes[0].Level))
	case c.AtCeiling:
		fmt.Fprintf(&b, "%s serves at least %s%s (the search's ceiling) at %s; nothing binds up to it", s.Subject, what(c.Value), arrivals, s.SLO.Latencies())
	default:
		fmt.Fprintf(&b, "%s serves %s (%s–%s)%s at %s", s.Subject, what(c.Value), num(c.Low), num(c.High), arrivals, s.SLO.Latencies())
	}
	switch c.Binding {
	case "":
	case "saturated":
		fmt.Fprintf(&b, "; above it the backlog grows (saturated, not a latency figure)")
	case "errors":
		fmt.Fprintf(&b, "; errors bind first")
	default:
		fmt.Fprintf(&b, "; %s binds first", strings.ToUpper(c.Binding))
	}
	if s.Mode == results.RateMode && c.SaturatedAt > 0 && c.Binding != "saturated" {
		fmt.Fprintf(&b, "; at %s it saturated", what(c.SaturatedAt))
	}
	return b.String() + "."
}
