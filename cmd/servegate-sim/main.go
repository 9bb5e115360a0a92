// Command servegate-sim runs the embedded simulated serving engine as its own process, so
// a client measured against it does not share its Go scheduler. It prints
// "servegate-sim listening on URL" once it accepts connections and stops on SIGINT,
// SIGTERM or when its standard input closes (with -stdin-exit).
//
//	servegate-sim -profile batching -addr 127.0.0.1:8000 -model openai/gpt-oss-20b
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/servegate/servegate/frameworks/sim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "servegate-sim:", err)
		os.Exit(1)
	}
}

func run() error {
	profile := flag.String("profile", sim.DefaultProfile, "engine profile")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	model := flag.String("model", "sim-model", "served model names, comma-separated")
	maxBatch := flag.Int("max-batch", 0, "override the profile's max batch")
	kv := flag.Int("kv-tokens", 0, "override the profile's KV-cache token budget")
	prefillNs := flag.Int("prefill-per-token-ns", -1, "override prefill time per token (ns)")
	prefillChunk := flag.Int("prefill-chunk", -1, "override the chunked-prefill budget per step (tokens)")
	decodeSeqNs := flag.Int("decode-per-seq-ns", -1, "override the decode time each further sequence adds to a step (ns)")
	stdinExit := flag.Bool("stdin-exit", false, "exit when standard input closes (for a parent that may die)")
	flag.Parse()
	p, err := sim.LookupProfile(*profile)
	if err != nil {
		return err
	}
	if *maxBatch > 0 {
		p.MaxBatch = *maxBatch
	}
	if *kv > 0 {
		p.KVTokens = *kv
	}
	if *prefillNs >= 0 {
		p.PrefillPerToken = time.Duration(*prefillNs)
	}
	if *prefillChunk >= 0 {
		p.PrefillChunk = *prefillChunk
	}
	if *decodeSeqNs >= 0 {
		p.DecodePerSeq = time.Duration(*decodeSeqNs)
	}
	srv, err := sim.Start(sim.Config{Profile: p, Models: strings.Split(*model, ","), Addr: *addr})
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("servegate-sim listening on %s\n", srv.URL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *stdinExit {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	}
	<-ctx.Done()
	return srv.Close()
}
