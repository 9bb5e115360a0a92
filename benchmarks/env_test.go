package benchmarks

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Settings that cannot be right stop the test binary before it measures or waits for the
// timing lock: each case runs this binary again with one bad setting.
func TestBadSettingsStopTheRun(t *testing.T) {
	bad := badSLO(t)
	cases := []struct{ env, want string }{
		{"SERVEGATE_TRIALS=abc", `SERVEGATE_TRIALS="abc": want a whole number`},
		{"SERVEGATE_CLIENT_PROCS=8x", `SERVEGATE_CLIENT_PROCS="8x": want a whole number`},
		{"SERVEGATE_SEED=-1", `SERVEGATE_SEED="-1": want a whole number, 0 or more`},
		{"SERVEGATE_GPU_INTERVAL=fast", `SERVEGATE_GPU_INTERVAL="fast": want a duration`},
		{"SERVEGATE_SLO=" + bad, `-slo (SERVEGATE_SLO): ` + bad + `: ttft: unknown field "max": valid are max_ms, percentile`},
	}
	if isSimBuild() {
		cases = append(cases,
			struct{ env, want string }{"SERVEGATE_URL=http://127.0.0.1:8000", "SERVEGATE_URL set, but this build has no framework tag and would measure the embedded simulator instead: build with the framework's tag"},
			struct{ env, want string }{"SERVEGATE_CONFIG=/etc/servegate.json", "go test -tags=vllm"})
	}
	for _, tc := range cases {
		t.Run(strings.SplitN(tc.env, "=", 2)[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(withoutServegateEnv(), tc.env)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "exits with an error, and at once: %s", out)
			assert.Equal(t, 2, exit.ExitCode())
			assert.Contains(t, string(out), tc.want)
		})
	}
}

// badSLO writes an SLO file with a typo and returns its path.
func badSLO(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "slo.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"ttft": {"percentile": 95, "max": 500}}`), 0o644))
	return p
}

// isSimBuild reports whether this build measures the simulator (no framework tag).
func isSimBuild() bool { return len(registered) == 1 && registered[0].name == "sim" }

// withoutServegateEnv is this process's environment without servegate's settings.
func withoutServegateEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SERVEGATE_") {
			out = append(out, kv)
		}
	}
	return out
}

func TestHypothesesFromFilesMeasureNothingSoFrameworkSettingsPass(t *testing.T) {
	if !isSimBuild() {
		t.Skip("the check is the simulator build's")
	}
	t.Setenv("SERVEGATE_CONFIG", "/etc/servegate.json")
	require.Error(t, checkTargetEnv())
	old := *flagFrom
	t.Cleanup(func() { *flagFrom = old })
	*flagFrom = t.TempDir()
	assert.NoError(t, checkTargetEnv(), "the merge job sets SERVEGATE_CONFIG and decides hypotheses with -from")
}
