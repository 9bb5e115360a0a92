package cpulock

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// syncBuffer is a bytes.Buffer safe to write from one goroutine and read from another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWaitingSaysWhoHoldsTheLock(t *testing.T) {
	old := Path
	Path = t.TempDir() + "/lock"
	t.Cleanup(func() { Path = old })
	unlock, err := Lock()
	require.NoError(t, err)
	var said syncBuffer
	got := make(chan struct{})
	go func() {
		if second, err := lock(&said); err == nil {
			second()
		}
		close(got)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(said.String(), "waiting") && time.Now().Before(deadline) {
		<-time.After(5 * time.Millisecond)
	}
	assert.Contains(t, said.String(), "servegate: waiting for the timing lock "+Path)
	assert.Contains(t, said.String(), fmt.Sprintf("held by pid %d (%s in ", os.Getpid(), filepath.Base(os.Args[0])))
	unlock()
	<-got
	assert.Contains(t, said.String(), "servegate: took the timing lock after")

	said = syncBuffer{}
	second, err := lock(&said)
	require.NoError(t, err)
	second()
	assert.Empty(t, said.String(), "a free lock is taken without a word")
}
