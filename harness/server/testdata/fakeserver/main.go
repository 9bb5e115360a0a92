// Command fakeserver mimics a serving framework's start-up for servegate's lifecycle tests:
// a slow start, a crash while loading, health that flaps, a server that ignores SIGTERM and
// one that leaves a child process behind. Built by the tests; never shipped.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("port", 0, "listen port")
	delay := flag.Duration("delay", 0, "time spent 'loading the model' before listening")
	crash := flag.Int("crash", 0, "exit with this code while loading")
	flaps := flag.Int("flaps", 0, "health answers 503 this many times first")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM")
	child := flag.Bool("child", false, "start a child process that sleeps")
	say := flag.String("say", "", "a line to log first (what a log tail may quote)")
	flag.Parse()
	if *say != "" {
		fmt.Println(*say)
	}
	fmt.Println("INFO loading model weights")
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if *child {
		c := exec.Command("sleep", "300")
		if err := c.Start(); err == nil {
			fmt.Printf("INFO child %d\n", c.Process.Pid)
		}
	}
	if *crash != 0 {
		fmt.Println("ERROR CUDA out of memory while loading weights")
		os.Exit(*crash)
	}
	<-time.After(*delay)
	var calls atomic.Int64
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= int64(*flaps) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	fmt.Println("INFO ready")
	if err := http.ListenAndServe(fmt.Sprintf("127.0.0.1:%d", *port), nil); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
}
