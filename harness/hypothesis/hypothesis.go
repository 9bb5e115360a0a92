// Package hypothesis holds servegate's claims about serving frameworks (H1-H5 of SPEC.md)
// as data, and decides each on the trials' 95% intervals: pass when the whole interval
// satisfies the claim, fail when the whole interval violates it, inconclusive otherwise
// (including when a point has fewer than two trials or measured the client).
package hypothesis

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/results"
)

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
}

// Defaults returns H1-H5 of SPEC.md. H1 and H2 also have cross-framework parts (H1x, H2).
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
				{Num: ref("korean", "ko", "input_tokens_per_char"), Den: den("korean", "en", "input_tokens_per_char"), Op: "outside", Low: 0.9, High: 1.1}}},
	}
}

// Load returns the defaults with those in the JSON file at path ([]Hypothesis) replacing
// the ones with the same ID and adding the rest.
func Load(path string) ([]Hypothesis, error) {
	hs := Defaults()
	if path == "" {
		return hs, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read hypotheses: %w", err)
	}
	var over []Hypothesis
	if err := json.Unmarshal(b, &over); err != nil {
		return nil, fmt.Errorf("parse hypotheses %s: %w", path, err)
	}
	for _, o := range over {
		replaced := false
		for i := range hs {
			if hs[i].ID == o.ID {
				hs[i], replaced = o, true
			}
		}
		if !replaced {
			hs = append(hs, o)
		}
	}
	return hs, nil
}

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
}

// Results are a framework's points, by framework name.
type Results map[string][]results.Point

func find(pts []results.Point, r Ref) (results.Point, bool) {
	for _, p := range pts {
		if (p.Scenario == r.Scenario || scenarioAlias[r.Scenario] == p.Scenario) && p.Point == r.Point {
			return p, true
		}
	}
	return results.Point{}, false
}

// scenarioAlias maps suite names to result names.
var scenarioAlias = map[string]string{"single": "single_request"}

// values returns a metric's per-trial values at a point, and why not.
func values(pts []results.Point, r Ref) ([]float64, string) {
	p, ok := find(pts, r)
	if !ok {
		return nil, fmt.Sprintf("no result for %s/%s", r.Scenario, r.Point)
	}
	if p.Invalid != "" {
		return nil, fmt.Sprintf("%s/%s is invalid (%s)", r.Scenario, r.Point, p.Invalid)
	}
	if iv, ok := p.TrialStats[r.Metric]; ok && len(iv.Values) > 0 {
		return iv.Values, ""
	}
	if v, ok := p.Metrics[r.Metric]; ok {
		return []float64{v}, ""
	}
	return nil, fmt.Sprintf("%s has no %s", r.Scenario+"/"+r.Point, r.Metric)
}

// decide judges one set of observations (per-trial values of the checked quantity).
// The interval is Student's t 95% interval of their mean (metrics.Estimate).
func (c Check) decide(name string, xs []float64) CheckResult {
	iv := metrics.Estimate(xs)
	res := CheckResult{Check: name, Observed: iv.Mean, Low: iv.Low, High: iv.High, Trials: iv.N}
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
	lo, hi := *iv.Low, *iv.High
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

// ratios pairs per-trial values by trial and divides; with different trial counts the
// shorter list sets the count.
func ratios(num, den []float64) []float64 {
	n := min(len(num), len(den))
	out := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if den[i] != 0 {
			out = append(out, num[i]/den[i])
		}
	}
	return out
}

// evaluate decides one check on the given numerator and denominator frameworks' points.
func (c Check) evaluate(numFW, denFW string, numPts, denPts []results.Point) CheckResult {
	name := c.name(numFW, denFW)
	num, why := values(numPts, c.Num)
	if why != "" {
		return CheckResult{Check: name, Verdict: Inconclusive, Why: why}
	}
	xs := num
	if c.Den != nil {
		den, why := values(denPts, *c.Den)
		if why != "" {
			return CheckResult{Check: name, Verdict: Inconclusive, Why: why}
		}
		xs = ratios(num, den)
	}
	return c.decide(name, xs)
}

// Evaluate decides h on rs. A single-framework claim is decided for each framework it is
// about that is present; a cross-framework claim on each pair its checks name.
func Evaluate(h Hypothesis, rs Results) Result {
	out := Result{ID: h.ID, Claim: h.Claim}
	fws := make([]string, 0, len(rs))
	for fw := range rs {
		fws = append(fws, fw)
	}
	sort.Strings(fws)
	about := func(fw string) bool {
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
	for _, c := range h.Checks {
		switch {
		case !h.CrossFramework:
			for _, fw := range fws {
				if about(fw) {
					out.Checks = append(out.Checks, c.evaluate(fw, fw, rs[fw], rs[fw]))
				}
			}
		default:
			pick := func(spec string) []string {
				if name, ok := strings.CutPrefix(spec, "fw:"); ok {
					if _, present := rs[name]; present {
						return []string{name}
					}
					return nil
				}
				return fws
			}
			for _, a := range pick(c.NumFrom) {
				for _, b := range pick(c.DenFrom) {
					if a != b {
						out.Checks = append(out.Checks, c.evaluate(a, b, rs[a], rs[b]))
					}
				}
			}
		}
	}
	out.Verdict = combine(out.Checks)
	if len(out.Checks) == 0 {
		out.Details = "no framework this claim is about has results"
		if h.CrossFramework {
			out.Details = "needs results of the frameworks it compares"
		}
	}
	// The numbers shown beside the verdict are those of the deciding check: the first
	// failing one, else the first inconclusive, else the first.
	if len(out.Checks) > 0 {
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
			s := fmt.Sprintf("%s: %s (%.3g)", c.Check, c.Verdict, c.Observed)
			if c.Why != "" {
				s += " — " + c.Why
			}
			parts = append(parts, s)
		}
		out.Details = strings.Join(parts, "; ")
		for _, c := range h.Checks {
			out.Threshold = c.Threshold
			if c.Op == "within" || c.Op == "outside" {
				out.Threshold = c.High
			}
			break
		}
	}
	return out
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
