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
	"sync/atomic"
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
	// StallTimeout ends a request on which no byte has arrived for this long, before the
	// response's first byte or between two (class Stalled); 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	// RequestTimeout bounds a whole request (class TimedOut); 0 means no bound beyond the
	// caller's context and the stall timeout.
	RequestTimeout time.Duration
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
// rec.Scheduled and rec.PromptChars). The outcome is in rec.Err and rec.Class(); Stream
// itself returns nothing so that a failed request is a measured event, not an aborted run.
// A stream that ended properly is still a failure when it carried no token (ErrTokenless)
// or, under ignore_eos, fewer than max_tokens (ErrTruncated).
func (c *Client) Stream(ctx context.Context, req Request, rec *Record) {
	scheduled, promptChars := rec.Scheduled, rec.PromptChars
	rec.Reset()
	rec.Scheduled, rec.PromptChars, rec.ID = scheduled, promptChars, req.ID
	if cap(rec.Chunks) < req.MaxTokens+1 {
		rec.Chunks = make([]Chunk, 0, req.MaxTokens+1) // no growth while timestamps are taken
	}
	rec.Err = c.stream(ctx, req, rec)
	if rec.Err != nil {
		return
	}
	rec.UsageDisagrees = rec.CompletionTokens >= 0 && rec.CompletionTokens < rec.ChunkTokens()
	switch out := rec.OutputTokens(); {
	case len(rec.Chunks) == 0:
		rec.Err = fmt.Errorf("%w: the stream ended properly without content", ErrTokenless)
	case req.IgnoreEOS && c.Dialect != Ollama && out < req.MaxTokens: // Ollama is not sent ignore_eos
		rec.Err = fmt.Errorf("%w: %d of %d tokens", ErrTruncated, out, req.MaxTokens)
	}
}

// watchdog ends a request's context when no byte has arrived for its limit. Reads only
// store the time of their last byte; the timer re-arms itself for the time left, so a
// stream costs one atomic store per read, not a timer reset.
type watchdog struct {
	base   time.Time
	last   atomic.Int64 // nanoseconds since base of the newest byte
	limit  time.Duration
	cancel context.CancelCauseFunc
	timer  atomic.Pointer[time.Timer]
}

// errStallCause is the cause a watchdog cancels with.
var errStallCause = errors.New("stall timeout")

func startWatchdog(limit time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{base: time.Now(), limit: limit, cancel: cancel}
	w.timer.Store(time.AfterFunc(limit, w.check))
	return w
}

func (w *watchdog) check() {
	idle := time.Since(w.base) - time.Duration(w.last.Load())
	if idle >= w.limit {
		w.cancel(errStallCause)
		return
	}
	w.timer.Load().Reset(w.limit - idle)
}

// saw records that bytes arrived at at.
func (w *watchdog) saw(at time.Time) { w.last.Store(int64(at.Sub(w.base))) }

func (w *watchdog) stop() { w.timer.Load().Stop() }

// ctxError says why a request whose context ended stopped: stalled, timed out, or stopped
// by the caller (the run's interrupt or deadline). nil while the context runs.
func ctxError(ctx context.Context, stall time.Duration, url string, chunks int) error {
	if ctx.Err() == nil {
		return nil
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errStallCause):
		if chunks == 0 {
			return fmt.Errorf("%w: no byte from %s for %v (stall timeout) before the first token", ErrStalled, url, stall)
		}
		return fmt.Errorf("%w: no byte from %s for %v (stall timeout) after %d token chunks", ErrStalled, url, stall, chunks)
	case errors.Is(cause, ErrRequestTimeout):
		return fmt.Errorf("%w: %s after %d token chunks", ErrRequestTimeout, url, chunks)
	case errors.Is(cause, ctx.Err()):
		return fmt.Errorf("request to %s stopped after %d token chunks: %w", url, chunks, cause)
	default:
		// A cause of the caller's (an interrupt, the suite's deadline) beside the context's
		// own error, which classifies it.
		return fmt.Errorf("request to %s stopped after %d token chunks: %w: %v", url, chunks, ctx.Err(), cause)
	}
}

func (c *Client) stream(ctx context.Context, req Request, rec *Record) error {
	body, err := c.Body(req)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	if c.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.RequestTimeout, ErrRequestTimeout)
		defer cancel()
	}
	stall := c.StallTimeout
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
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
	dog := startWatchdog(stall, cancel)
	defer dog.stop()
	resp, err := c.HTTP.Do(hreq)
	if err != nil {
		if cerr := ctxError(ctx, stall, url, 0); cerr != nil {
			return cerr
		}
		return fmt.Errorf("%w: POST %s: %w", ErrNoResponse, url, err)
	}
	defer resp.Body.Close()
	headers := time.Now()
	dog.saw(headers)
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
		return &StatusError{URL: url, Code: resp.StatusCode, RetryAfter: ServerText([]byte(resp.Header.Get("Retry-After"))),
			Body: ServerText(msg)}
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		at := time.Now()
		if n > 0 {
			dog.saw(at)
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
			rec.End = at.Sub(rec.Sent)
			if cerr := ctxError(ctx, stall, url, len(rec.Chunks)); cerr != nil {
				return cerr
			}
			return fmt.Errorf("%w: read stream from %s after %d token chunks: %w", ErrIncomplete, url, len(rec.Chunks), rerr)
		}
	}
}
