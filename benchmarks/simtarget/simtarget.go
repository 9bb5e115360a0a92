// Package simtarget describes the simulator as a target the harness measures, like any
// framework's adapter: the harness knows no simulator, and this package, outside it, is
// where the suite, its tests and the shard tests get the simulator's target.
package simtarget

import (
	"context"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/simproc"
)

// Target describes the simulator at url serving model with profile: it counts prompts
// exactly as the simulator does (prompt.Local), sends per-chunk usage and ignore_eos,
// reads its /metrics and empties its prefix cache between trials. It is marked
// Simulated, so every file and report of it says so.
func Target(url, model string, profile sim.Profile) scenario.Target {
	return scenario.Target{
		Framework:       "sim",
		Simulated:       true,
		Model:           model,
		BaseURL:         url,
		Dialect:         stream.OpenAI,
		ContinuousUsage: true,
		OutputLength:    frameworks.IgnoreEOS,
		HealthPath:      "/health",
		MetricsPath:     "/metrics",
		Metrics:         frameworks.SimMetrics,
		Count:           prompt.Local,
		ResetCache: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, scenario.DefaultProbeTimeout)
			defer cancel()
			return simproc.ResetCache(ctx, url)
		},
		Version: "sim-" + profile.Name,
		Launch:  profile,
	}
}

// Of describes an in-process simulator serving model.
func Of(srv *sim.Server, model string) scenario.Target { return Target(srv.URL, model, srv.Profile()) }
