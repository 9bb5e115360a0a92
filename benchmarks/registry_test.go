package benchmarks

import (
	"context"

	"github.com/servegate/servegate/harness/scenario"
)

// targetSpec is a kind of target the suite can run against: build-tagged files register
// one each.
type targetSpec struct {
	name string
	// start brings the target up for the suite and returns it with a function that stops
	// it.
	start func(ctx context.Context, s *suite) (scenario.Target, func() error, error)
	// exact is true when the target must serve every request in full (the simulator): any
	// failure or fairness warning then fails the test.
	exact bool
}

var registered []targetSpec

func register(t targetSpec) { registered = append(registered, t) }
