// Package ports knows which TCP ports the kernel lends to outgoing connections, so that a
// port chosen for a server to listen on is not one a client may take first.
package ports

import (
	"fmt"
	"os"
)

// Ephemeral is Linux's range of ports for outgoing connections
// (/proc/sys/net/ipv4/ip_local_port_range); ok is false where the system does not say.
func Ephemeral() (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || lo > hi {
		return 0, 0, false
	}
	return lo, hi, true
}

// ForListening is a range of at least a thousand ports, from 20000 up, outside the
// ephemeral range: below it where it starts above 21000 (Linux's default starts at 32768),
// else above it. Where neither leaves room (or the system does not say) it is 20000-32767,
// below the ranges Linux and macOS use by default.
func ForListening() (lo, hi int) { return forListening(Ephemeral()) }

func forListening(elo, ehi int, ok bool) (lo, hi int) {
	switch {
	case !ok:
	case elo > 21000:
		return 20000, min(elo-1, 32767)
	case ehi < 64535:
		return max(ehi+1, 20000), 65535
	}
	return 20000, 32767
}
