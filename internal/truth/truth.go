// Package truth is what a test server knows about each request it served (when it
// arrived, when every token was generated and written) and the form that crosses process
// boundaries, on the CLOCK_MONOTONIC every process of a machine shares. The simulator
// records it; tests compare what the harness measured with it. Neither imports the other.
package truth

import (
	"time"

	"golang.org/x/sys/unix"
)

// Emit is one write of a stream: when the server handed the bytes to the connection,
// when that write returned, and how many output tokens they carried. The bytes became
// readable somewhere between At and Done; under load (a thousand goroutines writing on
// one core) the two can be milliseconds apart, and that is the server's own
// uncertainty, not the client's lag.
type Emit struct {
	At, Done time.Time
	Tokens   int
}

// Request is what the server knows about one request: when it arrived, when each
// token was generated and when each was written. A perfect client would see every Emit at
// its At; what a harness measures beyond that is client and network delay.
type Request struct {
	ID string
	// Received is when the request's first byte reached the server's socket: the
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
	// Fault names the misbehaviour the server injected into the request (the simulator's
	// fault names: "error", "stall", ...); empty for none.
	Fault string
	// Finished is when the handler wrote the end of the stream.
	Finished time.Time
}

// TTFT is the true time to first token as a client sees it: from when the request
// reached the server (Received, else Arrived) to the first token's write.
func (t *Request) TTFT() time.Duration {
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
func (t *Request) OutputTokens() int {
	n := 0
	for _, e := range t.Emitted {
		n += e.Tokens
	}
	return n
}

// Times inside one process are compared on Go's monotonic clock. Across processes Go's
// monotonic readings are private to each, and the wall clock may be slewed by NTP while a
// run lasts, so a server serves its truth on the system's CLOCK_MONOTONIC, which all
// processes on a machine share. Each process converts with an anchor pair read together.

var anchorTime, anchorMono = readAnchor()

// readAnchor pairs a time.Now reading with a CLOCK_MONOTONIC one. The clock_gettime
// system call takes a while, and a process starting on a busy machine may be preempted
// across it, which would offset every time converted by as much: the pair kept is the one
// bracketed most tightly by two time.Now readings, dated at their midpoint.
func readAnchor() (time.Time, int64) {
	var t time.Time
	var mono int64
	best := time.Duration(1<<63 - 1)
	for range 64 {
		var ts unix.Timespec
		before := time.Now()
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		if d := time.Since(before); d < best {
			best, t, mono = d, before.Add(d/2), ts.Nano()
		}
	}
	return t, mono
}

// SystemMonotonic converts t, read with time.Now in this process, to CLOCK_MONOTONIC
// nanoseconds.
func SystemMonotonic(t time.Time) int64 { return anchorMono + int64(t.Sub(anchorTime)) }

// FromSystemMonotonic converts CLOCK_MONOTONIC nanoseconds to a time in this process's
// clock, comparable with times from time.Now.
func FromSystemMonotonic(ns int64) time.Time { return anchorTime.Add(time.Duration(ns - anchorMono)) }

// Mono is Request with every time as CLOCK_MONOTONIC nanoseconds: the form the
// simulator serves at GET /sim/truth/{id}.
type Mono struct {
	ID           string     `json:"id"`
	Received     int64      `json:"received_ns,omitempty"`
	Arrived      int64      `json:"arrived_ns"`
	Admitted     int64      `json:"admitted_ns"`
	PromptTokens int        `json:"prompt_tokens"`
	CachedTokens int        `json:"cached_tokens"`
	Generated    []int64    `json:"generated_ns"`
	Emitted      []MonoEmit `json:"emitted"`
	EarlyStop    bool       `json:"early_stop"`
	Fault        string     `json:"fault,omitempty"`
	Finished     int64      `json:"finished_ns"`
}

// MonoEmit is Emit on CLOCK_MONOTONIC.
type MonoEmit struct {
	At     int64 `json:"at_ns"`
	Done   int64 `json:"done_ns,omitempty"`
	Tokens int   `json:"tokens"`
}

func monoOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return SystemMonotonic(t)
}

func timeOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return FromSystemMonotonic(ns)
}

// Mono converts t for another process.
func (t Request) Mono() Mono {
	m := Mono{ID: t.ID, Received: monoOrZero(t.Received), Arrived: monoOrZero(t.Arrived), Admitted: monoOrZero(t.Admitted),
		PromptTokens: t.PromptTokens, CachedTokens: t.CachedTokens, EarlyStop: t.EarlyStop, Fault: t.Fault, Finished: monoOrZero(t.Finished)}
	for _, g := range t.Generated {
		m.Generated = append(m.Generated, SystemMonotonic(g))
	}
	for _, e := range t.Emitted {
		m.Emitted = append(m.Emitted, MonoEmit{At: SystemMonotonic(e.At), Done: monoOrZero(e.Done), Tokens: e.Tokens})
	}
	return m
}

// Local converts m back to a Request in this process's clock.
func (m Mono) Local() Request {
	t := Request{ID: m.ID, Received: timeOrZero(m.Received), Arrived: timeOrZero(m.Arrived), Admitted: timeOrZero(m.Admitted),
		PromptTokens: m.PromptTokens, CachedTokens: m.CachedTokens, EarlyStop: m.EarlyStop, Fault: m.Fault, Finished: timeOrZero(m.Finished)}
	for _, g := range m.Generated {
		t.Generated = append(t.Generated, FromSystemMonotonic(g))
	}
	for _, e := range m.Emitted {
		t.Emitted = append(t.Emitted, Emit{At: FromSystemMonotonic(e.At), Done: timeOrZero(e.Done), Tokens: e.Tokens})
	}
	return t
}
