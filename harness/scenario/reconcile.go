package scenario

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/stream"
)

// counters holds a Prometheus scrape: each counter, gauge or untyped value summed over its
// label sets, and each histogram as name_sum and name_count.
type counters map[string]float64

// scrape reads the target's Prometheus endpoint; nil when it has none.
func (r *Runner) scrape(ctx context.Context) (counters, error) {
	if r.Target.MetricsPath == "" {
		return nil, nil
	}
	url := strings.TrimSuffix(r.Target.BaseURL, "/") + r.Target.MetricsPath
	ctx, cancel := context.WithTimeout(ctx, r.probeTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := stream.Authorize(http.DefaultClient, r.Target.Authorization).Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: HTTP %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	c := counters{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				c[name] += m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				c[name] += m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				c[name+"_sum"] += m.GetHistogram().GetSampleSum()
				c[name+"_count"] += float64(m.GetHistogram().GetSampleCount())
			default:
				c[name] += m.GetUntyped().GetValue()
			}
		}
	}
	return c, nil
}

// find returns the first of names the scrape holds.
func (c counters) find(names []string) (string, bool) {
	for _, n := range names {
		if _, ok := c[n]; ok {
			return n, true
		}
	}
	return "", false
}

// gauges samples the server's gauges while a point runs: their peaks say how full the
// server was (running and waiting requests, KV-cache usage), which a scrape before and
// after the point, both at idle, cannot. A point shorter than the interval has no sample
// and reports no peaks rather than idle zeros.
type gauges struct {
	names frameworks.MetricNames
	mu    sync.Mutex
	peak  map[string]float64
	sum   map[string]float64
	n     map[string]int
	stop  chan struct{}
	done  chan struct{}
}

// watch scrapes every interval until the returned gauges are finished.
func (r *Runner) watch(ctx context.Context, every time.Duration) *gauges {
	g := &gauges{names: r.Target.Metrics, peak: map[string]float64{}, sum: map[string]float64{}, n: map[string]int{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(g.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if c, err := r.scrape(ctx); err == nil {
					g.add(c)
				}
			case <-g.stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return g
}

func (g *gauges) add(c counters) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for key, names := range map[string][]string{"kv": g.names.KVCacheUsage, "running": g.names.Running,
		"waiting": g.names.Waiting, "hitrate": g.names.PrefixHitRate} {
		if name, ok := c.find(names); ok {
			v := c[name]
			if _, seen := g.peak[key]; !seen || v > g.peak[key] {
				g.peak[key] = v
			}
			g.sum[key] += v
			g.n[key]++
		}
	}
}

// finish stops sampling and adds the peaks to values.
func (g *gauges) finish(values map[string]float64) {
	close(g.stop)
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	if v, ok := g.peak["kv"]; ok {
		values["server_kv_cache_usage_peak_pct"] = 100 * v
	}
	if v, ok := g.peak["running"]; ok {
		values["server_running_peak"] = v
	}
	if v, ok := g.peak["waiting"]; ok {
		values["server_waiting_peak"] = v
		values["server_waiting_mean"] = g.sum["waiting"] / float64(g.n["waiting"])
	}
	if n := g.n["hitrate"]; n > 0 {
		if _, counted := values["server_prefix_cache_hit_rate"]; !counted {
			values["server_prefix_cache_hit_rate"] = g.sum["hitrate"] / float64(n)
		}
	}
}

// reconcile compares what the server says about its own work with what the client
// measured: token totals must agree exactly; the difference in TTFT is the network and
// client overhead. It adds the server's counter deltas to values (tokens, prefix-cache
// hits, preemptions) and returns warnings for disagreements.
func (r *Runner) reconcile(before, after counters, recs []stream.Record, values map[string]float64) []string {
	var warns []string
	var clientOut, clientIn, clientTTFTn int
	var clientTTFT float64
	for i := range recs {
		rec := &recs[i]
		if len(rec.Chunks) == 0 && rec.CompletionTokens < 0 {
			continue
		}
		clientOut += rec.OutputTokens()
		if rec.PromptTokens > 0 {
			clientIn += rec.PromptTokens
		}
		if len(rec.Chunks) > 0 {
			clientTTFT += results.Ms(rec.TTFT())
			clientTTFTn++
		}
	}
	names := r.Target.Metrics
	// Counters and histograms count from zero: one the server first exposed during the
	// point (SGLang's, in prometheus_client's multiprocess mode, appear only once
	// incremented) started there at zero.
	delta := func(candidates []string, suffix string) (float64, bool) {
		for _, n := range candidates {
			if a, ok := after[n+suffix]; ok {
				return a - before[n+suffix], true
			}
		}
		return 0, false
	}
	if gen, ok := delta(names.GenerationTokens, ""); ok {
		values["server_generation_tokens"] = gen
		if int(gen) != clientOut {
			warns = append(warns, fmt.Sprintf("server /metrics counted %d generation tokens during the point; the client counted %d", int(gen), clientOut))
		}
	}
	if prompt, ok := delta(names.PromptTokens, ""); ok {
		values["server_prompt_tokens"] = prompt
		if int(prompt) != clientIn {
			warns = append(warns, fmt.Sprintf("server /metrics counted %d prompt tokens during the point; the client's requests report %d", int(prompt), clientIn))
		}
	}
	if q, ok := delta(names.PrefixQueries, ""); ok && q > 0 {
		if h, ok := delta(names.PrefixHits, ""); ok {
			values["server_prefix_cache_hit_rate"] = h / q
		}
	}
	if p, ok := delta(names.Preemptions, ""); ok {
		values["server_preemptions"] = p
	}
	sum, okS := delta(names.TTFT, "_sum")
	cnt, okC := delta(names.TTFT, "_count")
	serverTTFT, serverN := 0.0, 0
	if okS && okC && cnt > 0 {
		serverTTFT, serverN = 1000*sum/cnt, int(cnt)
	}
	// Ollama reports its own durations on every response, and its eval_count is the output
	// count. It may exceed the lines that carried text: Ollama sends no line for a token
	// its parsers hold or consume (a thinking model's closing tag, a partial UTF-8
	// character or stop sequence), so only a count below the lines streamed disagrees.
	var ollamaTTFT float64
	var ollamaN, undercounted int
	for i := range recs {
		rec := &recs[i]
		if rec.Server == nil || !rec.OK() {
			continue
		}
		ollamaTTFT += results.Ms(rec.Server.Load + rec.Server.PromptEval)
		ollamaN++
		if rec.CompletionTokens >= 0 && rec.CompletionTokens < rec.ChunkTokens() {
			undercounted++
		}
	}
	if ollamaN > 0 {
		serverTTFT, serverN = ollamaTTFT/float64(ollamaN), ollamaN
		if undercounted > 0 {
			warns = append(warns, fmt.Sprintf("%d of %d responses report an eval_count below the token lines streamed", undercounted, ollamaN))
		}
	}
	if serverN > 0 && clientTTFTn > 0 {
		values["server_avg_ttft_ms"] = serverTTFT
		values["ttft_overhead_ms"] = clientTTFT/float64(clientTTFTn) - serverTTFT
	}
	return warns
}
