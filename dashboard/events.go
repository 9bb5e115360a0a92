package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Event is one entry of a Log: an increasing id, a type the page dispatches on, and JSON.
type Event struct {
	ID   int64
	Type string
	Data json.RawMessage
}

// Log is an in-memory, append-only list of events served as server-sent events. A browser
// that connects late is sent every event from the start, then the new ones as they come
// (the k6 web dashboard's design): a page is rebuilt from the log alone, so the server keeps
// no per-page state. Keep bounds the log for sources that never end (the GPU, a server's
// log); a late browser then replays the newest Keep events.
type Log struct {
	keep int

	mu     sync.Mutex
	events []Event
	next   int64
	closed bool
	// wake is closed and replaced on every change, waking every waiting stream at once.
	wake chan struct{}
}

// NewLog returns an empty log keeping the newest keep events (0 keeps all).
func NewLog(keep int) *Log {
	return &Log{keep: keep, next: 1, wake: make(chan struct{})}
}

// Add appends an event whose data is v as JSON. Adding to a closed log does nothing.
func (l *Log) Add(typ string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprintf("unencodable %s event: %v", typ, err))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.events = append(l.events, Event{ID: l.next, Type: typ, Data: b})
	l.next++
	if l.keep > 0 && len(l.events) > l.keep {
		// Copy rather than reslice, so the dropped events' memory is freed.
		l.events = append([]Event(nil), l.events[len(l.events)-l.keep:]...)
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

// Close ends the log: streams send what is left and an "end" event, then finish, and the
// page closes its connection instead of reconnecting.
func (l *Log) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.events = append(l.events, Event{ID: l.next, Type: "end", Data: json.RawMessage("{}")})
	l.next++
	l.closed = true
	close(l.wake)
}

// After returns the kept events with an id above id, a channel closed at the next change,
// and whether the log is closed.
func (l *Log) After(id int64) ([]Event, <-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := len(l.events)
	for i > 0 && l.events[i-1].ID > id {
		i--
	}
	return append([]Event(nil), l.events[i:]...), l.wake, l.closed
}

// heartbeat keeps idle streams alive through proxies and lets a dead connection be noticed.
const heartbeat = 15 * time.Second

// ServeHTTP streams the log as text/event-stream: from the start, or after the id in the
// Last-Event-ID header that a reconnecting EventSource sends, so nothing repeats.
func (l *Log) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported by this connection", http.StatusInternalServerError)
		return
	}
	var last int64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			http.Error(w, "Last-Event-ID: want an event id", http.StatusBadRequest)
			return
		}
		last = n
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		evs, wake, closed := l.After(last)
		for _, e := range evs {
			// Data is one line of JSON (json.Marshal escapes newlines), as SSE requires.
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, e.Data); err != nil {
				return
			}
			last = e.ID
		}
		flusher.Flush()
		if closed {
			return
		}
		select {
		case <-wake:
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
}
