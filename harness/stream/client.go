package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"github.com/servegate/servegate/internal/sockstamp"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is one chat request, independent of dialect.
type Request struct {
	// ID is sent as X-Request-Id so server logs and simulator truth can be matched to it.
	ID       string
	Messages []Message
	// MaxTokens caps the output (max_tokens, or Ollama's options.num_predict).
	MaxTokens int
	// IgnoreEOS asks the server to generate exactly MaxTokens (vLLM, SGLang). Ollama's API
	// has no such switch; it is not sent there.
	IgnoreEOS bool
	// NumCtx sets Ollama's options.num_ctx (its context window); 0 leaves the server default.
	NumCtx int
	// PromptIDs are Messages rendered to token ids by the server's chat template: the
	// prompt of the OpenAICompletions dialect, which needs them.
	PromptIDs []int
}

// Client streams chat requests to one target.
type Client struct {
	// HTTP sends the requests; use NewHTTPClient for one sized for the load.
	HTTP *http.Client
	// BaseURL is the server root, e.g. http://127.0.0.1:8000.
	BaseURL string
	Dialect Dialect
	// Model is the name the server serves the model under.
	Model string
	// ContinuousUsage asks for a usage block on every chunk (stream_options
	// continuous_usage_stats, a vLLM extension) so per-chunk token counts are exact.
	ContinuousUsage bool
	// KeepLoaded asks Ollama to keep the model in memory after the request (keep_alive -1),
	// so no measured request pays for loading it again.
	KeepLoaded bool
}

// NewHTTPClient returns an HTTP client whose connection pool holds maxConns idle
// connections to one host, so a closed loop at that concurrency never waits for a
// connection. Its connections date what they read by the kernel's receive timestamps
// (see internal/sockstamp), so a busy client still records when tokens arrived. Reads go
// through a 64 KiB buffer, so a fast stream's queued events come in few syscalls (client
// CPU per token 2.0-2.7 µs against 2.7-3.1 µs with the default 4 KiB, when measured);
// writes keep the default 4 KiB: a long prompt passes through in pieces at no measurable
// cost, while 256 KiB write buffers were 58% of the client's allocation at 1,000
// connections.
func NewHTTPClient(maxConns int) *http.Client {
	if maxConns < 1 {
		maxConns = 1
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy: nil, // benchmark traffic goes straight to the target
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return sockstamp.Wrap(c), nil
		},
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ReadBufferSize:      64 << 10,
	}}
}

// Path returns the endpoint of the dialect.
func (d Dialect) Path() string {
	switch d {
	case Ollama:
		return "/api/chat"
	case OpenAICompletions:
		return "/v1/completions"
	}
	return "/v1/chat/completions"
}

type openAIBody struct {
	Model         string         `json:"model"`
	Messages      []Message      `json:"messages"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	Stream        bool           `json:"stream"`
	StreamOptions map[string]any `json:"stream_options,omitempty"`
	Temperature   float64        `json:"temperature"`
	IgnoreEOS     bool           `json:"ignore_eos,omitempty"`
}

type completionsBody struct {
	Model         string         `json:"model"`
	Prompt        []int          `json:"prompt"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	Stream        bool           `json:"stream"`
	StreamOptions map[string]any `json:"stream_options,omitempty"`
	Temperature   float64        `json:"temperature"`
	IgnoreEOS     bool           `json:"ignore_eos,omitempty"`
}

type ollamaOptions struct {
	NumPredict  int     `json:"num_predict,omitempty"`
	NumCtx      int     `json:"num_ctx,omitempty"`
	Temperature float64 `json:"temperature"`
}

type ollamaBody struct {
	Model    string        `json:"model"`
	Messages []Message     `json:"messages"`
	Stream   bool          `json:"stream"`
	Options  ollamaOptions `json:"options"`
	// KeepAlive is -1 (keep loaded) or absent (the server's default).
	KeepAlive *int `json:"keep_alive,omitempty"`
}

var forever = -1

func (c *Client) streamOptions() map[string]any {
	opts := map[string]any{"include_usage": true}
	if c.ContinuousUsage {
		opts["continuous_usage_stats"] = true
	}
	return opts
}

// Body returns the JSON request body for req in the client's dialect.
func (c *Client) Body(req Request) ([]byte, error) {
	var v any
	switch c.Dialect {
	case OpenAI:
		v = openAIBody{Model: c.Model, Messages: req.Messages, MaxTokens: req.MaxTokens, Stream: true,
			StreamOptions: c.streamOptions(), IgnoreEOS: req.IgnoreEOS}
	case OpenAICompletions:
		if len(req.PromptIDs) == 0 {
			return nil, fmt.Errorf("request %s: the %s dialect sends the prompt as token ids, and it has none", req.ID, c.Dialect)
		}
		v = completionsBody{Model: c.Model, Prompt: req.PromptIDs, MaxTokens: req.MaxTokens, Stream: true,
			StreamOptions: c.streamOptions(), IgnoreEOS: req.IgnoreEOS}
	case Ollama:
		b := ollamaBody{Model: c.Model, Messages: req.Messages, Stream: true,
			Options: ollamaOptions{NumPredict: req.MaxTokens, NumCtx: req.NumCtx}}
		if c.KeepLoaded {
			b.KeepAlive = &forever
		}
		v = b
	default:
		return nil, fmt.Errorf("unknown dialect %q", c.Dialect)
	}
	return json.Marshal(v)
}

// stampedConn is a connection that knows when what it read arrived and when a write
// began: *sockstamp.Conn, as NewHTTPClient dials.
type stampedConn interface {
	ArmWrite()
	WriteStarted() (time.Time, bool)
	LastArrival() (arrived time.Time, kernel, ok bool)
}

var _ stampedConn = (*sockstamp.Conn)(nil)

// bufPool holds the buffers streams are read into.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// Stream sends req and records its response into rec, which it resets first (keeping
// rec.Scheduled and rec.PromptChars). The outcome is in rec.Err; Stream itself returns nothing so that a
// failed request is a measured event, not an aborted run.
func (c *Client) Stream(ctx context.Context, req Request, rec *Record) {
	scheduled, promptChars := rec.Scheduled, rec.PromptChars
	rec.Reset()
	rec.Scheduled, rec.PromptChars, rec.ID = scheduled, promptChars, req.ID
	if cap(rec.Chunks) < req.MaxTokens+1 {
		rec.Chunks = make([]Chunk, 0, req.MaxTokens+1) // no growth while timestamps are taken
	}
	rec.Err = c.stream(ctx, req, rec)
}

func (c *Client) stream(ctx context.Context, req Request, rec *Record) error {
	body, err := c.Body(req)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	// On a connection from NewHTTPClient, the send is dated when the request's first byte
	// went to the socket and each read by when its bytes arrived, so neither includes
	// time this process spent getting to it (see Record.Sent and Chunk.Lag).
	var conn stampedConn
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if sc, ok := info.Conn.(stampedConn); ok {
				sc.ArmWrite()
				conn = sc
			}
		},
	})
	url := strings.TrimSuffix(c.BaseURL, "/") + c.Dialect.Path()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request to %s: %w", url, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream, application/x-ndjson")
	if req.ID != "" {
		hreq.Header.Set("X-Request-Id", req.ID)
	}
	dec, err := NewDecoder(c.Dialect, rec)
	if err != nil {
		return err
	}
	rec.Sent = time.Now()
	resp, err := c.HTTP.Do(hreq)
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	headers := time.Now()
	if conn != nil {
		if w, ok := conn.WriteStarted(); ok {
			rec.Sent = w
		}
		// The newest bytes read so far hold the status line and headers.
		if a, _, ok := conn.LastArrival(); ok && !a.After(headers) {
			headers = a
		}
		rec.KernelStamps = true // until a read says otherwise
	}
	rec.FirstByte = headers.Sub(rec.Sent)
	rec.HTTPStatus = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("%w: POST %s: HTTP %d: %s", ErrServer, url, resp.StatusCode, ServerText(msg))
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		at := time.Now()
		if n > 0 {
			// These bytes arrived no later than the newest the connection has read; when the
			// client keeps up, they are the newest, and the stamp is their arrival.
			arrived, lag, kernel := at, time.Duration(0), false
			if conn != nil {
				if a, k, ok := conn.LastArrival(); ok && !a.After(at) {
					arrived, lag, kernel = a, at.Sub(a), k
				}
			}
			first := len(rec.Chunks)
			if err := dec.Feed(buf[:n], arrived); err != nil {
				return err
			}
			for i := first; i < len(rec.Chunks); i++ {
				rec.Chunks[i].Lag, rec.Chunks[i].Kernel = lag, kernel
			}
			if len(rec.Chunks) > first && !kernel {
				rec.KernelStamps = false
			}
			if dec.Done() {
				// The terminal event is in: the rest of the body changes no measurement.
				// Drain a little so the connection can be reused for the next request.
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				return nil
			}
		}
		if errors.Is(rerr, io.EOF) {
			return dec.Finish(at)
		}
		if rerr != nil {
			return fmt.Errorf("read stream from %s after %d token chunks: %w", url, len(rec.Chunks), rerr)
		}
	}
}
