package results

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counterEnv names the counter file a child process of TestUpdateExcludesOtherProcesses
// increments.
const counterEnv = "SERVEGATE_TEST_COUNTER"

// TestUpdateCounterChild is the child of TestUpdateExcludesOtherProcesses: it reads the
// counter, adds one and writes it back, under Update, many times. It does nothing when run
// on its own.
func TestUpdateCounterChild(t *testing.T) {
	path := os.Getenv(counterEnv)
	if path == "" {
		t.Skip("run by TestUpdateExcludesOtherProcesses")
	}
	for range 40 {
		require.NoError(t, Update(context.Background(), path, time.Minute, func() error {
			b, err := os.ReadFile(path)
			if err != nil && !os.IsNotExist(err) {
				return err
			}
			n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			// Written in place, not renamed over, so that a second writer in the
			// read-to-write window would lose this one's count.
			return os.WriteFile(path, []byte(strconv.Itoa(n+1)), 0o644)
		}))
	}
}

// Several runs read, change and write back one verdict file; the lock beside it keeps any
// process's change from being lost, across processes (flock), with the lock file removed
// and made again on every release.
func TestUpdateExcludesOtherProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "summary", "counter")
	const procs = 4
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUpdateCounterChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), counterEnv+"="+path)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("child %d:\n%s", cmd.Process.Pid, out)
			}
		})
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait(), fmt.Sprintf("child %d", cmd.Process.Pid))
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(procs*40), string(b), "no process's increment was lost")
	_, err = os.Stat(path + ".lock")
	assert.True(t, os.IsNotExist(err), "the last holder removed the lock file")
}
