// Package cpulock keeps timing-sensitive test binaries from running at the same time.
// go test runs packages in parallel; two of servegate's (the scenario suite against the
// simulator and the harness's fidelity checks) each load both cores of a small machine,
// and overlapping them turns their timing checks into measurements of each other. Each
// takes an exclusive lock on one file in the temporary directory for its whole run.
package cpulock

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Path is the lock file.
var Path = filepath.Join(os.TempDir(), "servegate-timing.lock")

// heldEnv is set in the environment of a process holding the lock, so that the processes
// it starts (a test that runs its own test binary to watch it fail) know their parent
// holds it: they would otherwise wait for it while their parent waits for them.
const heldEnv = "SERVEGATE_CPULOCK_HELD_BY"

// heldByParent is whether this process was started by a holder of the lock.
var heldByParent = os.Getenv(heldEnv) != ""

// Lock blocks until this process holds the lock and returns its release. While another
// process holds it, Lock says so on stderr, naming that process: a test binary that waits
// minutes for another worktree's tests should not look hung. A process started by a
// holder runs under its parent's lock and takes none.
func Lock() (func(), error) { return lock(os.Stderr) }

func lock(w io.Writer) (func(), error) {
	if heldByParent {
		return func() {}, nil
	}
	f, err := os.OpenFile(Path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open timing lock %s: %w", Path, err)
	}
	fd := int(f.Fd())
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("take timing lock %s: %w", Path, err)
		}
		holder, _ := io.ReadAll(io.LimitReader(f, 1<<10))
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another process"
		}
		fmt.Fprintf(w, "servegate: waiting for the timing lock %s (timing-sensitive tests run one at a time); held by %s\n", Path, who)
		start := time.Now()
		if err := syscall.Flock(fd, syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("take timing lock %s: %w", Path, err)
		}
		fmt.Fprintf(w, "servegate: took the timing lock after %v\n", time.Since(start).Round(time.Millisecond))
	}
	// Say who holds it, for the next one to wait.
	wd, _ := os.Getwd()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d (%s in %s) since %s\n", os.Getpid(), filepath.Base(os.Args[0]), wd,
		time.Now().Format(time.TimeOnly))), 0)
	_ = os.Setenv(heldEnv, strconv.Itoa(os.Getpid()))
	return func() {
		_ = os.Unsetenv(heldEnv)
		_ = f.Truncate(0)
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Run runs a test binary's tests while holding the lock: call it from TestMain as
// os.Exit(cpulock.Run(m.Run)).
// A fuzz worker is a child of a test binary that already holds the lock: it runs without
// taking it again (it would wait for its own parent).
func Run(run func() int) int {
	if slices.ContainsFunc(os.Args[1:], func(a string) bool { return strings.HasPrefix(a, "-test.fuzzworker") }) {
		return run()
	}
	unlock, err := Lock()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer unlock()
	return run()
}
