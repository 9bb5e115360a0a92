package stream

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/servegate/servegate/internal/cpulock"
)

// vllmBody renders n token events as vLLM streams them with continuous usage stats.
func vllmTranscript(n int) []byte {
	var b strings.Builder
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-oss-20b","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":128,"total_tokens":128,"completion_tokens":0}}` + "\n\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-oss-20b","choices":[{"index":0,"delta":{"content":" tok%d"},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":128,"total_tokens":%d,"completion_tokens":%d}}`+"\n\n", i%100, 128+i, i)
	}
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

func ollamaTranscript(n int) []byte {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"model":"gpt-oss:20b","created_at":"2026-11-22T10:00:00.123456Z","message":{"role":"assistant","content":" tok%d"},"done":false}`+"\n", i%100)
	}
	fmt.Fprintf(&b, `{"model":"gpt-oss:20b","created_at":"2026-11-22T10:00:01Z","message":{"role":"assistant","content":""},"done_reason":"length","done":true,"total_duration":1,"load_duration":1,"prompt_eval_count":128,"prompt_eval_duration":1,"eval_count":%d,"eval_duration":1}`+"\n", n)
	return []byte(b.String())
}

// benchmarkParse decodes a whole body per iteration, fed in 32 KiB reads.
func benchmarkParse(b *testing.B, d Dialect, body []byte, tokens int) {
	rec := &Record{Chunks: make([]Chunk, 0, tokens+1)}
	now := time.Now()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec.Reset()
		rec.Sent = now
		dec, _ := NewDecoder(d, rec)
		for off := 0; off < len(body); off += 32 << 10 {
			if err := dec.Feed(body[off:min(off+32<<10, len(body))], now); err != nil {
				b.Fatal(err)
			}
		}
		if err := dec.Finish(now); err != nil {
			b.Fatal(err)
		}
		if rec.ChunkTokens() != tokens {
			b.Fatalf("parsed %d tokens, want %d", rec.ChunkTokens(), tokens)
		}
	}
	b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkParseSSE measures the SSE decoder alone. Goal: ≥ 500k tokens/s on one core
// (go test -bench ParseSSE -cpu 1).
func BenchmarkParseSSE(b *testing.B) { benchmarkParse(b, OpenAI, vllmTranscript(1024), 1024) }

// BenchmarkParseNDJSON measures the Ollama decoder alone.
func BenchmarkParseNDJSON(b *testing.B) { benchmarkParse(b, Ollama, ollamaTranscript(1024), 1024) }

// The client-overhead benchmark streams from a server in another process (this test binary
// re-executed), so the CPU time this process spends is the client's alone.
const blastEnv = "SERVEGATE_BLAST_SERVER"

func TestMain(m *testing.M) {
	if n := os.Getenv(blastEnv); n != "" {
		tokens, _ := strconv.Atoi(n)
		blastServer(tokens)
		return
	}
	// Fuzz seeds, parsers and client tests load the CPU: not beside the timing tests.
	os.Exit(cpulock.Run(m.Run))
}

// blastServer answers every chat request with tokens events, one write and flush per
// event as a real server does, and prints its address.
func blastServer(tokens int) {
	body := vllmTranscript(tokens)
	var events [][]byte
	for _, e := range strings.SplitAfter(string(body), "\n\n") {
		if e != "" {
			events = append(events, []byte(e))
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for _, e := range events {
			if _, err := w.Write(e); err != nil {
				return
			}
			f.Flush()
		}
	})}
	go func() { // stop when the parent closes our stdin
		buf := make([]byte, 1)
		_, _ = os.Stdin.Read(buf)
		os.Exit(0)
	}()
	_ = srv.Serve(ln)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkClientOverhead reports the client's CPU time per streamed token: HTTP, reads,
// SSE parsing and timestamps, with 8 streams in flight. Goal: ≤ 2 µs/token.
func BenchmarkClientOverhead(b *testing.B) {
	const tokens, streams = 2048, 8
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), blastEnv+"="+strconv.Itoa(tokens))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.HasPrefix(addr, "error") {
		b.Fatalf("blast server: %v %s", err, addr)
	}
	c := &Client{HTTP: NewHTTPClient(streams), BaseURL: "http://" + strings.TrimSpace(addr), Dialect: OpenAI, Model: "m", ContinuousUsage: true}
	req := Request{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: tokens}
	run := func(n int) {
		var wg sync.WaitGroup
		for w := 0; w < streams; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var rec Record
				for i := w; i < n; i += streams {
					c.Stream(context.Background(), req, &rec)
					if rec.Err != nil || rec.OutputTokens() != tokens {
						b.Errorf("stream: %v, %d tokens", rec.Err, rec.OutputTokens())
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	run(streams) // open the connections
	b.ResetTimer()
	cpu0 := cpuTime()
	run(b.N)
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N*tokens), "client-µs/token")
	b.ReportMetric(float64(b.N*tokens)/b.Elapsed().Seconds(), "tokens/s")
}
