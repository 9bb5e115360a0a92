package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// A launched server must not outlive servegate, even when servegate dies without running
// its Close: a test binary killed by go test's -timeout panic, by SIGKILL, or by an OOM
// kill. Two mechanisms cover it:
//
//   - the server (its group's leader) gets the parent-death signal (Linux, see
//     pdeathsig_linux.go), so it dies the moment servegate does;
//   - a watchdog process holds the read end of a pipe whose write end only servegate
//     holds. When servegate dies, the kernel closes that end, the watchdog reads end of
//     file and stops the server's whole process group (SIGTERM, the grace period,
//     SIGKILL), which takes the processes the server started too (vLLM's engine and
//     workers). A clean Close writes a byte first, and the watchdog leaves.
//
// The watchdog is this program run again (os.Executable) with watchdogEnv set: init
// below turns it into the watchdog before anything else runs. No shell is involved (dash,
// Debian's sh, cannot signal a process group).

const (
	watchdogEnv      = "SERVEGATE_WATCHDOG_PGID"
	watchdogGraceEnv = "SERVEGATE_WATCHDOG_GRACE"
)

func init() {
	if pgid := os.Getenv(watchdogEnv); pgid != "" {
		os.Exit(watch(os.Stdin, os.Stderr, pgid, os.Getenv(watchdogGraceEnv)))
	}
}

// watch waits on r: a byte means servegate stopped the server itself; end of file means
// servegate is gone, and the group pgid is stopped.
func watch(r io.Reader, log io.Writer, pgidText, graceText string) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP) // a Ctrl-C must not take the watchdog first
	pgid, err := strconv.Atoi(pgidText)
	grace, gerr := time.ParseDuration(graceText)
	if err != nil || pgid <= 1 || gerr != nil {
		fmt.Fprintf(log, "servegate watchdog: bad %s=%q or %s=%q\n", watchdogEnv, pgidText, watchdogGraceEnv, graceText)
		return 2
	}
	if n, _ := r.Read(make([]byte, 1)); n == 1 {
		return 0
	}
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return 0 // the group is already gone
	}
	fmt.Fprintf(log, "servegate watchdog: servegate exited without stopping the server; sent SIGTERM to process group %d\n", pgid)
	deadline := time.Now().Add(grace)
	wait := 20 * time.Millisecond
	for time.Now().Before(deadline) {
		if syscall.Kill(-pgid, 0) != nil {
			return 0
		}
		<-time.After(wait)
		wait = min(wait*2, 500*time.Millisecond)
	}
	fmt.Fprintf(log, "servegate watchdog: process group %d outlived the %v grace period; sent SIGKILL\n", pgid, grace)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return 0
}

// watchdog is a running watchdog process and the pipe end that keeps it waiting.
type watchdog struct {
	cmd  *exec.Cmd
	pipe io.WriteCloser
}

// startWatchdog starts the watchdog of process group pgid, logging to log.
func startWatchdog(pgid int, grace time.Duration, log *os.File) (*watchdog, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), watchdogEnv+"="+strconv.Itoa(pgid), watchdogGraceEnv+"="+grace.String())
	cmd.Stderr = log
	// Its own group: a signal to servegate's group (Ctrl-C in the terminal) leaves it be.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	return &watchdog{cmd: cmd, pipe: pipe}, nil
}

// release tells the watchdog the server was stopped, and waits for it to leave.
func (w *watchdog) release() error {
	_, werr := w.pipe.Write([]byte{1})
	cerr := w.pipe.Close()
	if err := w.cmd.Wait(); err != nil {
		return fmt.Errorf("watchdog: %w", errors.Join(err, werr, cerr))
	}
	return nil
}
