package scenario

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/server"
	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// classOf is the class each injected fault must get.
var classOf = map[sim.Fault]stream.Class{
	sim.NoFault:         stream.Succeeded,
	sim.FaultError:      stream.HTTPError,
	sim.FaultRateLimit:  stream.RateLimited,
	sim.FaultCut:        stream.Cut,
	sim.FaultStall:      stream.Stalled,
	sim.FaultErrorEvent: stream.ErrorEvent,
	sim.FaultTokenless:  stream.Tokenless,
	sim.FaultShort:      stream.Truncated,
}

// TestEachFaultIsClassified runs a point against the simulator injecting one fault into
// about half the requests, and checks that every request's class is its fault's (by the
// simulator's own record of what it did to that request), that the point keeps every
// request with its class, that nothing hangs (a stall ends at the stall timeout, not at
// the test's deadline) and that nothing is left running.
func TestEachFaultIsClassified(t *testing.T) {
	for _, fault := range sim.AllFaults {
		t.Run(string(fault), func(t *testing.T) {
			spec := string(fault) + "=0.5"
			if fault == sim.FaultRateLimit {
				spec += ",retry_after=3s"
			}
			pt := Point{Name: "faulty", Concurrency: 4, InputTokens: 128, OutputTokens: 16, Requests: 16, Prompts: Plain}
			res, srv, err := faultyPoint(t, spec, pt)
			require.NoError(t, err, "a faulty server is a finding, not an aborted point")

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
			if fault == sim.FaultRateLimit {
				for _, smp := range res.Requests {
					if smp.Class == string(stream.RateLimited) {
						assert.Equal(t, "3", smp.RetryAfter)
						assert.Equal(t, 429, smp.HTTPStatus)
					}
				}
			}
			assert.Equal(t, srv.InjectedFaults()[fault], injected, "the client saw every fault the server injected")
		})
	}
}

// faultyPoint runs pt against a simulator injecting the faults of spec (sim.ParseFaults)
// with a short stall timeout, and returns the point, the simulator (closed
// by then) and the point's error, checking that nothing is left running.
func faultyPoint(t *testing.T, spec string, pt Point) (results.Point, *sim.Server, error) {
	t.Helper()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	faults, err := sim.ParseFaults(spec)
	require.NoError(t, err)
	p := profile(t, "batching")
	p.Faults = faults
	srv, err := sim.Start(sim.Config{Profile: p, Models: []string{testModel}})
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Close()) }()
	r := &Runner{Target: SimTarget(srv, testModel), StallTimeout: 300 * time.Millisecond, Nonce: t.Name()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := r.RunPoint(ctx, Scenario{Name: "faults", ResultName: "faults"}, pt)
	return res, srv, err
}

// launchSim starts cmd/servegate-sim as a launched server (its own process group, its
// log in a file, health waited for) with args, as the suite launches a framework.
func launchSim(t *testing.T, startTimeout time.Duration, args ...string) (*server.Process, Target, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	proc, err := server.Start(context.Background(), server.Config{Name: "sim",
		Command: append([]string{buildSim(t), "-model", testModel, "-addr", addr}, args...),
		Host:    "127.0.0.1", Port: port, HealthPath: "/health", LogPath: filepath.Join(t.TempDir(), "sim.log"),
		StartTimeout: startTimeout, Grace: 2 * time.Second})
	if err != nil {
		return nil, Target{}, err
	}
	t.Cleanup(func() { assert.NoError(t, proc.Close()) })
	return proc, Target{Framework: "sim", Model: testModel, BaseURL: "http://" + addr, Dialect: stream.OpenAI,
		ContinuousUsage: true, OutputLength: frameworks.IgnoreEOS, HealthPath: "/health", MetricsPath: "/metrics", Metrics: SimMetrics,
		Count: SimCounter}, nil
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

func TestACrashMidPointKeepsWhatWasMeasured(t *testing.T) {
	pt := Point{Name: "crash", Concurrency: 4, InputTokens: 128, OutputTokens: 32, Requests: 16, Prompts: Plain}
	res, srv, err := faultyPoint(t, "crash_after=6", pt)
	require.Error(t, srv.Err(), "the simulator crashed")
	require.NoError(t, err, "the trial ran to its end: requests after the crash fail at once")
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
