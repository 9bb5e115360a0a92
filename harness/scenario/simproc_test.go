package scenario

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/stretchr/testify/require"
)

// truthFunc returns what the simulator recorded about a request.
type truthFunc func(ctx context.Context, id string) (sim.RequestTruth, error)

var (
	simBinOnce sync.Once
	simBin     string
	simBinErr  error
)

// buildSim builds cmd/servegate-sim once per test binary.
func buildSim(t testing.TB) string {
	t.Helper()
	simBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "servegate-sim")
		if err != nil {
			simBinErr = err
			return
		}
		simBin = filepath.Join(dir, "servegate-sim")
		out, err := exec.Command("go", "build", "-o", simBin, "github.com/servegate/servegate/cmd/servegate-sim").CombinedOutput()
		if err != nil {
			simBinErr = fmt.Errorf("build servegate-sim: %v\n%s", err, out)
		}
	})
	require.NoError(t, simBinErr)
	return simBin
}

// startSimProcess runs the simulator as a separate process, so the client under test does
// not share a Go scheduler with it, and returns its target and a way to read its truth.
func startSimProcess(t testing.TB, args ...string) (Target, truthFunc) {
	t.Helper()
	cmd := exec.Command(buildSim(t), append([]string{"-model", testModel, "-speed", "fast", "-stdin-exit"}, args...)...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	// One core for the simulator, the other for the client under test: with both Go
	// runtimes free to use both cores, the simulator's burst of writes at the end of each
	// decode step kept the client's readers off the CPU (1,000 streams: read lag p50 3.3 ms
	// with GOMAXPROCS=2, 0.12 ms with 1).
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "servegate-sim did not start")
	url := strings.TrimSpace(strings.TrimPrefix(line, "servegate-sim listening on "))
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), "unexpected start line %q", line)
	target := Target{Framework: "sim", Model: testModel, BaseURL: url, Dialect: "openai", ContinuousUsage: true,
		OutputLength: frameworks.IgnoreEOS, HealthPath: "/health", Count: SimCounter}
	truth := func(ctx context.Context, id string) (sim.RequestTruth, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/sim/truth/"+neturl.PathEscape(id), nil)
		if err != nil {
			return sim.RequestTruth{}, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return sim.RequestTruth{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return sim.RequestTruth{}, fmt.Errorf("truth of %s: HTTP %d", id, resp.StatusCode)
		}
		var m sim.MonoTruth
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			return sim.RequestTruth{}, fmt.Errorf("truth of %s: %w", id, err)
		}
		return m.Local(), nil
	}
	return target, truth
}
