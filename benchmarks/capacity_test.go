package benchmarks

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/servegate/servegate/benchmarks/simtarget"
	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/capacity"
	"github.com/servegate/servegate/harness/hypothesis"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/slo"
	"github.com/servegate/servegate/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCapacity searches how many concurrent users, and how many requests per second, the
// target serves within the run's SLO (-slo), and writes each answer as a capacity point
// with every probe. On the simulator the users answer is held to what its step model
// says, within one step of the search.
func TestCapacity(t *testing.T) {
	if current == nil {
		t.Fatal("no target registered")
	}
	// The framework names a level of its own (TestCapacity/vllm/users), as in every
	// scenario's test.
	t.Run(current.spec.name, func(t *testing.T) {
		for _, name := range []string{"users", "rate"} {
			t.Run(name, func(t *testing.T) {
				res := current.capacity(t, name)
				c := res.Capacity
				t.Logf("%s", c.Sentence)
				if current.spec.name == "sim" && c.Mode == results.UsersMode {
					// The suite's engine runs at the preset's published speed: the
					// step model must too.
					profile, err := sim.LookupProfileAt(current.profile, current.preset.Name)
					if err != nil {
						t.Fatal(err)
					}
					_, p := capacityPoint(t, current.scale, name)
					checkTruth(t, profile, res, p.Search)
				}
			})
		}
	})
}

// capacityPoint returns the capacity scenario's point name at the suite's scale.
func capacityPoint(t *testing.T, scale scenario.Scale, name string) (scenario.Scenario, scenario.Point) {
	t.Helper()
	sc, err := scenario.Lookup("capacity", scale)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sc.Points {
		if p.Name == name && p.Search != nil {
			return sc, p
		}
	}
	t.Fatalf("no capacity point %q", name)
	return sc, scenario.Point{}
}

// capacity returns capacity point name as this run searched it: searched now and written
// to the result file, unless a test of this run already did. A rate search starts at half
// the request rate the users search found, when this run has it.
func (s *suite) capacity(t *testing.T, name string) results.Point {
	t.Helper()
	sc, p := capacityPoint(t, s.scale, name)
	return s.measureOnce(t, sc.ResultName+"/"+name, sc.Name+"/"+name, func(r scenario.Runner) (schema.Group, error) {
		sp := p.Search
		start := sp.Start
		if start == 0 {
			start = sp.StartRate
			s.mu.Lock()
			u, ok := s.measured[sc.ResultName+"/users"]
			s.mu.Unlock()
			if rate := seedRate(u.res.Capacity); ok && rate > 0 {
				start = rate
			}
		}
		d := &capacity.Driver{Runner: &r, Scenario: sc, Shape: p, Mode: sp.Mode, Arrivals: sp.Arrivals, SLO: runSLO,
			MinRequests: capacity.MinRequests(runSLO), Window: sp.Window, RampPerUser: sp.RampPerUser}
		search := &capacity.Search{Mode: sp.Mode, Arrivals: sp.Arrivals, Subject: s.spec.name, SLO: runSLO,
			Start: start, Ceiling: sp.Ceiling, MinStep: sp.MinStep, RelStep: sp.RelStep, Measure: d.Measure, Logf: r.Logf}
		c, err := search.Run(s.ctx)
		if err != nil && len(c.Probes) == 0 {
			return schema.Group{}, err
		}
		fmt.Printf("servegate: %s\n", c.Sentence)
		length := r.Target.OutputLength
		if length == "" {
			length = frameworks.Natural
		}
		out := results.Point{Scenario: sc.ResultName, Point: name, Framework: r.Target.Framework,
			InputTokens: p.InputTokens, OutputTokens: p.OutputTokens, OutputLengthMethod: string(length), OutputLengthForced: length.Forced(),
			Warmup: p.Warmup, Trials: 1, Prompts: string(p.Prompts), Capacity: &c}
		for _, pr := range c.Probes {
			out.NumRequests += pr.Requests
		}
		// No trials and no requests: the records keep the search's answer and its probes
		// on the head, and results.Assemble makes the point (capacity_value) from them.
		// A search an error stopped keeps the probes it measured, marked invalid.
		head := schema.Head{Point: out, SLO: results.SLO(&runSLO)}
		if err != nil {
			head.Stopped = err.Error()
		}
		return schema.Group{Head: head}, err
	})
}

// seedRate is half the request rate a users search measured at its answer: a rate the
// open loop should meet, from which doubling soon finds its limit.
func seedRate(c *results.Capacity) float64 {
	if c == nil {
		return 0
	}
	for _, p := range c.Probes {
		if p.Level == c.Value {
			return math.Round(p.RequestThroughput/2*10) / 10
		}
	}
	return 0
}

// trueCapacity is the most users profile serves within s, as its step model predicts
// for the driver's closed loop of shape, users ramped up ramp apart: the highest level up
// to which every level meets every objective.
func trueCapacity(t *testing.T, profile sim.Profile, shape scenario.Point, s slo.SLO, ceiling int, ramp time.Duration) int {
	t.Helper()
	minReq := capacity.MinRequests(s)
	for users := 1; users <= ceiling; users++ {
		pred, err := profile.Predict(sim.ClosedLoop{Users: users, InputTokens: shape.InputTokens, OutputTokens: shape.OutputTokens,
			Requests: max(minReq, 2*users), Stagger: time.Duration(users) * ramp})
		if err != nil {
			t.Fatal(err)
		}
		outs := make([]slo.Outcome, len(pred))
		for i, p := range pred {
			outs[i] = slo.Outcome{OK: true, TTFT: p.TTFT, ITL: p.ITL, E2E: p.E2E}
		}
		tally := s.Count(outs)
		for _, o := range s.Objectives() {
			if float64(tally.Met[o.Name]) < o.Percentile/100*float64(tally.Requests) {
				return users - 1
			}
		}
	}
	return ceiling
}

// checkTruth holds a users capacity found on the simulator by a search sp within one
// step of the search of what the profile's step model says.
func checkTruth(t *testing.T, profile sim.Profile, res results.Point, sp *scenario.Search) {
	t.Helper()
	c := res.Capacity
	truth := trueCapacity(t, profile, scenario.Point{InputTokens: res.InputTokens, OutputTokens: res.OutputTokens}, slo.SLO(c.SLO), int(c.Ceiling), sp.RampPerUser)
	step := math.Ceil(math.Max(sp.MinStep, sp.RelStep*float64(truth)))
	t.Logf("the %s profile's step model serves %d users within the SLO; the search found %g (%g–%g), one step is %g", profile.Name, truth, c.Value, c.Low, c.High, step)
	if math.Abs(c.Value-float64(truth)) > step {
		t.Errorf("the search found %g users; the step model says %d: more than one step (%g) apart", c.Value, truth, step)
	}
}

// searchSim searches the users capacity of a simulator with profile within the default
// SLO, up to ceiling users, with answers of out tokens, and returns it as a capacity point.
func searchSim(t *testing.T, profile string, ceiling float64, out int) (results.Point, sim.Profile, *scenario.Search) {
	t.Helper()
	p, err := sim.LookupProfile(profile)
	require.NoError(t, err)
	srv, err := sim.Start(sim.Config{Profile: p, Models: []string{"m"}})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	sc, shape := capacityPoint(t, scenario.Quick, "users")
	shape.OutputTokens = out
	sp := *shape.Search
	sp.Ceiling = ceiling
	s := slo.Default()
	r := &scenario.Runner{Target: simtarget.Of(srv, "m"), Nonce: "flip-" + profile}
	d := &capacity.Driver{Runner: r, Scenario: sc, Shape: shape, Mode: sp.Mode, SLO: s, MinRequests: capacity.MinRequests(s), RampPerUser: sp.RampPerUser}
	search := &capacity.Search{Mode: sp.Mode, Subject: profile, SLO: s, Start: sp.Start, Ceiling: sp.Ceiling, MinStep: sp.MinStep,
		RelStep: sp.RelStep, Measure: d.Measure, Logf: t.Logf}
	c, err := search.Run(context.Background())
	require.NoError(t, err)
	t.Log(c.Sentence)
	return results.Point{Scenario: sc.ResultName, Point: "users", Framework: "sim", InputTokens: shape.InputTokens, OutputTokens: out,
		Trials: 1, Capacity: &c, Metrics: map[string]float64{hypothesis.CapacityMetric: c.Value}}, p, &sp
}

// H6 on one engine and H6x across two flip with batching: the batching engine serves more
// than 32 users (searched up to 128 only), the single-slot engine far fewer, TTFT binding
// as requests queue for its one slot; each answer is within one step of its profile's
// step model.
func TestCapacityGatesFlipWithBatching(t *testing.T) {
	if !isSimBuild() {
		t.Skip("measures simulators")
	}
	// Short answers keep the single-slot engine's probes of 81 requests to seconds.
	batching, bp, bs := searchSim(t, "batching", 128, 8)
	slot, sp, ss := searchSim(t, "single-slot", 512, 8)
	checkTruth(t, bp, batching, bs)
	checkTruth(t, sp, slot, ss)
	assert.Equal(t, "ttft", slot.Capacity.Binding, "one slot: requests queue, and TTFT binds")
	hs := hypothesis.Defaults()
	h6, err := hypothesis.Lookup(hs, "H6")
	require.NoError(t, err)
	h6x, err := hypothesis.Lookup(hs, "H6x")
	require.NoError(t, err)
	verdict := func(h hypothesis.Hypothesis, rs hypothesis.Results) string {
		res := hypothesis.Evaluate(h, rs)
		t.Logf("%s: %s — %s", h.ID, res.Verdict, res.Details)
		return res.Verdict
	}
	pts := func(p results.Point) []results.Point { return []results.Point{p} }
	assert.Equal(t, hypothesis.Pass, verdict(h6, hypothesis.Results{"sim": pts(batching)}))
	assert.Equal(t, hypothesis.Fail, verdict(h6, hypothesis.Results{"sim": pts(slot)}))
	assert.Equal(t, hypothesis.Pass, verdict(h6x, hypothesis.Results{"vllm": pts(batching), "sglang": pts(batching), "ollama": pts(slot)}))
	assert.Equal(t, hypothesis.Fail, verdict(h6x, hypothesis.Results{"vllm": pts(slot), "sglang": pts(slot), "ollama": pts(batching)}))
}

// The simulator's step model, run in virtual time, predicts what its real-time engine
// does: the capacity tests rest on that. Clients that answer one after another split a
// wave of arrivals over a few steps, where Predict's answer at once, so TTFT may differ
// by a step. (Here, not in harness/scenario: the harness knows no simulator.)
func TestPredictMatchesTheEngine(t *testing.T) {
	if !isSimBuild() {
		t.Skip("measures simulators")
	}
	p, err := sim.LookupProfile("batching")
	require.NoError(t, err)
	for _, users := range []int{4, 48} {
		t.Run(fmt.Sprintf("c%d", users), func(t *testing.T) {
			srv, err := sim.Start(sim.Config{Profile: p, Models: []string{"m"}})
			require.NoError(t, err)
			t.Cleanup(func() { srv.Close() })
			pt := scenario.Point{Name: "c", Concurrency: users, InputTokens: 256, OutputTokens: 16, Requests: 3 * users, Prompts: scenario.Plain}
			r := &scenario.Runner{Target: simtarget.Of(srv, "m"), Nonce: strings.ReplaceAll(t.Name(), "/", "_")}
			tr, err := r.RunTrial(context.Background(), scenario.Scenario{Name: "test", ResultName: "test"}, pt, 1)
			require.NoError(t, err)
			pred, err := p.Predict(sim.ClosedLoop{Users: users, InputTokens: 256, OutputTokens: 16, Requests: 3 * users})
			require.NoError(t, err)
			var mTTFT, mITL, pTTFT, pITL float64
			for i := range tr.Records {
				o := slo.FromRecord(&tr.Records[i])
				mTTFT += msOf(o.TTFT)
				mITL += msOf(o.ITL)
			}
			for _, pr := range pred {
				pTTFT += msOf(pr.TTFT)
				pITL += msOf(pr.ITL)
			}
			n := float64(len(pred))
			t.Logf("TTFT mean: measured %.2f ms, predicted %.2f ms; ITL mean: measured %.2f ms, predicted %.2f ms", mTTFT/n, pTTFT/n, mITL/n, pITL/n)
			assert.InEpsilon(t, pITL/n, mITL/n, 0.05, "mean ITL")
			assert.InDelta(t, pTTFT/n, mTTFT/n, 1+pITL/n+0.1*pTTFT/n, "mean TTFT (ms): within a step")
		})
	}
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
