//go:build !linux

package server

import "syscall"

// procAttr puts the server in its own process group; without Linux's parent-death signal
// the watchdog alone stops it when servegate dies.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
