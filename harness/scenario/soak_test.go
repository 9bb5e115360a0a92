//go:build soak

package scenario

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soakSample is the client process's state at one moment of the soak.
type soakSample struct {
	at                time.Duration
	goroutines, files int
	heapMB, rssMB     float64
	requests          int64
}

func sampleSoak(start time.Time, requests int64) soakSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := soakSample{at: time.Since(start), goroutines: runtime.NumGoroutine(), heapMB: float64(ms.HeapInuse) / (1 << 20),
		requests: requests}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.files = len(fds)
	}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.Atoi(f[1])
			s.rssMB = float64(pages*os.Getpagesize()) / (1 << 20)
		}
	}
	return s
}

// TestSoak runs 256 streams in a closed loop against the simulator (its own process)
// injecting every per-request fault, for SERVEGATE_SOAK_DURATION (default 10m): make soak.
// It checks that nothing is lost (every request sent has one class, and each class's count
// is what the simulator says it did) and that the client's goroutines, open files and
// memory stay flat, and prints those figures over the run.
func TestSoak(t *testing.T) {
	duration := 10 * time.Minute
	if v := os.Getenv("SERVEGATE_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "SERVEGATE_SOAK_DURATION")
		duration = d
	}
	const streams, rate = 256, "0.002"
	target, _ := startSimProcess(t, "-max-batch", "256",
		"-fault-error-rate", rate, "-fault-rate-limit-rate", rate, "-fault-cut-rate", rate, "-fault-stall-rate", rate,
		"-fault-error-event-rate", rate, "-fault-tokenless-rate", rate, "-fault-short-rate", rate)
	client := &stream.Client{HTTP: stream.NewHTTPClient(streams), BaseURL: target.BaseURL, Dialect: stream.OpenAI,
		Model: target.Model, ContinuousUsage: true, StallTimeout: 5 * time.Second, RequestTimeout: time.Minute}

	var sent atomic.Int64
	var mu sync.Mutex
	classes := map[stream.Class]int{}
	start := time.Now()
	end := start.Add(duration)
	var wg sync.WaitGroup
	for w := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rec stream.Record
			local := map[stream.Class]int{}
			for i := 0; time.Now().Before(end); i++ {
				n := sent.Add(1)
				req := stream.Request{ID: fmt.Sprintf("soak-%d-%d", w, i), MaxTokens: 32, IgnoreEOS: true,
					Messages: []stream.Message{{Role: "user", Content: fmt.Sprintf("Soak request %d: say something about the number %d.", n, n)}}}
				client.Stream(context.Background(), req, &rec)
				local[rec.Class()]++
			}
			mu.Lock()
			for c, k := range local {
				classes[c] += k
			}
			mu.Unlock()
		}()
	}
	// Sample the client every 10 s; forget the simulator's per-request truth as often, so
	// its memory stays bounded too.
	var samples []soakSample
	tick := time.NewTicker(10 * time.Second)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
sampling:
	for {
		select {
		case <-tick.C:
			samples = append(samples, sampleSoak(start, sent.Load()))
			if req, err := http.NewRequest(http.MethodDelete, target.BaseURL+"/sim/truth", nil); err == nil {
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		case <-done:
			break sampling
		}
	}
	tick.Stop()
	client.HTTP.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	final := sampleSoak(start, sent.Load())

	// Figures, as README quotes them.
	t.Logf("soak: %d streams for %v, %d requests (%.0f/s)", streams, duration, sent.Load(), float64(sent.Load())/time.Since(start).Seconds())
	t.Logf("%8s %10s %6s %6s %8s %8s", "at", "requests", "gorout", "files", "heap MB", "RSS MB")
	for i, s := range samples {
		if i%6 == 5 || i == 0 || i == len(samples)-1 {
			t.Logf("%8v %10d %6d %6d %8.1f %8.1f", s.at.Round(time.Second), s.requests, s.goroutines, s.files, s.heapMB, s.rssMB)
		}
	}
	t.Logf("%8s %10d %6d %6d %8.1f %8.1f", "after", final.requests, final.goroutines, final.files, final.heapMB, final.rssMB)
	t.Logf("classes: %v", classes)

	// Nothing lost: every request has a class, and the classes are what the server did.
	total := 0
	for _, n := range classes {
		total += n
	}
	assert.Equal(t, int(sent.Load()), total, "every request sent has exactly one class")
	finished, faults := serverCounts(t, target.BaseURL)
	t.Logf("server: %d finished, faults %v", finished, faults)
	for fault, class := range classOf {
		if fault == "" {
			continue
		}
		assert.Equal(t, faults[fault], classes[class], "%s: injected %d, classified %s %d", fault, faults[fault], class, classes[class])
		assert.Positive(t, faults[fault], "%s was injected", fault)
	}
	assert.Equal(t, finished, classes[stream.Succeeded]+classes[stream.Truncated], "streams the server finished")
	for _, c := range []stream.Class{stream.Cancelled, stream.NoResponse, stream.Malformed, stream.TimedOut} {
		assert.Zero(t, classes[c], "no request is %s", c)
	}

	// Flat: the last minute's figures against the first minute's (after a minute of
	// warming up), and everything the streams held released at the end.
	require.GreaterOrEqual(t, len(samples), 12, "a soak of at least two minutes")
	first, last := samples[6:12], samples[len(samples)-6:]
	peak := func(ss []soakSample, f func(soakSample) float64) float64 {
		m := 0.0
		for _, s := range ss {
			m = max(m, f(s))
		}
		return m
	}
	gor := func(s soakSample) float64 { return float64(s.goroutines) }
	fds := func(s soakSample) float64 { return float64(s.files) }
	heap := func(s soakSample) float64 { return s.heapMB }
	assert.LessOrEqual(t, peak(last, gor), peak(first, gor)+32, "goroutines grow")
	assert.LessOrEqual(t, peak(last, fds), peak(first, fds)+16, "open files grow")
	assert.LessOrEqual(t, peak(last, heap), 1.25*peak(first, heap)+8, "memory grows")
	assert.Eventually(t, func() bool { return runtime.NumGoroutine() < 32 }, 10*time.Second, 100*time.Millisecond,
		"goroutines left after the streams ended: %d", runtime.NumGoroutine())
}
