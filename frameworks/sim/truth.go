package sim

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Emit is one write of a stream: when the simulator handed the bytes to the connection,
// when that write returned, and how many output tokens they carried. The bytes became
// readable somewhere between At and Done; under load (a thousand goroutines writing on
// one core) the two can be milliseconds apart, and that is the simulator's own
// uncertainty, not the client's lag.
type Emit struct {
	At, Done time.Time
	Tokens   int
}

// RequestTruth is what the simulator knows about one request: when it arrived, when each
// token was generated and when each was written. A perfect client would see every Emit at
// its At; what a harness measures beyond that is client and network delay.
type RequestTruth struct {
	ID string
	// Received is when the request's first byte reached the simulator's socket: the
	// kernel's receive timestamp on Linux, elsewhere when the server read it.
	Received time.Time
	// Arrived is when the request's headers reached the handler. Under load the server's
	// own intake (accepting, reading, decoding a thousand requests) separates the two.
	Arrived time.Time
	// Admitted is when the scheduler took it into the running batch.
	Admitted time.Time
	// PromptTokens is the templated prompt length; CachedTokens how many came from the
	// prefix cache.
	PromptTokens, CachedTokens int
	// Generated holds the end of the engine step that produced each output token.
	Generated []time.Time
	// Emitted holds each write of token-bearing events.
	Emitted []Emit
	// EarlyStop is true when the request ended at a simulated EOS before max tokens.
	EarlyStop bool
	// Fault is the misbehaviour injected into the request (Faults); empty for none.
	Fault Fault
	// Finished is when the handler wrote the end of the stream.
	Finished time.Time
}

// TTFT is the true time to first token as a client sees it: from when the request
// reached the server (Received, else Arrived) to the first token's write.
func (t *RequestTruth) TTFT() time.Duration {
	if len(t.Emitted) == 0 {
		return 0
	}
	from := t.Received
	if from.IsZero() {
		from = t.Arrived
	}
	return t.Emitted[0].At.Sub(from)
}

// OutputTokens is the number of tokens written.
func (t *RequestTruth) OutputTokens() int {
	n := 0
	for _, e := range t.Emitted {
		n += e.Tokens
	}
	return n
}

type truthEntry struct {
	done chan struct{}
	t    RequestTruth
}

// truthLog keeps the truth of every request by id.
type truthLog struct {
	mu      sync.Mutex
	entries map[string]*truthEntry
}

func (l *truthLog) start(id string, received, arrived time.Time) *truthEntry {
	e := &truthEntry{done: make(chan struct{}), t: RequestTruth{ID: id, Received: received, Arrived: arrived}}
	l.mu.Lock()
	if l.entries == nil {
		l.entries = map[string]*truthEntry{}
	}
	l.entries[id] = e
	l.mu.Unlock()
	return e
}

// get waits until the request with id has finished, then returns its truth.
func (l *truthLog) get(ctx context.Context, id string) (RequestTruth, error) {
	l.mu.Lock()
	e, ok := l.entries[id]
	l.mu.Unlock()
	if !ok {
		return RequestTruth{}, fmt.Errorf("sim has no request with id %q (was X-Request-Id sent?)", id)
	}
	select {
	case <-e.done:
		return e.t, nil
	case <-ctx.Done():
		return RequestTruth{}, fmt.Errorf("wait for sim request %q to finish: %w", id, ctx.Err())
	}
}

func (l *truthLog) reset() {
	l.mu.Lock()
	l.entries = nil
	l.mu.Unlock()
}
