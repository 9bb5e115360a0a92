// Command servegate-sim runs the embedded simulated serving engine as its own process, so
// a client measured against it does not share its Go scheduler. It prints
// "servegate-sim listening on URL" once it accepts connections and stops on SIGINT,
// SIGTERM or when its standard input closes (with -stdin-exit). The -fault-* flags make
// it misbehave as real servers do (sim.Faults): errors, 429s, cut and stalled streams,
// in-band errors, tokenless and short outputs, a slow start, a crash; -faults sets them
// all in one list, as the suite's -sim-faults does.
//
//	servegate-sim -profile batching -speed gpt-oss-20b -addr 127.0.0.1:8000 -model openai/gpt-oss-20b
//	servegate-sim -fault-stall-rate 0.01 -fault-cut-rate 0.01 -fault-crash-after 500
//	servegate-sim -faults stall=0.01,cut=0.01,crash_after=500
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

	"github.com/servegate/servegate/frameworks/models"
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
	speed := flag.String("speed", "gpt-oss-20b", "step times: a model preset's published speed, or fast (the harness's tests)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	model := flag.String("model", "sim-model", "served model names, comma-separated; a preset's name (llama3.1-8b) serves its Hugging Face id too")
	maxBatch := flag.Int("max-batch", 0, "override the profile's max batch")
	kv := flag.Int("kv-tokens", 0, "override the profile's KV-cache token budget")
	prefillNs := flag.Int("prefill-per-token-ns", -1, "override prefill time per token (ns)")
	prefillChunk := flag.Int("prefill-chunk", -1, "override the chunked-prefill budget per step (tokens)")
	decodeSeqNs := flag.Int("decode-per-seq-ns", -1, "override the decode time each further sequence adds to a step (ns)")
	maxModelLen := flag.Int("max-model-len", 0, "override the context window (tokens): longer requests are refused with 400")
	stdinExit := flag.Bool("stdin-exit", false, "exit when standard input closes (for a parent that may die)")
	var f sim.Faults
	flag.Float64Var(&f.ErrorRate, "fault-error-rate", 0, "fraction of chat requests answered HTTP 500")
	flag.Float64Var(&f.RateLimitRate, "fault-rate-limit-rate", 0, "fraction answered HTTP 429 with Retry-After")
	flag.DurationVar(&f.RetryAfter, "fault-retry-after", time.Second, "the Retry-After of injected 429s")
	flag.Float64Var(&f.CutRate, "fault-cut-rate", 0, "fraction whose connection drops mid-event, halfway through the output")
	flag.Float64Var(&f.StallRate, "fault-stall-rate", 0, "fraction that stop sending halfway and hold the connection open")
	flag.Float64Var(&f.ErrorEventRate, "fault-error-event-rate", 0, "fraction ended by an in-band error halfway")
	flag.Float64Var(&f.TokenlessRate, "fault-tokenless-rate", 0, "fraction whose stream ends properly with no token")
	flag.Float64Var(&f.ShortRate, "fault-short-rate", 0, "fraction stopped at a quarter of max_tokens despite ignore_eos")
	flag.DurationVar(&f.SlowStart, "fault-slow-start", 0, "answer 503 on every path for this long after start")
	flag.IntVar(&f.CrashAfter, "fault-crash-after", 0, "exit (code 3) when chat request N+1 arrives; 0 never")
	faults := flag.String("faults", "", "every fault in one list, name=value: error, rate_limit, cut, stall, error_event, tokenless, short (rates), retry_after, slow_start (durations), crash_after (a count); instead of the -fault-* flags")
	flag.Parse()
	if *faults != "" {
		var each []string
		flag.Visit(func(fl *flag.Flag) {
			if strings.HasPrefix(fl.Name, "fault-") {
				each = append(each, "-"+fl.Name)
			}
		})
		if len(each) > 0 {
			return fmt.Errorf("-faults and %s both set: give the faults one way", strings.Join(each, ", "))
		}
		var err error
		if f, err = sim.ParseFaults(*faults); err != nil {
			return err
		}
	}
	p, err := sim.LookupProfileAt(*profile, *speed)
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
	if *maxModelLen > 0 {
		p.MaxModelLen = *maxModelLen
	}
	if f.RateLimitRate == 0 {
		f.RetryAfter = 0 // keep an unused default out of the profile
	}
	p.Faults = f
	crash := func() {
		fmt.Fprintf(os.Stderr, "servegate-sim: crashing on chat request %d (-fault-crash-after %d)\n", f.CrashAfter+1, f.CrashAfter)
		os.Exit(3)
	}
	// An interrupt stops the server cleanly from the moment the ready line says it listens:
	// whoever reads that line may stop it at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := sim.Start(sim.Config{Profile: p, Models: servedNames(*model), Addr: *addr, Crash: crash})
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("servegate-sim listening on %s\n", srv.URL)
	if *stdinExit {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	}
	<-ctx.Done()
	return srv.Close()
}

// servedNames is the -model list, with each preset's Hugging Face id beside its name, so
// that a client asking for the preset's model (as the suite's openai target does) is served.
func servedNames(list string) []string {
	var out []string
	for _, name := range strings.Split(list, ",") {
		out = append(out, name)
		if p, err := models.Lookup(name); err == nil && p.HF != name {
			out = append(out, p.HF)
		}
	}
	return out
}
