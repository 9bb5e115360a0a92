// Package sockstamp reads TCP connections with the kernel's receive timestamps, so a
// process that is busy when bytes arrive can still tell when they arrived.
//
// A client that streams a thousand responses on two cores reads each event a few
// milliseconds after it came in: that is when its goroutine got the CPU, not when the
// server sent it. On Linux the kernel stamps every incoming packet (SO_TIMESTAMPNS) and
// hands the stamp of the newest packet consumed to each recvmsg; a Conn keeps it, so the
// reader learns how late it is and can date what it reads by arrival instead. Elsewhere a
// Conn stamps a read when it returns, which is what a plain net.Conn reader would do.
package sockstamp

import (
	"net"
	"sync/atomic"
	"time"
)

// base anchors the nanosecond stamps a Conn keeps in atomics to Go's monotonic clock.
var base = time.Now()

func since(t time.Time) int64 { return int64(t.Sub(base)) }

func at(ns int64) time.Time { return base.Add(time.Duration(ns)) }

// maxLag bounds a believable kernel stamp: one older than this means the wall clock
// stepped (the stamps are CLOCK_REALTIME), and the read time is used instead.
const maxLag = time.Minute

// Conn is a TCP connection that records when the bytes it reads arrived and when a
// marked write began. Reads and writes may run in different goroutines; the methods that
// report stamps may be called from any goroutine.
type Conn struct {
	net.Conn
	r reader
	// Stamps are nanoseconds from base; 0 means none.
	last       atomic.Int64 // newest byte read so far, shifted left; the low bit: kernel-dated
	first      atomic.Int64 // first byte read since the last TakeFirst
	writeArmed atomic.Bool
	wrote      atomic.Int64 // when the first write after ArmWrite began
}

// Wrap returns c as a *Conn when it is a TCP connection, and c itself otherwise.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	sc := &Conn{Conn: c}
	if err := sc.r.init(tc); err != nil {
		return c
	}
	return sc
}

// Read reads from the connection and records when the bytes arrived.
func (c *Conn) Read(p []byte) (int, error) {
	n, arrived, err := c.r.read(p)
	if n > 0 {
		now := time.Now()
		read := since(now)
		arr, kernel := read, false
		if !arrived.IsZero() {
			if lag := now.Sub(arrived); lag >= 0 && lag < maxLag {
				arr, kernel = read-int64(lag), true
			}
		}
		if arr <= 0 {
			arr = 1 // 0 means "none"; a stamp this close to base is off by a nanosecond at most
		}
		packed := arr << 1
		if kernel {
			packed |= 1
		}
		c.last.Store(packed) // one word, so a reader never pairs one read's time with another's source
		c.first.CompareAndSwap(0, arr)
	}
	return n, err
}

// Write writes to the connection, first noting the time if ArmWrite asked for it.
func (c *Conn) Write(p []byte) (int, error) {
	if c.writeArmed.Load() && c.writeArmed.CompareAndSwap(true, false) {
		c.wrote.Store(max(since(time.Now()), 1))
	}
	return c.Conn.Write(p)
}

// LastArrival returns when the newest byte read so far arrived, and whether the kernel
// said so (false: the read was dated when it returned, as on systems without receive
// timestamps and for packets that came before the kernel turned them on); ok is false
// before any read returned data.
func (c *Conn) LastArrival() (arrived time.Time, kernel, ok bool) {
	v := c.last.Load()
	if v == 0 {
		return time.Time{}, false, false
	}
	return at(v >> 1), v&1 == 1, true
}

// TakeFirst returns when the first byte read since the previous TakeFirst arrived, and
// starts over; ok is false when nothing was read in between.
func (c *Conn) TakeFirst() (time.Time, bool) {
	if f := c.first.Swap(0); f != 0 {
		return at(f), true
	}
	return time.Time{}, false
}

// ArmWrite asks the next Write to note when it began; WriteStarted reports it.
func (c *Conn) ArmWrite() {
	c.wrote.Store(0)
	c.writeArmed.Store(true)
}

// WriteStarted returns when the first write after ArmWrite began; ok is false until it has.
func (c *Conn) WriteStarted() (time.Time, bool) {
	if w := c.wrote.Load(); w != 0 {
		return at(w), true
	}
	return time.Time{}, false
}

// Listener wraps every connection it accepts.
type Listener struct{ net.Listener }

// Accept waits for the next connection and returns it wrapped.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}
