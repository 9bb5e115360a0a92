package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/shard"
	"github.com/servegate/servegate/harness/slo"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/cpulock"
	"github.com/servegate/servegate/schema"
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// envErrs are environment settings that did not parse. TestMain stops on them before it
// measures or waits for anything: SERVEGATE_TRIALS=abc must not quietly run one trial.
var envErrs []error

// envNum reads a numeric setting from the environment: def when unset, else the value
// parse makes of it, or def and an entry in envErrs saying what was wanted.
func envNum[T any](key string, def T, parse func(string) (T, error), want string) T {
	v := strings.TrimSpace(os.Getenv(key))
	if v == "" {
		return def
	}
	n, err := parse(v)
	if err != nil {
		envErrs = append(envErrs, fmt.Errorf("%s=%q: want %s", key, os.Getenv(key), want))
		return def
	}
	return n
}

func envInt(key string, def int) int { return envNum(key, def, strconv.Atoi, "a whole number") }

var (
	flagOut         = flag.String("out", envOr("SERVEGATE_OUT", "results"), "results directory; a relative path is taken from the repository root (env SERVEGATE_OUT)")
	flagFresh       = flag.Bool("fresh", envBool("SERVEGATE_FRESH"), "start the result file over instead of adding this run's points to it (env SERVEGATE_FRESH)")
	flagLockWait    = flag.Duration("lock-wait", envDuration("SERVEGATE_LOCK_WAIT", 0), "how long to wait for another run writing the same result file (0: refuse at once) (env SERVEGATE_LOCK_WAIT)")
	flagMinSuccess  = flag.Float64("min-success", envFloat("SERVEGATE_MIN_SUCCESS", 99), "success-rate floor of every point, in percent: below it the point's test fails (env SERVEGATE_MIN_SUCCESS)")
	flagPreset      = flag.String("preset", envOr("SERVEGATE_PRESET", models.DefaultPreset), "model preset: gpt-oss-20b, llama3.1-8b (env SERVEGATE_PRESET)")
	flagSeed        = flag.Uint64("seed", envNum("SERVEGATE_SEED", uint64(1), func(v string) (uint64, error) { return strconv.ParseUint(v, 10, 64) }, "a whole number, 0 or more"), "seed of open-loop schedules (env SERVEGATE_SEED)")
	flagGPUInterval = flag.Duration("gpu-interval", envNum("SERVEGATE_GPU_INTERVAL", gpu.DefaultInterval, time.ParseDuration, "a duration such as 500ms"), "GPU sampling interval (env SERVEGATE_GPU_INTERVAL)")
	flagClientProcs = flag.Int("client-procs", envInt("SERVEGATE_CLIENT_PROCS", 0), "GOMAXPROCS while requests run; above the core count keeps the network polled during request bursts (0: the process's own) (env SERVEGATE_CLIENT_PROCS)")
	flagSLO         = flag.String("slo", envOr("SERVEGATE_SLO", ""), "JSON file changing the default SLO (TTFT p95 <= 500 ms, ITL p95 <= 50 ms, errors <= 1%) that goodput and capacity are judged on; a relative path is taken from the repository root (env SERVEGATE_SLO)")
	flagScale       = flag.String("scale", envOr("SERVEGATE_SCALE", string(scenario.Quick)), "scenario shapes: quick (CI) or full (the original project's defaults) (env SERVEGATE_SCALE)")
	flagShard       = flag.String("shard", os.Getenv("SERVEGATE_SHARD"), "run shard i/n of every point's load and write its records only, for servegate-merge (env SERVEGATE_SHARD; default from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX and JOB_COMPLETIONS)")
	flagStartAt     = flag.String("start-at", os.Getenv("SERVEGATE_START_AT"), "with -shard: when the shards' measured load starts, RFC 3339 (env SERVEGATE_START_AT); without -barrier, one point's one trial")
	flagBarrier     = flag.String("barrier", os.Getenv("SERVEGATE_BARRIER"), "with -shard: a directory every shard sees, where they line up before each trial (env SERVEGATE_BARRIER)")
	flagRunID       = flag.String("run-id", os.Getenv("SERVEGATE_RUN_ID"), "with -barrier: a name the shards of one measurement share, e.g. the Job's uid (env SERVEGATE_RUN_ID)")
	flagStall       = flag.Duration("stall-timeout", envNum("SERVEGATE_STALL_TIMEOUT", stream.DefaultStallTimeout, positiveDuration, "a positive duration such as 5s or 2m"),
		"end a request when no byte arrived for this long, before the first or between two; it counts as stalled (env SERVEGATE_STALL_TIMEOUT)")
	flagRequestTimeout = flag.Duration("request-timeout", envNum("SERVEGATE_REQUEST_TIMEOUT", 10*time.Minute, positiveDuration, "a positive duration such as 90s or 20m"),
		"end a request that runs longer than this as a whole; it counts as timed_out (env SERVEGATE_REQUEST_TIMEOUT)")
)

// sharding is the shard this process runs and how it lines up with the others; the whole
// measurement when not sharded.
type sharding struct {
	shard shard.Shard
	sync  shard.Sync
}

// shardFlags reads -shard (or the Indexed Job's environment), -start-at, -barrier and
// -run-id.
func shardFlags() (sharding, error) {
	var sh sharding
	var err error
	switch {
	case *flagShard != "":
		sh.shard, err = shard.Parse(*flagShard)
	default:
		sh.shard, _, err = shard.FromEnv(os.Getenv)
	}
	if err != nil || sh.shard.Whole() {
		if err == nil && (*flagStartAt != "" || *flagBarrier != "") {
			err = fmt.Errorf("-start-at and -barrier line shards up: give -shard=i/n (n > 1) too")
		}
		return sh, err
	}
	if flagTrials.auto {
		// Each shard would stop its trials on its own share, and shards would disagree.
		return sh, fmt.Errorf("-trials=auto decides each point on the whole of its load, which shard %s does not see: give -trials a number", sh.shard)
	}
	var at time.Time
	if *flagStartAt != "" {
		if at, err = time.Parse(time.RFC3339, *flagStartAt); err != nil {
			return sh, fmt.Errorf("-start-at %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z: %w", *flagStartAt, err)
		}
	}
	switch {
	case *flagBarrier != "":
		run := *flagRunID
		if run == "" {
			run = *flagStartAt
		}
		if run == "" {
			return sh, fmt.Errorf("-barrier needs a name the shards of this measurement share, so an earlier run's files in %s release nothing: -run-id (the Job's uid) or -start-at", *flagBarrier)
		}
		sh.sync = &shard.Barrier{Dir: resolvePath(*flagBarrier), Run: run, Shard: sh.shard, NotBefore: at}
	case !at.IsZero():
		sh.sync = &shard.At{Time: at}
	default:
		return sh, fmt.Errorf("shard %s needs a start it shares with the other shards: -start-at (one point's one trial) or -barrier DIR (a directory every shard sees)", sh.shard)
	}
	return sh, nil
}

func envBool(key string) bool {
	return envNum(key, false, strconv.ParseBool, "true or false")
}

func envFloat(key string, def float64) float64 {
	return envNum(key, def, func(v string) (float64, error) { return strconv.ParseFloat(v, 64) }, "a number")
}

func envDuration(key string, def time.Duration) time.Duration {
	return envNum(key, def, time.ParseDuration, "a duration such as 30m")
}

// runSLO is the SLO of this run (-slo over the default), loaded before anything starts.
var runSLO slo.SLO

// positiveDuration parses a duration that must be above zero (a timeout).
func positiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err == nil && d <= 0 {
		err = fmt.Errorf("%v is not positive", d)
	}
	return d, err
}

// sampler samples the GPUs for the whole run; nil when telemetry is unavailable.
var sampler *gpu.Sampler

// openGPU starts GPU sampling, or says once that there is none. With the gpu build tag a
// missing GPU is an error before anything starts.
func openGPU(ctx context.Context) error {
	s, err := gpu.OpenSystem()
	if err != nil {
		if gpuRequired {
			return fmt.Errorf("built with the gpu tag but %v", err)
		}
		fmt.Printf("servegate: %v; running without GPU figures (gpu_memory_mb and gpu_utilization_pct stay null)\n", err)
		return nil
	}
	s.Interval = *flagGPUInterval
	s.Start(ctx)
	sampler = s
	for _, d := range s.Devices() {
		fmt.Printf("servegate: sampling GPU %d (%s, driver %s, %.0f MiB) every %v\n", d.Index, d.Name, d.Driver, d.MemoryTotalMB, s.Interval)
	}
	return nil
}

// gpuInfo is the run's gpu_info block as the server starts: the sampled devices (those the
// server uses, where launch could tell), the first of them in the flat fields; without a
// GPU, null figures.
func gpuInfo() results.GPUInfo {
	if sampler == nil {
		return results.GPUInfo{}
	}
	devs := sampler.Devices()
	if len(devs) == 0 {
		return results.GPUInfo{Devices: devs, Selection: sampler.Selection()}
	}
	d := devs[0]
	total := d.MemoryTotalMB
	info := results.GPUInfo{Name: d.Name, Driver: d.Driver, MemoryTotalMB: &total, Devices: devs, Selection: sampler.Selection()}
	all := sampler.All()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Device == d.ID {
			used := all[i].MemoryUsedMB
			info.MemoryUsedMB, info.GPUUtilizationPct = &used, all[i].UtilPct
			break
		}
	}
	return info
}

// writeTimeline writes the run's GPU samples beside its results, for the report's charts.
func writeTimeline(s *suite) {
	if sampler == nil || s.writer == nil {
		return
	}
	path := strings.TrimSuffix(s.writer.Path(), "_results.json") + "_gpu_timeline.json"
	if err := keepEarlierTimeline(path); err != nil {
		fmt.Fprintf(os.Stderr, "servegate: %v\n", err)
		return
	}
	if err := results.WriteFile(path, map[string]any{"interval_ms": sampler.Interval.Milliseconds(), "samples": sampler.All(),
		"devices": sampler.AllDevices(), "selection": sampler.Selection(), "errors": fmt.Sprint(sampler.Errors())}); err != nil {
		fmt.Fprintf(os.Stderr, "servegate: %v\n", err)
	}
}

// keepEarlierTimeline moves an earlier run's timeline at path (its points stay in the result
// file this run adds to) aside to a name carrying the time it was written, so that this run's
// timeline does not replace it: …_gpu_timeline_20261201T141500Z.json.
func keepEarlierTimeline(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keep the earlier GPU timeline: %w", err)
	}
	aside := strings.TrimSuffix(path, ".json") + "_" + fi.ModTime().UTC().Format("20060102T150405Z") + ".json"
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("keep the earlier GPU timeline: %w", err)
	}
	fmt.Printf("servegate: the earlier run's GPU timeline is kept as %s\n", aside)
	return nil
}

// suite is the state shared by the scenario tests while one target is under test.
type suite struct {
	spec   targetSpec
	preset models.Preset
	scale  scenario.Scale
	ctx    context.Context

	once   sync.Once
	err    error
	target scenario.Target
	stop   func() error
	// alive, when set, says whether a launched server still runs (nil while it does).
	alive  func() error
	writer *results.Writer
	nonce  string
	// writeErr is the first failed write of the results; the run stops there (see record).
	// unsaved names the point it failed to write.
	writeErr error
	unsaved  string
	// profile is the simulator's profile; empty for a framework.
	profile string
	// out is the results directory (-out, absolute).
	out string
	// sharding, unless whole, runs this process's share of every point and writes its
	// records only.
	sharding sharding

	// cancel ends ctx's suite deadline.
	cancel context.CancelFunc
	// halt, once set, stops the suite: the target crashed or did not start, the run was
	// interrupted, or go test's deadline is near. It is reported in full once, where it
	// happened; everything after is skipped with a line that points there (under mu).
	halt     error
	haltedAt string

	mu sync.Mutex
	// measured holds every point this run measured, by result scenario and point name:
	// a point is measured once per run, whichever test needs it first (a hypothesis gate
	// decides on the same measurement the scenario test checks and writes).
	measured map[string]measurement
}

// measurement is a point measured in this run, and by which test.
type measurement struct {
	res results.Point
	by  string
}

// record writes a finished point's records and its result, computed from them. A failed write (a full disk, a removed
// directory) stops the run: a point measured now would be lost, and hours of measuring
// could end in a summary of points that are not on disk. The suite stops there (see
// measure), and the summary marks the point not written.
func (s *suite) record(g *schema.Group) (results.Point, error) {
	p, err := s.writer.Record(g)
	if err != nil {
		s.writeErr = fmt.Errorf("results not written (%w); the run stops: nothing measured from here on would be kept", err)
		s.unsaved = g.Head.Point.Key()
		fmt.Fprintf(os.Stderr, "servegate: %s: %v\n", s.unsaved, s.writeErr)
		return p, s.writeErr
	}
	return p, nil
}

// errSuiteDeadline is the cause of the suite's context ending ahead of go test's deadline.
var errSuiteDeadline = errors.New("the suite's deadline, ahead of go test's -timeout, was reached: raise -timeout (e.g. -timeout 3h) or select fewer points")

// binaryStart is when this test binary started measuring time: go test kills the binary
// about its -timeout after its start, whatever the frameworks run one after another do.
var binaryStart = time.Now()

// suiteDeadline is when go test ends this run: the test's deadline (testing restarts it
// for each framework's m.Run), but no later than -timeout after the binary started (go
// test itself kills the binary a minute after that).
func suiteDeadline(t *testing.T) (time.Time, bool) {
	dl, ok := t.Deadline()
	if f := flag.Lookup("test.timeout"); f != nil {
		if g, isGetter := f.Value.(flag.Getter); isGetter {
			if d, _ := g.Get().(time.Duration); d > 0 && (!ok || binaryStart.Add(d).Before(dl)) {
				dl, ok = binaryStart.Add(d), true
			}
		}
	}
	return dl, ok
}

// deadlineMargin is how long before go test's deadline the suite stops measuring, so it
// records what it has and skips the rest instead of dying in a panic: a tenth of the time
// left, within 15 s to 2 min (stopping a launched server happens after, outside it).
func deadlineMargin(left time.Duration) time.Duration {
	return min(max(left/10, 15*time.Second), 2*time.Minute)
}

// stopSuite records why the suite stops, where; the first reason wins. It reports whether
// this call set it (the caller then reports it in full).
func (s *suite) stopSuite(where string, why error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.halt != nil {
		return false
	}
	s.halt, s.haltedAt = why, where
	return true
}

// halted returns a one-line reason when the suite has stopped; "" while it runs.
func (s *suite) halted() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.halt == nil {
		return ""
	}
	what := "see the failure reported there"
	switch {
	case errors.Is(s.halt, errSuiteDeadline):
		what = "the suite's deadline was reached; see there"
	case errors.Is(s.halt, context.Canceled):
		what = "the run was interrupted; see there"
	}
	return fmt.Sprintf("not run: %s stopped at %s (%s)", s.spec.name, s.haltedAt, what)
}

var current *suite

// up starts the target on first use and returns the runner and result writer.
func (s *suite) up(t *testing.T) (*scenario.Runner, *results.Writer) {
	t.Helper()
	s.once.Do(func() {
		// Stop measuring ahead of go test's deadline: the test binary panics there, with
		// a goroutine dump and nothing recorded or stopped.
		if dl, ok := suiteDeadline(t); ok {
			s.ctx, s.cancel = context.WithDeadlineCause(s.ctx, dl.Add(-deadlineMargin(time.Until(dl))), errSuiteDeadline)
		}
		start := time.Now()
		// The target's own errors name it ("start vllm: ...").
		s.target, s.stop, s.err = s.spec.start(s.ctx, s)
		if s.err != nil {
			if s.ctx.Err() != nil {
				s.err = fmt.Errorf("%w (%w)", s.err, context.Cause(s.ctx))
			}
			return
		}
		fmt.Printf("servegate: %s serving %s at %s (ready in %s)\n", s.spec.name, s.target.Model, s.target.BaseURL, time.Since(start).Round(time.Millisecond))
		host, _ := os.Hostname()
		ver := "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			ver = bi.Main.Version
		}
		head := results.File{
			Framework: s.spec.name, ModelPreset: s.preset.Name, Model: s.target.Model, Simulated: s.target.Simulated,
			Timestamp: time.Now().Format("2006-01-02 15:04:05"),
			ServerConfig: results.ServerConfig{BaseURL: s.target.BaseURL, Model: s.target.Model,
				ChatEndpoint: s.target.Dialect.Path(), Dialect: string(s.target.Dialect), Launch: s.target.Launch},
			GPUInfo: gpuInfo(),
			Provenance: results.Provenance{Servegate: ver, Commit: sourceCommit(), GoVersion: runtime.Version(),
				Engine: s.spec.name, EngineVer: s.target.Version, Scale: string(s.scale), Seed: *flagSeed, Host: host},
		}
		head.Settings = &results.Settings{Scale: string(s.scale), Preset: s.preset.Name, Profile: s.profile, TargetVersion: s.target.Version}
		var moved *results.SettingsError
		opt := results.Options{Fresh: *flagFresh, Wait: *flagLockWait,
			Logf: func(format string, args ...any) { fmt.Printf("servegate: "+format+"\n", args...) }}
		if sh := s.sharding.shard; !sh.Whole() {
			opt.RecordsOnly = true
			s.writer, s.err = results.Open(s.ctx, results.ShardPath(s.out, s.spec.name, s.preset.Name, sh.Index, sh.Count), head, opt)
		} else {
			s.writer, moved, s.err = results.OpenApart(s.ctx, s.out, head, opt)
		}
		if moved != nil && s.err == nil {
			fmt.Printf("servegate: %s; this run's points go to a file of their own, %s\n",
				moved, s.writer.Path())
		}
		var se *results.SettingsError
		var busy *results.BusyError
		switch {
		case errors.As(s.err, &se):
			s.err = fmt.Errorf("%w\n  -fresh (FRESH=1) replaces its points with this run's; -out DIR (OUT=DIR) keeps both", s.err)
		case errors.As(s.err, &busy):
			s.err = fmt.Errorf("%w\n  two runs at once would measure each other: wait for it, or pass -lock-wait=30m (env SERVEGATE_LOCK_WAIT) to wait here, or -out DIR", s.err)
		}
		if s.err == nil && !s.sharding.shard.Whole() {
			fmt.Printf("servegate: shard %s: this process runs its share of every point and writes its records to %s; servegate-merge -in %s makes the result\n",
				s.sharding.shard, s.writer.RecordsPath(), s.out)
		}
		if s.err == nil {
			if kept := len(s.writer.Points()); kept > 0 {
				fmt.Printf("servegate: adding to %s (%d points of earlier runs with the same settings kept; -fresh starts over)\n", s.writer.Path(), kept)
			}
		}
	})
	if s.err != nil {
		if s.stopSuite(t.Name(), s.err) {
			t.Fatal(s.err)
		}
		t.Skip(s.halted())
	}
	return &scenario.Runner{Target: s.target, Trials: flagTrials.n, Nonce: s.nonce, Seed: *flagSeed, Logf: t.Logf, GPU: sampler,
		ClientProcs: *flagClientProcs, SLO: &runSLO, StallTimeout: *flagStall, RequestTimeout: *flagRequestTimeout,
		Shard: s.sharding.shard, Sync: s.sharding.sync}, s.writer
}

// sourceCommit names the servegate revision under test, best effort: test binaries carry
// no VCS stamp, so ask git.
func sourceCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		commit += "-dirty"
	}
	return commit
}

// runScenario runs every point of the named scenario as a subtest of the framework under
// test, writing each result as it finishes. Once the suite has stopped (a crash, an
// interrupt, the deadline), the points left are not run, with one line saying so.
func runScenario(t *testing.T, name string) {
	if current == nil {
		t.Fatal("no target registered: build with no tags for the simulator, or with vllm, sglang, ollama or openai")
	}
	sc, err := scenario.Lookup(name, current.scale)
	if err != nil {
		t.Fatal(err)
	}
	// The framework names a level of its own (TestConcurrent/vllm/c64), so the JUnit of a
	// run over several frameworks tells their points apart.
	if why := current.halted(); why != "" {
		t.Skip(why)
	}
	t.Run(current.spec.name, func(t *testing.T) {
		var notRun []string
		for _, p := range sc.Points {
			if current.halted() != "" {
				notRun = append(notRun, p.Name)
				continue
			}
			t.Run(p.Name, func(t *testing.T) {
				res := current.measure(t, sc, p, flagTrials.n)
				checkPoint(t, res)
			})
		}
		if len(notRun) > 0 {
			t.Logf("%s/{%s} %s", name, strings.Join(notRun, ","), current.halted())
		}
	})
}

// measure returns point p of sc as this run measured it: measured now with trials
// trials (with -trials=auto, as many as it needs) and written to the result file (a point
// cut short included), unless a test of this run already measured it (see measureOnce).
func (s *suite) measure(t *testing.T, sc scenario.Scenario, p scenario.Point, trials int) results.Point {
	t.Helper()
	return s.measureOnce(t, sc.ResultName+"/"+p.Name, sc.Name+"/"+p.Name, func(r scenario.Runner) (schema.Group, error) {
		r.Trials = trials
		if flagTrials.auto {
			r.Trials, r.MinTrials, r.Until = autoMaxTrials, s.autoMin(sc, p), s.until(sc, p)
		}
		return r.Measure(s.ctx, sc, p)
	})
}

// measureOnce returns the point key (result scenario/point) as this run measured it: measured
// now by run, with the target's runner, and written to the result file (a point cut short
// included, when it holds requests), unless a test of this run already measured it. where
// names the point in messages (scenario/point). A target that stopped serving, an
// interrupt, the suite's deadline or a failed write stops the suite: it is reported here in
// full, once, and later points are skipped. A failure to measure fails t.
func (s *suite) measureOnce(t *testing.T, key, where string, run func(r scenario.Runner) (schema.Group, error)) results.Point {
	t.Helper()
	runner, _ := s.up(t)
	s.mu.Lock()
	m, done := s.measured[key]
	s.mu.Unlock()
	if done {
		t.Logf("%s: measured earlier in this run by %s (%d trials); deciding on that measurement", key, m.by, m.res.Trials)
		return m.res
	}
	if why := s.halted(); why != "" {
		t.Skip(why)
	}
	if s.alive != nil {
		if err := s.alive(); err != nil {
			if s.stopSuite(where, err) {
				t.Fatal(err) // the points already measured are on disk
			}
			t.Skip(s.halted())
		}
	}
	r := *runner
	r.Logf = t.Logf
	g, err := run(r)
	var res results.Point
	// What was measured, a point cut short included; a capacity point holds its search's
	// answer and probes, not trials, and is written when its search ended.
	if len(g.Trials) > 0 || g.Head.Point.Capacity != nil {
		var werr error
		if res, werr = s.record(&g); werr != nil {
			s.stopSuite(where, werr)
			t.Fatal(werr)
		}
	}
	var dead error
	if s.alive != nil {
		dead = s.alive()
	}
	switch {
	case dead != nil:
		if !s.stopSuite(where, dead) {
			t.Skip(s.halted())
		}
		t.Fatalf("%s on %s: %v\n%d requests of this point are recorded", where, s.spec.name, dead, len(res.Requests))
	case err != nil && s.ctx.Err() != nil:
		why := context.Cause(s.ctx)
		if !errors.Is(why, errSuiteDeadline) {
			why = fmt.Errorf("%w: %v", context.Canceled, why)
		}
		if !s.stopSuite(where, why) {
			t.Skip(s.halted())
		}
		t.Fatalf("%s on %s stopped: %v; %d requests of this point are recorded (marked invalid), the points after are not run",
			where, s.spec.name, why, len(res.Requests))
	case err != nil:
		t.Fatalf("%s on %s: %v", where, s.spec.name, err)
	}
	s.mu.Lock()
	if s.measured == nil {
		s.measured = map[string]measurement{}
	}
	s.measured[key] = measurement{res: res, by: t.Name()}
	s.mu.Unlock()
	return res
}

// pointTest is the part of *testing.T checkPoint reports through.
type pointTest interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// checkPoint fails t when a measured point falls short: nothing succeeded, success below
// the floor (-min-success), or, on the simulator, any failed request or warning.
func checkPoint(t pointTest, res results.Point) {
	t.Helper()
	at := res.Scenario + "/" + res.Point
	if sh := current.sharding.shard; !sh.Whole() && len(res.Requests) == 0 {
		// Concurrency 1 over four shards: shard 0 sends it all, the others line up only.
		t.Logf("%s: shard %s has no share of this point's load (concurrency %d over %d shards)", at, sh, res.Concurrency, sh.Count)
		return
	}
	if res.Invalid != "" {
		// Recorded in the results and the summary; hypothesis gates treat the point as
		// inconclusive. The scenario itself still ran.
		t.Logf("%s is INVALID: %s", at, res.Invalid)
	}
	if res.Metrics["successful_requests"] == 0 {
		t.Fatalf("%s: no request succeeded: %s", at, errorBreakdown(res.Errors))
	}
	if rate := res.Metrics["success_rate"]; rate < *flagMinSuccess {
		t.Errorf("%s: success %.1f%% is below the %.4g%% floor (-min-success, SERVEGATE_MIN_SUCCESS): %s",
			at, rate, *flagMinSuccess, errorBreakdown(res.Errors))
	}
	if current.spec.exact {
		if len(res.Errors) > 0 {
			t.Errorf("%s: requests failed against %s: %s", at, current.spec.name, errorBreakdown(res.Errors))
		}
		for _, w := range res.Warnings {
			t.Errorf("%s: %s", at, w)
		}
		return
	}
	// A real framework's disagreements are findings, recorded in the results and the
	// report; say them here too.
	for _, w := range res.Warnings {
		t.Logf("WARNING %s on %s: %s", at, current.spec.name, w)
	}
}

// errorBreakdown lists failed requests by error, most frequent first.
func errorBreakdown(errs map[string]int) string {
	if len(errs) == 0 {
		return "no request errors recorded"
	}
	msgs := make([]string, 0, len(errs))
	total := 0
	for m, n := range errs {
		msgs = append(msgs, m)
		total += n
	}
	sort.Slice(msgs, func(i, j int) bool {
		if errs[msgs[i]] != errs[msgs[j]] {
			return errs[msgs[i]] > errs[msgs[j]]
		}
		return msgs[i] < msgs[j]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d failed request(s):", total)
	for _, m := range msgs {
		fmt.Fprintf(&b, "\n    %d× %s", errs[m], m)
	}
	return b.String()
}

func TestMain(m *testing.M) {
	flag.Parse()
	*flagOut = resolvePath(*flagOut)
	// Settings that cannot be right stop the run before it waits for the lock.
	var sloErr error
	if runSLO, sloErr = slo.Load(resolvePath(*flagSLO)); sloErr != nil {
		sloErr = fmt.Errorf("-slo (SERVEGATE_SLO): %w", sloErr)
	}
	if err := errors.Join(append(envErrs, checkTargetEnv(), sloErr)...); err != nil {
		fmt.Fprintf(os.Stderr, "servegate: %v\n", err)
		os.Exit(2)
	}
	sh, err := shardFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "servegate: %v\n", err)
		os.Exit(2)
	}
	// The scenarios load every core: run alone, not beside the harness's timing tests. The
	// shards of one measurement run together, on one machine too: one holding the lock
	// would wait at the barrier for another waiting for the lock.
	unlock := func() {}
	if sh.shard.Whole() {
		if unlock, err = cpulock.Lock(); err != nil {
			fmt.Fprintf(os.Stderr, "servegate: %v\n", err)
			os.Exit(2)
		}
	}
	code := 0
	if err := func() error {
		scale, err := scenario.ParseScale(*flagScale)
		if err != nil {
			return err
		}
		preset, err := models.Lookup(*flagPreset)
		if err != nil {
			return err
		}
		if *flagMinSuccess < 0 || *flagMinSuccess > 100 {
			return fmt.Errorf("-min-success is a percentage: 0 to 100, got %g", *flagMinSuccess)
		}
		nonce := make([]byte, 4)
		_, _ = rand.Read(nonce)
		// An interrupt cancels the run; points already finished are on disk.
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		if err := openGPU(ctx); err != nil {
			return err
		}
		if sampler != nil {
			defer sampler.Close()
		}
		if len(registered) == 0 {
			return fmt.Errorf("these build tags select no target: no tags runs the embedded simulator; the vllm, sglang, ollama and openai adapters register with their tags")
		}
		// Frameworks run one after another, in the original project's order; each is stopped (and its GPU
		// memory released) before the next starts.
		order := map[string]int{"sim": 0, "vllm": 1, "sglang": 2, "ollama": 3, "openai": 4}
		sort.SliceStable(registered, func(i, j int) bool { return order[registered[i].name] < order[registered[j].name] })
		for _, spec := range registered {
			current = &suite{spec: spec, preset: preset, scale: scale, ctx: ctx, nonce: hex.EncodeToString(nonce), out: *flagOut, sharding: sh}
			if c := m.Run(); c != 0 {
				code = c
			}
			if current.cancel != nil {
				current.cancel()
			}
			if current.stop != nil {
				if err := current.stop(); err != nil {
					fmt.Fprintf(os.Stderr, "servegate: %v\n", err)
					code = 1
				}
			}
			if current.writer != nil {
				writeTimeline(current)
				printSummary(os.Stdout, current)
				if err := current.writer.Close(); err != nil {
					fmt.Fprintf(os.Stderr, "servegate: %v\n", err)
				}
			}
		}
		return nil
	}(); err != nil {
		fmt.Fprintf(os.Stderr, "servegate: %v\n", err)
		unlock()
		os.Exit(2)
	}
	unlock()
	os.Exit(code)
}
