package metrics

import (
	"math"
	"slices"
	"time"

	"github.com/servegate/servegate/harness/stream"
)

// ITL bases: how token-normalised inter-token latency was derived.
const (
	// ITLExact: every chunk's token count is known (server usage per chunk, or one event
	// per token confirmed by the server's total).
	ITLExact = "exact_tokens_per_chunk"
	// ITLEstimated: chunk counts and the server's total disagree and per-chunk counts are
	// unknown, so each gap is divided by the mean tokens per chunk.
	ITLEstimated = "estimated_from_chunk_count"
)

// Summary is what Compute returns for one set of records.
type Summary struct {
	// Values maps metric names (see Definitions) to values.
	Values map[string]float64
	// ITLBasis says how itl_ms was derived.
	ITLBasis string
	// Errors counts failed requests by error message.
	Errors map[string]int
	// Classes counts failed requests by class (stream.Class). Cancelled requests, which
	// the run stopped, are counted here but left out of every other figure.
	Classes map[stream.Class]int
	// UsageDisagreements counts successful requests whose server-reported output count was
	// below the tokens their stream carried; their output tokens are the stream's count.
	UsageDisagreements int
	// ServerCounted counts successful requests whose output tokens are the server's count.
	ServerCounted int
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// put writes the statistics (DistributionStats) of the distribution name (one of
// Distributions).
func put(v map[string]float64, name string, xs []float64) {
	if len(xs) == 0 {
		return
	}
	d := Describe(xs)
	v["avg_"+name] = d.Mean
	v["std_"+name] = d.Std
	v["min_"+name] = d.Min
	v["max_"+name] = d.Max
	v["p50_"+name] = d.P50
	v["p90_"+name] = d.P90
	v["p95_"+name] = d.P95
	v["p99_"+name] = d.P99
}

// Compute derives a scenario point's metrics from its measured records (warm-up excluded).
// The measurement window runs from the earliest scheduled (or sent) time to the last token
// of any request.
func Compute(records []stream.Record) Summary {
	v := map[string]float64{}
	s := Summary{Values: v, ITLBasis: ITLExact, Errors: map[string]int{}, Classes: map[stream.Class]int{}}
	var ttft, ttfat, lat, itl, gaps, tpot, ttftQ, latQ, queue, readLag []float64
	var start, end time.Time
	var inTok, outTok, outChars, promptChars, ok, stamped, reasoned, answered int
	var busy time.Duration
	type edge struct {
		at time.Time
		d  int
	}
	var edges []edge
	n := 0
	for i := range records {
		r := &records[i]
		if r.Class() == stream.Cancelled {
			// Stopped by the run itself: the server had no part in it.
			s.Classes[stream.Cancelled]++
			continue
		}
		n++
		begin := r.Sent
		if !r.Scheduled.IsZero() {
			begin = r.Scheduled
		}
		if !begin.IsZero() && (start.IsZero() || begin.Before(start)) {
			start = begin
		}
		if !r.Sent.IsZero() {
			fin := r.Sent.Add(max(r.End, r.Latency()))
			if fin.After(end) {
				end = fin
			}
			edges = append(edges, edge{r.Sent, 1}, edge{fin, -1})
		}
		if !r.OK() {
			msg := stream.ErrTokenless.Error()
			if r.Err != nil {
				msg = r.Err.Error()
			}
			s.Errors[msg]++
			s.Classes[r.Class()]++
			continue
		}
		ok++
		if r.UsageDisagrees {
			s.UsageDisagreements++
		} else if r.CompletionTokens >= 0 {
			s.ServerCounted++
		}
		out := r.OutputTokens()
		outTok += out
		if r.PromptTokens > 0 {
			inTok += r.PromptTokens
		}
		outChars += r.OutputChars
		promptChars += r.PromptChars
		t, l := r.TTFT(), r.Latency()
		busy += l
		ttft = append(ttft, ms(t))
		if a, answeredHere := r.TTFAT(); answeredHere {
			ttfat = append(ttfat, ms(a))
			answered++
		}
		if r.ReasoningTokens > 0 {
			reasoned++
		}
		lat = append(lat, ms(l))
		ttftQ = append(ttftQ, ms(t+r.QueueDelay()))
		latQ = append(latQ, ms(l+r.QueueDelay()))
		queue = append(queue, ms(r.QueueDelay()))
		if out > 1 {
			tpot = append(tpot, ms(l-t)/float64(out-1))
		}
		for _, c := range r.Chunks {
			readLag = append(readLag, ms(c.Lag))
		}
		if r.KernelStamps {
			stamped++
		}
		chunkTok := r.ChunkTokens()
		exact := r.TokenSource == stream.FromUsage || chunkTok == out
		rate := 1.0
		if !exact && len(r.Chunks) > 1 {
			s.ITLBasis = ITLEstimated
			rate = float64(out-r.Chunks[0].Tokens) / float64(len(r.Chunks)-1)
		}
		for k := 1; k < len(r.Chunks); k++ {
			g := ms(r.Chunks[k].Offset - r.Chunks[k-1].Offset)
			gaps = append(gaps, g)
			if exact {
				n := max(r.Chunks[k].Tokens, 1)
				for range n {
					itl = append(itl, g/float64(n))
				}
			} else if rate > 0 {
				itl = append(itl, g/rate)
			}
		}
	}
	put(v, "ttft_ms", ttft)
	put(v, "ttfat_ms", ttfat)
	if reasoned > 0 {
		// With reasoning in the streams, say how many got as far as an answer within
		// their token budget: ttfat_ms describes only those.
		v["answered_pct"] = 100 * float64(answered) / float64(ok)
	}
	put(v, "latency_ms", lat)
	put(v, "itl_ms", itl)
	put(v, "chunk_gap_ms", gaps)
	put(v, "tpot_ms", tpot)
	put(v, "ttft_incl_queue_ms", ttftQ)
	put(v, "latency_incl_queue_ms", latQ)
	put(v, "queue_ms", queue)
	if ok > 0 && len(ttft) > 1 {
		// The first request against a cold cache vs the rest (meaningful when requests run
		// one after another, as in prefix_cache).
		v["first_ttft_ms"] = ttft[0]
		var sum float64
		for _, x := range ttft[1:] {
			sum += x
		}
		v["rest_avg_ttft_ms"] = sum / float64(len(ttft)-1)
	}
	if ok > 0 {
		slices.Sort(readLag)
		v["client_read_lag_p99_ms"] = Percentile(readLag, 99)
		v["client_kernel_stamped_pct"] = 100 * float64(stamped) / float64(ok)
	}
	v["successful_requests"] = float64(ok)
	v["failed_requests"] = float64(n - ok)
	if n > 0 {
		v["success_rate"] = 100 * float64(ok) / float64(n)
	}
	v["total_input_tokens"] = float64(inTok)
	v["total_output_tokens"] = float64(outTok)
	if ok > 0 {
		v["mean_input_tokens"] = float64(inTok) / float64(ok)
		v["mean_output_tokens"] = float64(outTok) / float64(ok)
	}
	if outChars > 0 {
		v["output_tokens_per_char"] = float64(outTok) / float64(outChars)
	}
	if promptChars > 0 && inTok > 0 {
		v["input_tokens_per_char"] = float64(inTok) / float64(promptChars)
	}
	if wall := end.Sub(start); wall > 0 {
		sec := wall.Seconds()
		v["total_time_sec"] = sec
		v["total_token_throughput"] = float64(outTok) / sec // the original's meaning: output tokens
		v["output_token_throughput"] = float64(outTok) / sec
		v["input_output_token_throughput"] = float64(inTok+outTok) / sec
		v["request_throughput"] = float64(ok) / sec
		v["mean_concurrency"] = busy.Seconds() / sec
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.d - b.d // an end before a start at the same instant
	})
	cur, peak := 0, 0
	for _, e := range edges {
		cur += e.d
		peak = max(peak, cur)
	}
	v["max_concurrency_observed"] = float64(peak)
	for k, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			delete(v, k)
		}
	}
	return s
}

// ContentTokensPerChar is the tokens per character of the prompts' text alone: the
// server-reported prompt tokens of successful requests, less templateTokens each (what the
// chat template adds), over the characters of their message contents. A fixed template
// cost would otherwise dominate short prompts and make two languages' ratios differ (or
// agree) for a reason that is not the language. ok is false without such requests.
func ContentTokensPerChar(records []stream.Record, templateTokens int) (float64, bool) {
	var tokens, chars int
	for i := range records {
		r := &records[i]
		if r.OK() && r.PromptTokens > 0 && r.PromptChars > 0 {
			tokens += r.PromptTokens - templateTokens
			chars += r.PromptChars
		}
	}
	if chars == 0 || tokens <= 0 {
		return 0, false
	}
	return float64(tokens) / float64(chars), true
}
