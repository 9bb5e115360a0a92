package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/servegate/servegate/internal/sockstamp"
)

// DefaultMaxTokens is the output length when a request sets none.
const DefaultMaxTokens = 256

// Config configures a simulator server.
type Config struct {
	Profile Profile
	// Models are the names the server serves; requests for others get 404. Empty means
	// "sim-model".
	Models []string
	// Addr is the listen address; empty means 127.0.0.1 on a free port.
	Addr string
	// Mimic makes the server answer as a real framework does on the paths servegate reads,
	// so the framework adapters can be tested end to end without it:
	//   - "vllm": vllm: metric names, /version, /tokenize, /reset_prefix_cache;
	//   - "sglang": sglang: names (token_usage, num_running_reqs, num_queue_reqs,
	//     cache_hit_rate, cached_tokens_total once a prompt hit the cache),
	//     /get_server_info, /flush_cache (400 while requests run), no tokenizer;
	//   - "ollama": no metrics, tokenizer or reset; /api/chat truncates a prompt to its
	//     context window (options.num_ctx, else OllamaContext) as Ollama does, silently.
	// Empty is the simulator's own face: sim: metrics and every endpoint.
	Mimic string
	// NoCacheReset answers the cache-reset endpoint with 404 (vLLM outside its development
	// mode).
	NoCacheReset bool
	// OllamaContext is the context window of /api/chat requests that set no num_ctx;
	// 0 means 2048 when mimicking Ollama and no limit otherwise.
	OllamaContext int
	// Middleware, when set, wraps the server's handler (tests put faults in front of it).
	Middleware func(http.Handler) http.Handler
	// Crash is what Profile.Faults.CrashAfter calls: servegate-sim exits the process. nil
	// crashes the server in place: its listener and every connection close at once, as
	// a dead process's would, and it serves nothing more.
	Crash func()
}

// Mimics lists the frameworks Config.Mimic can imitate.
var Mimics = []string{"vllm", "sglang", "ollama"}

// Server is a running simulator.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string

	cfg    Config
	eng    *engine
	truth  truthLog
	srv    *http.Server
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
	seq    atomic.Int64
	// chats counts generation requests (for Faults.CrashAfter); faults the faults injected.
	chats   atomic.Int64
	faults  faultCounts
	crashed atomic.Bool
}

// Start starts a simulator with cfg and returns once it accepts connections.
func Start(cfg Config) (*Server, error) {
	if err := cfg.Profile.validate(); err != nil {
		return nil, fmt.Errorf("start sim: %w", err)
	}
	if len(cfg.Models) == 0 {
		cfg.Models = []string{"sim-model"}
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Profile.TokensPerChunk < 1 {
		cfg.Profile.TokensPerChunk = 1
	}
	if cfg.Mimic != "" && !slices.Contains(Mimics, cfg.Mimic) {
		return nil, fmt.Errorf("start sim: cannot mimic %q: choose one of %s", cfg.Mimic, strings.Join(Mimics, ", "))
	}
	if cfg.Mimic == "ollama" && cfg.OllamaContext == 0 {
		cfg.OllamaContext = 2048
	}
	raw, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("start sim: listen on %s: %w", cfg.Addr, err)
	}
	ln := sockstamp.Listener{Listener: raw}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{URL: "http://" + ln.Addr().String(), cfg: cfg, eng: newEngine(cfg.Profile), ln: ln, cancel: cancel}
	reset := func(w http.ResponseWriter, r *http.Request) {
		if cfg.NoCacheReset {
			http.NotFound(w, r)
			return
		}
		// SGLang flushes only an idle server and otherwise answers 400 with this text
		// (python/sglang/srt/entrypoints/http_server.py, flush_cache).
		if cfg.Mimic == "sglang" && s.eng.stats.running.Load()+s.eng.stats.waiting.Load() > 0 {
			http.Error(w, "Cache not flushed. Please check backend logs for more details. (When there are running or waiting requests, the operation will not be performed.)", http.StatusBadRequest)
			return
		}
		s.eng.resetCache(r.Context())
		w.WriteHeader(http.StatusOK)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("GET /api/version", s.version)
	mux.HandleFunc("GET /api/tags", s.tags)
	mux.HandleFunc("POST /api/generate", s.load)
	switch cfg.Mimic {
	case "", "vllm":
		mux.HandleFunc("GET /version", s.version)
		mux.HandleFunc("GET /metrics", s.metrics)
		mux.HandleFunc("POST /tokenize", s.tokenize)
		mux.HandleFunc("POST /reset_prefix_cache", reset)
	case "sglang":
		mux.HandleFunc("GET /get_server_info", s.version)
		mux.HandleFunc("GET /metrics", s.metrics)
		mux.HandleFunc("POST /flush_cache", reset)
	}
	mux.HandleFunc("GET /sim/truth/{id}", s.truthHandler)
	mux.HandleFunc("DELETE /sim/truth", func(w http.ResponseWriter, r *http.Request) { s.truth.reset() })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.chat(ctx, w, r, openAI) })
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) { s.chat(ctx, w, r, ollama) })
	if cfg.Mimic != "ollama" {
		mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.completions(ctx, w, r) })
	}
	var h http.Handler = mux
	if cfg.Middleware != nil {
		h = cfg.Middleware(mux)
	}
	if d := cfg.Profile.Faults.SlowStart; d > 0 {
		h = slowStart(h, time.Now().Add(d))
	}
	s.srv = &http.Server{Handler: stampReceived(h), ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		}}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.eng.run(ctx) }()
	go func() { defer s.wg.Done(); _ = s.srv.Serve(ln) }()
	return s, nil
}

type (
	connKey     struct{}
	receivedKey struct{}
)

// stampReceived puts into each request's context when its first byte reached the
// simulator's socket (the kernel's receive timestamp, see internal/sockstamp), and
// afterwards forgets what the request's own reads stamped, so the next request on the
// connection is dated by its own first byte. The handler may start much later than that
// when a thousand requests arrive at once; the client's clock has been running since.
func stampReceived(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*sockstamp.Conn); ok {
			if t, ok := c.TakeFirst(); ok {
				r = r.WithContext(context.WithValue(r.Context(), receivedKey{}, t))
			}
			defer c.TakeFirst()
		}
		h.ServeHTTP(w, r)
	})
}

// Profile returns the profile the server runs.
func (s *Server) Profile() Profile { return s.cfg.Profile }

// Close stops the server, ends open streams and waits for its goroutines. It is safe to
// call more than once.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel() // ends the engine and every open stream
	if s.crashed.Load() {
		s.wg.Wait() // it closed everything when it crashed
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("stop sim at %s: %w", s.URL, err)
	}
	return nil
}

// Truth waits until the request sent with X-Request-Id id has finished and returns what
// the simulator recorded about it.
func (s *Server) Truth(ctx context.Context, id string) (RequestTruth, error) {
	return s.truth.get(ctx, id)
}

// truthHandler serves a finished request's truth as JSON, for a harness in another
// process, with times on CLOCK_MONOTONIC (see MonoTruth).
func (s *Server) truthHandler(w http.ResponseWriter, r *http.Request) {
	t, err := s.truth.get(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, openAI, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, t.Mono())
}

// ResetTruth forgets recorded requests, bounding memory across long runs.
func (s *Server) ResetTruth() { s.truth.reset() }

func (s *Server) served(model string) bool {
	for _, m := range s.cfg.Models {
		if m == model {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers with an error body in the dialect's shape.
func fail(w http.ResponseWriter, d dialect, status int, msg string) {
	if d == ollama {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": http.StatusText(status), "code": status}})
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{"version": "sim-" + s.cfg.Profile.Name}
	if s.cfg.Mimic == "sglang" {
		// SGLang's server arguments and one internal state per data-parallel rank
		// (frameworks/testdata/sglang_server_info.json), with the simulator's batch limit.
		body["max_running_requests"] = s.cfg.Profile.MaxBatch
		body["internal_states"] = []map[string]any{{"max_running_requests": s.cfg.Profile.MaxBatch,
			"effective_max_running_requests_per_dp": s.cfg.Profile.MaxBatch}}
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	data := make([]map[string]any, 0, len(s.cfg.Models))
	for _, m := range s.cfg.Models {
		data = append(data, map[string]any{"id": m, "object": "model", "owned_by": "servegate-sim", "max_model_len": s.cfg.Profile.MaxModelLen})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) tags(w http.ResponseWriter, r *http.Request) {
	ms := make([]map[string]any, 0, len(s.cfg.Models))
	for _, m := range s.cfg.Models {
		ms = append(ms, map[string]any{"name": m, "model": m})
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": ms})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	st := &s.eng.stats
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	kv := float64(st.kvUsed.Load()) / float64(max(s.cfg.Profile.KVTokens, 1))
	type metric struct {
		name, kind string
		v          float64
	}
	var ms []metric
	if s.cfg.Mimic == "sglang" {
		rate := 0.0
		if q := st.cacheQueries.Load(); q > 0 {
			rate = float64(st.cacheHits.Load()) / float64(q)
		}
		ms = []metric{
			{"prompt_tokens_total", "counter", float64(st.promptTokens.Load())},
			{"generation_tokens_total", "counter", float64(st.generationTokens.Load())},
			{"num_running_reqs", "gauge", float64(st.running.Load())},
			{"num_queue_reqs", "gauge", float64(st.waiting.Load())},
			{"token_usage", "gauge", kv},
			{"cache_hit_rate", "gauge", rate},
		}
		// SGLang serves prometheus_client's multiprocess mode, where a labelled counter is
		// absent until its first increment. The simulator never preempts, so SGLang's
		// num_retracted_requests_total never appears.
		if hits := st.cacheHits.Load(); hits > 0 {
			ms = append(ms, metric{"cached_tokens_total", "counter", float64(hits)})
		}
	} else {
		ms = []metric{
			{"prompt_tokens_total", "counter", float64(st.promptTokens.Load())},
			{"generation_tokens_total", "counter", float64(st.generationTokens.Load())},
			{"prefix_cache_queries_total", "counter", float64(st.cacheQueries.Load())},
			{"prefix_cache_hits_total", "counter", float64(st.cacheHits.Load())},
			{"num_preemptions_total", "counter", 0},
			{"request_success_total", "counter", float64(st.requests.Load())},
			{"num_requests_running", "gauge", float64(st.running.Load())},
			{"num_requests_waiting", "gauge", float64(st.waiting.Load())},
			{"kv_cache_usage_perc", "gauge", kv},
		}
	}
	prefix := "sim:"
	if s.cfg.Mimic != "" {
		prefix = s.cfg.Mimic + ":"
	}
	// Labelled as the real servers label them.
	label := fmt.Sprintf("{model_name=%q}", s.cfg.Models[0])
	for _, m := range ms {
		fmt.Fprintf(w, "# TYPE %s%s %s\n%s%s%s %g\n", prefix, m.name, m.kind, prefix, m.name, label, m.v)
	}
	if s.cfg.Profile.Faults.Any() {
		fmt.Fprintf(w, "# TYPE %sfaults_injected_total counter\n", prefix)
		for i, f := range AllFaults {
			fmt.Fprintf(w, "%sfaults_injected_total{fault=%q} %d\n", prefix, f, s.faults[i].Load())
		}
	}
	// Server-side TTFT, arrival to first token written, as vLLM's histogram of the same name
	// (one +Inf bucket: the harness reads only sum and count).
	n := st.ttftCount.Load()
	h := prefix + "time_to_first_token_seconds"
	fmt.Fprintf(w, "# TYPE %s histogram\n%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n",
		h, h, n, h, float64(st.ttftNanos.Load())/1e9, h, n)
}

// load answers Ollama's /api/generate without a prompt, which loads a model and keeps it
// (or, with keep_alive 0, unloads it): the simulator has nothing to load, but unloading
// empties its prefix cache as Ollama's does.
func (s *Server) load(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model     string `json:"model"`
		Prompt    string `json:"prompt"`
		KeepAlive *int   `json:"keep_alive"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, ollama, http.StatusBadRequest, "request body is not valid JSON: "+err.Error())
		return
	}
	if !s.served(req.Model) {
		fail(w, ollama, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
		return
	}
	if req.Prompt != "" {
		fail(w, ollama, http.StatusBadRequest, "the simulator answers /api/generate only to load a model (no prompt)")
		return
	}
	reason := "load"
	if req.KeepAlive != nil && *req.KeepAlive == 0 {
		// Unloading drops the model's prompt cache with it.
		s.eng.resetCache(r.Context())
		reason = "unload"
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": req.Model, "created_at": time.Now().UTC().Format(time.RFC3339Nano),
		"response": "", "done": true, "done_reason": reason})
}

func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Prompt   *string   `json:"prompt"`
		Messages []Message `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, openAI, http.StatusBadRequest, "tokenize: request body is not JSON: "+err.Error())
		return
	}
	// vLLM's TokenizeResponse: the count and the ids, the chat template applied to messages
	// (with the assistant header, as a chat request renders it), BOS added to a prompt.
	var ids []uint64
	if req.Prompt != nil {
		ids = textIDs(*req.Prompt)
	} else {
		ids = promptIDs(req.Messages, nil)
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(ids), "max_model_len": s.cfg.Profile.MaxModelLen, "tokens": ids})
}

func (s *Server) chat(ctx context.Context, w http.ResponseWriter, r *http.Request, d dialect) {
	arrived, received := arrival(r)
	g, status, err := s.parseChat(r, d)
	if err != nil {
		fail(w, d, status, err.Error())
		return
	}
	s.generate(ctx, w, r, d, g, received, arrived)
}

// completions answers the plain completions endpoint: a prompt given as text or as token
// ids, as vLLM's benchmark client sends by default and servegate sends where a chat
// stream parser cannot hold the output length (see frameworks.OutputLength).
func (s *Server) completions(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	arrived, received := arrival(r)
	g, status, err := s.parseCompletion(r)
	if err != nil {
		fail(w, openAI, status, err.Error())
		return
	}
	s.generate(ctx, w, r, completion, g, received, arrived)
}

// arrival returns when the handler started and when the request's first byte arrived.
func arrival(r *http.Request) (arrived, received time.Time) {
	arrived = time.Now()
	received = arrived
	if t, ok := r.Context().Value(receivedKey{}).(time.Time); ok && t.Before(arrived) {
		received = t
	}
	return arrived, received
}

// generate runs a parsed request through the engine and answers it in dialect d.
func (s *Server) generate(ctx context.Context, w http.ResponseWriter, r *http.Request, d dialect, g generation, received, arrived time.Time) {
	// Read to the end: only then does the server notice a client that hangs up (and end
	// r.Context()), which a stalled stream waits for.
	_, _ = io.Copy(io.Discard, r.Body)
	chats := s.chats.Add(1)
	if n := s.cfg.Profile.Faults.CrashAfter; n > 0 && chats > int64(n) {
		s.crash()
		panic(http.ErrAbortHandler)
	}
	p := s.cfg.Profile
	promptLen, maxTokens := len(g.ids), g.maxTokens
	if promptLen+maxTokens > p.MaxModelLen {
		fail(w, d, http.StatusBadRequest, fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion).", p.MaxModelLen, promptLen+maxTokens, promptLen, maxTokens))
		return
	}
	if promptLen+maxTokens > p.KVTokens {
		fail(w, d, http.StatusBadRequest, fmt.Sprintf("request needs %d KV-cache tokens; the engine has %d", promptLen+maxTokens, p.KVTokens))
		return
	}
	id := r.Header.Get("X-Request-Id")
	if id == "" {
		id = "sim-" + strconv.FormatInt(s.seq.Add(1), 10)
	}
	fault := s.faultFor(chats, id)
	switch {
	case fault == FaultShort && maxTokens < 2, // nothing shorter to stop at
		!g.streaming && fault != FaultError && fault != FaultRateLimit && fault != FaultShort:
		fault = NoFault
	}
	if fault != NoFault {
		s.faults.add(fault)
	}
	if s.rejectFault(w, d, fault) {
		e := s.truth.start(id, received, arrived)
		e.t.Fault = string(fault)
		close(e.done)
		return
	}
	rng := rand.New(rand.NewPCG(p.Seed, g.seed))
	entry := s.truth.start(id, received, arrived)
	defer close(entry.done)
	j := &job{promptLen: promptLen, maxTokens: maxTokens, reserve: promptLen + maxTokens,
		korean: g.korean, rng: rng, notify: make(chan struct{}, 1), truth: &entry.t}
	j.truth.PromptTokens, j.truth.Fault = promptLen, string(fault)
	if fault == FaultShort {
		j.maxTokens, j.truth.EarlyStop = max(1, maxTokens/4), true
	} else if !g.ignoreEOS && p.EOSRate > 0 {
		for k := 1; k < maxTokens; k++ {
			if rng.Float64() < p.EOSRate {
				j.maxTokens, j.truth.EarlyStop = k, true
				break
			}
		}
	}
	if s.eng.cache != nil {
		j.keys = s.eng.cache.blockKeys(g.ids)
	}
	s.eng.submit(j)
	defer j.cancel() // no-op for a finished job; frees the slot of an abandoned one

	wr := newWriter(d, g.model, id, promptLen, arrived)
	wr.usage, wr.continuous = g.usage, g.continuous
	if !g.streaming {
		s.whole(ctx, w, r, j, wr)
		return
	}
	rc := http.NewResponseController(w)
	if d == ollama {
		w.Header().Set("Content-Type", "application/x-ndjson")
	} else {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	if fault == FaultTokenless {
		_, _ = w.Write(wr.finish(nil, "stop"))
		_ = rc.Flush()
		j.truth.Finished = time.Now()
		return
	}
	strikeAt := maxTokens / 2 // where a mid-stream fault strikes
	written := 0
	var toks []token
	var out []byte
	var unsent []token // tokens held back until a full multi-token chunk is ready
	for {
		select {
		case <-j.notify:
		case <-r.Context().Done():
			return
		case <-ctx.Done():
			return
		}
		var finished bool
		var reason string
		toks, finished, reason = j.take(toks)
		unsent = append(unsent, toks...)
		out = out[:0]
		events := 0
		sent := 0
		for len(unsent)-sent >= p.TokensPerChunk || finished && sent < len(unsent) {
			n := min(p.TokensPerChunk, len(unsent)-sent)
			out = wr.tokens(out, unsent[sent:sent+n])
			sent += n
			events++
		}
		unsent = append(unsent[:0], unsent[sent:]...)
		if finished {
			out = wr.finish(out, reason)
		}
		if len(out) == 0 {
			continue
		}
		if (fault == FaultCut || fault == FaultStall || fault == FaultErrorEvent) && written+sent > strikeAt {
			s.strike(ctx, w, r, rc, d, fault, out)
			return
		}
		written += sent
		at := time.Now()
		if _, err := w.Write(out); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if sent > 0 && len(j.truth.Emitted) == 0 {
			s.eng.stats.ttftNanos.Add(int64(at.Sub(arrived)))
			s.eng.stats.ttftCount.Add(1)
		}
		if sent > 0 {
			// One write can carry several events; each is recorded at the write's time.
			done := time.Now()
			per := sent / events
			for e := 0; e < events; e++ {
				j.truth.Emitted = append(j.truth.Emitted, Emit{At: at, Done: done, Tokens: per})
			}
			if extra := sent - per*events; extra > 0 {
				j.truth.Emitted[len(j.truth.Emitted)-1].Tokens += extra
			}
		}
		if finished {
			j.truth.Finished = time.Now()
			s.eng.stats.requests.Add(1)
			return
		}
	}
}

// strike injects a mid-stream fault in place of the write of out: half of out and a
// dropped connection (cut), nothing until the client leaves (stall), or an in-band error.
func (s *Server) strike(ctx context.Context, w http.ResponseWriter, r *http.Request, rc *http.ResponseController, d dialect, fault Fault, out []byte) {
	switch fault {
	case FaultCut:
		_, _ = w.Write(out[:len(out)/2])
		_ = rc.Flush()
		panic(http.ErrAbortHandler) // the connection closes without the body's end
	case FaultStall:
		select {
		case <-r.Context().Done():
		case <-ctx.Done():
		}
	case FaultErrorEvent:
		_, _ = w.Write(errorEvent(d, "injected fault: the engine failed mid-stream"))
		_ = rc.Flush()
	}
}

// crash stops serving at once, as a process that died would: Config.Crash, or in
// process, the listener and every connection closed and every stream ended.
func (s *Server) crash() {
	if s.cfg.Crash != nil {
		s.cfg.Crash()
		return
	}
	if s.crashed.Swap(true) {
		return
	}
	s.cancel()
	_ = s.srv.Close()
}

// Err is nil while the server serves; after an in-process crash (Faults.CrashAfter) it
// says so, as a launched server's exit status would.
func (s *Server) Err() error {
	if s.crashed.Load() {
		return fmt.Errorf("sim at %s crashed on chat request %d (injected fault crash_after=%d)", s.URL,
			s.cfg.Profile.Faults.CrashAfter+1, s.cfg.Profile.Faults.CrashAfter)
	}
	return nil
}

// whole answers a non-streaming request once the job has finished.
func (s *Server) whole(ctx context.Context, w http.ResponseWriter, r *http.Request, j *job, wr *writer) {
	var text strings.Builder
	var toks []token
	for {
		select {
		case <-j.notify:
		case <-r.Context().Done():
			return
		case <-ctx.Done():
			return
		}
		var finished bool
		var reason string
		toks, finished, reason = j.take(toks)
		for _, t := range toks {
			text.WriteString(t.text)
		}
		wr.generated += len(toks)
		if finished {
			now := time.Now()
			j.truth.Emitted = append(j.truth.Emitted, Emit{At: now, Tokens: wr.generated})
			j.truth.Finished = now
			s.eng.stats.requests.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(wr.whole(text.String(), reason))
			return
		}
	}
}
