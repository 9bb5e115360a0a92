//go:build vllm || sglang || ollama || openai

package benchmarks

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/launch"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/internal/secret"
)

var (
	flagConfig = flag.String("config", os.Getenv("SERVEGATE_CONFIG"),
		"launch configuration file (JSON, see README); a relative path is taken from the repository root (env SERVEGATE_CONFIG)")
	flagURL = flag.String("url", os.Getenv("SERVEGATE_URL"),
		"attach to running servers instead of launching: URL for the one framework, or framework=URL,... (env SERVEGATE_URL)")
)

// checkTargetEnv has nothing to refuse where a framework tag selects the targets.
func checkTargetEnv() error { return nil }

// registerFramework makes a framework's build tag add it to the suite.
func registerFramework(spec frameworks.Spec) {
	register(targetSpec{name: spec.Name, start: func(ctx context.Context, s *suite) (scenario.Target, func() error, error) {
		return startFramework(ctx, s, spec)
	}})
}

// settings merges the framework's launch settings: the config file, then the
// SERVEGATE_<FRAMEWORK>_* environment, then -url.
func settings(name string) (launch.Settings, error) {
	set, err := launch.Configured(resolvePath(*flagConfig), name, os.Getenv)
	if err != nil {
		return set, err
	}
	for _, part := range strings.Split(*flagURL, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fw, url, named := strings.Cut(part, "=")
		switch {
		case !named && len(registered) > 1:
			return set, fmt.Errorf("-url %s: several frameworks are selected; write framework=URL", secret.URL(part))
		case !named:
			set.URL = part
		case fw == name:
			set.URL = url
		}
	}
	return set, nil
}

func startFramework(ctx context.Context, s *suite, spec frameworks.Spec) (scenario.Target, func() error, error) {
	set, err := settings(spec.Name)
	if err != nil {
		return scenario.Target{}, nil, err
	}
	logPath := strings.TrimSuffix(results.Path(s.out, spec.Name, s.preset.Name), "_results.json") + "_server.log"
	srv, err := launch.Start(ctx, spec, launch.Options{
		Settings: set, Preset: s.preset, LogPath: logPath, ContextTokens: scenario.MaxContext(s.scale),
		GPU: sampler, Nonce: s.nonce,
		Logf: func(format string, args ...any) { fmt.Printf("servegate: "+format+"\n", args...) },
	})
	if err != nil {
		return scenario.Target{}, nil, err
	}
	s.alive = srv.Err
	return srv.Target, srv.Stop, nil
}
