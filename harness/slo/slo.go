// Package slo holds service-level objectives as data: per-request latency objectives, each
// met by a percentile of requests (TTFT p95 <= 500 ms), and a ceiling on failed requests.
// It counts which requests met them (goodput and attainment) and decides, with a Wilson
// score interval, whether a measurement meets every objective, fails one, or cannot tell.
package slo

import (
	"fmt"
	"strings"
	"time"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/schema"
)

// Objective is one latency objective: Percentile percent of requests take at most MaxMs.
type Objective = schema.Objective

// SLO is a set of objectives (schema.SLO, with the methods that judge requests against
// it). A nil objective is not checked. A request meets an objective when it succeeded and
// its value is at most MaxMs; a failed request meets none. ITL is the request's mean
// inter-token latency: (E2E - TTFT) / (output tokens - 1), zero with one token, as vLLM's
// benchmark judges tpot for --goodput (benchmarks/serve.py: a request is good when every
// objective holds).
type SLO schema.SLO

// Default is TTFT p95 <= 500 ms, ITL p95 <= 50 ms and at most 1% failed requests: an
// interactive chat service's usual promise. E2E is unset: it depends on the output length.
func Default() SLO {
	return SLO{TTFT: &Objective{Percentile: 95, MaxMs: 500}, ITL: &Objective{Percentile: 95, MaxMs: 50}, MaxErrorPct: 1}
}

// Named is an objective with the name results and sentences use.
type Named struct {
	Name string
	Objective
}

// Objectives lists the set objectives in a fixed order: ttft, itl, e2e.
func (s SLO) Objectives() []Named {
	var out []Named
	for _, o := range []struct {
		name string
		o    *Objective
	}{{"ttft", s.TTFT}, {"itl", s.ITL}, {"e2e", s.E2E}} {
		if o.o != nil {
			out = append(out, Named{o.name, *o.o})
		}
	}
	return out
}

// String reads like the promise: "TTFT p95 <= 500 ms, ITL p95 <= 50 ms, errors <= 1%".
func (s SLO) String() string {
	var parts []string
	for _, o := range s.Objectives() {
		parts = append(parts, fmt.Sprintf("%s p%s ≤ %s ms", strings.ToUpper(o.Name), num(o.Percentile), num(o.MaxMs)))
	}
	parts = append(parts, fmt.Sprintf("errors ≤ %s%%", num(s.MaxErrorPct)))
	return strings.Join(parts, ", ")
}

// Latencies is the objectives alone, as a sentence says them: "TTFT p95 ≤ 500 ms, ITL p95 ≤ 50 ms".
func (s SLO) Latencies() string {
	return strings.TrimSuffix(strings.TrimSuffix(s.String(), fmt.Sprintf("errors ≤ %s%%", num(s.MaxErrorPct))), ", ")
}

func num(x float64) string { return strings.TrimSuffix(fmt.Sprintf("%.3g", x), ".0") }

// Outcome is what an objective looks at in one request.
type Outcome struct {
	OK             bool
	TTFT, ITL, E2E time.Duration
}

// FromRecord reads a request's outcome from its record. A request of any failed class
// (an error, a stall, a cut or truncated stream, no token) meets no objective.
func FromRecord(r *stream.Record) Outcome {
	if !r.OK() {
		return Outcome{}
	}
	o := Outcome{OK: true, TTFT: r.TTFT(), E2E: r.Latency()}
	if n := r.OutputTokens(); n > 1 {
		o.ITL = (o.E2E - o.TTFT) / time.Duration(n-1)
	}
	return o
}

func (o Outcome) value(name string) time.Duration {
	switch name {
	case "ttft":
		return o.TTFT
	case "itl":
		return o.ITL
	}
	return o.E2E
}

// Tally counts requests and which objectives they met. Tallies of two measurements of the
// same load add up (Add), so a measurement that cannot decide can be extended.
type Tally struct {
	// Requests were sent; Failed of them failed.
	Requests, Failed int
	// Met counts, per objective name, the requests that met it; Good those that met every
	// objective (and succeeded).
	Met  map[string]int
	Good int
}

// Count tallies outcomes against s.
func (s SLO) Count(outs []Outcome) Tally {
	t := Tally{Requests: len(outs), Met: map[string]int{}}
	objs := s.Objectives()
	for _, o := range outs {
		if !o.OK {
			t.Failed++
			continue
		}
		good := true
		for _, obj := range objs {
			if ms(o.value(obj.Name)) <= obj.MaxMs {
				t.Met[obj.Name]++
			} else {
				good = false
			}
		}
		if good {
			t.Good++
		}
	}
	return t
}

// CountRecords tallies records against s. Requests the run itself cancelled (class
// cancelled: an interrupt, the suite's deadline) say nothing about the server and are left
// out, as the point's other figures leave them out; every other failure counts as sent
// and missed.
func (s SLO) CountRecords(recs []stream.Record) Tally {
	outs := make([]Outcome, 0, len(recs))
	for i := range recs {
		if recs[i].Class() == stream.Cancelled {
			continue
		}
		outs = append(outs, FromRecord(&recs[i]))
	}
	return s.Count(outs)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Add returns the tally of both measurements together.
func (t Tally) Add(o Tally) Tally {
	out := Tally{Requests: t.Requests + o.Requests, Failed: t.Failed + o.Failed, Good: t.Good + o.Good, Met: map[string]int{}}
	for k, v := range t.Met {
		out.Met[k] += v
	}
	for k, v := range o.Met {
		out.Met[k] += v
	}
	return out
}

// AttainmentPct is the percent of requests that met every objective.
func (t Tally) AttainmentPct() float64 {
	if t.Requests == 0 {
		return 0
	}
	return 100 * float64(t.Good) / float64(t.Requests)
}

// ErrorPct is the percent of requests that failed.
func (t Tally) ErrorPct() float64 {
	if t.Requests == 0 {
		return 0
	}
	return 100 * float64(t.Failed) / float64(t.Requests)
}

// Verdicts of a decision.
const (
	Pass = "pass"
	Fail = "fail"
	// Straddle: some objective's interval holds its percentile; more requests may decide it.
	Straddle = "straddle"
)

// Share is one objective judged: the share of requests that met it, with its 95% Wilson
// interval, against the share the objective asks for.
type Share = schema.Share

// Decision is a tally judged against every objective.
type Decision struct {
	Verdict string
	Shares  []Share
	// Binding names what failed, or came nearest to failing: an objective's name, or
	// "errors". Empty when nothing is set.
	Binding string
}

// Decide judges t: an objective passes when the Wilson interval of the share of requests
// meeting it lies wholly at or above its percentile, fails when wholly below, and
// straddles otherwise; the failed share fails when it is above MaxErrorPct (a point
// estimate: a one-percent ceiling cannot be shown met with the few hundred requests a
// level gets, and failed requests already count against every objective). The decision
// fails if anything fails, passes if everything passes, and straddles otherwise.
//
// Requests of one measurement are not independent (a closed loop's requests share the
// server's state), so the interval is narrower than the truth; the capacity search meets
// this by measuring a straddling level again rather than trusting one draw.
func (s SLO) Decide(t Tally) Decision {
	d := Decision{Verdict: Pass}
	worst := 2.0 // the least margin: (interval's upper bound - want), of any objective
	for _, o := range s.Objectives() {
		sh := Share{Objective: o.Name, Met: t.Met[o.Name], Requests: t.Requests, Want: o.Percentile / 100}
		sh.Low, sh.High = metrics.Wilson(sh.Met, t.Requests)
		switch {
		case sh.Low >= sh.Want:
			sh.Verdict = Pass
		case sh.High < sh.Want:
			sh.Verdict = Fail
		default:
			sh.Verdict = Straddle
		}
		if margin := sh.High - sh.Want; margin < worst {
			worst, d.Binding = margin, o.Name
		}
		d.Shares = append(d.Shares, sh)
		d.Verdict = worse(d.Verdict, sh.Verdict)
	}
	if t.ErrorPct() > s.MaxErrorPct {
		d.Verdict, d.Binding = Fail, "errors"
	}
	return d
}

func worse(a, b string) string {
	rank := map[string]int{Pass: 0, Straddle: 1, Fail: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
