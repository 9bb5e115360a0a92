package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/harness/launch"
	"github.com/servegate/servegate/harness/probe"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/secret"
)

// Server states, as the Servers page shows them.
const (
	stateStopped  = "stopped"
	stateStarting = "starting"
	stateReady    = "ready"
	stateStopping = "stopping"
	stateFailed   = "failed"
	// stateElsewhere is a server answering on the framework's address that the dashboard
	// did not start (by hand, or a configured url).
	stateElsewhere = "running elsewhere"
)

// serverStatus is one framework's state, sent as a "status" event and shown on the page.
type serverStatus struct {
	State   string `json:"state"`
	Preset  string `json:"preset,omitempty"`
	Model   string `json:"model,omitempty"`
	URL     string `json:"url,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Version string `json:"version,omitempty"`
	LogPath string `json:"log_path,omitempty"`
	Error   string `json:"error,omitempty"`
}

// logLine is a "log" event: one line of a server's log or of servegate's own progress.
type logLine struct {
	Source string `json:"source"`
	Line   string `json:"line"`
}

// framework is one configured framework that the Servers page starts and stops through
// harness/launch, the code the suite starts it with.
type framework struct {
	spec     frameworks.Spec
	settings launch.Settings
	log      *Log

	mu     sync.Mutex
	status serverStatus
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine that owns the launched server ends
}

func (f *framework) set(s serverStatus) {
	f.mu.Lock()
	f.status = s
	f.mu.Unlock()
	f.log.Add("status", s)
}

func (f *framework) current() serverStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// address is where the framework answers: its url when attached, else host and port.
func (f *framework) address() string {
	if f.settings.URL != "" {
		return f.settings.URL
	}
	host, port := f.settings.Host, f.settings.Port
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 {
		port = f.spec.DefaultPort
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// model is the name the framework serves preset under.
func (f *framework) model(p models.Preset) string {
	if f.settings.Model != "" {
		return f.settings.Model
	}
	return f.spec.Model(p)
}

// servers owns the configured frameworks. One runs at a time, as in the original GUI:
// they share the GPU, so starting one first stops the other.
type servers struct {
	ctx       context.Context
	results   string
	openGPU   func() (*gpu.Sampler, error)
	running   func() bool // a benchmark run is in progress
	byName    map[string]*framework
	names     []string
	startLock sync.Mutex // serialises start requests
}

// serverLogKeep bounds a server's event log: a framework's log can grow for days.
const serverLogKeep = 2000

func newServers(ctx context.Context, cfg Config, running func() bool) (*servers, error) {
	m := &servers{ctx: ctx, results: cfg.Results, openGPU: cfg.OpenGPU, running: running, byName: map[string]*framework{}}
	for name, set := range cfg.Frameworks {
		spec, err := launch.Lookup(name)
		if err != nil {
			return nil, err
		}
		if spec.Launch == nil && set.URL == "" && len(set.Command) == 0 {
			continue // openai has nothing to launch: it appears once a url is configured
		}
		m.byName[name] = &framework{spec: spec, settings: set, log: NewLog(serverLogKeep), status: serverStatus{State: stateStopped}}
		m.names = append(m.names, name)
	}
	order := map[string]int{"vllm": 0, "sglang": 1, "ollama": 2, "openai": 3}
	sort.Slice(m.names, func(i, j int) bool { return order[m.names[i]] < order[m.names[j]] })
	return m, nil
}

// errNotConfigured answers a request for a framework the dashboard does not manage.
var errNotConfigured = errors.New("not a configured framework")

func (m *servers) get(name string) (*framework, error) {
	f, ok := m.byName[name]
	if !ok {
		return nil, fmt.Errorf("%q is %w: the dashboard starts only %v", name, errNotConfigured, m.names)
	}
	return f, nil
}

// probe says whether a framework the dashboard has not started answers on its address,
// and its version when it does.
func (m *servers) probe(ctx context.Context, f *framework) serverStatus {
	st := f.current()
	if st.State != stateStopped && st.State != stateFailed {
		return st
	}
	ctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel()
	base := f.address()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+f.spec.HealthPath, nil)
	if err != nil {
		return st
	}
	// A URL's user and password go as basic authentication (Go's client does that); an
	// API key as the suite sends it.
	client := &http.Client{}
	if f.settings.APIKey != "" {
		client = stream.Authorize(client, "Bearer "+f.settings.APIKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return st
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st
	}
	v, _ := probe.Version(ctx, client, f.spec, base)
	return serverStatus{State: stateElsewhere, URL: secret.URL(base), Version: v, Error: st.Error}
}

// start brings a framework up with preset in the background; its progress and log arrive
// as events.
func (m *servers) start(name, presetName string) error {
	f, err := m.get(name)
	if err != nil {
		return err
	}
	preset, err := models.Lookup(presetName)
	if err != nil {
		return err
	}
	m.startLock.Lock()
	defer m.startLock.Unlock()
	if m.running() {
		return errors.New("a benchmark run is in progress and brings up its own target; start servers when it has finished")
	}
	if st := f.current().State; st == stateStarting || st == stateReady || st == stateStopping {
		return fmt.Errorf("%s is %s", name, st)
	}
	var others []*framework
	for _, o := range m.byName {
		if o != f && o.current().State != stateStopped && o.current().State != stateFailed {
			others = append(others, o)
		}
	}
	ctx, cancel := context.WithCancel(m.ctx)
	done := make(chan struct{})
	f.mu.Lock()
	f.cancel, f.done = cancel, done
	f.mu.Unlock()
	f.set(serverStatus{State: stateStarting, Preset: preset.Name, Model: f.model(preset), URL: f.address()})
	go func() {
		defer close(done)
		for _, o := range others {
			f.log.Add("log", logLine{"servegate", fmt.Sprintf("stopping %s first: one framework holds the GPU at a time", o.spec.Name)})
			o.stop()
		}
		m.serve(ctx, f, preset)
	}()
	return nil
}

// serve owns one launched server from start to stop: launch.Start, the log tail, a crash
// noticed, and launch's Stop (SIGTERM to its group, grace, SIGKILL, port and GPU memory
// released) when the page stops it or the dashboard shuts down.
func (m *servers) serve(ctx context.Context, f *framework, preset models.Preset) {
	name := f.spec.Name
	say := func(format string, args ...any) {
		f.log.Add("log", logLine{"servegate", fmt.Sprintf(format, args...)})
	}
	logPath := filepath.Join(m.results, name, fmt.Sprintf("%s_%s_server.log", name, preset.Name))
	if f.settings.URL != "" {
		logPath = ""
	} else if err := os.Remove(logPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		say("cannot remove the previous log %s: %v", logPath, err)
	}
	tailCtx, stopTail := context.WithCancel(context.Background())
	tailDone := make(chan struct{})
	go func() {
		defer close(tailDone)
		if logPath != "" {
			tailFile(tailCtx, logPath, func(line string) { f.log.Add("log", logLine{name, secret.Text(line)}) })
		}
	}()
	defer func() { stopTail(); <-tailDone }()

	opt := launch.Options{Settings: f.settings, Preset: preset, LogPath: logPath,
		ContextTokens: scenario.MaxContext(scenario.Full), Nonce: "dashboard", Logf: say}
	if m.openGPU != nil {
		// launch counts the server's processes on the GPU and waits for their memory on
		// stop; it gets a sampler of its own, since it sets the one it is given.
		if s, err := m.openGPU(); err == nil {
			opt.GPU = s
			defer s.Close()
		}
	}
	srv, err := launch.Start(ctx, f.spec, opt)
	if err != nil {
		if ctx.Err() != nil {
			say("start cancelled")
			f.set(serverStatus{State: stateStopped})
			return
		}
		say("%v", err)
		f.set(serverStatus{State: stateFailed, Preset: preset.Name, Error: err.Error(), LogPath: logPath})
		return
	}
	ready := serverStatus{State: stateReady, Preset: preset.Name, Model: srv.Target.Model, URL: srv.Info.URL, PID: srv.Info.PID,
		Version: srv.Target.Version, LogPath: logPath}
	f.set(ready)
	var exited <-chan struct{}
	if srv.Process != nil {
		exited = srv.Process.Exited()
	}
	var crash error
	select {
	case <-exited:
		crash = srv.Err()
	case <-ctx.Done():
		st := ready
		st.State = stateStopping
		f.set(st)
	}
	stopErr := srv.Stop()
	switch {
	case crash != nil:
		say("%v", crash)
		f.set(serverStatus{State: stateFailed, Preset: preset.Name, Error: crash.Error(), LogPath: logPath})
	case stopErr != nil:
		say("%v", stopErr)
		f.set(serverStatus{State: stateFailed, Preset: preset.Name, Error: stopErr.Error(), LogPath: logPath})
	default:
		say("%s stopped", name)
		f.set(serverStatus{State: stateStopped, LogPath: logPath})
	}
}

// stop stops a framework started here and waits until it has stopped.
func (f *framework) stop() {
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// stopAll stops every framework started here (on shutdown).
func (m *servers) stopAll() {
	var wg sync.WaitGroup
	for _, f := range m.byName {
		wg.Add(1)
		go func() { defer wg.Done(); f.stop() }()
	}
	wg.Wait()
}

// attachURL returns the URL of framework name when it is ready here, for a run to attach
// to rather than launch a second copy on the same port.
func (m *servers) attachURL(name string) string {
	f, ok := m.byName[name]
	if !ok {
		return ""
	}
	if st := f.current(); st.State == stateReady {
		return st.URL
	}
	return ""
}

// maxLine bounds one log line in an event; a server can print megabytes without a newline.
const maxLine = 4096

// tailFile follows the file at path as it is written, calling emit for each line, until
// ctx ends; then it reads what is left. A file that does not exist yet is waited for.
func tailFile(ctx context.Context, path string, emit func(string)) {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var partial []byte
	buf := make([]byte, 64<<10)
	read := func() {
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil {
				f = nil
				return
			}
		}
		for {
			n, err := f.Read(buf)
			partial = append(partial, buf[:n]...)
			for {
				i := bytes.IndexByte(partial, '\n')
				if i < 0 {
					break
				}
				emit(clip(string(bytes.TrimRight(partial[:i], "\r"))))
				partial = partial[i+1:]
			}
			if len(partial) > maxLine {
				emit(clip(string(partial)))
				partial = partial[:0]
			}
			if err != nil || n == 0 {
				return
			}
		}
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		read()
		select {
		case <-tick.C:
		case <-ctx.Done():
			read()
			if len(partial) > 0 {
				emit(clip(string(partial)))
			}
			return
		}
	}
}

func clip(s string) string {
	if len(s) > maxLine {
		return s[:maxLine] + " …"
	}
	return s
}
