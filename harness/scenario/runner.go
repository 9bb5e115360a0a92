package scenario

import (
	"time"

	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/shard"
	"github.com/servegate/servegate/harness/slo"
)

// Runner runs scenario points against one target.
type Runner struct {
	Target Target
	// Trials repeats each point; metrics are averaged and given 95% intervals. With Until
	// set, Trials is the most and MinTrials the least: after each trial from MinTrials on,
	// Until sees the point so far and may stop the trials (adaptive trials, -trials=auto),
	// saying why.
	Trials    int
	MinTrials int
	Until     func(sofar results.Point) (stop bool, why string)
	// SLO, if set, is what a request must meet to count toward the points' goodput
	// (request_goodput, slo_attainment_pct); each point records it.
	SLO *slo.SLO
	// RequestTimeout bounds one request; 0 means 10 minutes.
	RequestTimeout time.Duration
	// StallTimeout ends a request on which no byte arrived for this long, before the first
	// or between two (class stalled); 0 means stream.DefaultStallTimeout.
	StallTimeout time.Duration
	// ProbeTimeout bounds each request the runner sends besides the measured ones (the
	// connection-opening health checks, metrics scrapes); 0 means DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// Nonce makes this run's prompts unique, so no cache survives from an earlier run.
	Nonce string
	// Seed drives open-loop schedules.
	Seed uint64
	// Logf prints progress; nil is silent.
	Logf func(format string, args ...any)
	// Progress is how often a long point reports how far it has got; 0 means 10 s.
	Progress time.Duration
	// GPU, when set, is sampling the GPUs; each trial's figures come from its samples.
	GPU *gpu.Sampler
	// ClientProcs, when above 0, is GOMAXPROCS while a trial's requests run. Go polls the
	// network only when a P runs out of goroutines (or every 10 ms): with one P per core and
	// a burst of runnable goroutines, such as a thousand requests starting together on two
	// cores, streams already answered go unread until their next event arrives, and the
	// kernel then dates both by the later one. Ps beyond the cores keep one polling, for
	// about a third more client CPU per token. 0 leaves the process's setting.
	ClientProcs int
	// ProbeEvery is how often the scheduler-lag probe fires; 0 means ProbeEvery.
	ProbeEvery time.Duration
	// Shard, unless whole, runs this process's share of every point's load (its share of
	// the concurrency, or of the arrival schedule) and numbers its requests as one process
	// would; Sync lines the shards up before each trial's warm-up and load. Only shard 0
	// resets the server's cache, and the server's counters, which count every shard's
	// requests, are not reconciled with this shard's.
	Shard shard.Shard
	Sync  shard.Sync

	// countOffset is how many prompt tokens more than its tokenizer endpoint the server's
	// request path counts for the same messages (vLLM renders gpt-oss's chat through
	// Harmony, /tokenize through the chat template), learned from warm-up requests; fits
	// against the tokenizer aim that much below their target.
	countOffset int
}

// DefaultProbeTimeout bounds a probe when the runner sets none: a health check or metrics
// scrape that takes longer than this will not answer.
const DefaultProbeTimeout = 30 * time.Second

func (r *Runner) probeTimeout() time.Duration {
	if r.ProbeTimeout > 0 {
		return r.ProbeTimeout
	}
	return DefaultProbeTimeout
}

func (r *Runner) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}
