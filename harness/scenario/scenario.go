// Package scenario declares servegate's scenarios as data (points with their shapes) and
// runs a point against a target: build prompts, warm up, drive the load, compute metrics,
// repeat for trials and aggregate.
package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/servegate/servegate/harness/results"
)

// Prompts names how a point's prompts are made.
type Prompts string

const (
	// Plain prompts: an English question padded with filler to InputTokens, unique from the
	// first token so no request reuses another's prefix cache.
	Plain Prompts = "plain"
	// SharedPrefix prompts: one system prompt of PrefixTokens shared by every request of a
	// trial, then a unique user question.
	SharedPrefix Prompts = "shared_prefix"
	// UnsharedPrefix prompts: the control for SharedPrefix, a system prompt of the same
	// length made unique per request from its first token.
	UnsharedPrefix Prompts = "unshared_prefix"
	// English and Korean prompts: the matched fixture pairs at their natural length.
	English Prompts = "english"
	Korean  Prompts = "korean"
)

// Point is one measured configuration of a scenario.
type Point struct {
	// Name selects the point: go test -run 'Concurrent/sim/c64' (the framework, then the
	// point).
	Name string
	// Concurrency is the closed-loop concurrency, or the cap on requests in flight when
	// RequestRate is set (0 = no cap). RampUp starts a closed loop's users evenly over that
	// long (load.ClosedLoop).
	Concurrency int
	RampUp      time.Duration
	// RequestRate, when positive, makes the point open-loop at this many requests/second,
	// arriving as Arrivals says: PoissonArrivals (also when empty) or ConstantArrivals.
	RequestRate float64
	Arrivals    string
	// InputTokens is the target prompt length; 0 keeps the prompts' natural length.
	InputTokens int
	// OutputTokens is max_tokens, held exactly where the API allows (ignore_eos).
	OutputTokens int
	// Requests are measured; Warmup are sent first, one at a time, and not measured.
	Requests, Warmup int
	Prompts          Prompts
	// PrefixTokens is the system prompt length for SharedPrefix and UnsharedPrefix.
	PrefixTokens int
	// Search, on a capacity point, says how the load is searched; the point's other
	// fields are the shape every level sends, and its Concurrency or RequestRate is the
	// level.
	Search *Search
}

// Search describes a capacity search (harness/capacity runs it).
type Search struct {
	// Mode is results.UsersMode (closed loop) or results.RateMode (open loop, Arrivals).
	Mode     string
	Arrivals string
	// Start is the first level (0 for a rate: start at half the rate the users search
	// found, else at StartRate); Ceiling the highest tried.
	Start, Ceiling float64
	StartRate      float64
	// Bisection ends within max(MinStep, RelStep × level).
	MinStep, RelStep float64
	// Window is the least time an open loop's arrivals span, so a backlog can show.
	Window time.Duration
	// RampPerUser starts a closed loop's users this far apart (load.ClosedLoop.RampUp):
	// users at their own phases, as a service sees them, rather than waves of equal
	// requests that start and end together.
	RampPerUser time.Duration
}

// Arrival processes of an open-loop point.
const (
	PoissonArrivals  = "poisson"
	ConstantArrivals = "constant"
)

// Scenario is a named set of points.
type Scenario struct {
	// Name is what users select (single, concurrent, ...).
	Name string
	// ResultName is the "scenario" field of result entries, as the original wrote it.
	ResultName string
	Points     []Point
}

// Scale chooses the scenario shapes.
type Scale string

const (
	// Quick shapes keep every point but few, short requests: for CI and tests.
	Quick Scale = "quick"
	// Full shapes are the original project's defaults.
	Full Scale = "full"
)

// ParseScale checks a scale name.
func ParseScale(s string) (Scale, error) {
	switch Scale(s) {
	case Quick, Full:
		return Scale(s), nil
	}
	return "", fmt.Errorf("unknown scale %q: use %q or %q", s, Quick, Full)
}

// Names lists the scenarios in suite order.
func Names() []string {
	return []string{"single", "concurrent", "long_context", "prefix_cache", "korean", "capacity"}
}

// Suite returns every scenario at scale.
func Suite(scale Scale) []Scenario {
	q := scale == Quick
	pick := func(quick, full int) int {
		if q {
			return quick
		}
		return full
	}
	var single, concurrent, long []Point
	for _, in := range []int{128, 512, 1024} {
		single = append(single, Point{Name: fmt.Sprintf("in%d", in), Concurrency: 1, InputTokens: in,
			OutputTokens: pick(32, 256), Requests: pick(3, 10), Warmup: pick(1, 2), Prompts: Plain})
	}
	for _, c := range []int{1, 8, 16, 32, 64} {
		concurrent = append(concurrent, Point{Name: fmt.Sprintf("c%d", c), Concurrency: c, InputTokens: 256,
			OutputTokens: pick(32, 256), Requests: pick(max(4, 2*c), 100), Warmup: pick(1, 2), Prompts: Plain})
	}
	for _, in := range []int{2048, 4096} {
		for _, c := range []int{1, 4} {
			long = append(long, Point{Name: fmt.Sprintf("in%d_c%d", in, c), Concurrency: c, InputTokens: in,
				OutputTokens: pick(16, 128), Requests: pick(max(2, c), 5), Warmup: 1, Prompts: Plain})
		}
	}
	prefix := []Point{
		{Name: "shared", Concurrency: 1, OutputTokens: pick(16, 64), Requests: pick(10, 50), Prompts: SharedPrefix, PrefixTokens: pick(1024, 2048)},
		{Name: "control", Concurrency: 1, OutputTokens: pick(16, 64), Requests: pick(10, 50), Prompts: UnsharedPrefix, PrefixTokens: pick(1024, 2048)},
	}
	// Capacity: how many users, and how many requests per second, the target serves within
	// the SLO. Short chat turns; every level measured with at least two requests per user
	// or the requests that can show the SLO's percentiles.
	capacity := []Point{
		{Name: "users", InputTokens: 256, OutputTokens: pick(16, 128), Warmup: 1, Prompts: Plain,
			Search: &Search{Mode: results.UsersMode, Start: 1, Ceiling: float64(pick(512, 2048)), MinStep: 1, RelStep: 0.05,
				RampPerUser: 2 * time.Millisecond}},
		{Name: "rate", InputTokens: 256, OutputTokens: pick(16, 128), Warmup: 1, Prompts: Plain,
			Search: &Search{Mode: results.RateMode, Arrivals: PoissonArrivals, StartRate: 8, Ceiling: float64(pick(5000, 20000)),
				MinStep: 0.1, RelStep: 0.05, Window: time.Duration(pick(4, 30)) * time.Second}},
	}
	korean := []Point{
		{Name: "en", Concurrency: 1, OutputTokens: pick(32, 256), Requests: 12, Warmup: 1, Prompts: English},
		{Name: "ko", Concurrency: 1, OutputTokens: pick(32, 256), Requests: 12, Warmup: 1, Prompts: Korean},
	}
	return []Scenario{
		{Name: "single", ResultName: "single_request", Points: single},
		{Name: "concurrent", ResultName: "concurrent", Points: concurrent},
		{Name: "long_context", ResultName: "long_context", Points: long},
		{Name: "prefix_cache", ResultName: "prefix_cache", Points: prefix},
		{Name: "korean", ResultName: "korean", Points: korean},
		{Name: "capacity", ResultName: "capacity", Points: capacity},
	}
}

// Lookup returns the named scenario at scale, or an error naming the known ones.
func Lookup(name string, scale Scale) (Scenario, error) {
	for _, s := range Suite(scale) {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q: choose from %s", name, strings.Join(Names(), ", "))
}

// Select parses a comma-separated list of scenario names ("all" or empty for every one).
func Select(list string, scale Scale) ([]Scenario, error) {
	if list == "" || list == "all" {
		return Suite(scale), nil
	}
	var out []Scenario
	for _, n := range strings.Split(list, ",") {
		s, err := Lookup(strings.TrimSpace(n), scale)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(x Scenario) bool { return x.Name == s.Name }) {
			out = append(out, s)
		}
	}
	return out, nil
}

// MaxContext is the most tokens any request of the suite at scale holds, prompt and
// output: what a server's context window must fit (Ollama's num_ctx).
func MaxContext(scale Scale) int {
	most := 0
	for _, sc := range Suite(scale) {
		for _, p := range sc.Points {
			in := max(p.InputTokens, p.PrefixTokens+128) // a question follows the prefix
			most = max(most, in+p.OutputTokens)
		}
	}
	return most
}
