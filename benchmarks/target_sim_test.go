//go:build !vllm && !sglang && !ollama && !openai

package benchmarks

import (
	"context"
	"flag"

	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/scenario"
)

var simProfile = flag.String("profile", envOr("SERVEGATE_SIM_PROFILE", sim.DefaultProfile),
	"simulator profile: batching, batching-nocache, single-slot, batching-chunked, reasoning (env SERVEGATE_SIM_PROFILE)")

func init() {
	register(targetSpec{name: "sim", exact: true, start: startSim})
}

func startSim(ctx context.Context, s *suite) (scenario.Target, func() error, error) {
	preset := s.preset
	p, err := sim.LookupProfile(*simProfile)
	if err != nil {
		return scenario.Target{}, nil, err
	}
	srv, err := sim.Start(sim.Config{Profile: p, Models: []string{preset.HF}})
	if err != nil {
		return scenario.Target{}, nil, err
	}
	return scenario.SimTarget(srv, preset.HF), srv.Close, nil
}
