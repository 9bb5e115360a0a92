package scenario

import (
	"context"
	"testing"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/simproc"
	"github.com/servegate/servegate/internal/truth"
)

const testModel = "sim-model"

// truthFunc returns what the simulator recorded about a request.
type truthFunc func(ctx context.Context, id string) (truth.Request, error)

// startSimProcess runs the simulator as a process of its own (servegate-sim with args),
// so the client under test shares neither its Go scheduler nor its code, and returns a
// target for it and a way to read its truth.
func startSimProcess(t testing.TB, args ...string) (Target, truthFunc) {
	t.Helper()
	s := simproc.Start(t, simproc.Options{Model: testModel, Args: args})
	return simTarget(s), s.Truth
}

// simTarget describes a simulator process as the suite's simulated target does: its
// tokenizer is servegate's own (prompt.Local), it holds output lengths, reports usage per
// chunk and empties its prefix cache on request.
func simTarget(s *simproc.Sim) Target {
	return Target{Framework: "sim", Model: s.Model, BaseURL: s.URL, Dialect: stream.OpenAI, ContinuousUsage: true,
		OutputLength: frameworks.IgnoreEOS, HealthPath: "/health", MetricsPath: "/metrics", Metrics: frameworks.SimMetrics,
		Count: prompt.Local, ResetCache: s.ResetCache, Version: "sim"}
}
