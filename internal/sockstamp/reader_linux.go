package sockstamp

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reader reads with recvmsg and picks the kernel's receive timestamp out of the control
// message. Reads of one Conn do not overlap (net/http and bufio never overlap them), so
// the message header is reused without a lock.
type reader struct {
	tc  *net.TCPConn
	raw syscall.RawConn
	msg unix.Msghdr
	iov unix.Iovec
	oob [64]byte
	fn  func(fd uintptr) bool
	// Results of the last fn call.
	n     int
	errno syscall.Errno
}

// holdStamping keeps the kernel's packet timestamping on for the life of the process.
// The kernel turns it on for everyone when a first socket asks and off when the last one
// closes, each time with a delay, and packets that arrive before it is on carry no stamp;
// one socket kept open spares each new connection's first reads that gap.
var holdStamping = sync.OnceFunc(func() {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) != nil {
		unix.Close(fd)
	}
})

func (r *reader) init(tc *net.TCPConn) error {
	holdStamping()
	raw, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	r.tc, r.raw = tc, raw
	r.msg.Iov = &r.iov
	r.msg.Iovlen = 1
	r.fn = r.recv
	return nil
}

// recv is one non-blocking recvmsg; it returns false to wait for the socket to be readable.
func (r *reader) recv(fd uintptr) bool {
	r.msg.Control = &r.oob[0]
	r.msg.SetControllen(len(r.oob))
	for {
		n, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), unix.MSG_DONTWAIT)
		switch e {
		case 0:
			r.n, r.errno = int(n), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			r.n, r.errno = 0, e
			return true
		}
	}
}

func (r *reader) read(p []byte) (int, time.Time, error) {
	if len(p) == 0 {
		return 0, time.Time{}, nil
	}
	r.iov.Base = &p[0]
	r.iov.SetLen(len(p))
	err := r.raw.Read(r.fn)
	r.iov.Base = nil // do not keep the caller's buffer alive
	if err != nil {
		return 0, time.Time{}, err
	}
	if r.errno != 0 {
		return 0, time.Time{}, &net.OpError{Op: "read", Net: "tcp", Source: r.tc.LocalAddr(), Addr: r.tc.RemoteAddr(), Err: os.NewSyscallError("recvmsg", r.errno)}
	}
	if r.n == 0 {
		return 0, time.Time{}, io.EOF
	}
	return r.n, r.stamp(), nil
}

// stamp returns the SCM_TIMESTAMPNS of the last recvmsg, or the zero time.
func (r *reader) stamp() time.Time {
	b := r.oob[:r.msg.Controllen]
	for len(b) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			return time.Time{}
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			return time.Unix(int64(ts.Sec), int64(ts.Nsec))
		}
		b = rest
	}
	return time.Time{}
}
