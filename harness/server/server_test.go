package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/servegate/servegate/internal/ports"
	"github.com/servegate/servegate/internal/simproc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	fakeOnce sync.Once
	fakeBin  string
	fakeErr  error
)

// fake builds testdata/fakeserver once (a test binary run again by a test is handed the
// one its parent built, in SERVEGATE_FAKESERVER).
func fake(t *testing.T) string {
	t.Helper()
	fakeOnce.Do(func() {
		if bin := os.Getenv("SERVEGATE_FAKESERVER"); bin != "" {
			fakeBin = bin
			return
		}
		dir, err := os.MkdirTemp("", "fakeserver")
		if err != nil {
			fakeErr = err
			return
		}
		fakeBin = filepath.Join(dir, "fakeserver")
		if out, err := exec.Command("go", "build", "-o", fakeBin, "./testdata/fakeserver").CombinedOutput(); err != nil {
			fakeErr = errors.New(string(out))
		}
	})
	require.NoError(t, fakeErr)
	return fakeBin
}

func config(t *testing.T, args ...string) Config {
	port := simproc.FreePort(t)
	return Config{Name: "fake", Command: append([]string{fake(t), "-port", strconv.Itoa(port)}, args...),
		Host: "127.0.0.1", Port: port, HealthPath: "/health", LogPath: filepath.Join(t.TempDir(), "server.log"),
		StartTimeout: 10 * time.Second, Grace: 2 * time.Second}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestSlowStartIsWaitedFor(t *testing.T) {
	cfg := config(t, "-delay", "700ms")
	start := time.Now()
	p, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 700*time.Millisecond)
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close is idempotent")
	assert.False(t, alive(p.PID()))
	assert.True(t, portFree(cfg.addr()), "the port is free again")
	assert.Contains(t, p.Tail(5), "INFO ready", "the server's output is in its log")
}

func TestCrashOnStartReportsCodeAndLog(t *testing.T) {
	_, err := Start(context.Background(), config(t, "-crash", "3"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited (exit code 3) before it became healthy")
	assert.Contains(t, err.Error(), "CUDA out of memory")
}

func TestLogTailIsQuotedSafely(t *testing.T) {
	_, err := Start(context.Background(), config(t, "-crash", "3",
		"-say", "\x1b[2J\x1b]0;owned\x07INFO args: Namespace(api_key='sk-live-7781', port=8000)"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "INFO args: Namespace(api_key='***', port=8000)")
	assert.NotContains(t, err.Error(), "\x1b", "no escape sequence reaches the terminal")
	assert.NotContains(t, err.Error(), "sk-live-7781")
}

func TestPortInUseIsReportedBeforeLaunching(t *testing.T) {
	cfg := config(t)
	ln, err := net.Listen("tcp", cfg.addr())
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, err = Start(context.Background(), cfg)
	require.ErrorIs(t, err, ErrPortInUse)
	assert.Contains(t, err.Error(), cfg.addr())
	_, statErr := os.Stat(cfg.LogPath)
	assert.True(t, os.IsNotExist(statErr), "nothing was launched")
}

func TestFlappingHealthIsWaitedOut(t *testing.T) {
	p, err := Start(context.Background(), config(t, "-flaps", "3"))
	require.NoError(t, err)
	require.NoError(t, p.Close())
}

func TestAnInterruptDuringStartUpSaysSo(t *testing.T) {
	cfg := config(t, "-flaps", "1000000")
	cfg.StartTimeout = time.Hour
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupt signal received")) // as signal.NotifyContext's cause reads
	_, err := Start(ctx, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fake start-up interrupted after")
	assert.Contains(t, err.Error(), "interrupt signal received")
	assert.NotContains(t, err.Error(), "not healthy after 1h0m0s")
	assert.True(t, portFree(cfg.addr()), "the server was stopped")
}

func TestNeverHealthyTimesOutAndStops(t *testing.T) {
	cfg := config(t, "-flaps", "1000000")
	cfg.StartTimeout = 800 * time.Millisecond
	_, err := Start(context.Background(), cfg)
	require.Error(t, err)
	assert.Regexp(t, regexp.MustCompile(`not healthy at .*/health after 800ms \(HTTP 503\)`), err.Error())
	assert.True(t, portFree(cfg.addr()), "the server was stopped")
}

func TestStopEscalatesToSIGKILLAndTakesTheGroup(t *testing.T) {
	cfg := config(t, "-ignore-term", "-child")
	cfg.Grace = 500 * time.Millisecond
	p, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	m := regexp.MustCompile(`INFO child (\d+)`).FindStringSubmatch(p.Tail(10))
	require.Len(t, m, 2, "the fake server started a child")
	child, _ := strconv.Atoi(m[1])
	require.True(t, alive(child))
	assert.ElementsMatch(t, []int{p.PID(), child}, p.PIDs(), "the group is the server and its child: the processes whose GPU memory is the server's")
	start := time.Now()
	require.NoError(t, p.Close())
	assert.GreaterOrEqual(t, time.Since(start), cfg.Grace, "SIGTERM was ignored, so SIGKILL after the grace period")
	assert.False(t, alive(p.PID()))
	// The child was in the server's group; it is killed too (it may linger as a zombie of
	// init briefly, so poll with a deadline).
	deadline := time.Now().Add(5 * time.Second)
	for alive(child) && time.Now().Before(deadline) {
		if st, err := os.ReadFile("/proc/" + m[1] + "/stat"); err == nil && regexp.MustCompile(`\) Z `).Match(st) {
			break // a zombie: dead, awaiting its reaper
		}
		<-time.After(10 * time.Millisecond)
	}
	st, _ := os.ReadFile("/proc/" + m[1] + "/stat")
	assert.True(t, !alive(child) || regexp.MustCompile(`\) Z `).Match(st), "child %d still running", child)
}

func TestNoCommand(t *testing.T) {
	_, err := Start(context.Background(), Config{Name: "vllm"})
	assert.ErrorContains(t, err, "start vllm: no command configured")
}

// A port nothing listens on can still be held by a connection's local end (an outgoing
// connection's ephemeral port). Start says so before launching, instead of leaving the
// framework to fail its bind.
func TestPortHeldByAConnectionIsReportedBeforeLaunching(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	defer func() { (<-accepted).Close() }()

	cfg := config(t)
	cfg.Port = client.LocalAddr().(*net.TCPAddr).Port
	require.True(t, portFree(cfg.addr()), "nothing listens on the client's local port")
	_, err = Start(context.Background(), cfg)
	require.ErrorIs(t, err, ErrPortInUse)
	assert.Contains(t, err.Error(), cfg.addr())
	assert.Contains(t, err.Error(), "a connection's local end holds it")
	if lo, hi, ok := ports.Ephemeral(); ok && cfg.Port >= lo && cfg.Port <= hi {
		assert.Contains(t, err.Error(), fmt.Sprintf("configure a port outside %d-%d", lo, hi), "the kernel lent the port: the advice names its range")
	}
	_, statErr := os.Stat(cfg.LogPath)
	assert.True(t, os.IsNotExist(statErr), "nothing was launched")
}
