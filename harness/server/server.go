// Package server owns one serving-framework process: it checks the port is free, starts
// the process in its own process group with its output in a log file, waits for health
// with backoff until a deadline sized for model loading, reports an early exit with its
// code and last log lines, and stops it with SIGTERM to the group, a grace period, SIGKILL,
// and a check that the port is free again.
package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/servegate/servegate/internal/ports"
	"github.com/servegate/servegate/internal/secret"
	"github.com/servegate/servegate/internal/terminal"
)

// Config describes one server to launch.
type Config struct {
	// Name labels the server in errors ("vllm").
	Name string
	// Command is the program and its arguments; Env is added to the environment; Dir is the
	// working directory.
	Command []string
	Env     []string
	Dir     string
	// Host and Port are where it listens; HealthPath is polled until it answers 200, with
	// Authorization as that header when set (a server behind an API key).
	Host          string
	Port          int
	HealthPath    string
	Authorization string
	// LogPath receives the server's stdout and stderr.
	LogPath string
	// StartTimeout bounds the wait for health (model loading can take minutes); Grace is how
	// long SIGTERM has before SIGKILL.
	StartTimeout, Grace time.Duration
}

// Process is a running server.
type Process struct {
	cfg      Config
	cmd      *exec.Cmd
	log      *os.File
	watchdog *watchdog
	exited   chan struct{}
	waitErr  error
	once     sync.Once
	stopErr  error
}

// ErrPortInUse marks a port something else holds: a listener, or a connection's local end.
var ErrPortInUse = errors.New("port already in use")

func (c Config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// BaseURL is the server's root URL.
func (c Config) BaseURL() string { return "http://" + c.addr() }

// portFree reports whether nothing listens on addr.
func portFree(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return true
	}
	conn.Close()
	return false
}

// bindable reports, as ErrPortInUse, a port nothing answers on that a server still could
// not bind: a listener on another address of the machine holds it, or the local end of a
// connection does (one open, or closed and lingering in TIME_WAIT). The kernel lends ports
// in its ephemeral range to outgoing connections, so a port drawn from that range can be
// taken this way by any client on the machine; the framework would otherwise start, fail
// to bind and exit with only its log to say why.
func bindable(addr string, port int) error {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w: %s cannot be bound (address in use) though nothing answers there: a listener on another address or a connection's local end holds it; %s", ErrPortInUse, addr, portAdvice(port))
	}
	if err != nil {
		return nil // not ours to judge (an address of another host): the server will say
	}
	return ln.Close()
}

// portAdvice says which port to configure instead: one outside the kernel's range of ports
// for outgoing connections where port lies in it (as far as Linux tells the range).
func portAdvice(port int) string {
	if lo, hi, ok := ports.Ephemeral(); ok && port >= lo && port <= hi {
		return fmt.Sprintf("configure a port outside %d-%d, the range this machine lends to outgoing connections", lo, hi)
	}
	return "configure another port"
}

// Start launches the server and returns once its health endpoint answers 200.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("start %s: no command configured", cfg.Name)
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 15 * time.Minute
	}
	if cfg.Grace == 0 {
		cfg.Grace = 30 * time.Second
	}
	if !portFree(cfg.addr()) {
		return nil, fmt.Errorf("start %s: %w: %s already accepts connections; stop what listens there or configure another port", cfg.Name, ErrPortInUse, cfg.addr())
	}
	if err := bindable(cfg.addr(), cfg.Port); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Name, err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Name, err)
	}
	logf, err := os.Create(cfg.LogPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: server log: %w", cfg.Name, err)
	}
	cmd := exec.Command(cfg.Command[0], cfg.Command[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = cfg.Dir, logf, logf
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.SysProcAttr = procAttr()
	p := &Process{cfg: cfg, cmd: cmd, log: logf, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that forked: this goroutine keeps
		// its thread from the fork until the server has exited. (Returning while locked
		// ends the thread, which by then has no child left to signal.)
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", cfg.Name, err)
	}
	if p.watchdog, err = startWatchdog(cmd.Process.Pid, cfg.Grace, logf); err != nil {
		return nil, errors.Join(fmt.Errorf("start %s: %w", cfg.Name, err), p.Close())
	}
	if err := p.waitHealthy(ctx); err != nil {
		stopErr := p.Close()
		return nil, errors.Join(err, stopErr)
	}
	return p, nil
}

// PID is the server's process id (and process group id).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Err is nil while the server runs; once it has exited on its own it says how, with the
// last lines of its log (a server that dies mid-run is named, not discovered one failed
// request at a time).
func (p *Process) Err() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%s) while serving; last lines of %s:\n%s", p.cfg.Name, exitStatus(p.waitErr), p.cfg.LogPath, p.Tail(20))
	default:
		return nil
	}
}

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// waitHealthy polls the health endpoint with backoff until it answers 200, the process
// exits, or the start deadline passes.
func (p *Process) waitHealthy(ctx context.Context) error {
	parent, started := ctx, time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.StartTimeout)
	defer cancel()
	url := p.cfg.BaseURL() + p.cfg.HealthPath
	client := &http.Client{Timeout: 5 * time.Second}
	backoff := 50 * time.Millisecond
	timer := time.NewTimer(0)
	defer timer.Stop()
	last := "no answer yet"
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited (%s) before it became healthy; last lines of %s:\n%s",
				p.cfg.Name, exitStatus(p.waitErr), p.cfg.LogPath, p.Tail(20))
		case <-ctx.Done():
			if parent.Err() != nil {
				// The run was stopped (Ctrl-C, the suite's deadline), not the server too slow.
				return fmt.Errorf("%s start-up interrupted after %v (%v); it was not yet healthy at %s (%s)",
					p.cfg.Name, time.Since(started).Round(time.Second), context.Cause(parent), url, last)
			}
			return fmt.Errorf("%s not healthy at %s after %v (%s); last lines of %s:\n%s",
				p.cfg.Name, url, p.cfg.StartTimeout, last, p.cfg.LogPath, p.Tail(20))
		case <-timer.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if p.cfg.Authorization != "" {
			req.Header.Set("Authorization", p.cfg.Authorization)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = "HTTP " + strconv.Itoa(resp.StatusCode)
		} else {
			last = err.Error()
		}
		timer.Reset(backoff)
		backoff = min(backoff*2, 2*time.Second)
	}
}

func exitStatus(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("killed by signal %d, %s", int(ws.Signal()), ws.Signal())
		}
		return fmt.Sprintf("exit code %d", ee.ExitCode())
	}
	if err != nil {
		return err.Error()
	}
	return "exit code 0"
}

// Tail returns the last n lines of the server log, fit to print: credentials masked (vLLM
// logs its arguments, an API key among them) and escape sequences removed.
func (p *Process) Tail(n int) string {
	f, err := os.Open(p.cfg.LogPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return terminal.Text(secret.Text(strings.Join(lines, "\n")))
}

// Close stops the server: SIGTERM to its process group, the grace period, SIGKILL, then a
// wait until its port is free. It is safe to call more than once.
func (p *Process) Close() error {
	p.once.Do(func() { p.stopErr = p.stop() })
	return p.stopErr
}

func (p *Process) stop() (err error) {
	defer p.log.Close()
	if p.watchdog != nil { // released once the group is gone, so it has nothing left to do
		defer func() {
			if werr := p.watchdog.release(); werr != nil {
				err = errors.Join(err, fmt.Errorf("stop %s: %w", p.cfg.Name, werr))
			}
		}()
	}
	pgid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(p.cfg.Grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	// The leader is gone; make sure nothing it started lingers in its group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	deadline := time.Now().Add(p.cfg.Grace)
	wait := 20 * time.Millisecond
	for !portFree(p.cfg.addr()) {
		if time.Now().After(deadline) {
			return fmt.Errorf("stop %s: port %s still in use %v after the process ended", p.cfg.Name, p.cfg.addr(), p.cfg.Grace)
		}
		<-time.After(wait)
		wait = min(wait*2, 500*time.Millisecond)
	}
	return nil
}

// PIDs lists the live processes of the server's process group (the server and every
// process it started that stayed in its group), read from /proc; on systems without
// /proc it is just the server.
func (p *Process) PIDs() []int {
	pgid := p.cmd.Process.Pid
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []int{pgid}
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		f := strings.Fields(rest)
		if len(f) >= 3 && f[2] == strconv.Itoa(pgid) {
			out = append(out, pid)
		}
	}
	return out
}
