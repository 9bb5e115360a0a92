package dashboard

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/reporter"
)

// Run states.
const (
	runRunning   = "running"
	runPassed    = "passed"
	runFailed    = "failed"
	runCancelled = "cancelled"
)

// runRequest is what the Run page asks for; every field is checked against the suite's
// own lists before it becomes an argument.
type runRequest struct {
	Target    string   `json:"target"`
	Scenarios []string `json:"scenarios"`
	Scale     string   `json:"scale"`
	Trials    int      `json:"trials"`
	Preset    string   `json:"preset"`
	Profile   string   `json:"profile,omitempty"`
	// Out is a directory under the results root ("" for the root itself).
	Out string `json:"out,omitempty"`
	// Fresh starts the result file over instead of adding this run's points to it.
	Fresh bool `json:"fresh,omitempty"`
}

// maxTrials bounds the trials a page can ask for.
const maxTrials = 50

var safeDir = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`)

// parseRunRequest reads and checks the Run form.
func parseRunRequest(form url.Values, targets []string) (runRequest, error) {
	r := runRequest{Target: form.Get("target"), Scenarios: form["scenario"], Scale: form.Get("scale"),
		Preset: form.Get("preset"), Profile: form.Get("profile"), Out: strings.TrimRight(strings.TrimSpace(form.Get("out")), "/"),
		Fresh: form.Get("fresh") != ""}
	var errs []error
	if !slices.Contains(targets, r.Target) {
		errs = append(errs, fmt.Errorf("target %q: choose one of %s", r.Target, strings.Join(targets, ", ")))
	}
	if len(r.Scenarios) == 0 {
		errs = append(errs, errors.New("choose at least one scenario"))
	}
	for _, s := range r.Scenarios {
		if !slices.Contains(scenario.Names(), s) {
			errs = append(errs, fmt.Errorf("scenario %q: choose from %s", s, strings.Join(scenario.Names(), ", ")))
		}
	}
	if _, err := scenario.ParseScale(r.Scale); err != nil {
		errs = append(errs, err)
	}
	n, err := strconv.Atoi(form.Get("trials"))
	if err != nil || n < 1 || n > maxTrials {
		errs = append(errs, fmt.Errorf("trials %q: want a whole number from 1 to %d", form.Get("trials"), maxTrials))
	}
	r.Trials = n
	if _, err := models.Lookup(r.Preset); err != nil {
		errs = append(errs, err)
	}
	if r.Target == "sim" {
		if _, err := sim.LookupProfile(r.Profile); err != nil {
			errs = append(errs, err)
		}
	} else {
		r.Profile = ""
	}
	if r.Out != "" && (!safeDir.MatchString(r.Out) || slices.Contains(strings.Split(r.Out, "/"), "..")) {
		errs = append(errs, fmt.Errorf("results directory %q: name a directory under the results root with letters, digits, '.', '_', '-' and '/'", r.Out))
	}
	return r, errors.Join(errs...)
}

// testName is the suite's Go test for a scenario: long_context runs as TestLongContext.
func testName(scenarioName string) string {
	var b strings.Builder
	b.WriteString("Test")
	up := true
	for _, c := range scenarioName {
		if c == '_' {
			up = true
			continue
		}
		if up {
			c = unicode.ToUpper(c)
			up = false
		}
		b.WriteRune(c)
	}
	return b.String()
}

// testPattern is the -run pattern selecting the scenarios' tests and nothing else.
func testPattern(scenarios []string) string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = strings.TrimPrefix(testName(s), "Test")
	}
	return "^Test(" + strings.Join(names, "|") + ")$"
}

// run is one benchmark run: the suite as a child `go test ./benchmarks -json` process,
// exactly the command line a user types (shown on the page), its test events turned into
// the run's event log.
type run struct {
	ID      string
	Req     runRequest
	Command []string
	Out     string
	Started time.Time
	Total   int
	log     *Log

	mu           sync.Mutex
	state        string
	done         int
	passed       int // points that passed: measured and written
	pid          int
	cancelled    bool
	killer       *time.Timer
	resultPath   string
	charts       map[string][]byte
	chartVersion int
	finished     chan struct{}
}

// chartRef names one chart of a run, as the page requests it.
type chartRef struct {
	File    string `json:"file"`
	Title   string `json:"title"`
	Version int    `json:"version"`
}

// runStatus is a "status" event of a run.
type runStatus struct {
	State    string `json:"state"`
	Done     int    `json:"done"`
	Total    int    `json:"total"`
	ExitCode *int   `json:"exit_code,omitempty"`
	// Kept is how many points this run measured and wrote (the file may hold more, from
	// earlier runs with the same settings).
	Kept    int    `json:"kept,omitempty"`
	Results string `json:"results,omitempty"`
	Message string `json:"message,omitempty"`
}

// pointEvent is a "point" event: one scenario point finished, with its figures as the
// results file holds them.
type pointEvent struct {
	Test     string             `json:"test"`
	Scenario string             `json:"scenario"`
	Point    string             `json:"point"`
	Outcome  string             `json:"outcome"`
	Elapsed  float64            `json:"elapsed_s"`
	Requests int                `json:"requests,omitempty"`
	Trials   int                `json:"trials,omitempty"`
	Invalid  string             `json:"invalid,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
}

// metricColumn is one figure of a point row: its name in the results file, and a short
// heading.
type metricColumn struct{ Key, Label string }

// pointMetrics are the figures a point row shows live; the full tables are on the Results
// page.
var pointMetrics = []metricColumn{{"success_rate", "ok %"}, {"p50_ttft_ms", "TTFT p50"}, {"p99_ttft_ms", "TTFT p99"},
	{"p50_itl_ms", "ITL p50"}, {"p50_tpot_ms", "TPOT p50"}, {"p99_latency_ms", "E2E p99"},
	{"output_token_throughput", "out tok/s"}, {"request_throughput", "req/s"}}

// testEvent is one line of `go test -json` (cmd/test2json).
type testEvent struct {
	Action  string
	Test    string
	Output  string
	Elapsed float64
}

// runs owns the benchmark runs of this dashboard: one at a time, since a run loads the
// machine and its target holds the GPU.
type runs struct {
	cfg     Config
	servers *servers

	mu     sync.Mutex
	list   []*run
	active *run
}

// errBusy answers a second run while one is in progress.
var errBusy = errors.New("a run is in progress")

func (m *runs) running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active != nil
}

func (m *runs) get(id string) *run {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.list {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (m *runs) all() []*run {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.list)
	slices.Reverse(out)
	return out
}

// command is the go test command line for req, writing into out.
func (m *runs) command(req runRequest, out string) []string {
	args := []string{"go", "test", "./benchmarks", "-run", testPattern(req.Scenarios), "-count=1", "-json", "-timeout=0"}
	if req.Target != "sim" {
		args = append(args, "-tags="+req.Target)
	}
	args = append(args, "-args", "-scale="+req.Scale, "-trials="+strconv.Itoa(req.Trials), "-preset="+req.Preset, "-out="+out)
	if req.Fresh {
		args = append(args, "-fresh")
	}
	if req.Target == "sim" {
		args = append(args, "-profile="+req.Profile)
	} else {
		if m.cfg.ConfigPath != "" {
			args = append(args, "-config="+m.cfg.ConfigPath)
		}
		if u := m.servers.attachURL(req.Target); u != "" {
			// The Servers page has it up: measure that one instead of launching a second
			// copy on the same port.
			args = append(args, "-url="+u)
		}
	}
	return args
}

// start begins a run of req.
func (m *runs) start(req runRequest) (*run, error) {
	out, err := filepath.Abs(filepath.Join(m.cfg.Results, req.Out))
	if err != nil {
		return nil, err
	}
	total := 0
	for _, s := range req.Scenarios {
		sc, err := scenario.Lookup(s, scenario.Scale(req.Scale))
		if err != nil {
			return nil, err
		}
		total += len(sc.Points)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active != nil {
		return nil, fmt.Errorf("%w (run %s); cancel it or wait for it to end", errBusy, m.active.ID)
	}
	r := &run{ID: strconv.Itoa(len(m.list) + 1), Req: req, Out: out, Started: time.Now(), Total: total, log: NewLog(0),
		state: runRunning, charts: map[string][]byte{}, finished: make(chan struct{})}
	r.Command = m.command(req, out)
	argv := slices.Clone(r.Command)
	if m.cfg.GoBin != "" {
		argv[0] = m.cfg.GoBin
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if m.cfg.SuiteCommand != nil {
		cmd = m.cfg.SuiteCommand(r.Command)
	}
	cmd.Dir = m.cfg.Repo
	cmd.Env = os.Environ()
	if os.Getenv("CGO_CFLAGS") == "" {
		// As the Makefile does: go-nvml's header warnings would drown the run's log.
		cmd.Env = append(cmd.Env, "CGO_CFLAGS=-O2 -g -Wno-deprecated-declarations")
	}
	// Its own process group: cancel interrupts go test and the test binary together, as
	// Ctrl-C in a terminal does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	r.log.Add("status", runStatus{State: runRunning, Total: total})
	r.log.Add("log", logLine{"dashboard", "$ " + shellQuote(r.Command)})
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the suite (%s): %w", argv[0], err)
	}
	r.pid = cmd.Process.Pid
	m.list = append(m.list, r)
	m.active = r
	go m.follow(r, cmd, stdout, stderr)
	return r, nil
}

// follow turns the child's output into events until it exits.
func (m *runs) follow(r *run, cmd *exec.Cmd, stdout, stderr io.Reader) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			r.log.Add("log", logLine{"stderr", clip(sc.Text())})
		}
	}()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		r.handle(sc.Bytes())
	}
	wg.Wait()
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	r.mu.Lock()
	if r.killer != nil {
		r.killer.Stop()
	}
	switch {
	case r.cancelled:
		r.state = runCancelled
	case err == nil:
		r.state = runPassed
	default:
		r.state = runFailed
	}
	st := runStatus{State: r.state, Done: r.done, Total: r.Total, ExitCode: &code, Results: r.resultPath}
	r.mu.Unlock()
	r.refresh()
	r.mu.Lock()
	st.Kept = r.passed
	r.mu.Unlock()
	switch st.State {
	case runCancelled:
		st.Message = fmt.Sprintf("cancelled; the %d point(s) measured before are kept", st.Kept)
	case runFailed:
		st.Message = fmt.Sprintf("go test exited with status %d; the log says why", code)
	}
	st.Results = r.results()
	r.log.Add("status", st)
	r.log.Close()
	m.mu.Lock()
	m.active = nil
	m.mu.Unlock()
	close(r.finished)
}

// handle turns one line of go test -json into events.
func (r *run) handle(line []byte) {
	var ev testEvent
	if err := json.Unmarshal(line, &ev); err != nil || ev.Action == "" {
		r.log.Add("log", logLine{"go", clip(string(line))})
		return
	}
	switch ev.Action {
	case "output", "build-output":
		out := strings.TrimRight(ev.Output, "\n")
		if out != "" {
			r.log.Add("log", logLine{ev.Test, clip(out)})
		}
	case "run":
		if _, _, ok := pointTest(ev.Test); ok {
			r.log.Add("running", map[string]string{"test": ev.Test})
		}
	case "pass", "fail", "skip":
		if _, _, ok := pointTest(ev.Test); ok {
			r.finishPoint(ev)
		}
	}
}

// pointTest splits the name of a point's test, TestConcurrent/vllm/c64 (the scenario's
// test, the framework, the point); ok is false for any other test.
func pointTest(name string) (test, point string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 {
		return "", "", false
	}
	return parts[0], parts[2], true
}

// finishPoint records a finished point: its row from the results file, which the suite
// rewrote before the subtest ended, and the run's charts redrawn from that file.
func (r *run) finishPoint(ev testEvent) {
	test, pointName, _ := pointTest(ev.Test)
	pe := pointEvent{Test: ev.Test, Point: pointName, Outcome: ev.Action, Elapsed: ev.Elapsed}
	for _, s := range r.Req.Scenarios {
		if testName(s) == test {
			if sc, err := scenario.Lookup(s, scenario.Scale(r.Req.Scale)); err == nil {
				pe.Scenario = sc.ResultName
			}
		}
	}
	r.mu.Lock()
	r.done++
	if pe.Outcome == "pass" {
		r.passed++
	}
	if r.cancelled && pe.Outcome == "fail" {
		pe.Outcome = "cancelled" // interrupted, or not started, after the cancel
	}
	st := runStatus{State: r.state, Done: r.done, Total: r.Total}
	r.mu.Unlock()
	if runs, _ := r.refresh(); len(runs) > 0 {
		for _, p := range runs[0].Points {
			if p.Scenario == pe.Scenario && p.Point == pe.Point {
				pe.Requests, pe.Trials, pe.Invalid, pe.Warnings = p.NumRequests, p.Trials, p.Invalid, p.Warnings
				pe.Metrics = map[string]float64{}
				for _, c := range pointMetrics {
					if v, ok := p.Metrics[c.Key]; ok {
						pe.Metrics[c.Key] = v
					}
				}
			}
		}
	}
	r.log.Add("point", pe)
	r.log.Add("status", st)
}

// results is the run's results file: the newest under out/<target>/.
func (r *run) results() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.resultPath != "" {
		return r.resultPath
	}
	paths, _ := filepath.Glob(filepath.Join(r.Out, r.Req.Target, "*_results.json"))
	var newest time.Time
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && !fi.ModTime().Before(r.Started) && fi.ModTime().After(newest) {
			newest, r.resultPath = fi.ModTime(), p
		}
	}
	return r.resultPath
}

// refresh reads the run's results file and redraws its charts with the reporter; a
// "charts" event names them with a new version so the page fetches them again.
func (r *run) refresh() ([]*reporter.Run, error) {
	path := r.results()
	if path == "" {
		return nil, nil
	}
	runs, problems := reporter.LoadFiles([]string{path})
	if len(problems) > 0 {
		return nil, problems[0].Err
	}
	charts := reporter.Charts(runs)
	svgs := map[string][]byte{}
	var list []chartRef
	for _, c := range charts {
		svg, err := c.SVG()
		if err != nil {
			r.log.Add("log", logLine{"dashboard", err.Error()})
			continue
		}
		svgs[c.File] = svg
		list = append(list, chartRef{File: c.File, Title: c.Title})
	}
	r.mu.Lock()
	r.chartVersion++
	for i := range list {
		list[i].Version = r.chartVersion
	}
	r.charts = svgs
	r.mu.Unlock()
	if len(list) > 0 {
		r.log.Add("charts", list)
	}
	return runs, nil
}

func (r *run) chart(file string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.charts[file]
	return b, ok
}

func (r *run) current() (state string, done int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state, r.done
}

// cancelGrace is how long a cancelled run has to stop before its process group is
// killed: the suite then stops its target, and a real framework's stop (SIGTERM, its
// grace, the GPU memory released) takes minutes at worst.
var cancelGrace = 5 * time.Minute

// cancel interrupts the run as Ctrl-C would: SIGINT to go test and the test binary. The
// suite cancels its context, stops the target and keeps every point already written.
func (r *run) cancel() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != runRunning {
		return fmt.Errorf("run %s has already %s", r.ID, r.state)
	}
	if r.cancelled {
		return nil
	}
	r.cancelled = true
	r.log.Add("log", logLine{"dashboard", "cancelling: interrupt sent to the suite; it stops its target and keeps the points already measured"})
	if err := syscall.Kill(-r.pid, syscall.SIGINT); err != nil {
		return fmt.Errorf("interrupt run %s: %w", r.ID, err)
	}
	pid := r.pid
	r.killer = time.AfterFunc(cancelGrace, func() {
		r.log.Add("log", logLine{"dashboard", fmt.Sprintf("the suite did not stop within %v of the interrupt; killing it", cancelGrace)})
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	})
	return nil
}

// shellQuote writes argv as a shell command line a user can paste.
func shellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(c rune) bool {
			return !(unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("-_./=,:+", c))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
