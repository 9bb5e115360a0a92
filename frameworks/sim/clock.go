package sim

import (
	"time"

	"golang.org/x/sys/unix"
)

// Times inside one process are compared on Go's monotonic clock. Across processes Go's
// monotonic readings are private to each, and the wall clock may be slewed by NTP while a
// run lasts, so the simulator serves its truth on the system's CLOCK_MONOTONIC, which all
// processes on a machine share. Each process converts with an anchor pair read together.

var anchorTime, anchorMono = readAnchor()

// readAnchor pairs a time.Now reading with a CLOCK_MONOTONIC one. The clock_gettime
// system call takes a while, and a process starting on a busy machine may be preempted
// across it, which would offset every time the simulator serves by as much: the pair kept
// is the one bracketed most tightly by two time.Now readings, dated at their midpoint.
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

// MonoTruth is RequestTruth with every time as CLOCK_MONOTONIC nanoseconds: the form the
// simulator serves at GET /sim/truth/{id}.
type MonoTruth struct {
	ID           string     `json:"id"`
	Received     int64      `json:"received_ns,omitempty"`
	Arrived      int64      `json:"arrived_ns"`
	Admitted     int64      `json:"admitted_ns"`
	PromptTokens int        `json:"prompt_tokens"`
	CachedTokens int        `json:"cached_tokens"`
	Generated    []int64    `json:"generated_ns"`
	Emitted      []MonoEmit `json:"emitted"`
	EarlyStop    bool       `json:"early_stop"`
	Fault        Fault      `json:"fault,omitempty"`
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
func (t RequestTruth) Mono() MonoTruth {
	m := MonoTruth{ID: t.ID, Received: monoOrZero(t.Received), Arrived: monoOrZero(t.Arrived), Admitted: monoOrZero(t.Admitted),
		PromptTokens: t.PromptTokens, CachedTokens: t.CachedTokens, EarlyStop: t.EarlyStop, Fault: t.Fault, Finished: monoOrZero(t.Finished)}
	for _, g := range t.Generated {
		m.Generated = append(m.Generated, SystemMonotonic(g))
	}
	for _, e := range t.Emitted {
		m.Emitted = append(m.Emitted, MonoEmit{At: SystemMonotonic(e.At), Done: monoOrZero(e.Done), Tokens: e.Tokens})
	}
	return m
}

// Local converts m back to a RequestTruth in this process's clock.
func (m MonoTruth) Local() RequestTruth {
	t := RequestTruth{ID: m.ID, Received: timeOrZero(m.Received), Arrived: timeOrZero(m.Arrived), Admitted: timeOrZero(m.Admitted),
		PromptTokens: m.PromptTokens, CachedTokens: m.CachedTokens, EarlyStop: m.EarlyStop, Fault: m.Fault, Finished: timeOrZero(m.Finished)}
	for _, g := range m.Generated {
		t.Generated = append(t.Generated, FromSystemMonotonic(g))
	}
	for _, e := range m.Emitted {
		t.Emitted = append(t.Emitted, Emit{At: FromSystemMonotonic(e.At), Done: timeOrZero(e.Done), Tokens: e.Tokens})
	}
	return t
}
