package benchmarks

import (
	"testing"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/stretchr/testify/assert"
)

// TestTrialsFlag: -trials is a whole number of trials or auto; anything else says so.
func TestTrialsFlag(t *testing.T) {
	for _, c := range []struct {
		in   string
		want trialsFlag
		err  bool
	}{
		{"5", trialsFlag{n: 5}, false},
		{"auto", trialsFlag{auto: true, n: autoMinTrials}, false},
		{"0", trialsFlag{}, true},
		{"three", trialsFlag{}, true},
	} {
		var f trialsFlag
		err := f.Set(c.in)
		if c.err {
			assert.ErrorContains(t, err, "or auto", c.in)
			continue
		}
		assert.NoError(t, err, c.in)
		assert.Equal(t, c.want, f, c.in)
		assert.Equal(t, c.in, f.String())
	}
}

// TestAutoTrialsStopWhenTheGatesAreDecided holds -trials=auto's stopping rule to its
// word on the default gates: a point a gate reads stops once the gate is decided on its
// 99% interval, not while it straddles; a point whose gate waits for a point not measured
// yet, or that no gate reads, stops when its interval is within 5%.
func TestAutoTrialsStopWhenTheGatesAreDecided(t *testing.T) {
	pt := func(sc, name string, xs ...float64) results.Point {
		iv := metrics.Estimate(xs)
		return results.Point{Scenario: sc, Point: name, Trials: len(xs), Metrics: map[string]float64{"output_token_throughput": iv.Mean},
			TrialStats: map[string]metrics.Interval{"output_token_throughput": iv}}
	}
	concurrent, err := scenario.Lookup("concurrent", scenario.Quick)
	if err != nil {
		t.Fatal(err)
	}
	c64 := scenario.Point{Name: "c64"}
	c1 := pt("concurrent", "c1", 100, 101, 99)
	for _, c := range []struct {
		name     string
		measured []results.Point
		sc       scenario.Scenario
		p        scenario.Point
		sofar    results.Point
		stop     bool
		why      string
	}{
		{"H1 decided: c64 is 10x c1", []results.Point{c1}, concurrent, c64, pt("concurrent", "c64", 1000, 1010, 990), true, "H1 decided on the 99% interval"},
		{"H1 straddles 4x: more trials", []results.Point{c1}, concurrent, c64, pt("concurrent", "c64", 300, 500, 400), false, ""},
		{"c1 not measured: c64's interval is narrow", nil, concurrent, c64, pt("concurrent", "c64", 1000, 1010, 990), true, "output_token_throughput within ±5% (95% interval)"},
		{"c1 not measured: c64's interval is wide", nil, concurrent, c64, pt("concurrent", "c64", 800, 1200, 1000), false, ""},
		{"no gate reads the point: narrow", nil, scenario.Scenario{Name: "x", ResultName: "x"}, scenario.Point{Name: "p"}, pt("x", "p", 50, 50.5, 49.5), true, "output_token_throughput within ±5% (95% interval)"},
		{"no gate reads the point: wide", nil, scenario.Scenario{Name: "x", ResultName: "x"}, scenario.Point{Name: "p"}, pt("x", "p", 40, 50, 60), false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &suite{spec: targetSpec{name: "sim"}, measured: map[string]measurement{}}
			for _, m := range c.measured {
				s.measured[m.Scenario+"/"+m.Point] = measurement{res: m}
			}
			stop, why := s.until(c.sc, c.p)(c.sofar)
			assert.Equal(t, c.stop, stop)
			if c.stop {
				assert.Equal(t, "3 trials: "+c.why, why)
			}
		})
	}
}
