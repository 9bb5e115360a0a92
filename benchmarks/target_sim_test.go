//go:build !vllm && !sglang && !ollama && !openai

package benchmarks

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/servegate/servegate/benchmarks/simtarget"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/scenario"
)

var (
	simProfile = flag.String("profile", envOr("SERVEGATE_SIM_PROFILE", sim.DefaultProfile),
		"simulator profile: batching, batching-nocache, single-slot, batching-chunked, reasoning (env SERVEGATE_SIM_PROFILE)")
	simFaults = flag.String("sim-faults", os.Getenv("SERVEGATE_SIM_FAULTS"),
		"faults the simulator injects, e.g. stall=0.05,cut=0.01,crash_after=40 (see sim.ParseFaults) (env SERVEGATE_SIM_FAULTS)")
)

func init() {
	register(targetSpec{name: "sim", exact: true, start: startSim})
}

// checkTargetEnv refuses the settings that point a run at a framework when this build
// (no framework tag) would measure the embedded simulator instead: run with SERVEGATE_URL
// set and no tag, servegate measured the simulator and said nothing. Deciding hypotheses
// on result files (-from) measures nothing, and is let be.
func checkTargetEnv() error {
	if *flagFrom != "" {
		return nil
	}
	var set []string
	for _, k := range []string{"SERVEGATE_URL", "SERVEGATE_CONFIG"} {
		if os.Getenv(k) != "" {
			set = append(set, k)
		}
	}
	if len(set) == 0 {
		return nil
	}
	return fmt.Errorf("%s set, but this build has no framework tag and would measure the embedded simulator instead: "+
		"build with the framework's tag to measure it (go test -tags=vllm, sglang, ollama or openai; add gpu for GPU figures), "+
		"or unset %s to measure the simulator", strings.Join(set, " and "), strings.Join(set, " and "))
}

func startSim(ctx context.Context, s *suite) (scenario.Target, func() error, error) {
	preset := s.preset
	p, err := sim.LookupProfile(*simProfile)
	if err != nil {
		return scenario.Target{}, nil, fmt.Errorf("start sim: %w", err)
	}
	if p.Faults, err = sim.ParseFaults(*simFaults); err != nil {
		return scenario.Target{}, nil, fmt.Errorf("start sim: %w", err)
	}
	s.profile = p.Name
	srv, err := sim.Start(sim.Config{Profile: p, Models: []string{preset.HF}})
	if err != nil {
		return scenario.Target{}, nil, err
	}
	s.alive = srv.Err // an injected crash stops the suite as a launched server's exit does
	return simtarget.Of(srv, preset.HF), srv.Close, nil
}
