package scenario

import (
	"bufio"
	"context"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/server"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/simproc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// classOf is the class each fault the simulator injects (by its name on servegate-sim's
// -faults and /metrics) must get; "" is a request it left alone.
var classOf = map[string]stream.Class{
	"":            stream.Succeeded,
	"error":       stream.HTTPError,
	"rate_limit":  stream.RateLimited,
	"cut":         stream.Cut,
	"stall":       stream.Stalled,
	"error_event": stream.ErrorEvent,
	"tokenless":   stream.Tokenless,
	"short":       stream.Truncated,
}

// serverCounts reads the simulator's counters: requests it finished and, by name, the
// faults it injected (every fault it knows is listed once any is set).
func serverCounts(t *testing.T, base string) (finished int, faults map[string]int) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	faults = map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		switch {
		case strings.HasPrefix(name, "sim:request_success_total"):
			finished = int(v)
		case strings.HasPrefix(name, "sim:faults_injected_total{fault="):
			f := strings.TrimSuffix(strings.TrimPrefix(name, `sim:faults_injected_total{fault="`), `"}`)
			faults[f] = int(v)
		}
	}
	require.NoError(t, sc.Err())
	return finished, faults
}

// TestEachFaultIsClassified runs a point against the simulator (its own process)
// injecting one fault into about half the requests, and checks that every request's class
// is its fault's (the count the simulator says it injected), that the point keeps every
// request with its class, that nothing hangs (a stall ends at the stall timeout, not at
// the test's deadline) and that nothing is left running.
func TestEachFaultIsClassified(t *testing.T) {
	for _, fault := range slices.Sorted(maps.Keys(classOf)) {
		if fault == "" {
			continue
		}
		t.Run(fault, func(t *testing.T) {
			spec := fault + "=0.5"
			if fault == "rate_limit" {
				spec += ",retry_after=3s"
			}
			pt := Point{Name: "faulty", Concurrency: 4, InputTokens: 128, OutputTokens: 16, Requests: 16, Prompts: Plain}
			run := faultyPoint(t, spec, pt)
			res := run.res
			require.NoError(t, run.err, "a faulty server is a finding, not an aborted point")
			require.NoError(t, run.exit, "the simulator stopped cleanly")

			// Every measured request is in the point, with its class.
			require.Len(t, res.Requests, pt.Requests)
			injected := 0
			for _, smp := range res.Requests {
				if smp.Class != string(stream.Succeeded) {
					injected++
				}
			}
			assert.Equal(t, pt.Requests, injected+int(res.Metrics["successful_requests"]))
			assert.Equal(t, injected, res.ErrorClasses[string(classOf[fault])], "classes: %v", res.ErrorClasses)
			assert.Len(t, res.ErrorClasses, min(injected, 1), "one class only: %v", res.ErrorClasses)
			// The draw is seeded: about half the requests.
			assert.Positive(t, injected, "the fault was never drawn")
			assert.Less(t, injected, pt.Requests, "every request was faulty")
			if fault == "rate_limit" {
				for _, smp := range res.Requests {
					if smp.Class == string(stream.RateLimited) {
						assert.Equal(t, "3", smp.RetryAfter)
						assert.Equal(t, 429, smp.HTTPStatus)
					}
				}
			}
			assert.Equal(t, run.injected[fault], injected, "the client saw every fault the server injected")
			// The simulator lists every fault it can inject: each has its class here.
			for name := range run.injected {
				assert.Contains(t, classOf, name, "the simulator injects %s, which this test does not know", name)
			}
		})
	}
}

// faultRun is a point measured against a faulty simulator.
type faultRun struct {
	res results.Point
	err error
	// injected counts the faults the simulator says it injected, by name; nil when it had
	// ended before it could be asked.
	injected map[string]int
	// exit is how the simulator's process ended (nil: stopped cleanly at the end).
	exit error
}

// faultyPoint runs pt against a simulator process injecting the faults of spec
// (servegate-sim's -faults) with a short stall timeout, stops the simulator and checks
// that nothing is left running in this process.
func faultyPoint(t *testing.T, spec string, pt Point) faultRun {
	t.Helper()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := simproc.Start(t, simproc.Options{Model: testModel, Args: []string{"-profile", "batching", "-faults", spec}})
	r := &Runner{Target: simTarget(s), StallTimeout: 300 * time.Millisecond, Nonce: t.Name()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var run faultRun
	run.res, run.err = r.RunPoint(ctx, Scenario{Name: "faults", ResultName: "faults"}, pt)
	select {
	case <-s.Exited():
	default:
		_, run.injected = serverCounts(t, s.URL)
	}
	run.exit = s.Stop()
	http.DefaultClient.CloseIdleConnections()
	return run
}

// launchSim starts cmd/servegate-sim as a launched server (its own process group, its
// log in a file, health waited for) with args, as the suite launches a framework.
func launchSim(t *testing.T, startTimeout time.Duration, args ...string) (*server.Process, Target, error) {
	t.Helper()
	port := simproc.FreePort(t)
	bin, err := simproc.Build()
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	proc, err := server.Start(context.Background(), server.Config{Name: "sim",
		Command: append([]string{bin, "-model", testModel, "-addr", addr}, args...),
		Host:    "127.0.0.1", Port: port, HealthPath: "/health", LogPath: filepath.Join(t.TempDir(), "sim.log"),
		StartTimeout: startTimeout, Grace: 2 * time.Second})
	if err != nil {
		return nil, Target{}, err
	}
	t.Cleanup(func() { assert.NoError(t, proc.Close()) })
	return proc, Target{Framework: "sim", Model: testModel, BaseURL: "http://" + addr, Dialect: stream.OpenAI,
		ContinuousUsage: true, OutputLength: frameworks.IgnoreEOS, HealthPath: "/health", MetricsPath: "/metrics", Metrics: frameworks.SimMetrics,
		Count: prompt.Local}, nil
}

func TestASlowStartIsWaitedOutThenMeasured(t *testing.T) {
	_, _, err := launchSim(t, 300*time.Millisecond, "-fault-slow-start", "1h")
	require.Error(t, err, "a start-up wait shorter than the load times out")
	assert.Contains(t, err.Error(), "HTTP 503")

	_, target, err := launchSim(t, time.Minute, "-fault-slow-start", "1s")
	require.NoError(t, err)
	pt := Point{Name: "loaded", Concurrency: 2, InputTokens: 128, OutputTokens: 8, Requests: 4, Prompts: Plain}
	res, err := (&Runner{Target: target, Nonce: t.Name()}).RunPoint(context.Background(), Scenario{Name: "faults", ResultName: "faults"}, pt)
	require.NoError(t, err)
	assert.Equal(t, float64(pt.Requests), res.Metrics["successful_requests"], "errors: %v", res.Errors)
}

// TestALaunchedServerThatCrashesMidPoint: the process exits on its seventh request; the
// point keeps the requests measured before, the failures after, and the process's exit is
// named with its log.
func TestALaunchedServerThatCrashesMidPoint(t *testing.T) {
	proc, target, err := launchSim(t, time.Minute, "-fault-crash-after", "6")
	require.NoError(t, err)
	pt := Point{Name: "crash", Concurrency: 4, InputTokens: 128, OutputTokens: 32, Requests: 16, Prompts: Plain}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := (&Runner{Target: target, Nonce: t.Name()}).RunPoint(ctx, Scenario{Name: "faults", ResultName: "faults"}, pt)
	require.NoError(t, err)
	require.Len(t, res.Requests, pt.Requests)
	ok := int(res.Metrics["successful_requests"])
	assert.Positive(t, ok)
	assert.LessOrEqual(t, ok, 6)
	<-proc.Exited()
	require.Error(t, proc.Err())
	assert.Contains(t, proc.Err().Error(), "exit code 3")
	assert.Contains(t, proc.Err().Error(), "crashing on chat request 7")
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "server metrics not read after the trial")
}

// TestACrashMidPointKeepsWhatWasMeasured: the simulator's process exits on its seventh
// request; the trial runs to its end (the requests after the crash fail at once), and the
// point keeps every request, each classified.
func TestACrashMidPointKeepsWhatWasMeasured(t *testing.T) {
	pt := Point{Name: "crash", Concurrency: 4, InputTokens: 128, OutputTokens: 32, Requests: 16, Prompts: Plain}
	run := faultyPoint(t, "crash_after=6", pt)
	require.Error(t, run.exit, "the simulator crashed")
	assert.Contains(t, run.exit.Error(), "exit status 3")
	require.NoError(t, run.err, "the trial ran to its end: requests after the crash fail at once")
	res := run.res
	require.Len(t, res.Requests, pt.Requests, "every request is in the point")
	ok := int(res.Metrics["successful_requests"])
	assert.Positive(t, ok, "the requests before the crash are measured")
	assert.LessOrEqual(t, ok, 6)
	failed := 0
	for class, n := range res.ErrorClasses {
		assert.Contains(t, []string{string(stream.Cut), string(stream.NoResponse)}, class)
		failed += n
	}
	assert.Equal(t, pt.Requests, ok+failed)
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "server metrics not read after the trial")
}
