// Package simproc runs the simulator (cmd/servegate-sim) as a process of its own, for
// tests and benchmarks that measure a client against it: the client then shares neither
// the simulator's Go scheduler nor its code (nothing under harness/ imports the
// simulator). It builds the command once per test binary, starts it on a free port,
// reads its ground truth over HTTP and stops it when the test ends.
package simproc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/servegate/servegate/internal/ports"
	"github.com/servegate/servegate/internal/truth"
)

var (
	buildMu sync.Mutex
	built   = map[string]*build{}
)

type build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Binary builds the main package pkg once per process, into a temporary directory, and
// returns the binary's path.
func Binary(pkg string) (string, error) {
	buildMu.Lock()
	b := built[pkg]
	if b == nil {
		b = &build{}
		built[pkg] = b
	}
	buildMu.Unlock()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "servegate-bin"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, filepath.Base(pkg))
		if out, err := exec.Command("go", "build", "-o", b.path, pkg).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build %s: %v\n%s", filepath.Base(pkg), err, out)
		}
	})
	return b.path, b.err
}

// RemoveBinaries removes what Binary built; a TestMain calls it after its tests.
func RemoveBinaries() {
	buildMu.Lock()
	defer buildMu.Unlock()
	for _, b := range built {
		if b.dir != "" {
			os.RemoveAll(b.dir)
		}
	}
}

// Build builds cmd/servegate-sim once per process and returns the binary's path.
func Build() (string, error) { return Binary("github.com/servegate/servegate/cmd/servegate-sim") }

// FakeFramework builds the stand-in framework (the simulator on a framework's paths, started
// as SERVEGATE_<FW>_COMMAND would start vLLM, SGLang or Ollama) once per process.
func FakeFramework() (string, error) {
	return Binary("github.com/servegate/servegate/frameworks/sim/fakeframework")
}

// Sim is a running simulator process.
type Sim struct {
	// URL is where it serves (http://127.0.0.1:PORT).
	URL string
	// Model is the first model it serves.
	Model string

	stop   sync.Once
	stdin  io.Closer
	cmd    *exec.Cmd
	exited chan struct{}
	exit   error
}

// Exited is closed once the process has ended, stopped or not (an injected crash ends it
// with exit code 3).
func (s *Sim) Exited() <-chan struct{} { return s.exited }

// Stop ends the process (an interrupt, and its standard input closed) unless it has ended
// already, waits for it and returns how it ended: nil for a clean stop. Start's cleanup
// calls it too; calling it again returns the same.
func (s *Sim) Stop() error {
	s.stop.Do(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(os.Interrupt)
			s.stdin.Close()
		}
	})
	<-s.exited
	return s.exit
}

// Options choose how the simulator runs.
type Options struct {
	// Model is the served model name; "" means sim-model.
	Model string
	// Procs is its GOMAXPROCS; 0 means 1: one core for the simulator leaves the other of
	// a two-core machine to the client under test (with both runtimes free to use both
	// cores, the simulator's burst of writes at the end of each decode step kept the
	// client's readers off the CPU).
	Procs int
	// Speed is servegate-sim's -speed: "" means fast, the harness tests' engine, which no
	// model reaches; a preset's name runs at its published speed.
	Speed string
	// Args are more servegate-sim flags (-profile, -max-batch, -kv-tokens, ...).
	Args []string
}

// TB is the part of testing.TB Start needs (so that this package, which simtarget uses
// outside tests too, does not import testing).
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start runs the simulator for the test and stops it when the test ends.
func Start(t TB, opt Options) *Sim {
	t.Helper()
	bin, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	if opt.Model == "" {
		opt.Model = "sim-model"
	}
	if opt.Procs == 0 {
		opt.Procs = 1
	}
	if opt.Speed == "" {
		opt.Speed = "fast"
	}
	cmd := exec.Command(bin, append([]string{"-model", opt.Model, "-speed", opt.Speed, "-stdin-exit"}, opt.Args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", opt.Procs))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Sim{Model: opt.Model, stdin: stdin, cmd: cmd, exited: make(chan struct{})}
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	go func() {
		// Wait closes stdout once the process has ended, so it comes after the reads.
		_, _ = io.Copy(io.Discard, out)
		s.exit = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { _ = s.Stop() })
	if err != nil {
		t.Fatalf("servegate-sim did not start: %v", err)
	}
	s.URL = strings.TrimSpace(strings.TrimPrefix(line, "servegate-sim listening on "))
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("servegate-sim: unexpected start line %q", line)
	}
	return s
}

// Truth returns what the simulator recorded about the request with id, in this process's
// clock; it waits for the request to finish.
func (s *Sim) Truth(ctx context.Context, id string) (truth.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/sim/truth/"+neturl.PathEscape(id), nil)
	if err != nil {
		return truth.Request{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return truth.Request{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return truth.Request{}, fmt.Errorf("truth of %s: HTTP %d", id, resp.StatusCode)
	}
	var m truth.Mono
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return truth.Request{}, fmt.Errorf("truth of %s: %w", id, err)
	}
	return m.Local(), nil
}

// ResetCache empties the simulator's prefix cache (POST /reset_prefix_cache).
func (s *Sim) ResetCache(ctx context.Context) error { return ResetCache(ctx, s.URL) }

// ResetCache empties the prefix cache of the simulator at url.
func ResetCache(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/reset_prefix_cache", strings.NewReader(""))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset sim prefix cache: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset sim prefix cache: HTTP %d", resp.StatusCode)
	}
	return nil
}

// InjectedFaults reads from the simulator's /metrics how many requests it injected each
// fault into, by the fault's name on -faults (sim:faults_injected_total; every fault it
// knows is listed once any is set).
func (s *Sim) InjectedFaults(ctx context.Context) (map[string]int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read sim metrics: %w", err)
	}
	defer resp.Body.Close()
	const prefix = `sim:faults_injected_total{fault="`
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, prefix) {
			continue
		}
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("read sim metrics: %s: %w", name, err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(name, prefix), `"}`)] = int(n)
	}
	return out, sc.Err()
}

// FreePort returns a port on 127.0.0.1 that nothing holds now, for a test to hand to a
// process it launches. It is drawn at random from outside the kernel's range of ports for
// outgoing connections (ports.ForListening): a port the kernel picks for ":0" comes from
// that range, and between the test closing it and the process binding it, any connection
// the machine opens (another package's test, run in parallel) may take it.
func FreePort(t TB) int {
	t.Helper()
	lo, hi := ports.ForListening()
	for range 100 {
		port := lo + rand.IntN(hi-lo+1)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		return port
	}
	t.Fatalf("no free port in %d-%d after 100 draws", lo, hi)
	return 0
}
