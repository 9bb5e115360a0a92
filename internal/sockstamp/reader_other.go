//go:build !linux

package sockstamp

import (
	"net"
	"time"
)

// reader reads plainly: without kernel stamps a read is dated when it returns.
type reader struct{ tc *net.TCPConn }

func (r *reader) init(tc *net.TCPConn) error { r.tc = tc; return nil }

func (r *reader) read(p []byte) (int, time.Time, error) {
	n, err := r.tc.Read(p)
	return n, time.Time{}, err
}
