package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/servegate/servegate/internal/truth"
)

// Emit is one write of a stream (truth.Emit).
type Emit = truth.Emit

// RequestTruth is what the simulator knows about one request (truth.Request).
type RequestTruth = truth.Request

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
