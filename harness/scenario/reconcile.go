package scenario

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
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

// reconcile compares what the server says about its own work with what the client
// measured: token totals must agree exactly; the difference in TTFT is the network and
// client overhead. It adds metrics to values and returns warnings for disagreements.
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
			clientTTFT += msf(rec.TTFT())
			clientTTFTn++
		}
	}
	prefix := r.Target.MetricsPrefix
	delta := func(name string) (float64, bool) {
		a, okA := after[prefix+name]
		b, okB := before[prefix+name]
		return a - b, okA && okB
	}
	if gen, ok := delta("generation_tokens_total"); ok {
		values["server_generation_tokens"] = gen
		if int(gen) != clientOut {
			warns = append(warns, fmt.Sprintf("server /metrics counted %d generation tokens during the point; the client counted %d", int(gen), clientOut))
		}
	}
	if prompt, ok := delta("prompt_tokens_total"); ok {
		values["server_prompt_tokens"] = prompt
		if int(prompt) != clientIn {
			warns = append(warns, fmt.Sprintf("server /metrics counted %d prompt tokens during the point; the client's requests report %d", int(prompt), clientIn))
		}
	}
	sum, okS := delta("time_to_first_token_seconds_sum")
	cnt, okC := delta("time_to_first_token_seconds_count")
	serverTTFT, serverN := 0.0, 0
	if okS && okC && cnt > 0 {
		serverTTFT, serverN = 1000*sum/cnt, int(cnt)
	}
	// Ollama reports its own durations on every response.
	var ollamaTTFT float64
	var ollamaN, mismatched int
	for i := range recs {
		rec := &recs[i]
		if rec.Server == nil || !rec.OK() {
			continue
		}
		ollamaTTFT += msf(rec.Server.Load + rec.Server.PromptEval)
		ollamaN++
		if rec.CompletionTokens >= 0 && rec.CompletionTokens != rec.ChunkTokens() {
			mismatched++
		}
	}
	if ollamaN > 0 {
		serverTTFT, serverN = ollamaTTFT/float64(ollamaN), ollamaN
		if mismatched > 0 {
			warns = append(warns, fmt.Sprintf("%d of %d responses report an eval_count different from the tokens streamed", mismatched, ollamaN))
		}
	}
	if serverN > 0 && clientTTFTn > 0 {
		values["server_avg_ttft_ms"] = serverTTFT
		values["ttft_overhead_ms"] = clientTTFT/float64(clientTTFTn) - serverTTFT
	}
	return warns
}
