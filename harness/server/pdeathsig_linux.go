package server

import "syscall"

// procAttr puts the server in its own process group (so stopping it stops all it starts)
// and asks the kernel to SIGKILL it when its parent dies. The parent is the thread that
// forked it, not the process: Start forks on a thread it holds until the server exits.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
