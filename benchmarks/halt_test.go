//go:build !vllm && !sglang && !ollama && !openai

package benchmarks

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv marks a run of this test binary started by TestTheSuiteStopsCleanly.
const childEnv = "SERVEGATE_SUITE_CHILD"

// runChild runs this test binary again, as a user runs the suite, and returns its output,
// its exit code and its results directory. The child takes its own timing lock (its own
// TMPDIR): this binary holds the shared one while it waits.
func runChild(t *testing.T, env []string, args ...string) (string, int, string) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "results")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.v", "-test.count=1", "-out", out, "-scale", "quick"}, args...)...)
	cmd.Env = append(append(os.Environ(), childEnv+"=1", "TMPDIR="+dir), env...)
	b, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "the suite hung:\n%s", b)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return string(b), code, out
}

// runSuiteChild is runChild for a run that writes results, and reads them.
func runSuiteChild(t *testing.T, env []string, args ...string) (string, int, *results.File) {
	t.Helper()
	out, code, dir := runChild(t, env, args...)
	f, err := results.Read(results.Path(dir, "sim", *flagPreset))
	require.NoError(t, err, "output:\n%s", out)
	return out, code, f
}

func point(f *results.File, name string) *results.Point {
	for i := range f.Results {
		if f.Results[i].Point == name {
			return &f.Results[i]
		}
	}
	return nil
}

// TestTheSuiteStopsCleanly runs the suite against a simulator that stalls, one that
// crashes mid-point, and under a -timeout too short for it: each run ends on its own,
// without a panic, with what it measured on disk and the reason said once.
func TestTheSuiteStopsCleanly(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("a child run of this test")
	}
	t.Run("a stalled stream ends at the stall timeout", func(t *testing.T) {
		out, code, f := runSuiteChild(t, []string{"SERVEGATE_STALL_TIMEOUT=1s", "SERVEGATE_SIM_FAULTS=stall=0.25"},
			"-test.run", "^TestConcurrent$/^sim$/^c8$")
		assert.NotContains(t, out, "panic")
		assert.NotEqual(t, 0, code, "failed requests fail the simulator's run")
		p := point(f, "c8")
		require.NotNil(t, p, "output:\n%s", out)
		assert.Positive(t, p.ErrorClasses["stalled"], "classes %v", p.ErrorClasses)
		assert.Len(t, p.Requests, p.NumRequests, "every request is in the point")
		assert.Contains(t, out, "no byte from")
	})
	t.Run("a crash mid-point records it and stops the suite", func(t *testing.T) {
		// c1 sends 5 chat requests and c8 17: the 31st is in c16.
		out, code, f := runSuiteChild(t, []string{"SERVEGATE_SIM_FAULTS=crash_after=30"},
			"-test.run", "^(TestConcurrent|TestLongContext)$")
		assert.NotContains(t, out, "panic")
		assert.NotEqual(t, 0, code)
		assert.Equal(t, 1, strings.Count(out, "crashed on chat request 31"), "the crash is reported once:\n%s", out)
		require.NotNil(t, point(f, "c8"))
		c16 := point(f, "c16")
		require.NotNil(t, c16, "the point that crashed is recorded:\n%s", out)
		assert.Len(t, c16.Requests, c16.NumRequests)
		assert.NotEmpty(t, c16.ErrorClasses)
		assert.Nil(t, point(f, "c32"), "points after the crash are not run")
		assert.Contains(t, out, "concurrent/{c32,c64} not run: sim stopped at concurrent/c16")
		assert.Contains(t, out, "--- SKIP: TestLongContext")
	})
	t.Run("a target that does not start is reported once", func(t *testing.T) {
		out, code, _ := runChild(t, nil, "-test.run", "^(TestSingle|TestConcurrent)$", "-profile", "no-such-profile")
		assert.NotEqual(t, 0, code)
		assert.Equal(t, 1, strings.Count(out, "unknown sim profile"), "reported once:\n%s", out)
		assert.NotContains(t, out, "start sim: start sim:")
		assert.Contains(t, out, "--- SKIP: TestConcurrent")
	})
	t.Run("the suite stops before go test's deadline", func(t *testing.T) {
		// 30 s less the 15 s margin: the full-scale single-request points take longer.
		out, code, f := runSuiteChild(t, nil, "-test.run", "^TestSingle$", "-test.timeout", "30s", "-scale", "full")
		assert.NotContains(t, out, "panic: test timed out")
		assert.NotEqual(t, 0, code)
		assert.Contains(t, out, "the suite's deadline")
		require.NotEmpty(t, f.Results, "what was measured is on disk:\n%s", out)
		last := f.Results[len(f.Results)-1]
		assert.Contains(t, last.Invalid, "stopped", "the point cut short is marked")
		assert.Equal(t, 100.0, last.Metrics["success_rate"], "a request the run cancelled is not counted against the server")
	})
}

// TestRunsUnderOtherSettingsAreKeptApart runs the suite twice into one -out under two
// simulator profiles: the second run's points go to a file of their own, and the first
// file keeps its points.
func TestRunsUnderOtherSettingsAreKeptApart(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("a child run of this test")
	}
	out := filepath.Join(t.TempDir(), "results")
	run := func(profile string) string {
		t.Helper()
		log, code, _ := runChild(t, nil, "-test.run", "^TestSingle$/^sim$/^in128$", "-profile", profile, "-out", out)
		require.Equal(t, 0, code, "output:\n%s", log)
		return log
	}
	run("batching")
	log := run("single-slot")
	assert.Contains(t, log, `profile "batching" in the file, "single-slot" in this run`)
	assert.Contains(t, log, "this run's points go to a file of their own")
	first, err := results.Read(results.Path(out, "sim", *flagPreset))
	require.NoError(t, err)
	assert.Equal(t, "batching", first.Settings.Profile)
	assert.NotNil(t, point(first, "in128"), "the first run's point is kept")
	files, err := filepath.Glob(filepath.Join(out, "sim", "*_results.json"))
	require.NoError(t, err)
	require.Len(t, files, 2, "one file per settings: %v", files)
	for _, path := range files {
		f, err := results.Read(path)
		require.NoError(t, err)
		assert.NotNil(t, point(f, "in128"), "%s holds its run's point", path)
	}
}
