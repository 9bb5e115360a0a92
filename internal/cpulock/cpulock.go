// Package cpulock keeps timing-sensitive test binaries from running at the same time.
// go test runs packages in parallel; two of servegate's (the scenario suite against the
// simulator and the harness's fidelity checks) each load both cores of a small machine,
// and overlapping them turns their timing checks into measurements of each other. Each
// takes an exclusive lock on one file in the temporary directory for its whole run.
package cpulock

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Path is the lock file.
var Path = filepath.Join(os.TempDir(), "servegate-timing.lock")

// Lock blocks until this process holds the lock and returns its release.
func Lock() (func(), error) {
	f, err := os.OpenFile(Path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open timing lock %s: %w", Path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("take timing lock %s: %w", Path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
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
