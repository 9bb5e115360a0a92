package benchmarks

import (
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/servegate/servegate/harness/hypothesis"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
)

// Adaptive trials (-trials=auto): each point gets at least autoMinTrials trials and at
// most autoMaxTrials, and stops as soon as every gate that uses it is decided on its 99%
// interval (hypothesis.Stopping) or, where no gate can be decided yet (it needs a point
// not yet measured) or none uses it, the 95% interval of each metric the gates read there
// (output_token_throughput where none does) is within autoHalfWidth of its mean.
const (
	autoMinTrials = 3
	autoMaxTrials = 10
	autoHalfWidth = 0.05
)

// trialsFlag is -trials: a number of trials per point, or auto.
type trialsFlag struct {
	auto bool
	n    int
}

func (f *trialsFlag) String() string {
	if f.auto {
		return "auto"
	}
	return strconv.Itoa(f.n)
}

func (f *trialsFlag) Set(v string) error {
	if v == "auto" {
		f.auto, f.n = true, autoMinTrials
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("want a whole number of trials, 1 or more, or auto")
	}
	f.auto, f.n = false, n
	return nil
}

// flagTrials is -trials (SERVEGATE_TRIALS), 1 unless set.
var flagTrials = func() *trialsFlag {
	f := &trialsFlag{n: 1}
	if v := strings.TrimSpace(os.Getenv("SERVEGATE_TRIALS")); v != "" {
		if err := f.Set(v); err != nil {
			envErrs = append(envErrs, fmt.Errorf("SERVEGATE_TRIALS=%q: %v", v, err))
		}
	}
	flag.Var(f, "trials", fmt.Sprintf("trials per scenario point, or auto: from %d to %d, stopping when every gate using the point is decided or its interval is within %g%% (env SERVEGATE_TRIALS)",
		autoMinTrials, autoMaxTrials, 100*autoHalfWidth))
	return f
}()

// gatesAt returns the single-framework gates about the target under test with a check
// that reads point p of sc, each with the indexes of those checks.
func (s *suite) gatesAt(sc scenario.Scenario, p scenario.Point) (map[string][]int, []hypothesis.Hypothesis) {
	hs, err := loadHypotheses()
	if err != nil {
		return nil, nil // the gates' own tests report it
	}
	at := map[string][]int{}
	var out []hypothesis.Hypothesis
	reads := func(r hypothesis.Ref) bool {
		return (r.Scenario == sc.Name || r.Scenario == sc.ResultName) && r.Point == p.Name
	}
	for _, h := range hs {
		if h.Skip != "" || h.CrossFramework || !h.About(s.spec.name) {
			continue
		}
		for i, c := range h.Checks {
			if reads(c.Num) || c.Den != nil && reads(*c.Den) {
				if at[h.ID] == nil {
					out = append(out, h)
				}
				at[h.ID] = append(at[h.ID], i)
			}
		}
	}
	return at, out
}

// autoMin is the least trials adaptive trials give p: autoMinTrials, or more where a gate
// that reads it sets min_trials above that.
func (s *suite) autoMin(sc scenario.Scenario, p scenario.Point) int {
	n := autoMinTrials
	_, gates := s.gatesAt(sc, p)
	for _, h := range gates {
		n = max(n, h.MinTrials)
	}
	return n
}

// until is adaptive trials' stopping rule for point p of sc.
func (s *suite) until(sc scenario.Scenario, p scenario.Point) func(results.Point) (bool, string) {
	at, gates := s.gatesAt(sc, p)
	return func(sofar results.Point) (bool, string) {
		pts := []results.Point{sofar}
		s.mu.Lock()
		for _, m := range s.measured {
			if m.res.Scenario != sofar.Scenario || m.res.Point != sofar.Point {
				pts = append(pts, m.res)
			}
		}
		s.mu.Unlock()
		var decided, waiting []string
		var width []string // metrics whose interval must narrow instead
		for _, h := range gates {
			res := hypothesis.Evaluate(h.Stopping(max(autoMinTrials, h.MinTrials)), hypothesis.Results{s.spec.name: pts})
			for _, i := range at[h.ID] {
				c := res.Checks[i]
				switch {
				case c.Verdict != hypothesis.Inconclusive:
					decided = append(decided, h.ID)
				case c.Missing:
					// Another point the check needs is not measured yet: narrow this one.
					width = append(width, h.Checks[i].Num.Metric)
					if d := h.Checks[i].Den; d != nil {
						width = append(width, d.Metric)
					}
				default:
					waiting = append(waiting, h.ID)
				}
			}
		}
		if len(waiting) > 0 {
			return false, ""
		}
		if len(gates) == 0 {
			width = []string{"output_token_throughput"}
		}
		slices.Sort(width)
		width = slices.Compact(width)
		for _, m := range width {
			iv, ok := sofar.TrialStats[m]
			if !ok || iv.Low == nil || iv.Mean == 0 {
				continue // not measured at this point (the other side's metric)
			}
			if half := (*iv.High - *iv.Low) / 2 / math.Abs(iv.Mean); half > autoHalfWidth {
				return false, ""
			}
		}
		slices.Sort(decided)
		decided = slices.Compact(decided)
		why := fmt.Sprintf("%d trials: ", sofar.Trials)
		switch {
		case len(decided) > 0 && len(width) > 0 && len(gates) > 0:
			why += strings.Join(decided, ", ") + " decided; " + strings.Join(width, ", ") + " within ±5%"
		case len(decided) > 0:
			why += strings.Join(decided, ", ") + " decided on the 99% interval"
		default:
			why += strings.Join(width, ", ") + " within ±5% (95% interval)"
		}
		return true, why
	}
}
