// Command fakeframework stands in for vLLM, SGLang or Ollama in servegate's adapter tests:
// the embedded simulator answering on that framework's paths and with its metric names
// (sim.Config.Mimic), started the way the framework starts: on -port, or for Ollama on
// $OLLAMA_HOST; vLLM's cache reset only with VLLM_SERVER_DEV_MODE=1. Flags add the
// start-up faults real servers show: a slow load, a crash while loading, health that
// flaps. -api-key and -basic-auth make it refuse requests without those credentials;
// -harmony makes its vLLM fail as vLLM does for gpt-oss with ignore_eos. Built by the
// harness's launch tests and by CI's tagged run (make frameworks-fake); never shipped.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/servegate/servegate/frameworks/sim"
)

func main() {
	framework := flag.String("framework", "vllm", "framework to mimic: vllm, sglang, ollama")
	port := flag.Int("port", 0, "listen port (Ollama reads OLLAMA_HOST instead)")
	model := flag.String("model", "sim-model", "served model names, comma-separated")
	profile := flag.String("profile", "batching", "simulator profile")
	delay := flag.Duration("delay", 0, "time spent 'loading the model' before listening")
	crash := flag.Int("crash", 0, "exit with this code while loading")
	flaps := flag.Int("flaps", 0, "health answers 503 this many times first")
	apiKey := flag.String("api-key", "", "answer 401 to every request without Authorization: Bearer KEY (stricter than vLLM, whose key guards /v1 only)")
	basicAuth := flag.String("basic-auth", "", "answer 401 to every request without this USER:PASSWORD (a server behind an authenticating proxy)")
	maxNumSeqs := flag.Int("max-num-seqs", 0, "the most requests run at once, as vLLM's --max-num-seqs sets it (0: the profile's)")
	harmony := flag.Bool("harmony", false, "serve a Harmony (gpt-oss) model: vLLM's chat stream parser fails on ignore_eos")
	flag.Parse()
	fmt.Printf("INFO fake %s loading %s\n", *framework, *model)
	if *crash != 0 {
		fmt.Println("ERROR torch.OutOfMemoryError: CUDA out of memory while loading weights")
		os.Exit(*crash)
	}
	<-time.After(*delay) // stands for model loading
	p, err := sim.LookupProfile(*profile)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	if *maxNumSeqs > 0 {
		p.MaxBatch = *maxNumSeqs
	}
	addr := fmt.Sprintf("127.0.0.1:%d", *port)
	if *framework == "ollama" {
		addr = os.Getenv("OLLAMA_HOST")
		if addr == "" {
			addr = "127.0.0.1:11434"
		}
	}
	health := map[string]bool{"/health": true, "/api/version": true}
	var calls atomic.Int64
	cfg := sim.Config{Profile: p, Models: strings.Split(*model, ","), Addr: addr, Mimic: *framework,
		NoCacheReset: *framework == "vllm" && os.Getenv("VLLM_SERVER_DEV_MODE") != "1",
		Middleware: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if user, pass, ok := strings.Cut(*basicAuth, ":"); ok {
					if u, p, given := r.BasicAuth(); !given || u != user || p != pass {
						fmt.Printf("ERROR 401: %s %s without the basic authentication\n", r.Method, r.URL.Path)
						http.Error(w, "unauthorized", http.StatusUnauthorized)
						return
					}
				}
				if *apiKey != "" && r.Header.Get("Authorization") != "Bearer "+*apiKey {
					fmt.Printf("ERROR 401: %s %s without the API key\n", r.Method, r.URL.Path)
					http.Error(w, `{"error": "Unauthorized"}`, http.StatusUnauthorized)
					return
				}
				if health[r.URL.Path] && calls.Add(1) <= int64(*flaps) {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				if *harmony && *framework == "vllm" && r.URL.Path == "/v1/chat/completions" && harmonyFails(w, r) {
					return
				}
				next.ServeHTTP(w, r)
			})
		}}
	if *framework == "openai" {
		cfg.Mimic = ""
	}
	// A stop is a clean shutdown from the moment the server answers.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	srv, err := sim.Start(cfg)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Printf("INFO serving on %s\n", srv.URL)
	<-sig
	fmt.Println("INFO shutting down")
	_ = srv.Close()
}

// harmonyFails answers a chat completion with ignore_eos as vLLM does for gpt-oss when the
// model ends its Harmony turn before max_tokens (vllm-project/vllm#50690): its stream
// parser meets <|return|> (200002) where it expects <|start|> (200006), and a streamed
// request gets that error in-band before [DONE] (tenstorrent/vllm#355 describes the
// stream). The fake's model always ends its turn early. Other requests pass through.
func harmonyFails(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req struct {
		IgnoreEOS bool `json:"ignore_eos"`
		Stream    bool `json:"stream"`
	}
	if err != nil || json.Unmarshal(body, &req) != nil || !req.IgnoreEOS {
		return false
	}
	const msg = `{"error":{"message":"Unexpected token 200002 while expecting start token 200006","type":"InternalServerError","param":null,"code":500}}`
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, msg)
		return true
	}
	w.Header().Set("Content-Type", "text/event-stream")
	io.WriteString(w, "data: "+msg+"\n\ndata: [DONE]\n\n")
	return true
}
