package scenario

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPacedClientCPU measures what the client spends per streamed token against the
// simulator's paced streams (a decode step every 3-24 ms, as a serving engine paces them,
// not back to back as BenchmarkClientOverhead sends them), at concurrency 1, 256 and
// 1,024: the process's CPU time over the measured requests per output token
// (client_cpu_us_per_token), with the scheduler-lag probe at its period (ProbeEvery), at
// the 1 ms it had before, and off. The simulator runs as its own process on one core.
func BenchmarkPacedClientCPU(b *testing.B) {
	for _, c := range []struct {
		streams, requests, tokens int
	}{{1, 4, 256}, {256, 256, 64}, {1024, 1024, 32}} {
		for _, probe := range []struct {
			name  string
			every time.Duration
		}{{"probe", ProbeEvery}, {"probe-1ms", time.Millisecond}, {"no-probe", time.Hour}} {
			b.Run(fmt.Sprintf("c%d/%s", c.streams, probe.name), func(b *testing.B) {
				target, _ := startSimProcess(b, "-max-batch", strconv.Itoa(max(c.streams, 256)))
				p := Point{Name: fmt.Sprintf("c%d", c.streams), Concurrency: c.streams, InputTokens: 128, OutputTokens: c.tokens,
					Requests: c.requests, Prompts: Plain}
				var cpu, tokens float64
				for i := 0; i < b.N; i++ {
					tr := runWith(b, &Runner{Target: target, ProbeEvery: probe.every}, p)
					cpu += tr.Extra["client_cpu_sec"]
					tokens += tr.Summary.Values["total_output_tokens"]
				}
				b.ReportMetric(1e6*cpu/tokens, "cpu-µs/token")
			})
		}
	}
}
