// Package hypothesis holds servegate's claims about serving frameworks (H1-H5) as data,
// and decides each on the trials' 95% intervals: pass when the whole interval satisfies
// the claim, fail when the whole interval violates it, inconclusive otherwise (the
// interval straddles the threshold, a point has fewer trials than the claim needs, or it
// measured the client). Evidence that is absent (a point, a metric, a framework's results)
// is marked Missing: never a pass.
package hypothesis

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/schema"
	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultMinTrials is the least trials per point a hypothesis is decided on unless it sets
// MinTrials: a verdict rests on t intervals, and H5's ±10% band is rarely decided with
// three.
const DefaultMinTrials = 5

// Verdicts.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
)

// Ref names one metric of one scenario point.
type Ref struct {
	Scenario string `json:"scenario"`
	Point    string `json:"point"`
	Metric   string `json:"metric"`
}

func (r Ref) String() string { return r.Scenario + "/" + r.Point + " " + r.Metric }

// Check compares a value, or the ratio of two values, with a threshold or a band.
type Check struct {
	// Num is the value; Den, when set, divides it.
	Num Ref  `json:"num"`
	Den *Ref `json:"den,omitempty"`
	// Op is one of "<=", ">=" (against Threshold), "within" or "outside" (the band
	// [Low, High]).
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold,omitempty"`
	Low       float64 `json:"low,omitempty"`
	High      float64 `json:"high,omitempty"`
	// Across, for a cross-framework claim, takes Num from one framework and Den from the
	// other: "fw:<name>" for a fixed framework, "any" for every other framework.
	NumFrom string `json:"num_from,omitempty"`
	DenFrom string `json:"den_from,omitempty"`
	// Every requires every trial to satisfy the check (e.g. 100% success), decided on the
	// values themselves rather than an interval of their mean.
	Every bool `json:"every,omitempty"`
}

// Hypothesis is one claim.
type Hypothesis struct {
	ID    string `json:"id"`
	Claim string `json:"claim"`
	// CrossFramework claims compare frameworks and need results of several.
	CrossFramework bool `json:"cross_framework"`
	// Frameworks the claim is about; empty means every framework present.
	Frameworks []string `json:"frameworks,omitempty"`
	Checks     []Check  `json:"checks"`
	// MinTrials is the least trials every point of a check must have; 0 means
	// DefaultMinTrials. Fewer leave the check inconclusive.
	MinTrials int `json:"min_trials,omitempty"`
	// Skip, when set, is why the hypothesis is not decided at all (a CI owner's choice in
	// an override file, e.g. a framework the pipeline does not run); shown as the skip.
	Skip string `json:"skip,omitempty"`
	// confidence of the intervals it is decided on; 0 means 0.95 (see Stopping).
	confidence float64
}

// Stopping is h as adaptive trials ask it whether a point needs more trials: decided on
// at least minTrials per point, on 99% intervals. A verdict read off the first few of
// several looks at growing data is wrong more often than one look's 5%; stopping only when
// the 99% interval is already on one side keeps the verdict then given on the 95% interval
// from resting on a lucky look.
func (h Hypothesis) Stopping(minTrials int) Hypothesis {
	h.MinTrials, h.confidence = minTrials, 0.99
	return h
}

func (h Hypothesis) level() float64 {
	if h.confidence == 0 {
		return 0.95
	}
	return h.confidence
}

// Trials is the least trials per point h is decided on.
func (h Hypothesis) Trials() int {
	if h.MinTrials > 0 {
		return h.MinTrials
	}
	return DefaultMinTrials
}

// About reports whether a single-framework claim applies to framework fw (a name, or a
// name with a suffix such as vllm-eager).
func (h Hypothesis) About(fw string) bool {
	if len(h.Frameworks) == 0 {
		return true
	}
	for _, f := range h.Frameworks {
		if f == fw || strings.HasPrefix(fw, f+"-") {
			return true
		}
	}
	return false
}

// Defaults returns H1-H6. H1 and H6 have cross-framework parts (H1x, H6x); H2 compares
// frameworks.
func Defaults() []Hypothesis {
	ref := func(sc, pt, m string) Ref { return Ref{sc, pt, m} }
	den := func(sc, pt, m string) *Ref { r := ref(sc, pt, m); return &r }
	return []Hypothesis{
		{ID: "H1", Claim: "batching engines scale: output throughput at concurrency 64 is at least 4x that at concurrency 1",
			Frameworks: []string{"vllm", "sglang", "sim"},
			Checks:     []Check{{Num: ref("concurrent", "c64", "output_token_throughput"), Den: den("concurrent", "c1", "output_token_throughput"), Op: ">=", Threshold: 4}}},
		{ID: "H1x", Claim: "vLLM and SGLang at concurrency 64 reach at least 3x Ollama's output throughput at 64",
			CrossFramework: true,
			Checks: []Check{
				{Num: ref("concurrent", "c64", "output_token_throughput"), NumFrom: "fw:vllm", Den: den("concurrent", "c64", "output_token_throughput"), DenFrom: "fw:ollama", Op: ">=", Threshold: 3},
				{Num: ref("concurrent", "c64", "output_token_throughput"), NumFrom: "fw:sglang", Den: den("concurrent", "c64", "output_token_throughput"), DenFrom: "fw:ollama", Op: ">=", Threshold: 3}}},
		{ID: "H2", Claim: "decode is memory-bound: at concurrency 1 the frameworks' median TPOT is within 30% of each other",
			CrossFramework: true,
			Checks:         []Check{{Num: ref("single_request", "in128", "p50_tpot_ms"), NumFrom: "any", Den: den("single_request", "in128", "p50_tpot_ms"), DenFrom: "any", Op: "within", Low: 1 / 1.3, High: 1.3}}},
		{ID: "H3", Claim: "long prompts cost prefill time, not failures: 100% success at 4096 tokens and TTFT(4096) <= 2.5x TTFT(2048)",
			Checks: []Check{
				{Num: ref("long_context", "in4096_c1", "success_rate"), Op: ">=", Threshold: 100, Every: true},
				{Num: ref("long_context", "in4096_c4", "success_rate"), Op: ">=", Threshold: 100, Every: true},
				{Num: ref("long_context", "in4096_c1", "p50_ttft_ms"), Den: den("long_context", "in2048_c1", "p50_ttft_ms"), Op: "<=", Threshold: 2.5}}},
		{ID: "H4", Claim: "prefix caching pays: with a shared system prompt, warm-request mean TTFT <= 0.7x the unshared control",
			Frameworks: []string{"vllm", "sglang", "sim"},
			Checks:     []Check{{Num: ref("prefix_cache", "shared", "rest_avg_ttft_ms"), Den: den("prefix_cache", "control", "rest_avg_ttft_ms"), Op: "<=", Threshold: 0.7}}},
		{ID: "H5", Claim: "language changes tokens, not decode speed: Korean and English output tok/s within 10%, tokens per character differ",
			Checks: []Check{
				{Num: ref("korean", "ko", "output_token_throughput"), Den: den("korean", "en", "output_token_throughput"), Op: "within", Low: 0.9, High: 1.1},
				{Num: ref("korean", "ko", "input_content_tokens_per_char"), Den: den("korean", "en", "input_content_tokens_per_char"), Op: "outside", Low: 0.9, High: 1.1}}},
		{ID: "H6", Claim: "batching engines serve at least 32 concurrent users within the SLO",
			Frameworks: []string{"vllm", "sglang", "sim"},
			Checks:     []Check{{Num: ref("capacity", "users", CapacityMetric), Op: ">=", Threshold: 32}}},
		{ID: "H6x", Claim: "vLLM and SGLang serve at least 3x as many concurrent users as Ollama within the SLO",
			CrossFramework: true,
			Checks: []Check{
				{Num: ref("capacity", "users", CapacityMetric), NumFrom: "fw:vllm", Den: den("capacity", "users", CapacityMetric), DenFrom: "fw:ollama", Op: ">=", Threshold: 3},
				{Num: ref("capacity", "users", CapacityMetric), NumFrom: "fw:sglang", Den: den("capacity", "users", CapacityMetric), DenFrom: "fw:ollama", Op: ">=", Threshold: 3}}},
	}
}

// CapacityMetric is a capacity point's answer. A check on it is decided on the interval
// the search narrowed the answer to (results.Capacity: Low to High, open above when the
// search met the SLO at its ceiling), not on trials: the search measured each level until
// it was decided, so min_trials does not apply.
const CapacityMetric = "capacity_value"

// Lookup returns the hypothesis with id.
func Lookup(hs []Hypothesis, id string) (Hypothesis, error) {
	var ids []string
	for _, h := range hs {
		if h.ID == id {
			return h, nil
		}
		ids = append(ids, h.ID)
	}
	return Hypothesis{}, fmt.Errorf("unknown hypothesis %q: known are %s", id, strings.Join(ids, ", "))
}

// CheckResult is one check decided.
type CheckResult struct {
	Check    string   `json:"check"`
	Verdict  string   `json:"verdict"`
	Observed float64  `json:"observed"`
	Low      *float64 `json:"ci95_low"`
	High     *float64 `json:"ci95_high"`
	Trials   int      `json:"trials"`
	Why      string   `json:"why,omitempty"`
	// Missing says the evidence was absent (no result for the point, no such metric, no
	// results of a framework): the check is inconclusive and a gate must not pass on it.
	Missing bool `json:"missing,omitempty"`
}

// Evidence names one point a verdict was decided on, as it was when decided: a report
// beside newer results of the same point marks the verdict stale.
type Evidence struct {
	Framework  string `json:"framework"`
	Scenario   string `json:"scenario"`
	Point      string `json:"point"`
	Trials     int    `json:"trials"`
	MeasuredAt string `json:"measured_at,omitempty"`
}

// Result is a hypothesis decided, in the form the reporter reads (hypotheses.json).
type Result struct {
	ID        string        `json:"id"`
	Claim     string        `json:"claim"`
	Verdict   string        `json:"verdict"`
	Observed  float64       `json:"observed"`
	Low       *float64      `json:"ci95_low"`
	High      *float64      `json:"ci95_high"`
	Threshold float64       `json:"threshold"`
	Details   string        `json:"details"`
	Checks    []CheckResult `json:"checks"`
	// Missing says some evidence the claim needs was absent (see CheckResult.Missing).
	Missing bool `json:"missing,omitempty"`
	// MinTrials is the least trials per point the verdict required.
	MinTrials int `json:"min_trials"`
	// Framework is the framework a single-framework claim was decided for; Compared lists
	// the frameworks a cross-framework claim compared.
	Framework string   `json:"framework,omitempty"`
	Compared  []string `json:"compared,omitempty"`
	// Preset, Scale, DecidedAt (results.TimeFormat) and Sources (the result files read)
	// say what the verdict was decided on; the caller fills them in.
	Preset    string     `json:"model_preset,omitempty"`
	Scale     string     `json:"scale,omitempty"`
	DecidedAt string     `json:"decided_at,omitempty"`
	Sources   []string   `json:"sources,omitempty"`
	Evidence  []Evidence `json:"evidence,omitempty"`
}

// Key says which verdicts replace each other in a verdict file: one per hypothesis,
// framework (or the cross-framework comparison) and preset.
func (r Result) Key() string {
	fw := r.Framework
	if fw == "" {
		fw = "cross:" + strings.Join(r.Compared, "+")
	}
	return strings.ToLower(r.ID) + "|" + fw + "|" + r.Preset
}

// Results are a framework's points, by framework name.
type Results map[string][]schema.Point

// resultName maps a suite scenario name (single) to the name its results carry
// (single_request); other names map to themselves.
func resultName(name string) string {
	for _, sc := range scenario.Suite(scenario.Quick) {
		if sc.Name == name {
			return sc.ResultName
		}
	}
	return name
}

func find(pts []schema.Point, r Ref) (schema.Point, bool) {
	want := resultName(r.Scenario)
	for _, p := range pts {
		if p.Scenario == want && p.Point == r.Point {
			return p, true
		}
	}
	return schema.Point{}, false
}

// sample is one side of a check: a metric's per-trial values at one point, or a capacity
// search's answer.
type sample struct {
	xs       []float64
	capacity *schema.Capacity
	ev       Evidence
	why      string
	missing  bool
}

// values returns a metric's per-trial values at a point of framework fw, or why there are
// none.
func values(fw string, pts []schema.Point, r Ref) sample {
	p, ok := find(pts, r)
	if !ok {
		return sample{why: fmt.Sprintf("no result for %s/%s", r.Scenario, r.Point), missing: true}
	}
	s := sample{ev: Evidence{Framework: fw, Scenario: p.Scenario, Point: p.Point, Trials: p.Trials, MeasuredAt: p.MeasuredAt}}
	if p.Invalid != "" {
		s.why = fmt.Sprintf("%s/%s is invalid (%s)", r.Scenario, r.Point, p.Invalid)
		return s
	}
	if r.Metric == CapacityMetric {
		if s.capacity = p.Capacity; s.capacity == nil {
			s.why, s.missing = fmt.Sprintf("%s/%s has no capacity answer", r.Scenario, r.Point), true
		}
	} else if iv, ok := p.TrialStats[r.Metric]; ok && len(iv.Values) > 0 {
		s.xs = iv.Values
	} else if v, ok := p.Metrics[r.Metric]; ok {
		s.xs = []float64{v}
	} else {
		s.why, s.missing = fmt.Sprintf("%s/%s has no %s", r.Scenario, r.Point, r.Metric), true
	}
	return s
}

// decide judges the estimate of the checked quantity: its mean (or ratio) and 95% interval.
func (c Check) decide(res CheckResult, lo, hi float64) CheckResult {
	ok := c.holds
	// The interval satisfies the claim when every value in it does: check its ends, and
	// for a band the band's edges inside it.
	inside := func(x float64) bool { return x >= lo && x <= hi }
	allOK, noneOK := ok(lo) && ok(hi), !ok(lo) && !ok(hi)
	if c.Op == "within" || c.Op == "outside" {
		for _, edge := range []float64{c.Low, c.High} {
			if inside(edge) {
				allOK, noneOK = false, false
			}
		}
		if c.Op == "within" && lo < c.Low && hi > c.High {
			allOK, noneOK = false, false
		}
	}
	switch {
	case allOK:
		res.Verdict = Pass
	case noneOK:
		res.Verdict = Fail
	default:
		res.Verdict, res.Why = Inconclusive, "the 95% interval straddles the threshold"
	}
	return res
}

// decideValue decides a check on one quantity's per-trial values: Student's t 95%
// interval of their mean (metrics.Estimate), or every value for an Every check.
func (c Check) decideValue(res CheckResult, xs []float64, confidence float64) CheckResult {
	iv := metrics.EstimateAt(xs, confidence)
	res.Observed, res.Low, res.High, res.Trials = iv.Mean, iv.Low, iv.High, iv.N
	if c.Every {
		res.Verdict = Pass
		for _, x := range xs {
			if !c.holds(x) {
				res.Verdict, res.Why = Fail, fmt.Sprintf("a trial measured %.3g", x)
			}
		}
		return res
	}
	if iv.Low == nil {
		res.Verdict, res.Why = Inconclusive, "fewer than two trials: no interval"
		return res
	}
	return c.decide(res, *iv.Low, *iv.High)
}

// RatioInterval estimates num/den from two independent samples (two points, or two
// frameworks, measured one after the other: trial i of one has nothing to do with trial
// i of the other). It is Welch's t interval for the difference of the mean logarithms,
// exponentiated: the ratio of geometric means with its 95% interval. ok is false when a
// value is not positive or either side has fewer than two values.
func RatioInterval(num, den []float64) (ratio, lo, hi float64, ok bool) {
	return RatioIntervalAt(num, den, 0.95)
}

// RatioIntervalAt is RatioInterval with an interval of the given confidence.
func RatioIntervalAt(num, den []float64, confidence float64) (ratio, lo, hi float64, ok bool) {
	if len(num) < 2 || len(den) < 2 {
		return 0, 0, 0, false
	}
	logs := func(xs []float64) (mean, varOfMean float64, ok bool) {
		ls := make([]float64, len(xs))
		for i, x := range xs {
			if !(x > 0) {
				return 0, 0, false
			}
			ls[i] = math.Log(x)
		}
		iv := metrics.Estimate(ls)
		return iv.Mean, iv.Std * iv.Std / float64(len(ls)), true
	}
	ma, va, okA := logs(num)
	mb, vb, okB := logs(den)
	if !okA || !okB {
		return 0, 0, 0, false
	}
	d, se := ma-mb, math.Sqrt(va+vb)
	if se == 0 {
		return math.Exp(d), math.Exp(d), math.Exp(d), true
	}
	df := (va + vb) * (va + vb) / (va*va/float64(len(num)-1) + vb*vb/float64(len(den)-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - (1-confidence)/2)
	return math.Exp(d), math.Exp(d - t*se), math.Exp(d + t*se), true
}

// decideCapacity decides a check on capacity answers: the interval of the answer, or of
// the ratio of two (the numerator's ends over the denominator's far ends).
func (c Check) decideCapacity(res CheckResult, sides []sample) CheckResult {
	bounds := func(s sample) (v, lo, hi float64, ok bool) {
		if s.capacity == nil {
			return 0, 0, 0, false
		}
		hi = s.capacity.High
		if s.capacity.AtCeiling {
			hi = math.Inf(1)
		}
		return s.capacity.Value, s.capacity.Low, hi, true
	}
	v, lo, hi, ok := bounds(sides[0])
	res.Trials = 1
	if len(sides) > 1 {
		dv, dlo, dhi, dok := bounds(sides[1])
		if !ok || !dok {
			res.Verdict, res.Why, res.Missing = Inconclusive, "a capacity compares only with a capacity", true
			return res
		}
		ratio := func(a, b float64) float64 {
			if b == 0 {
				return math.Inf(1)
			}
			return a / b
		}
		v, lo, hi = ratio(v, dv), ratio(lo, dhi), ratio(hi, dlo)
		if lo == 0 && hi == 0 || math.IsNaN(lo) || math.IsNaN(hi) {
			res.Verdict, res.Why = Inconclusive, "neither serves any load: no ratio"
			return res
		}
	}
	finite := func(x float64) *float64 {
		if math.IsInf(x, 0) {
			return nil
		}
		return &x
	}
	res.Low, res.High = finite(lo), finite(hi)
	if !math.IsInf(v, 0) {
		res.Observed = v
	} else {
		res.Why = "the denominator serves no load"
	}
	out := c.decide(res, lo, hi)
	if out.Verdict == Inconclusive {
		out.Why = "the capacity's interval straddles the threshold"
	}
	return out
}

// holds reports whether one value satisfies the check.
func (c Check) holds(x float64) bool {
	switch c.Op {
	case "<=":
		return x <= c.Threshold
	case ">=":
		return x >= c.Threshold
	case "within":
		return x >= c.Low && x <= c.High
	case "outside":
		return x < c.Low || x > c.High
	}
	return false
}

func (c Check) name(numFW, denFW string) string {
	s := c.Num.String()
	if numFW != "" {
		s = numFW + " " + s
	}
	if c.Den != nil {
		d := c.Den.String()
		if denFW != "" {
			d = denFW + " " + d
		}
		s += " / " + d
	}
	switch c.Op {
	case "within", "outside":
		return fmt.Sprintf("%s %s [%.3g, %.3g]", s, c.Op, c.Low, c.High)
	}
	return fmt.Sprintf("%s %s %.3g", s, c.Op, c.Threshold)
}

// evaluate decides one check on the given numerator and denominator frameworks' points,
// each of which must have at least minTrials trials.
func (c Check) evaluate(minTrials int, confidence float64, numFW, denFW string, numPts, denPts []schema.Point) (CheckResult, []Evidence) {
	res := CheckResult{Check: c.name(numFW, denFW)}
	sides := []sample{values(numFW, numPts, c.Num)}
	if c.Den != nil {
		sides = append(sides, values(denFW, denPts, *c.Den))
	}
	var ev []Evidence
	for _, s := range sides {
		if s.ev.Point != "" {
			ev = append(ev, s.ev)
		}
	}
	for _, s := range sides {
		if s.why != "" {
			res.Verdict, res.Why, res.Missing = Inconclusive, s.why, s.missing
			return res, ev
		}
	}
	if c.Every && c.Den == nil {
		// One failing trial disproves "every trial"; passing needs the full count.
		if r := c.decideValue(res, sides[0].xs, confidence); r.Verdict == Fail {
			return r, ev
		}
	}
	if sides[0].capacity != nil || len(sides) > 1 && sides[1].capacity != nil {
		return c.decideCapacity(res, sides), ev
	}
	for _, s := range sides {
		if s.ev.Trials < minTrials {
			res.Trials = s.ev.Trials
			res.Verdict, res.Why = Inconclusive, fmt.Sprintf("%s/%s has %d trial(s); this claim is decided on at least %d per point",
				s.ev.Scenario, s.ev.Point, s.ev.Trials, minTrials)
			return res, ev
		}
	}
	if c.Den == nil {
		return c.decideValue(res, sides[0].xs, confidence), ev
	}
	ratio, lo, hi, ok := RatioIntervalAt(sides[0].xs, sides[1].xs, confidence)
	res.Trials = min(len(sides[0].xs), len(sides[1].xs))
	if !ok {
		res.Verdict, res.Why = Inconclusive, "a ratio needs two or more positive values on each side"
		return res, ev
	}
	res.Observed, res.Low, res.High = ratio, &lo, &hi
	return c.decide(res, lo, hi), ev
}

// Evaluate decides h on rs. A single-framework claim is decided on every framework in rs
// it is about (callers decide one framework at a time); a cross-framework claim on each
// pair its checks name. A framework a check names that rs lacks is missing evidence.
func Evaluate(h Hypothesis, rs Results) Result {
	out := Result{ID: h.ID, Claim: h.Claim, MinTrials: h.Trials()}
	fws := make([]string, 0, len(rs))
	for fw := range rs {
		fws = append(fws, fw)
	}
	sort.Strings(fws)
	add := func(c CheckResult, ev []Evidence) {
		out.Checks = append(out.Checks, c)
		out.Evidence = append(out.Evidence, ev...)
	}
	compared := map[string]bool{}
	for _, c := range h.Checks {
		if !h.CrossFramework {
			for _, fw := range fws {
				if h.About(fw) {
					add(c.evaluate(h.Trials(), h.level(), fw, fw, rs[fw], rs[fw]))
				}
			}
			continue
		}
		// pick names the frameworks one side of a check takes: one fixed framework, or
		// every framework present.
		pick := func(spec string) ([]string, string) {
			if name, ok := strings.CutPrefix(spec, "fw:"); ok {
				if _, present := rs[name]; present {
					return []string{name}, ""
				}
				return nil, name
			}
			return fws, ""
		}
		nums, numAbsent := pick(c.NumFrom)
		dens, denAbsent := pick(c.DenFrom)
		for _, absent := range []string{numAbsent, denAbsent} {
			if absent != "" {
				add(CheckResult{Check: c.name(c.NumFrom, c.DenFrom), Verdict: Inconclusive, Missing: true,
					Why: "no results of " + absent}, nil)
			}
		}
		if numAbsent != "" || denAbsent != "" {
			continue
		}
		pairs := 0
		for _, a := range nums {
			for _, b := range dens {
				if a != b {
					pairs++
					compared[a], compared[b] = true, true
					add(c.evaluate(h.Trials(), h.level(), a, b, rs[a], rs[b]))
				}
			}
		}
		if pairs == 0 {
			add(CheckResult{Check: c.name(c.NumFrom, c.DenFrom), Verdict: Inconclusive, Missing: true,
				Why: "needs results of two frameworks to compare"}, nil)
		}
	}
	for fw := range compared {
		out.Compared = append(out.Compared, fw)
	}
	sort.Strings(out.Compared)
	out.Verdict = combine(out.Checks)
	for _, c := range out.Checks {
		out.Missing = out.Missing || c.Missing
	}
	if len(out.Checks) == 0 {
		out.Missing = true
		out.Details = "no framework this claim is about has results"
		if len(h.Frameworks) > 0 {
			out.Details += " (" + strings.Join(h.Frameworks, ", ") + ")"
		}
		return out
	}
	// The numbers shown beside the verdict are those of the deciding check: the first
	// failing one, else the first inconclusive, else the first.
	pick := out.Checks[0]
	for _, want := range []string{Fail, Inconclusive} {
		for _, c := range out.Checks {
			if c.Verdict == want && pick.Verdict != Fail {
				pick = c
			}
		}
	}
	out.Observed, out.Low, out.High = pick.Observed, pick.Low, pick.High
	var parts []string
	for _, c := range out.Checks {
		s := c.Check + ": " + c.Verdict
		if c.Verdict != Inconclusive || c.Low != nil { // an observation, not a zero for none
			s += fmt.Sprintf(" (%.3g)", c.Observed)
		}
		if c.Why != "" {
			s += " — " + c.Why
		}
		parts = append(parts, s)
	}
	out.Details = strings.Join(parts, "; ") + slotsNote(h, rs)
	for _, c := range h.Checks {
		out.Threshold = c.Threshold
		if c.Op == "within" || c.Op == "outside" {
			out.Threshold = c.High
		}
		break
	}
	return out
}

// slotsNote names, for each framework whose points the claim reads, the parallel slots
// its results record (Ollama's OLLAMA_NUM_PARALLEL, SGLang's max_running_requests, vLLM's
// --max-num-seqs):
// beside such a framework a verdict judges that configuration as much as the engine.
func slotsNote(h Hypothesis, rs Results) string {
	var notes []string
	for _, fw := range slices.Sorted(maps.Keys(rs)) {
		slots := map[int]bool{}
		for _, c := range h.Checks {
			for _, r := range []*Ref{&c.Num, c.Den} {
				if r == nil {
					continue
				}
				if p, ok := find(rs[fw], *r); ok && p.ParallelSlots > 0 {
					slots[p.ParallelSlots] = true
				}
			}
		}
		if len(slots) == 0 {
			continue
		}
		ns := slices.Sorted(maps.Keys(slots))
		notes = append(notes, fmt.Sprintf("%s parallel_slots %s", fw, strings.Trim(fmt.Sprint(ns), "[]")))
	}
	if len(notes) == 0 {
		return ""
	}
	return " [" + strings.Join(notes, "; ") + "]"
}

// combine: any fail fails; all pass passes; otherwise inconclusive.
func combine(cs []CheckResult) string {
	if len(cs) == 0 {
		return Inconclusive
	}
	all := true
	for _, c := range cs {
		if c.Verdict == Fail {
			return Fail
		}
		all = all && c.Verdict == Pass
	}
	if all {
		return Pass
	}
	return Inconclusive
}
