package scenario

import (
	"context"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/stream"
)

// Target is a running server the scenarios measure.
type Target struct {
	// Framework names it in results (sim, vllm, sglang, ollama).
	Framework string
	// Model is the name the server serves the model under.
	Model   string
	BaseURL string
	Dialect stream.Dialect
	// Authorization is sent as the Authorization header of every request ("Bearer KEY");
	// "" sends none. It is a credential: nothing writes it.
	Authorization string
	// ContinuousUsage asks for per-chunk usage (exact token counts per chunk).
	ContinuousUsage bool
	// OutputLength is how requests hold their output length; "" leaves it to the model
	// (frameworks.Natural).
	OutputLength frameworks.OutputLength
	// Render returns the token ids of messages as the server's chat template renders
	// them: the prompt of the completions dialect (frameworks.CompletionsIgnoreEOS).
	Render func(ctx context.Context, msgs []stream.Message) ([]int, error)
	// HealthPath answers GET cheaply; the runner uses it to open the connection pool
	// before measuring, so no measured TTFT includes a TCP handshake.
	HealthPath string
	// MetricsPath is the server's Prometheus endpoint and Metrics the names it gives the
	// figures servegate reads; empty when it has none.
	MetricsPath string
	Metrics     frameworks.MetricNames
	// MetricsInterval is how often the server's gauges are sampled while a point runs;
	// 0 means every second.
	MetricsInterval time.Duration
	// Count counts prompt tokens as the server will, or estimates it closely (a
	// calibration); it is called many times per prompt and must be cheap.
	Count prompt.Counter
	// CountTolerance is how far (a fraction of the target) a prompt fitted with Count may
	// land from its target when Count is an estimate and there is no Tokenize: a
	// calibration maps our tokens to the server's in steps, so the exact count may be out
	// of reach. 0 demands it exactly. The server-reported prompt tokens are checked
	// against the target (2%) on every request either way.
	CountTolerance float64
	// Tokenize, when set, asks the server itself: prompts fitted with Count are checked
	// with it and refitted until they are exact.
	Tokenize func(ctx context.Context, msgs []stream.Message) (int, error)
	// NumCtx is sent as Ollama's options.num_ctx on every request (0: not sent); KeepLoaded
	// asks Ollama to keep the model loaded (keep_alive -1).
	NumCtx     int
	KeepLoaded bool
	// ParallelSlots is how many requests the server decodes at once where it has a fixed
	// number and says so (Ollama's runner, in its log; SGLang's schedulers, on
	// /get_server_info; vLLM's --max-num-seqs, on its command line); 0 when unknown or not
	// fixed.
	ParallelSlots int
	// ResetCache empties the server's prefix cache between trials; nil when it has no way.
	ResetCache func(ctx context.Context) error
	// CacheShared, when set, says why the server's cache is not emptied between trials
	// (an attached vLLM outside its development mode, keep_cache): every point's result
	// then says its trials shared a cache.
	CacheShared string
	// Version and Launch describe the server for provenance.
	Version string
	Launch  any
	// Simulated says the target is servegate's simulated engine, not a serving framework:
	// its numbers describe no real server, and everything written says so.
	Simulated bool
}

// lengthMethod is the target's output-length method, Natural where unset.
func (t Target) lengthMethod() frameworks.OutputLength {
	if t.OutputLength == "" {
		return frameworks.Natural
	}
	return t.OutputLength
}
