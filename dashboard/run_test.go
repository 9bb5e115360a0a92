package dashboard

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/launch"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runForm is the Run page's form as a browser submits it.
func runForm(scenarios ...string) url.Values {
	return url.Values{"target": {"sim"}, "scenario": scenarios, "scale": {"quick"}, "trials": {"1"},
		"preset": {"gpt-oss-20b"}, "profile": {"batching"}}
}

// finalStatus is the run's last status among evs.
func finalStatus(t *testing.T, evs []sseEvent) runStatus {
	t.Helper()
	var st runStatus
	statuses := ofType(evs, "status")
	require.NotEmpty(t, statuses)
	statuses[len(statuses)-1].decode(t, &st)
	return st
}

// suiteTimeout bounds a run of the real suite in these tests: it compiles the benchmarks
// and may wait for the timing lock while other servegate test binaries run.
const suiteTimeout = 8 * time.Minute

func TestRunRunsTheSuiteAsTheCommandLineDoes(t *testing.T) {
	_, srv := start(t, Config{})
	resp, _ := post(t, srv, "/run", runForm("single"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/run/1", resp.Header.Get("Location"))

	resp, body := post(t, srv, "/run", runForm("korean"))
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "one run at a time")
	assert.Contains(t, body, "a run is in progress (run 1)")

	evs := events(t, srv, "/events/run/1", nil, suiteTimeout, func(e sseEvent) bool { return e.Type == "end" })
	st := finalStatus(t, evs)
	require.Equal(t, runPassed, st.State, "log:\n%s", strings.Join(dataOf(ofType(evs, "log")), "\n"))
	assert.Equal(t, 3, st.Done)
	assert.Equal(t, 3, st.Total)
	require.NotNil(t, st.ExitCode)
	assert.Equal(t, 0, *st.ExitCode)

	// Every point arrives with its figures as the results file holds them.
	f, err := results.Read(st.Results)
	require.NoError(t, err)
	points := ofType(evs, "point")
	require.Len(t, points, 3)
	for i, e := range points {
		var p pointEvent
		e.decode(t, &p)
		assert.Equal(t, "pass", p.Outcome)
		assert.Equal(t, "single_request", p.Scenario)
		assert.Equal(t, f.Results[i].Point, p.Point)
		assert.Equal(t, f.Results[i].Metrics["p50_ttft_ms"], p.Metrics["p50_ttft_ms"])
		assert.Equal(t, 100.0, p.Metrics["success_rate"])
	}
	assert.Equal(t, "sim", f.Framework)

	// The log is go test's own output, and the page shows the command to repeat it.
	logs := strings.Join(dataOf(ofType(evs, "log")), "\n")
	assert.Contains(t, logs, "=== RUN   TestSingle/sim/in128")
	_, page := get(t, srv, "/run/1")
	assert.Contains(t, page, "go test ./benchmarks -run &#39;^Test(Single)$&#39; -count=1 -json -timeout=0 -args -scale=quick -trials=1 -preset=gpt-oss-20b -out="+filepath.Dir(filepath.Dir(st.Results))+" -profile=batching")

	// The charts are the reporter's, drawn from the file after each point.
	charts := ofType(evs, "charts")
	require.NotEmpty(t, charts)
	var list []chartRef
	charts[len(charts)-1].decode(t, &list)
	require.NotEmpty(t, list)
	assert.Equal(t, "ttft_by_input", list[0].File)
	resp, svg := get(t, srv, "/run/1/charts/ttft_by_input.svg")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "image/svg+xml", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "sandbox")
	assert.Contains(t, svg, "<svg")
	resp, _ = get(t, srv, "/run/1/charts/nothing.svg")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	_, page = get(t, srv, "/run")
	assert.Contains(t, page, `<a href="/run/1">1</a>`, "the run is listed")
	resp, _ = post(t, srv, "/run/1/cancel", nil)
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "a finished run cannot be cancelled")
	resp, _ = get(t, srv, "/run/9")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestCancelStopsTheRunAndKeepsWhatWasMeasured(t *testing.T) {
	_, srv := start(t, Config{})
	form := runForm("concurrent", "long_context", "prefix_cache", "korean")
	form.Set("trials", "3")
	form.Set("out", "cancelled/run")
	form.Set("fresh", "1")
	resp, _ := post(t, srv, "/run", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, page := get(t, srv, "/run/1")
	assert.Contains(t, page, " -fresh", "start the result file over, as the form asked")

	events(t, srv, "/events/run/1", nil, suiteTimeout, func(e sseEvent) bool { return e.Type == "point" })
	resp, _ = post(t, srv, "/run/1/cancel", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	evs := events(t, srv, "/events/run/1", nil, 2*time.Minute, func(e sseEvent) bool { return e.Type == "end" })
	st := finalStatus(t, evs)
	require.Equal(t, runCancelled, st.State)
	assert.Contains(t, st.Message, "measured before are kept")
	f, err := results.Read(st.Results)
	require.NoError(t, err, "the results file is there after the interrupt")
	assert.NotEmpty(t, f.Results, "the points measured before the interrupt are kept")
	assert.Equal(t, len(f.Results), st.Kept, "a fresh directory holds this run's points only")
	assert.Less(t, st.Kept, st.Total, "the run stopped early")
	var outcomes []string
	for _, e := range ofType(evs, "point") {
		var p pointEvent
		e.decode(t, &p)
		outcomes = append(outcomes, p.Outcome)
	}
	assert.Contains(t, outcomes, "cancelled", "points after the interrupt say so")
	assert.Contains(t, st.Results, filepath.Join("cancelled", "run", "sim"), "written where the form asked")
	assert.Contains(t, strings.Join(dataOf(ofType(evs, "log")), "\n"), "servegate summary", "the suite ended as after Ctrl-C: summary printed")
}

func TestRunFormRejectsWhatTheSuiteDoesNotKnow(t *testing.T) {
	_, srv := start(t, Config{})
	for _, c := range []struct {
		field, value, want string
	}{
		{"target", "bash", `target "bash": choose one of sim`},
		{"target", "vllm", `target "vllm"`},
		{"scenario", "single; rm -rf /", `scenario "single; rm -rf /": choose from single`},
		{"scale", "huge", `unknown scale "huge"`},
		{"trials", "0", `trials "0": want a whole number from 1 to 50`},
		{"trials", "-run=.", `trials "-run=."`},
		{"preset", "gpt-5", `unknown model preset "gpt-5"`},
		{"profile", "turbo", `unknown`},
		{"out", "../../etc", `results directory "../../etc"`},
		{"out", "/tmp/x", `results directory "/tmp/x"`},
		{"out", "a/../../b", `results directory "a/../../b"`},
	} {
		form := runForm("single")
		form.Set(c.field, c.value)
		resp, body := post(t, srv, "/run", form)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s=%s", c.field, c.value)
		assert.Contains(t, body, escaped(c.want), "%s=%s", c.field, c.value)
	}
	form := runForm()
	resp, body := post(t, srv, "/run", form)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, body, "choose at least one scenario")
}

// escaped is s as html/template writes it into a page.
func escaped(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "'", "&#39;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func TestEachScenarioNamesItsTestInTheSuite(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../benchmarks", nil, 0)
	require.NoError(t, err)
	tests := map[string]bool{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fn.Name.Name, "Test") {
					tests[fn.Name.Name] = true
				}
			}
		}
	}
	for _, s := range scenario.Names() {
		assert.True(t, tests[testName(s)], "scenario %s runs as %s, which benchmarks/ must define", s, testName(s))
	}
	assert.Equal(t, "^Test(Single|LongContext)$", testPattern([]string{"single", "long_context"}))
}

func TestARunOfAFrameworkUpOnTheServersPageMeasuresThatServer(t *testing.T) {
	vllm := fakeFramework(t, "vllm")
	_, srv := start(t, Config{Frameworks: map[string]launch.Settings{"vllm": vllm}})
	resp, _ := post(t, srv, "/servers/vllm/start", url.Values{"preset": {"gpt-oss-20b"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	events(t, srv, "/events/server/vllm", nil, 60*time.Second, func(e sseEvent) bool {
		return e.Type == "status" && strings.Contains(e.Data, `"ready"`)
	})

	form := runForm("single")
	form.Set("target", "vllm")
	resp, _ = post(t, srv, "/run", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, page := get(t, srv, "/run/1")
	assert.Contains(t, page, "-tags=vllm", "the framework's build tag selects its adapter")
	assert.Contains(t, page, "-url=http://127.0.0.1:"+strconv.Itoa(vllm.Port), "attached to the server the page started")
	assert.NotContains(t, page, "-profile=", "the simulator's profile is not the framework's")

	resp, body := post(t, srv, "/servers/vllm/stop", nil)
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "a server is not stopped under a run")
	assert.Contains(t, body, "a benchmark run is in progress")

	evs := events(t, srv, "/events/run/1", nil, suiteTimeout, func(e sseEvent) bool { return e.Type == "end" })
	st := finalStatus(t, evs)
	require.Equal(t, runPassed, st.State, "log:\n%s", strings.Join(dataOf(ofType(evs, "log")), "\n"))
	f, err := results.Read(st.Results)
	require.NoError(t, err)
	assert.Equal(t, "vllm", f.Framework)
	raw, _ := f.ServerConfig.Launch.(json.RawMessage) // read back as written
	var launched map[string]any
	require.NoError(t, json.Unmarshal(raw, &launched))
	assert.Equal(t, true, launched["attached"], "the suite attached; it launched nothing: %s", raw)
	assert.Len(t, f.Results, 3)
}
