// Command servegate-dashboard serves servegate's live web dashboard: start and stop the
// configured frameworks, watch the GPUs, run the suite and follow it, browse and compare
// results, and read the hypothesis verdicts. Run it from the repository root:
//
//	servegate-dashboard                       # http://127.0.0.1:8080
//	servegate-dashboard -addr 0.0.0.0:8080    # other machines: a token is required
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/servegate/servegate/dashboard"
	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/harness/launch"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "servegate-dashboard:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address; anything but loopback requires a token")
	token := flag.String("token", os.Getenv("SERVEGATE_DASHBOARD_TOKEN"), "token every request must carry (env SERVEGATE_DASHBOARD_TOKEN); made up and printed when -addr is not loopback and none is given")
	resultsDir := flag.String("results", "results", "results root: runs write here, the Results page browses it")
	config := flag.String("config", os.Getenv("SERVEGATE_CONFIG"), "launch configuration file, as the suite's -config (env SERVEGATE_CONFIG)")
	hypotheses := flag.String("hypotheses", os.Getenv("SERVEGATE_HYPOTHESES"), "hypotheses replacing the defaults by id, as the suite's -hypotheses (env SERVEGATE_HYPOTHESES)")
	preset := flag.String("preset", models.DefaultPreset, "model preset the forms start with")
	repo := flag.String("repo", ".", "the servegate repository, where runs execute go test ./benchmarks")
	interval := flag.Duration("gpu-interval", 2*time.Second, "how often the GPU page reads the GPUs")
	flag.Parse()

	cfg := dashboard.Config{Frameworks: map[string]launch.Settings{}, ConfigPath: *config, Results: *resultsDir,
		Repo: *repo, Hypotheses: *hypotheses, Preset: *preset, GPUInterval: *interval, Token: *token}
	for _, name := range []string{"vllm", "sglang", "ollama", "openai"} {
		set, err := launch.Configured(*config, name, os.Getenv)
		if err != nil {
			return err
		}
		cfg.Frameworks[name] = set
	}
	if s, err := gpu.OpenSystem(); err != nil {
		cfg.GPUWhy = err.Error()
	} else {
		cfg.GPU, cfg.OpenGPU = s, gpu.OpenSystem
		defer s.Close()
	}
	if !dashboard.LoopbackAddr(*addr) && cfg.Token == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		cfg.Token = hex.EncodeToString(b)
	}
	d, err := dashboard.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		d.Close()
		return fmt.Errorf("listen on %s: %w (another dashboard running? choose one with -addr)", *addr, err)
	}
	url := "http://" + ln.Addr().String() + "/"
	if cfg.Token != "" {
		url += "?token=" + cfg.Token
	}
	// Ctrl-C is a clean stop from the moment the line below says so.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Printf("servegate-dashboard: serving %s (Ctrl-C stops it, and every run and server it started)\n", url)
	if cfg.GPU == nil {
		fmt.Printf("servegate-dashboard: %s; the GPU page says so\n", cfg.GPUWhy)
	}

	srv := &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return d.Context() }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		d.Close()
		return err
	case <-ctx.Done():
	}
	fmt.Println("servegate-dashboard: stopping: interrupting any run, stopping servers started here")
	// Closing the dashboard first ends the event streams, which would otherwise hold
	// Shutdown open.
	closeErr := d.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(closeErr, err)
	}
	return closeErr
}
