package capacity

import (
	"context"
	"testing"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/slo"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/simproc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAProbeCountsEveryFailedClassAgainstTheSLO runs a probe against a simulator that
// stalls, truncates and sends empty streams: every such request is counted as failed with
// its class, none meets an objective, and the level fails on its errors, not on latency,
// however fast the requests that did succeed were.
func TestAProbeCountsEveryFailedClassAgainstTheSLO(t *testing.T) {
	srv := simproc.Start(t, simproc.Options{Args: []string{"-profile", "batching", "-faults", "stall=0.04,short=0.04,tokenless=0.04"}})
	target := scenario.Target{Framework: "sim", Model: srv.Model, BaseURL: srv.URL, Dialect: stream.OpenAI, ContinuousUsage: true,
		OutputLength: frameworks.IgnoreEOS, HealthPath: "/health", MetricsPath: "/metrics", Metrics: frameworks.SimMetrics,
		Count: prompt.Local, ResetCache: srv.ResetCache}

	// Objectives any request the simulator finishes meets, so what misses them is the
	// failures alone, whatever the machine's load.
	s := slo.Default()
	s.TTFT, s.ITL = &slo.Objective{Percentile: 95, MaxMs: 60000}, &slo.Objective{Percentile: 95, MaxMs: 60000}
	d := &Driver{Runner: &scenario.Runner{Target: target, StallTimeout: 300 * time.Millisecond, Nonce: t.Name()},
		Scenario: scenario.Scenario{Name: "capacity", ResultName: "capacity"}, Mode: results.UsersMode, SLO: s,
		Shape:       scenario.Point{InputTokens: 64, OutputTokens: 16, Prompts: scenario.Plain},
		MinRequests: MinRequests(s), RampPerUser: 2 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := d.Measure(ctx, 4, 1)
	require.NoError(t, err)

	injected, err := srv.InjectedFaults(ctx)
	require.NoError(t, err)
	want := map[string]int{}
	for f, n := range injected {
		if n == 0 {
			continue
		}
		class := map[string]string{"stall": "stalled", "short": "truncated", "tokenless": "tokenless"}[f]
		require.NotEmpty(t, class, "fault %s", f)
		want[class] = n
	}
	require.NotEmpty(t, want, "the simulator injected faults")
	assert.Equal(t, want, m.Classes, "each failed request with its class, as injected")
	total := 0
	for _, n := range want {
		total += n
	}
	assert.Equal(t, d.Point(4).Requests, m.Tally.Requests, "every request sent is counted")
	assert.Equal(t, total, m.Tally.Failed)
	assert.Equal(t, m.Tally.Requests-total, m.Tally.Met["ttft"], "a failed request meets no objective, though its tokens came fast")
	assert.Equal(t, m.Tally.Requests-total, m.Tally.Good)

	search := &Search{Mode: results.UsersMode, SLO: s, Start: 4, Ceiling: 4, MinStep: 1, Measure: func(context.Context, float64, int) (Measurement, error) { return m, nil }}
	probe, err := search.probe(ctx, 4)
	require.NoError(t, err)
	assert.Equal(t, results.ProbeFail, probe.Verdict)
	assert.Equal(t, "errors", probe.Binding)
	assert.Equal(t, want, probe.ErrorClasses)
}
