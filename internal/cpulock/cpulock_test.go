package cpulock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockIsExclusive(t *testing.T) {
	old := Path
	Path = t.TempDir() + "/lock"
	t.Cleanup(func() { Path = old })
	unlock, err := Lock()
	require.NoError(t, err)
	got := make(chan struct{})
	go func() {
		second, err := Lock() // a second open file description: flock blocks it
		if err == nil {
			second()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("second holder got the lock while the first held it")
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("second holder never got the lock after release")
	}
	assert.Equal(t, 0, Run(func() int { return 0 }))
}
