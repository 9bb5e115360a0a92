package sockstamp

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pair returns a wrapped client connection and the server end of a loopback TCP pair.
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, ok := <-accepted
	require.True(t, ok, "accept failed")
	t.Cleanup(func() { c.Close(); s.Close() })
	sc, ok := Wrap(c).(*Conn)
	require.True(t, ok, "a TCP connection is wrapped")
	return sc, s
}

// A reader that comes late still learns when the bytes arrived: within the sender's write.
func TestLateReaderGetsArrivalTime(t *testing.T) {
	c, s := pair(t)
	// The kernel turns timestamping on a moment after the first socket asks for it.
	warm := make([]byte, 1)
	kernel := false
	for deadline := time.Now().Add(2 * time.Second); !kernel && time.Now().Before(deadline); {
		_, err := s.Write(warm)
		require.NoError(t, err)
		_, err = c.Read(warm)
		require.NoError(t, err)
		_, kernel, _ = c.LastArrival()
	}
	if runtime.GOOS == "linux" {
		require.True(t, kernel, "Linux gives TCP receive timestamps")
	}
	for i := 0; i < 3; i++ {
		before := time.Now()
		_, err := s.Write([]byte("event\n"))
		require.NoError(t, err)
		after := time.Now()
		<-time.After(20 * time.Millisecond) // be a late reader on purpose
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		require.NoError(t, err)
		require.Equal(t, "event\n", string(buf[:n]))
		read := time.Now()
		arrived, kernel, ok := c.LastArrival()
		require.True(t, ok)
		assert.GreaterOrEqual(t, read.Sub(after), 20*time.Millisecond, "the read itself was late")
		if runtime.GOOS != "linux" {
			assert.False(t, kernel)
			assert.WithinDuration(t, read, arrived, time.Millisecond, "without kernel stamps a read is dated when it returns")
			continue
		}
		require.True(t, kernel)
		// The stamp is CLOCK_REALTIME taken inside the sender's write; converting it to the
		// monotonic clock costs well under the slack allowed here.
		const slack = 200 * time.Microsecond
		assert.False(t, arrived.Before(before.Add(-slack)), "arrived %v before the write began", before.Sub(arrived))
		assert.False(t, arrived.After(after.Add(slack)), "arrived %v after the write returned", arrived.Sub(after))
	}
}

func TestTakeFirstStartsOver(t *testing.T) {
	c, s := pair(t)
	_, ok := c.TakeFirst()
	assert.False(t, ok, "nothing read yet")
	buf := make([]byte, 4)
	_, err := s.Write([]byte("abcdefgh"))
	require.NoError(t, err)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	first, ok := c.TakeFirst()
	require.True(t, ok)
	last, _, _ := c.LastArrival()
	_, err = io.ReadFull(c, buf) // the rest of the same write
	require.NoError(t, err)
	later, ok := c.TakeFirst()
	require.True(t, ok, "a read after TakeFirst counts again")
	// Both reads took bytes of one write; the stamps agree to the noise of converting
	// wall-clock stamps to the monotonic clock.
	assert.WithinDuration(t, first, later, 100*time.Microsecond)
	assert.WithinDuration(t, first, last, 100*time.Microsecond)
	_, ok = c.TakeFirst()
	assert.False(t, ok, "nothing read since")
}

func TestWriteStartedOnlyWhenArmed(t *testing.T) {
	c, s := pair(t)
	_, err := c.Write([]byte("x"))
	require.NoError(t, err)
	_, ok := c.WriteStarted()
	assert.False(t, ok, "not armed")
	c.ArmWrite()
	before := time.Now()
	_, err = c.Write([]byte("y"))
	require.NoError(t, err)
	_, err = c.Write([]byte("z"))
	require.NoError(t, err)
	w, ok := c.WriteStarted()
	require.True(t, ok)
	assert.False(t, w.Before(before))
	assert.False(t, w.After(time.Now()))
	got := make([]byte, 3)
	_, err = io.ReadFull(s, got)
	require.NoError(t, err)
	assert.Equal(t, "xyz", string(got))
	c.ArmWrite()
	_, ok = c.WriteStarted()
	assert.False(t, ok, "re-arming forgets the previous write")
}

func TestReadErrors(t *testing.T) {
	t.Run("EOF", func(t *testing.T) {
		c, s := pair(t)
		_, err := s.Write([]byte("last"))
		require.NoError(t, err)
		require.NoError(t, s.Close())
		b, err := io.ReadAll(c)
		require.NoError(t, err)
		assert.Equal(t, "last", string(b))
	})
	t.Run("deadline", func(t *testing.T) {
		c, _ := pair(t)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
		_, err := c.Read(make([]byte, 8))
		assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "got %v", err)
	})
	t.Run("closed", func(t *testing.T) {
		c, _ := pair(t)
		require.NoError(t, c.Close())
		_, err := c.Read(make([]byte, 8))
		assert.True(t, errors.Is(err, net.ErrClosed), "got %v", err)
	})
	t.Run("reset", func(t *testing.T) {
		c, s := pair(t)
		require.NoError(t, s.(*net.TCPConn).SetLinger(0))
		require.NoError(t, s.Close()) // RST
		_, err := c.Read(make([]byte, 8))
		require.Error(t, err)
		var op *net.OpError
		assert.True(t, errors.As(err, &op), "a reset is a *net.OpError, as net.Conn gives: %v", err)
	})
}

func TestWrapLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	assert.Equal(t, a, Wrap(a))
}

func TestListenerWraps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := Listener{ln}
	defer l.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := l.Accept()
	require.NoError(t, err)
	defer c.Close()
	sc, ok := c.(*Conn)
	require.True(t, ok)
	b, err := io.ReadAll(sc)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(b))
	_, ok = sc.TakeFirst()
	assert.True(t, ok)
}
