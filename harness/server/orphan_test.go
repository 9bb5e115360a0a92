//go:build linux

// The parent-death signal and /proc these tests read are Linux's.

package server

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// procStart is a process's start time (field 22 of /proc/PID/stat) and whether it runs:
// absent, or a zombie awaiting its reaper, is not running.
func procStart(pid int) (start string, running bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return f[19], f[0] != "Z"
}

// stillRuns says whether the process that had pid and start time start still runs (a
// reused pid is another process).
func stillRuns(pid int, start string) bool {
	s, running := procStart(pid)
	return running && s == start
}

func TestOrphanVictim(t *testing.T) {
	if os.Getenv(orphanEnv) == "" {
		t.Skip("run by TestKilledTestBinaryLeavesNoServer")
	}
	cfg := config(t, "-child")
	cfg.Grace = time.Second
	p, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	pids := p.PIDs()
	require.Len(t, pids, 2, "the server and its child")
	fmt.Printf("VICTIM port=%d pids=%d,%d\n", cfg.Port, pids[0], pids[1])
	<-context.Background().Done() // until killed
}

// TestKilledTestBinaryLeavesNoServer runs this test binary again as a child that launches
// a server (which starts a child of its own), SIGKILLs that test binary, and finds the
// server and its child gone and the port free: nothing is orphaned when servegate dies
// without a chance to clean up.
func TestKilledTestBinaryLeavesNoServer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	fake(t) // built here, not in the child
	victim := exec.Command(os.Args[0], "-test.run=^TestOrphanVictim$", "-test.v")
	victim.Env = append(os.Environ(), orphanEnv+"=1", "SERVEGATE_FAKESERVER="+fakeBin)
	out, err := victim.StdoutPipe()
	require.NoError(t, err)
	victim.Stderr = os.Stderr
	require.NoError(t, victim.Start())
	t.Cleanup(func() { _ = victim.Process.Kill(); _ = victim.Wait() })

	var port, server, child int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "VICTIM port=%d pids=%d,%d", &port, &server, &child); err == nil {
			break
		}
	}
	require.NotZero(t, server, "the victim reported its server")
	serverStart, running := procStart(server)
	require.True(t, running)
	childStart, running := procStart(child)
	require.True(t, running)
	go func() { _, _ = bufio.NewReader(out).WriteTo(os.Stdout) }() // keep its pipe drained

	require.NoError(t, victim.Process.Signal(syscall.SIGKILL))
	_ = victim.Wait()

	deadline := time.Now().Add(10 * time.Second)
	wait := 10 * time.Millisecond
	for (stillRuns(server, serverStart) || stillRuns(child, childStart)) && time.Now().Before(deadline) {
		<-time.After(wait)
		wait = min(2*wait, 200*time.Millisecond)
	}
	assert.False(t, stillRuns(server, serverStart), "server %d outlived the killed test binary", server)
	assert.False(t, stillRuns(child, childStart), "the server's child %d outlived the killed test binary", child)
	assert.True(t, portFree(fmt.Sprintf("127.0.0.1:%d", port)), "the port is free")
	if t.Failed() { // never leave them behind, even when the test fails
		_ = syscall.Kill(-server, syscall.SIGKILL)
	}
}

// The parent-death signal fires when the thread that forked the server exits. A Start
// called on a thread that ends right after (a goroutine locked to it) must not take the
// server with that thread.
func TestServerOutlivesTheThreadThatStartedIt(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	cfg := config(t)
	type started struct {
		p   *Process
		tid int
		err error
	}
	done := make(chan started)
	var onThread func()
	onThread = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if syscall.Gettid() == syscall.Getpid() {
			// The main thread never exits; holding it sends the next goroutine elsewhere.
			inner := make(chan struct{})
			go func() { onThread(); close(inner) }()
			<-inner
			runtime.UnlockOSThread()
			return
		}
		p, err := Start(context.Background(), cfg)
		done <- started{p, syscall.Gettid(), err}
	}
	go onThread()
	s := <-done
	require.NoError(t, s.err)
	t.Cleanup(func() { assert.NoError(t, s.p.Close()) })
	task := fmt.Sprintf("/proc/self/task/%d", s.tid)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			break
		}
		<-time.After(10 * time.Millisecond)
	}
	require.NoDirExists(t, task, "the calling thread has exited")
	// The signal, had it been sent, went out as the thread exited.
	require.NoError(t, s.p.waitHealthy(context.Background()), "the server still answers")
	assert.Nil(t, s.p.Err(), "and has not exited")
}
