// Package dashboard is servegate's live web dashboard, the Go form of the original
// project's web GUI: start and stop each configured framework and follow its log, watch
// the GPUs, run the suite and follow it point by point, browse and compare results, and
// read the hypothesis verdicts. It drives the same code as the command line: frameworks
// start through harness/launch, runs are `go test ./benchmarks` in a child process, results
// and charts come from the reporter, verdicts from harness/hypothesis. Live data are
// server-sent events from in-memory logs that a late browser replays from the start. Pages
// and assets are embedded; nothing is fetched from elsewhere.
package dashboard

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/harness/launch"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/internal/secret"
	"github.com/servegate/servegate/reporter/compare"
)

//go:embed web
var web embed.FS

// Config says what the dashboard serves and where it finds things.
type Config struct {
	// Frameworks are the launch settings of the frameworks the Servers page may start,
	// by name (launch.Configured for each); only these can be started, nothing else.
	Frameworks map[string]launch.Settings
	// ConfigPath is the launch configuration file, passed on to runs (-config).
	ConfigPath string
	// Results is the results root: runs write under it, the Results page browses it.
	Results string
	// Repo is the servegate module root, where `go test ./benchmarks` runs.
	Repo string
	// GoBin is the go command (default "go" from PATH).
	GoBin string
	// SuiteCommand, when set, builds the process that runs argv (a go test command line)
	// instead of running it (tests use it to stand in for the suite).
	SuiteCommand func(argv []string) *exec.Cmd
	// Hypotheses is a file of hypotheses replacing the defaults by id (as -hypotheses).
	Hypotheses string
	// Preset is the model preset the forms start with.
	Preset string
	// GPU samples the GPU page; nil without telemetry, and GPUWhy says why.
	GPU         *gpu.Sampler
	GPUWhy      string
	GPUInterval time.Duration
	// OpenGPU, when set, opens a sampler for launch's own use (the server's GPU memory
	// released on stop): gpu.OpenSystem where the machine has NVML.
	OpenGPU func() (*gpu.Sampler, error)
	// Token, when set, is required on every request (query ?token= once, then a cookie,
	// or an Authorization: Bearer header). It must be set to listen beyond loopback.
	Token string
}

// Dashboard is the web application; it is an http.Handler.
type Dashboard struct {
	cfg     Config
	ctx     context.Context
	cancel  context.CancelFunc
	servers *servers
	runs    *runs
	gpu     *gpuMonitor
	pages   map[string]*template.Template
	mux     *http.ServeMux
	handler http.Handler
	wg      sync.WaitGroup
}

// New checks cfg and starts the dashboard's background work (GPU sampling).
func New(cfg Config) (*Dashboard, error) {
	if cfg.Results == "" {
		cfg.Results = "results"
	}
	if cfg.Repo == "" {
		cfg.Repo = "."
	}
	if cfg.Preset == "" {
		cfg.Preset = models.DefaultPreset
	}
	if _, err := models.Lookup(cfg.Preset); err != nil {
		return nil, err
	}
	if cfg.SuiteCommand == nil && !exists(filepath.Join(cfg.Repo, "benchmarks")) {
		return nil, fmt.Errorf("no benchmarks/ under %s: start the dashboard from the servegate repository (make dashboard) or pass -repo", cfg.Repo)
	}
	var err error
	for _, p := range []*string{&cfg.Results, &cfg.Repo, &cfg.ConfigPath, &cfg.Hypotheses} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return nil, err
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dashboard{cfg: cfg, ctx: ctx, cancel: cancel}
	d.runs = &runs{cfg: cfg}
	if d.servers, err = newServers(ctx, cfg, d.runs.running); err != nil {
		cancel()
		return nil, err
	}
	d.runs.servers = d.servers
	d.gpu = newGPUMonitor(cfg.GPU, cfg.GPUWhy, cfg.GPUInterval)
	if d.pages, err = parsePages(); err != nil {
		cancel()
		return nil, err
	}
	d.routes()
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.gpu.run(ctx) }()
	return d, nil
}

// Close ends every live stream, interrupts a run in progress and waits for it, and stops
// every framework started here.
func (d *Dashboard) Close() error {
	d.cancel()
	if r := d.runs.activeRun(); r != nil {
		_ = r.cancel()
		<-r.finished
	}
	d.servers.stopAll()
	d.wg.Wait()
	return nil
}

// Context ends when the dashboard closes; the HTTP server's base context, so that open
// event streams end on shutdown.
func (d *Dashboard) Context() context.Context { return d.ctx }

func (m *runs) activeRun() *run {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active
}

func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.handler.ServeHTTP(w, r) }

func (d *Dashboard) routes() {
	mux := http.NewServeMux()
	static, _ := fs.Sub(web, "web/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/servers", http.StatusSeeOther) })

	mux.HandleFunc("GET /servers", d.serversPage)
	mux.HandleFunc("POST /servers/{name}/start", d.startServer)
	mux.HandleFunc("POST /servers/{name}/stop", d.stopServer)
	mux.HandleFunc("GET /events/server/{name}", d.serverEvents)

	mux.HandleFunc("GET /gpu", d.gpuPage)
	mux.HandleFunc("GET /gpu/charts/{file}", d.gpuChart)
	mux.Handle("GET /events/gpu", d.gpu.log)

	mux.HandleFunc("GET /run", d.runPage)
	mux.HandleFunc("POST /run", d.startRun)
	mux.HandleFunc("GET /run/{id}", d.runView)
	mux.HandleFunc("POST /run/{id}/cancel", d.cancelRun)
	mux.HandleFunc("GET /run/{id}/charts/{file}", d.runChart)
	mux.HandleFunc("GET /events/run/{id}", d.runEvents)

	mux.HandleFunc("GET /results", d.resultsPage)
	mux.HandleFunc("GET /results/report", d.resultsReport)
	mux.HandleFunc("GET /results/download", d.resultsDownload)
	mux.HandleFunc("GET /hypotheses", d.hypothesesPage)
	d.mux = mux
	d.handler = d.guard(http.NewCrossOriginProtection().Handler(mux))
}

// --- security -------------------------------------------------------------------------

const tokenCookie = "servegate_token"

// guard admits a request: with a token, only one that carries it; without, only one
// addressed to a loopback name (so a web page cannot reach the dashboard through a DNS
// name rebound to 127.0.0.1). Every response forbids framing by others and loading
// anything from elsewhere.
func (d *Dashboard) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if d.cfg.Token == "" {
			if !loopbackHost(r.Host) {
				http.Error(w, "this dashboard answers only to 127.0.0.1, localhost or [::1]; to serve other addresses start it with -addr and a token", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if q := r.URL.Query().Get("token"); q != "" && d.tokenOK(q) {
			http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: q, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			u := *r.URL
			v := u.Query()
			v.Del("token")
			u.RawQuery = v.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if c, err := r.Cookie(tokenCookie); err == nil && got == "" {
			got = c.Value
		}
		if !d.tokenOK(got) {
			http.Error(w, "this dashboard needs its token: open the URL it printed at start (…?token=…)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (d *Dashboard) tokenOK(s string) bool {
	return s != "" && subtle.ConstantTimeCompare([]byte(s), []byte(d.cfg.Token)) == 1
}

// loopbackHost says whether a Host header names this machine's loopback interface.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackAddr says whether a listen address binds only the loopback interface.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	return loopbackHost(host)
}

// --- pages ------------------------------------------------------------------------------

var funcs = template.FuncMap{
	"f": func(prec int, v float64) string { return strconv.FormatFloat(v, 'f', prec, 64) },
	"g": func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) },
	"interval": func(lo, hi *float64) string {
		if lo == nil || hi == nil {
			return "–"
		}
		return fmt.Sprintf("[%.4g, %.4g]", *lo, *hi)
	},
	// observed is a verdict's or check's observed value, or "–" when nothing was decided on
	// it (no interval and no verdict): a zero there would read as a measurement.
	"observed": func(verdict string, v float64, lo *float64) string {
		if lo == nil && verdict != "pass" && verdict != "fail" {
			return "–"
		}
		return strconv.FormatFloat(v, 'g', 4, 64)
	},
	"when": func(t time.Time) string { return t.Format("2006-01-02 15:04:05") },
	"join": strings.Join,
	"slug": func(s string) string { return strings.ReplaceAll(s, " ", "-") },
}

// parsePages parses each page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(web, "web/layout.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"servers", "gpu", "run", "runview", "results", "hypotheses", "error"} {
		t, err := template.Must(layout.Clone()).ParseFS(web, "web/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what every page's layout reads.
type page struct {
	Title, Nav string
	Data       any
}

func (d *Dashboard) render(w http.ResponseWriter, status int, name, title string, data any) {
	var b strings.Builder
	if err := d.pages[name].Execute(&b, page{Title: title, Nav: navOf(name), Data: data}); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func navOf(name string) string {
	if name == "runview" {
		return "run"
	}
	return name
}

// fail shows an error page with the status that says what kind of error it is.
func (d *Dashboard) fail(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, errNotConfigured), errors.Is(err, errNotFound):
		status = http.StatusNotFound
	case errors.Is(err, errBusy), errors.Is(err, errConflict):
		status = http.StatusConflict
	}
	d.render(w, status, "error", "Error", err.Error())
}

var (
	errNotFound = errors.New("not found")
	errConflict = errors.New("conflict")
)

// --- servers --------------------------------------------------------------------------

type serverView struct {
	Name, Address, Launch, Model string
	Attached                     bool
	Status                       serverStatus
}

func (d *Dashboard) serversPage(w http.ResponseWriter, r *http.Request) {
	preset, _ := models.Lookup(d.cfg.Preset)
	views := make([]serverView, len(d.servers.names))
	var wg sync.WaitGroup
	for i, name := range d.servers.names {
		f := d.servers.byName[name]
		v := serverView{Name: name, Address: secret.URL(f.address()), Model: f.model(preset), Attached: f.settings.URL != ""}
		v.Launch = launchLine(f, v.Model)
		views[i] = v
		wg.Add(1)
		go func() { defer wg.Done(); views[i].Status = d.servers.probe(r.Context(), f) }()
	}
	wg.Wait()
	d.render(w, http.StatusOK, "servers", "Servers", map[string]any{
		"Servers": views, "Presets": models.Names(), "Preset": d.cfg.Preset, "Running": d.runs.running(),
	})
}

// launchLine is the command the framework would be launched with, for the page to show.
func launchLine(f *framework, model string) string {
	if f.settings.URL != "" {
		return "attached to " + secret.URL(f.settings.URL) + " (url is configured: servegate starts nothing)"
	}
	host, port := f.settings.Host, f.settings.Port
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 {
		port = f.spec.DefaultPort
	}
	var cmd []string
	if len(f.settings.Command) > 0 {
		rp := strings.NewReplacer("{model}", model, "{host}", host, "{port}", strconv.Itoa(port))
		for _, c := range f.settings.Command {
			cmd = append(cmd, rp.Replace(c))
		}
	} else {
		cmd = f.spec.Launch(model, host, port)
	}
	cmd = append(cmd, f.settings.ExtraArgs...)
	line := shellQuote(secret.Args(cmd))
	if f.settings.Venv != "" {
		line += "   (venv " + f.settings.Venv + ")"
	}
	return line
}

func (d *Dashboard) startServer(w http.ResponseWriter, r *http.Request) {
	if err := d.servers.start(r.PathValue("name"), r.FormValue("preset")); err != nil {
		if !errors.Is(err, errNotConfigured) && !strings.Contains(err.Error(), "unknown model preset") {
			err = fmt.Errorf("%w: %w", errConflict, err)
		}
		d.fail(w, err)
		return
	}
	http.Redirect(w, r, "/servers#fw-"+r.PathValue("name"), http.StatusSeeOther)
}

func (d *Dashboard) stopServer(w http.ResponseWriter, r *http.Request) {
	f, err := d.servers.get(r.PathValue("name"))
	if err != nil {
		d.fail(w, err)
		return
	}
	if d.runs.running() {
		d.fail(w, fmt.Errorf("%w: a benchmark run is in progress and may be measuring %s; cancel the run first", errConflict, f.spec.Name))
		return
	}
	go f.stop() // stopping takes the framework's grace period; the page follows it live
	http.Redirect(w, r, "/servers#fw-"+r.PathValue("name"), http.StatusSeeOther)
}

func (d *Dashboard) serverEvents(w http.ResponseWriter, r *http.Request) {
	f, err := d.servers.get(r.PathValue("name"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	f.log.ServeHTTP(w, r)
}

// --- gpu ------------------------------------------------------------------------------

func (d *Dashboard) gpuPage(w http.ResponseWriter, r *http.Request) {
	var devices []gpu.Info
	if d.gpu.sampler != nil {
		devices = d.gpu.sampler.Devices()
	}
	d.render(w, http.StatusOK, "gpu", "GPU", map[string]any{
		"Available": d.gpu.sampler != nil, "Why": d.gpu.why, "Devices": devices, "Metrics": gpuMetrics,
		"Interval": d.gpu.interval.String(),
	})
}

func (d *Dashboard) gpuChart(w http.ResponseWriter, r *http.Request) {
	m, ok := lookupGPUMetric(strings.TrimSuffix(r.PathValue("file"), ".svg"))
	if !ok || d.gpu.sampler == nil {
		http.NotFound(w, r)
		return
	}
	svg, err := d.gpu.chart(m)
	if err != nil {
		svg = placeholderSVG("waiting for GPU samples")
	}
	writeSVG(w, svg)
}

// writeSVG serves a chart. Charts are shown as images, where a browser runs no script,
// and the sandbox keeps one opened on its own inert too.
func writeSVG(w http.ResponseWriter, svg []byte) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(svg)
}

func placeholderSVG(text string) []byte {
	return []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="900" height="120"><text x="20" y="60" font-family="sans-serif" font-size="16" fill="#666">` +
		template.HTMLEscapeString(text) + `</text></svg>`)
}

// --- runs -----------------------------------------------------------------------------

// targets are what a run can measure: the simulator and each configured framework.
func (d *Dashboard) targets() []string {
	return append([]string{"sim"}, d.servers.names...)
}

func (d *Dashboard) runPage(w http.ResponseWriter, r *http.Request) {
	profiles := make([]string, 0)
	for name := range sim.Profiles() {
		profiles = append(profiles, name)
	}
	sort.Strings(profiles)
	d.render(w, http.StatusOK, "run", "Run", map[string]any{
		"Targets": d.targets(), "Scenarios": scenario.Names(), "Presets": models.Names(), "Preset": d.cfg.Preset,
		"Profiles": profiles, "Profile": sim.DefaultProfile, "Runs": d.runs.all(), "Results": d.cfg.Results,
		"Active": d.runs.activeRun(),
	})
}

func (d *Dashboard) startRun(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		d.fail(w, err)
		return
	}
	req, err := parseRunRequest(r.PostForm, d.targets())
	if err != nil {
		d.fail(w, err)
		return
	}
	run, err := d.runs.start(req)
	if err != nil {
		d.fail(w, err)
		return
	}
	http.Redirect(w, r, "/run/"+run.ID, http.StatusSeeOther)
}

func (d *Dashboard) lookupRun(w http.ResponseWriter, r *http.Request) *run {
	run := d.runs.get(r.PathValue("id"))
	if run == nil {
		d.fail(w, fmt.Errorf("run %q: %w (runs live as long as the dashboard; their results stay on disk)", r.PathValue("id"), errNotFound))
	}
	return run
}

func (d *Dashboard) runView(w http.ResponseWriter, r *http.Request) {
	run := d.lookupRun(w, r)
	if run == nil {
		return
	}
	state, _ := run.current()
	d.render(w, http.StatusOK, "runview", "Run "+run.ID, map[string]any{
		"Run": run, "Line": shellQuote(run.Command), "State": state, "Metrics": pointMetrics,
	})
}

func (d *Dashboard) cancelRun(w http.ResponseWriter, r *http.Request) {
	run := d.lookupRun(w, r)
	if run == nil {
		return
	}
	if err := run.cancel(); err != nil {
		d.fail(w, fmt.Errorf("%w: %w", errConflict, err))
		return
	}
	http.Redirect(w, r, "/run/"+run.ID, http.StatusSeeOther)
}

func (d *Dashboard) runChart(w http.ResponseWriter, r *http.Request) {
	run := d.runs.get(r.PathValue("id"))
	if run == nil {
		http.NotFound(w, r)
		return
	}
	svg, ok := run.chart(strings.TrimSuffix(r.PathValue("file"), ".svg"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	writeSVG(w, svg)
}

func (d *Dashboard) runEvents(w http.ResponseWriter, r *http.Request) {
	run := d.runs.get(r.PathValue("id"))
	if run == nil {
		http.Error(w, "no such run", http.StatusNotFound)
		return
	}
	run.log.ServeHTTP(w, r)
}

// --- results and hypotheses -------------------------------------------------------------

// chosenSet finds the result sets and the one the request names (the newest when it names
// none).
func (d *Dashboard) chosenSet(r *http.Request, param string) ([]resultSet, *resultSet, error) {
	sets, err := findSets(d.cfg.Results)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	name := r.URL.Query().Get(param)
	if name == "" {
		if param != "set" || len(sets) == 0 {
			return sets, nil, nil
		}
		newest := sets[0]
		for _, s := range sets {
			if s.Modified.After(newest.Modified) {
				newest = s
			}
		}
		return sets, &newest, nil
	}
	s, err := lookupSet(sets, name)
	if err != nil {
		return sets, nil, fmt.Errorf("%w: %w", errNotFound, err)
	}
	return sets, &s, nil
}

func threshold(r *http.Request) (compare.Options, error) {
	opt := compare.Options{Threshold: 0.1}
	if v := r.URL.Query().Get("threshold"); v != "" {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil || t < 0 || t > 10 {
			return opt, fmt.Errorf("threshold %q: want a relative change such as 0.1 (10%%)", v)
		}
		opt.Threshold = t
	}
	return opt, nil
}

func (d *Dashboard) resultsPage(w http.ResponseWriter, r *http.Request) {
	sets, set, err := d.chosenSet(r, "set")
	if err != nil {
		d.fail(w, err)
		return
	}
	_, base, err := d.chosenSet(r, "base")
	if err != nil {
		d.fail(w, err)
		return
	}
	opt, err := threshold(r)
	if err != nil {
		d.fail(w, err)
		return
	}
	data := map[string]any{"Sets": sets, "Set": set, "Base": base, "Threshold": opt.Threshold, "Root": d.cfg.Results}
	if set != nil && base != nil {
		changes, err := compareSets(*base, *set, opt)
		if err != nil {
			data["CompareError"] = err.Error()
		} else {
			var regressed, improved, uncompared int
			fails := false
			for _, c := range changes {
				switch {
				case c.Regression():
					regressed++
				case c.Verdict == compare.Improved:
					improved++
				case c.NoEvidence():
					uncompared++
				}
				fails = fails || c.Fails(opt)
			}
			data["Compared"], data["Regressed"], data["Improved"], data["Uncompared"], data["GateFails"] = len(changes), regressed, improved, uncompared, fails
		}
	}
	d.render(w, http.StatusOK, "results", "Results", data)
}

// reportFor renders the report the request names.
func (d *Dashboard) reportFor(r *http.Request) (resultSet, []byte, error) {
	_, set, err := d.chosenSet(r, "set")
	if err == nil && set == nil {
		err = fmt.Errorf("%w: no result set under %s yet; start a run", errNotFound, d.cfg.Results)
	}
	if err != nil {
		return resultSet{}, nil, err
	}
	_, base, err := d.chosenSet(r, "base")
	if err != nil {
		return resultSet{}, nil, err
	}
	opt, err := threshold(r)
	if err != nil {
		return resultSet{}, nil, err
	}
	b, err := report(*set, base, opt)
	return *set, b, err
}

// reportCSP lets the reporter's page keep its inline styles and inline SVG while running
// no script and reaching nothing: it is shown in a frame of the Results page.
const reportCSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"

func (d *Dashboard) resultsReport(w http.ResponseWriter, r *http.Request) {
	_, b, err := d.reportFor(r)
	if err != nil {
		d.fail(w, err)
		return
	}
	w.Header().Set("Content-Security-Policy", reportCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (d *Dashboard) resultsDownload(w http.ResponseWriter, r *http.Request) {
	set, b, err := d.reportFor(r)
	if err != nil {
		d.fail(w, err)
		return
	}
	name := "servegate-report"
	if set.Name != "." {
		name += "-" + strings.NewReplacer("/", "-", "\\", "-").Replace(set.Name)
	}
	w.Header().Set("Content-Security-Policy", reportCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.html"`)
	_, _ = w.Write(b)
}

func (d *Dashboard) hypothesesPage(w http.ResponseWriter, r *http.Request) {
	sets, set, err := d.chosenSet(r, "set")
	if err != nil {
		d.fail(w, err)
		return
	}
	data := map[string]any{"Sets": sets, "Set": set, "Overrides": d.cfg.Hypotheses, "Root": d.cfg.Results}
	if set != nil {
		verdicts, err := decide(*set, d.cfg.Hypotheses)
		if err != nil {
			// As the suite's -from: a set with an unreadable file is not decided.
			data["Problem"] = err.Error()
		}
		data["Verdicts"] = verdicts
	}
	d.render(w, http.StatusOK, "hypotheses", "Hypotheses", data)
}
