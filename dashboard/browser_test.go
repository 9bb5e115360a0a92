//go:build browser

// The dashboard in a real browser: Chromium, headless, driven through the DevTools
// protocol by chromedp, against the dashboard serving the simulator and a fake framework.
// It needs Chromium (Debian: apt-get install chromium; or SERVEGATE_CHROMIUM=path), so it
// carries the browser build tag: `make browser-test`, which .ci/run runs. Screenshots of
// every page go to $SERVEGATE_SCREENSHOTS (CI uploads them; `make dashboard-screenshots`
// refreshes docs/dashboard/ for README).

package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/servegate/servegate/harness/launch"
	"github.com/stretchr/testify/require"
)

// chromium finds the browser: $SERVEGATE_CHROMIUM, else the usual names on PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SERVEGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: apt-get install chromium (Debian), or set SERVEGATE_CHROMIUM to a Chrome or Chromium binary")
	return ""
}

// browser is one headless Chromium tab with the messages its pages log.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	log  *consoleLog
}

// consoleLog collects the errors the pages log.
type consoleLog struct {
	mu       sync.Mutex
	problems []string
}

// in is the browser for subtest t.
func (b *browser) in(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		// As root in a container with no network: no sandbox, no GPU, nothing phoning home.
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "start Chromium")
	b := &browser{t: t, ctx: ctx, base: base, dir: os.Getenv("SERVEGATE_SCREENSHOTS"), log: &consoleLog{}}
	if b.dir == "" {
		b.dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(b.dir, 0o755))
	// Every error a page logs (a script exception, a failed request, a refused policy)
	// fails the test: a broken page is not allowed to look fine.
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.log.mu.Lock()
				b.log.problems = append(b.log.problems, fmt.Sprintf("%s %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text))
				b.log.mu.Unlock()
			}
		}
	}()
	return b
}

// step bounds one browser action, so a page that never shows what is awaited fails the
// test instead of hanging it.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 60*time.Second)
}

// open navigates to path and checks the page answered 200 and shows its heading.
func (b *browser) open(path, heading string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	require.NoError(b.t, err, "open %s", path)
	require.Equal(b.t, int64(http.StatusOK), resp.Status, "open %s", path)
	b.waitTrue(`document.querySelector("h1") && document.querySelector("h1").textContent.includes(`+jsString(heading)+`)`, 10*time.Second, "heading of "+path)
}

// submit clicks a submit button and waits for the page it leads to.
func (b *browser) submit(selector string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(selector)))
	require.NoError(b.t, err, "click %s", selector)
	require.Less(b.t, resp.Status, int64(400), "click %s: HTTP %d", selector, resp.Status)
}

// eval runs JavaScript in the page.
func (b *browser) eval(js string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](js)), js)
}

// waitTrue waits until the expression is truthy in the page.
func (b *browser) waitTrue(js string, timeout time.Duration, what string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		b.screenshot("failed-" + strings.NewReplacer(" ", "-", "/", "-").Replace(what))
		b.t.Fatalf("waiting for %s (%s): %v", what, js, err)
	}
}

func (b *browser) text(js string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	require.NoError(b.t, err, js)
	return s
}

// frameText reads the text of selector in the frame whose address contains url. The
// report's frame is sandboxed (an opaque origin), so Chromium runs it as a target of its
// own, which chromedp reaches by its id.
func (b *browser) frameText(url, selector string) string {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	wait := 50 * time.Millisecond
	for {
		ctx, cancel := b.step()
		infos, err := chromedp.Targets(ctx)
		cancel()
		require.NoError(b.t, err)
		for _, info := range infos {
			if info.Type != "iframe" || !strings.Contains(info.URL, url) {
				continue
			}
			fctx, fcancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
			tctx, tcancel := context.WithTimeout(fctx, 20*time.Second)
			text, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(selector)))
			tcancel()
			fcancel()
			require.NoError(b.t, err, "read %s in the frame %s", selector, info.URL)
			return text
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no frame with %s among the browser's targets", url)
		}
		<-time.After(wait)
		wait = min(2*wait, time.Second)
	}
}

// screenshot saves the whole page as name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	path := filepath.Join(b.dir, name+".png")
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	b.t.Logf("screenshot %s", path)
}

// clean fails the test on any error the pages logged so far.
func (b *browser) clean(where string) {
	b.t.Helper()
	b.log.mu.Lock()
	defer b.log.mu.Unlock()
	if len(b.log.problems) > 0 {
		b.t.Fatalf("the browser logged errors (%s):\n%s", where, strings.Join(b.log.problems, "\n"))
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// imagesLoaded is true when every chart image in the page has been drawn.
const imagesLoaded = `[...document.querySelectorAll("figure img")].length > 0 && [...document.querySelectorAll("figure img")].every(i => i.complete && i.naturalWidth > 0)`

func TestBrowserEveryPageAgainstTheSimulator(t *testing.T) {
	// The GPU page is fed by go-nvml's mock device here: CI has no GPU. Its numbers are
	// the mock's, not measurements.
	s := mockSampler(t)
	_, srv := start(t, Config{
		Results:     filepath.Join(t.TempDir(), "results"),
		Frameworks:  map[string]launch.Settings{"vllm": fakeFramework(t, "vllm")},
		GPU:         s,
		GPUInterval: 300 * time.Millisecond,
	})
	b := newBrowser(t, srv.URL)

	t.Run("servers", func(t *testing.T) {
		b := b.in(t)
		b.open("/servers", "Servers")
		b.waitTrue(`document.querySelector("#fw-vllm [data-field=state]").textContent === "stopped"`, 10*time.Second, "vllm stopped")
		b.submit(`#fw-vllm [data-action=start]`)
		b.waitTrue(`document.querySelector("#fw-vllm [data-field=state]").textContent === "ready"`, 60*time.Second, "vllm ready")
		b.waitTrue(`document.querySelector("#fw-vllm [data-field=log]").textContent.includes("INFO fake vllm loading")`, 10*time.Second, "the server's log, live")
		b.waitTrue(`document.querySelector("#fw-vllm [data-action=start]").disabled`, 5*time.Second, "start disabled while up")
		b.screenshot("servers")
		b.submit(`#fw-vllm [data-action=stop]`)
		b.waitTrue(`document.querySelector("#fw-vllm [data-field=state]").textContent === "stopped"`, 60*time.Second, "vllm stopped again")
		b.clean("servers")
	})

	t.Run("gpu", func(t *testing.T) {
		b := b.in(t)
		b.open("/gpu", "GPU")
		b.waitTrue(`document.querySelector('tr[data-device="0"] [data-field=memory_used_mb]').textContent !== "–"`, 10*time.Second, "a live GPU sample")
		b.waitTrue(`document.querySelector('tr[data-device="0"] [data-field=temperature_c]').textContent !== "–"`, 10*time.Second, "temperature")
		// Enough samples for every chart to have a line, then every chart drawn.
		b.waitTrue(`[...document.querySelectorAll("figure img")].every(i => i.src.includes("?t=") && parseFloat(i.src.split("?t=")[1]) > 1)`, 20*time.Second, "charts refreshed by samples")
		b.waitTrue(imagesLoaded, 10*time.Second, "GPU charts drawn")
		b.screenshot("gpu")
		b.clean("gpu")
	})

	// Two runs: a baseline, then a run with more scenarios, to compare on the Results page.
	run := func(b *browser, id, out, trials string, scenarios ...string) {
		b.open("/run", "Run")
		b.eval(`document.querySelector("input[name=trials]").value = ` + jsString(trials))
		b.eval(`document.querySelector("#target").value = "sim"`)
		b.eval(`document.querySelectorAll("input[name=scenario]").forEach(c => c.checked = ` + jsArray(scenarios) + `.includes(c.value))`)
		b.eval(`document.querySelector("input[name=out]").value = ` + jsString(out))
		b.submit(`#start-run`)
		b.waitTrue(`location.pathname === "/run/`+id+`"`, 10*time.Second, "the run's page")
		// Progress arrives live: the first point row while the run still runs, or the
		// whole run if it was quicker than the page.
		b.waitTrue(`document.querySelectorAll("tr[data-point]").length > 0`, suiteTimeout, "the first finished point")
		b.waitTrue(`document.querySelector("#run [data-field=state]").textContent === "passed"`, suiteTimeout, "the run passed")
		b.waitTrue(`document.querySelector("progress").value === document.querySelector("progress").max && document.querySelector("progress").max > 0`, 5*time.Second, "progress complete")
		b.waitTrue(`document.querySelectorAll("tr[data-point].outcome-pass").length === document.querySelector("progress").max`, 5*time.Second, "every point row")
		b.waitTrue(`document.querySelector("#run [data-field=log]").textContent.includes("=== RUN")`, 5*time.Second, "go test's log")
		b.waitTrue(`document.querySelector("#run").hasAttribute("data-ended")`, 5*time.Second, "the stream ended")
	}
	t.Run("run", func(t *testing.T) {
		b := b.in(t)
		// Trials give the comparison its t-tests, and the hypotheses the five per point they
		// are decided on.
		run(b, "1", "baseline", "2", "single", "concurrent")
		run(b, "2", "", "5", "single", "concurrent", "long_context", "prefix_cache", "korean")
		b.waitTrue(imagesLoaded, 20*time.Second, "the run's charts")
		n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("figure img").length`))
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 5, "the report's charts of five scenarios")
		b.screenshot("run")
		b.clean("run")
	})

	t.Run("results", func(t *testing.T) {
		b := b.in(t)
		b.open("/results?set=.", "Results")
		b.waitTrue(`document.querySelector("iframe.report") !== null`, 5*time.Second, "the report frame")
		b.eval(`document.querySelector("select[name=base]").value = "baseline"`)
		b.submit(`#compare-form button[type=submit]`)
		b.waitTrue(`document.querySelector("#compare-result") && document.querySelector("#compare-result").textContent.includes("regression(s)")`, 10*time.Second, "the comparison")
		b.waitTrue(`document.querySelector("iframe.report").getBoundingClientRect().height > 300`, 5*time.Second, "the report frame's size")
		text := b.frameText("/results/report?", "h1")
		require.Contains(t, text, "servegate report")
		require.Contains(t, b.frameText("/results/report?", "body"), "Against the baseline", "the comparison in the report")
		href := b.text(`document.querySelector("#download").getAttribute("href")`)
		resp, err := http.Get(srv.URL + href)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")
		b.screenshot("results")
		b.clean("results")
	})

	t.Run("hypotheses", func(t *testing.T) {
		b := b.in(t)
		b.open("/hypotheses?set=.", "Hypotheses")
		b.waitTrue(`document.querySelectorAll("tr[data-id]").length >= 5`, 5*time.Second, "every hypothesis")
		b.waitTrue(`document.querySelector('tr[data-id="H1"] .verdict').textContent === "pass"`, 5*time.Second, "H1 decided: the simulator batches")
		b.screenshot("hypotheses")
		b.clean("hypotheses")
	})
}

func jsArray(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = jsString(s)
	}
	return "[" + strings.Join(q, ",") + "]"
}
